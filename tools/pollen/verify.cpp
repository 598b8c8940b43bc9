// SPDX-License-Identifier: MIT
// `pollen verify --raw FILE --type TYPE`: runs the verifier on bytecode (raw, hex or assembly)
// and says whether the program is accepted, or exactly why not: the instruction, the failed
// condition with the registers involved, a hint, and with --verbose the path that led there.
// Exit codes: 0 accepted, 1 rejected, 2 unreadable input or bad usage. A structurally invalid
// program (a jump out of range, an unknown opcode) is a rejection too, as in Linux. ELF objects
// (`pollen verify OBJ [--program NAME]`) are verified program by program with their maps, and a
// rejection names the C source line from the object's BTF line info.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "pollen/object.hpp"

namespace pollen::cli {
namespace {

struct VerifyCliOptions {
  ProgramSource source;
  bool raw = false;
  std::string type;
  std::string program;
  uint64_t mem_size = 0;
  bool json = false;
  bool verbose = false;
};

// A structural rule broken at an instruction is the verifier's business: Linux rejects such
// programs at load time. Anything else (unreadable file, bad hex, assembler error) is input
// that cannot be read.
bool is_rejection(const Error& error) {
  return error.code == Errc::InvalidProgram && error.location.kind == Location::Kind::Insn;
}

// The rejection an error amounts to: a structural rule broken (is_rejection), or a program type
// the verifier does not know yet, which is not proven safe and which the runtime would not run.
VerifyReport rejection_from(const Error& error) {
  VerifyReport report;
  report.error = VerifyError{error.location.value, {}, error.message, {}, {}};
  return report;
}

// One program's verdict, named as libbpf names it, with its ELF section (null for bytecode).
struct Verdict {
  std::string program;
  std::optional<std::string> section;
  VerifyReport report;
};

nlohmann::ordered_json to_json(const Verdict& verdict, bool verbose) {
  const VerifyReport& report = verdict.report;
  nlohmann::ordered_json error = nullptr;
  if (report.error) {
    const VerifyError& e = *report.error;
    error = {{"insn", e.insn},
             {"source", e.source.empty() ? nlohmann::ordered_json(nullptr)
                                         : nlohmann::ordered_json(e.source)},
             {"message", e.message}};
    if (verbose) {
      error["state"] = e.state;
      error["path"] = e.path;
    }
  }
  return {{"program", verdict.program},
          {"section", verdict.section ? nlohmann::ordered_json(*verdict.section)
                                      : nlohmann::ordered_json(nullptr)},
          {"verdict", report.accepted ? "accepted" : "rejected"},
          {"error", error},
          {"stats",
           {{"insns_processed", report.stats.insns_processed},
            {"states", report.stats.states},
            {"time_us", report.stats.time_us}}}};
}

void print_text(const std::string& name, const VerifyReport& report, bool verbose) {
  if (report.accepted) {
    fmt::print("{}: accepted ({} instructions processed, {} states, {} us)\n", name,
               report.stats.insns_processed, report.stats.states, report.stats.time_us);
    return;
  }
  const VerifyError& e = *report.error;
  if (verbose) {
    std::string out = "path:\n";
    for (const std::string& step : e.path) out += "  " + step + "\n";
    if (!e.state.empty()) out += "state at the rejection:\n  " + e.state + "\n";
    std::cerr << out;
  }
  std::cerr << name << ": " << e.str() << '\n';
}

int print(const std::vector<Verdict>& verdicts, const VerifyCliOptions& options) {
  bool accepted = true;
  nlohmann::ordered_json json = nlohmann::ordered_json::array();
  for (const Verdict& v : verdicts) {
    accepted = accepted && v.report.accepted;
    if (options.json)
      json.push_back(to_json(v, options.verbose));
    else
      print_text(v.program, v.report, options.verbose);
  }
  if (options.json) std::cout << json.dump(2) << '\n';
  return accepted ? kExitOk : kExitFailed;
}

int verify_object(const std::vector<uint8_t>& bytes, const std::string& name,
                  const VerifyCliOptions& options) {
  auto object = Object::from_bytes(bytes, name);
  if (!object) return report(object.error(), name);
  std::vector<Verdict> verdicts;
  VerifyOptions verify_options;
  verify_options.verbose = options.verbose;
  bool found = false;
  for (const ProgramInfo& program : object->programs()) {
    if (!options.program.empty() && program.name != options.program) continue;
    found = true;
    auto result = object->verify(program.name, verify_options);
    if (!result && result.error().code != Errc::NotSupported)
      return report(result.error(), name);
    verdicts.push_back({program.name, program.section,
                        result ? *result : rejection_from(result.error())});
  }
  if (!found)
    return report(make_error(Errc::InvalidArgument, Location::none(),
                             options.program.empty()
                                 ? std::string("the object has no programs")
                                 : fmt::format("no program named '{}'", options.program)),
                  name);
  return print(verdicts, options);
}

int run_verify(const VerifyCliOptions& options) {
  std::string name = display_name(options.source.path);
  bool raw = options.raw || options.source.format() != ProgramFormat::Raw;
  if (!raw) {
    auto bytes = read_file(options.source.path);
    if (!bytes) return report(bytes.error(), name);
    if (is_elf(*bytes)) return verify_object(*bytes, name, options);
    return report(make_error(Errc::InvalidArgument, Location::none(),
                             "not an ELF object; give --raw FILE --type TYPE to verify bytecode"),
                  name);
  }
  if (!options.program.empty())
    return report(make_error(Errc::InvalidArgument, Location::none(),
                             "--program selects a program of an ELF object; a bytecode file "
                             "holds one program"),
                  "pollen verify");
  if (options.type.empty())
    return report(make_error(Errc::InvalidArgument, Location::none(),
                             "--type is required with --raw (raw, xdp, socket_filter, syscall)"),
                  "pollen verify");
  auto program = load_program(options.source);
  if (!program && !is_rejection(program.error())) return report(program.error(), name);
  if (!program) return print({{name, std::nullopt, rejection_from(program.error())}}, options);
  VerifyOptions verify_options;
  verify_options.raw_memory_size = options.mem_size;
  verify_options.verbose = options.verbose;
  auto result = verify(*program, *parse_program_type(options.type), verify_options);
  if (!result) return report(result.error(), name);
  return print({{name, std::nullopt, *result}}, options);
}

}  // namespace

Command add_verify_command(CLI::App& parent) {
  auto options = std::make_shared<VerifyCliOptions>();
  CLI::App* app = parent.add_subcommand(
      "verify", "Prove a program safe to run, or say exactly why it is not (exit 1)");
  add_program_source(*app, options->source);
  app->add_flag("--raw", options->raw,
                "FILE is bare bytecode (implied by --asm, --hex, .s, .asm and .hex)");
  app->add_option("--type", options->type, "Program type of raw bytecode")
      ->check(CLI::IsMember({"raw", "xdp", "socket_filter", "syscall"}))
      ->type_name("TYPE");
  app->add_option("--mem-size", options->mem_size,
                  "Raw programs: bytes of memory r1 will point to (r2 holds the size)")
      ->check(whole_number(0))
      ->type_name("N");
  app->add_option("--program", options->program, "Program of an ELF object to verify")
      ->type_name("NAME");
  app->add_flag("--json", options->json, "Print one JSON object per program");
  app->add_flag("--verbose", options->verbose,
                "On rejection, also print the path that led there and the full state");
  return {app, [options] { return run_verify(*options); }};
}

}  // namespace pollen::cli

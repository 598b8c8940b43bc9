// SPDX-License-Identifier: MIT
// `pollen exec FILE`: runs a program once (or --repeat N times, timed) on a memory buffer,
// with r1 = the buffer and r2 = its length as the conformance suite does, and prints r0. The
// program is unverified, so it runs in checked mode unless --unchecked says it is trusted. It
// runs on the JIT where the host has one, unless --engine says otherwise.
#include <fmt/format.h>

#include <cstdint>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli.hpp"

namespace pollen::cli {
namespace {

struct ExecCliOptions {
  ProgramSource source;
  std::string mem_hex;
  std::string mem_file;
  ExecOptions exec;
  bool unchecked = false;
  bool timed = false;  ///< --repeat was given: print the timing too
  bool json = false;
};

Result<std::vector<uint8_t>> load_memory(const ExecCliOptions& options) {
  if (!options.mem_file.empty()) return read_file(options.mem_file);
  return parse_hex(options.mem_hex, "--mem");
}

double ns_per_insn(const ExecResult& result) {
  return result.insns_per_run == 0 ? 0
                                   : result.ns_per_run / static_cast<double>(result.insns_per_run);
}

void print_text(const ExecResult& result, bool timed) {
  std::string value = fmt::format("{:#x} ({}", result.r0, result.r0);
  if (static_cast<int64_t>(result.r0) < 0)
    value += fmt::format(", signed {}", static_cast<int64_t>(result.r0));
  fmt::print("r0 = {})\n", value);
  if (timed)
    fmt::print("{} runs: {:.1f} ns/run, {} insns/run, {:.2f} ns/insn\n", result.repeat,
               result.ns_per_run, result.insns_per_run, ns_per_insn(result));
}

void print_json(const ExecResult& result) {
  nlohmann::ordered_json out = {{"r0", result.r0},
                                {"engine", result.engine == Engine::Jit ? "jit" : "interp"},
                                {"r0_hex", fmt::format("{:#x}", result.r0)},
                                {"runs", result.repeat},
                                {"ns_per_run", result.ns_per_run},
                                {"insns_per_run", result.insns_per_run},
                                {"ns_per_insn", ns_per_insn(result)}};
  std::cout << out.dump(2) << '\n';
}

int run_exec(ExecCliOptions& options) {
  std::string name = display_name(options.source.path);
  auto program = load_program(options.source);
  if (!program) return report(program.error(), name);
  auto memory = load_memory(options);
  if (!memory) return report(memory.error());
  options.exec.checked = !options.unchecked;
  auto result = exec(*program, *memory, options.exec);
  if (!result) return report(result.error(), name);
  if (options.json)
    print_json(*result);
  else
    print_text(*result, options.timed);
  return kExitOk;
}

}  // namespace

Command add_exec_command(CLI::App& parent) {
  auto options = std::make_shared<ExecCliOptions>();
  CLI::App* app = parent.add_subcommand(
      "exec", "Run a program with r1 = a memory buffer, r2 = its length; print r0");
  add_program_source(*app, options->source);
  auto* mem = app->add_option("--mem", options->mem_hex,
                              "Memory as hex bytes, e.g. 'aa bb 11' or aabb11 (default: none)")
                  ->type_name("HEX");
  app->add_option("--mem-file", options->mem_file, "Memory from a binary file")
      ->type_name("FILE")
      ->excludes(mem);
  auto* repeat = app->add_option("--repeat", options->exec.repeat,
                                 "Run N times on the same memory and print ns/run, insns/run")
                     ->check(whole_number(1))
                     ->type_name("N");
  add_engine_option(*app, options->exec.engine);
  add_harden_flag(*app, options->exec.harden);
  app->add_flag("--unchecked", options->unchecked,
                "Skip the memory checks (trusted programs only: exec does not verify bytecode)");
  app->add_option("--budget", options->exec.insn_budget,
                  "Fail a run after N instructions (default 0: no limit)")
      ->check(whole_number(0))
      ->type_name("N");
  app->add_flag("--json", options->json, "Print r0 and the timing as JSON");
  return {app, [options, repeat] {
            options->timed = repeat->count() > 0;
            return run_exec(*options);
          }};
}

}  // namespace pollen::cli

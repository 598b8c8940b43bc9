// SPDX-License-Identifier: MIT
// `pollen disasm FILE`: lists raw bytecode (or hex, or assembly) in llvm-objdump's C-like
// syntax or in the conformance suite's assembly, as text or JSON. The bytecode need not be
// structurally valid: a program that would be rejected can still be read, up to the first slot
// that does not decode. An ELF object lists every program with its BTF source lines
// interleaved (`; int x = 1;`), as llvm-objdump -S does. With --jit it shows, for a valid
// program, the machine code the JIT generates next to each instruction (asmjit's log): for raw
// bytecode as `pollen exec` would compile it, for an object's programs as their runs do.
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "pollen/object.hpp"

namespace pollen::cli {
namespace {

struct DisasmOptions {
  ProgramSource source;
  Syntax syntax = Syntax::Llvm;
  bool no_addresses = false;
  bool no_bytes = false;
  bool json = false;
  bool jit = false;
  bool unchecked = false;
  ExecOptions exec;  ///< how --jit compiles: checked mode unless --unchecked, --harden
};

std::string hex_string(const std::vector<uint8_t>& bytes) {
  std::string out = to_hex(bytes, bytes.size());
  out.pop_back();  // to_hex ends its line
  return out;
}

Result<std::string> json_listing(std::span<const uint8_t> bytecode, Syntax syntax) {
  POLLEN_TRY(std::vector<ListedInsn> listing, list_insns(bytecode, syntax));
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const ListedInsn& insn : listing)
    out.push_back({{"slot", insn.slot}, {"bytes", hex_string(insn.bytes)}, {"text", insn.text}});
  return out.dump(2) + "\n";
}

int run_jit_listing(const DisasmOptions& options, const std::string& name) {
  auto program = load_program(options.source);
  if (!program) return report(program.error(), name);
  auto listing = jit_listing(*program, options.exec);
  if (!listing) return report(listing.error(), name);
  std::cout << *listing << std::flush;
  return kExitOk;
}

// An ELF object: every program, in the object's order, with its BTF source lines; with --jit,
// the machine code of each as its runs compile it.
std::optional<int> run_object_listing(const DisasmOptions& options, const std::string& name) {
  if (options.source.format() != ProgramFormat::Raw || options.source.path == "-") return {};
  auto file = read_file(options.source.path);
  if (!file || !is_elf(*file)) return {};
  if (options.unchecked)
    return report(make_error(Errc::InvalidArgument, Location{Location::Kind::None, 0, name},
                             "--unchecked is for raw bytecode: an object's programs are compiled "
                             "as their runs compile them (unchecked once verified)"),
                  name);
  auto object = Object::from_bytes(*file, name);
  if (!object) return report(object.error(), name);
  bool first = true;
  for (const ProgramInfo& program : object->programs()) {
    auto listing = options.jit ? object->disassemble_jit(program.name, options.exec.harden)
                               : object->disassemble(program.name);
    if (!listing) return report(listing.error(), name);
    std::cout << (first ? "" : "\n") << *listing;
    first = false;
  }
  std::cout << std::flush;
  return kExitOk;
}

int run_disasm(const DisasmOptions& options) {
  std::string name = display_name(options.source.path);
  if (auto listed = run_object_listing(options, name)) return *listed;
  if (options.jit) return run_jit_listing(options, name);
  auto bytecode = load_bytecode(options.source);
  if (!bytecode) return report(bytecode.error(), name);
  Program::ListingOptions listing_options{options.syntax, !options.no_addresses, !options.no_bytes};
  auto listing = options.json ? json_listing(*bytecode, options.syntax)
                              : disassemble_bytes(*bytecode, listing_options);
  if (!listing) return report(listing.error(), name);
  std::cout << *listing << std::flush;
  return kExitOk;
}

}  // namespace

Command add_disasm_command(CLI::App& parent) {
  auto options = std::make_shared<DisasmOptions>();
  CLI::App* app = parent.add_subcommand(
      "disasm", "List the instructions of raw bytecode, or every program of an ELF object with its "
      "source lines");
  add_program_source(*app, options->source);
  app->add_option_function<std::string>(
         "--syntax",
         [options](const std::string& name) {
           options->syntax = name == "conformance" ? Syntax::Conformance : Syntax::Llvm;
         },
         "llvm (default: r0 += 0x1, as llvm-objdump) or conformance (add %r0, 1; assembles "
         "back)")
      ->check(CLI::IsMember({"llvm", "conformance"}))
      ->type_name("SYNTAX");
  app->add_flag("--no-addresses", options->no_addresses, "Leave out the slot index of each line");
  app->add_flag("--no-bytes", options->no_bytes, "Leave out the instruction bytes of each line");
  auto* json = app->add_flag("--json", options->json,
                             "Print a JSON array of {slot, bytes, text}; the layout flags do not "
                             "apply");
  auto* jit = app->add_flag("--jit", options->jit,
                            "Show the JIT's machine code next to each instruction (a valid "
                            "program only; x86-64 hosts)")
                  ->excludes(json);
  add_harden_flag(*app, options->exec.harden);
  app->get_option("--harden")->needs(jit);
  app->add_flag("--unchecked", options->unchecked,
                "With --jit: the code for trusted programs, without checked mode's bounds "
                "checks")
      ->needs(jit);
  return {app, [options] {
            options->exec.checked = !options->unchecked;
            return run_disasm(*options);
          }};
}

}  // namespace pollen::cli

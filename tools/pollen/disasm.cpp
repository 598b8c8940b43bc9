// SPDX-License-Identifier: MIT
// `pollen disasm FILE`: lists raw bytecode (or hex, or assembly) in llvm-objdump's C-like
// syntax or in the conformance suite's assembly, as text or JSON. The bytecode need not be
// structurally valid: a program that would be rejected can still be read, up to the first slot
// that does not decode.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli.hpp"

namespace pollen::cli {
namespace {

struct DisasmOptions {
  ProgramSource source;
  Syntax syntax = Syntax::Llvm;
  bool no_addresses = false;
  bool no_bytes = false;
  bool json = false;
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

int run_disasm(const DisasmOptions& options) {
  std::string name = display_name(options.source.path);
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
      "disasm", "List the instructions of raw bytecode (ELF objects are not supported yet)");
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
  app->add_flag("--json", options->json,
                "Print a JSON array of {slot, bytes, text}; the layout flags do not apply");
  return {app, [options] { return run_disasm(*options); }};
}

}  // namespace pollen::cli

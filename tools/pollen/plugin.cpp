// SPDX-License-Identifier: MIT
// `pollen plugin`: the bpf_conformance plugin protocol (the project's conformance notes,
// "Plugin protocol"). argv holds the test's memory as hex (only when the test has some), then
// the runner's --plugin_options, then --elf when the runner sends ELF; stdin holds the program
// as hex. Success prints r0 in hex and exits 0; failure prints one line and exits non-zero.
#include <fmt/format.h>

#include <memory>

#include "cli.hpp"

namespace pollen::cli {
namespace {

// A runaway loop in an unverified test program fails its test instead of hanging the runner.
constexpr uint64_t kDefaultBudget = 100'000'000;

struct PluginOptions {
  std::string mem_hex;
  bool elf = false;
  ExecOptions exec{.insn_budget = kDefaultBudget};
};

int run_plugin(const PluginOptions& options) {
  // Read stdin whole before anything can fail, so the runner never writes into a closed pipe.
  auto input = read_file("-");
  if (!input) return report(input.error());
  if (options.elf)
    return report(make_error(Errc::NotSupported, Location{Location::Kind::None, 0, "--elf"},
                             "the plugin runs raw bytecode only (ELF objects run with "
                             "`pollen test-run`); run the runner without --elf true"));
  auto memory = parse_hex(options.mem_hex, "mem");
  if (!memory) return report(memory.error());
  auto bytes = parse_hex(as_text(*input), "stdin");
  if (!bytes) return report(bytes.error());
  auto program = Program::from_bytes(*bytes);
  if (!program) return report(program.error(), "stdin");
  auto result = exec(*program, *memory, options.exec);
  if (!result) return report(result.error(), "stdin");
  // The runner reads the full 64-bit r0 with stoull(s, 16).
  fmt::print("{:x}\n", result->r0);
  return kExitOk;
}

}  // namespace

Command add_plugin_command(CLI::App& parent) {
  auto options = std::make_shared<PluginOptions>();
  CLI::App* app = parent.add_subcommand(
      "plugin", "Run one bpf_conformance test: program hex on stdin, r0 in hex on stdout");
  app->add_option("MEM", options->mem_hex,
                  "The test's memory as hex bytes (\"aa  bb  11  \"); absent when it has none")
      ->type_name("HEX");
  add_engine_option(*app, options->exec.engine);
  add_harden_flag(*app, options->exec.harden);
  app->add_option(
         "--budget", options->exec.insn_budget,
         fmt::format("Fail after N instructions (default {}; 0: no limit)", kDefaultBudget))
      ->check(whole_number(0))
      ->type_name("N");
  app->add_flag("--elf", options->elf, "stdin holds an ELF object (refused: the plugin runs raw bytecode)");
  app->footer(
      "Point bpf_conformance_runner's --plugin_path at a script that runs\n"
      "`exec pollen plugin \"$@\"`; pass options with --plugin_options \"--engine interp\".\n"
      "Programs run on the JIT where the host has one (x86-64), else on the interpreter.\n");
  return {app, [options] { return run_plugin(*options); }};
}

}  // namespace pollen::cli

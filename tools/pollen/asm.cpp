// SPDX-License-Identifier: MIT
// `pollen asm FILE [-o OUT] [--hex]`: assembles the bpf_conformance suite's assembly into raw
// bytecode, written to a file, or as hex text (one instruction slot per line) to stdout.
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli.hpp"

namespace pollen::cli {
namespace {

struct AsmOptions {
  std::string input;
  std::string output;
  bool hex = false;
};

Result<void> write_output(const AsmOptions& options, const std::vector<uint8_t>& bytes) {
  std::string text = options.hex ? to_hex(bytes) : std::string(bytes.begin(), bytes.end());
  if (options.output.empty() || options.output == "-") {
    // Binary on a terminal is noise; ask for a file or hex instead, as gzip does.
    if (!options.hex && isatty(STDOUT_FILENO))
      return make_error(Errc::InvalidArgument, Location{Location::Kind::None, 0, "stdout"},
                        "refusing to write binary bytecode to a terminal (use -o OUT or --hex)");
    std::cout << text << std::flush;
    return {};
  }
  Location where{Location::Kind::None, 0, options.output};
  std::ofstream out(options.output, std::ios::binary | std::ios::trunc);
  if (!out)
    return make_error(Errc::Io, where,
                      fmt::format("cannot open for writing ({})", std::strerror(errno)));
  out << text;
  out.close();
  if (!out) return make_error(Errc::Io, where, "cannot write");
  return {};
}

int run_asm(const AsmOptions& options) {
  std::string name = display_name(options.input);
  auto text = read_file(options.input);
  if (!text) return report(text.error());
  auto program = Program::from_assembly(as_text(*text), name);
  if (!program) return report(program.error(), name);
  auto written = write_output(options, program->bytes());
  if (!written) return report(written.error());
  return kExitOk;
}

}  // namespace

Command add_asm_command(CLI::App& parent) {
  auto options = std::make_shared<AsmOptions>();
  CLI::App* app = parent.add_subcommand(
      "asm", "Assemble bpf_conformance assembly (add %r0, 1) into raw bytecode");
  app->add_option("FILE", options->input, "Assembly file, or - for stdin")->required();
  app->add_option("-o,--output", options->output,
                  "Write the bytecode here (default: stdout, which must not be a terminal)");
  app->add_flag("--hex", options->hex, "Write hex text, one 8-byte instruction slot per line");
  return {app, [options] { return run_asm(*options); }};
}

}  // namespace pollen::cli

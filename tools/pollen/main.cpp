// SPDX-License-Identifier: MIT
// The `pollen` command line: parses the command line with CLI11 and runs the chosen
// subcommand (one file each: asm.cpp, disasm.cpp, exec.cpp, plugin.cpp, run.cpp, ...). Exit
// codes: 0 ok, 1 the program failed, 2 bad usage or unreadable input. Every error is one line
// on stderr; neither CLI11's own exit codes nor an exception get out.
#include <algorithm>
#include <exception>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "cli.hpp"

namespace pollen::cli {
Command add_verify_command(CLI::App& parent);  // verify.cpp
}  // namespace pollen::cli

namespace {

using pollen::cli::Command;

// The arguments in the reversed order CLI11's parse() wants. The conformance runner splits
// --plugin_options on single spaces, so doubled spaces give empty arguments: drop them there.
std::vector<std::string> arguments(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "plugin")
    std::erase_if(args, [](const std::string& arg) { return arg.empty(); });
  std::reverse(args.begin(), args.end());
  return args;
}

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// A parse error as one line, naming the subcommand it happened in.
int report_usage(const CLI::App& app, const std::string& message) {
  std::string where = "pollen";
  for (const CLI::App* sub : app.get_subcommands()) where += " " + sub->get_name();
  std::cerr << where << ": " << one_line(message) << " (see " << where << " --help)\n";
  return pollen::cli::kExitUsage;
}

// CLI11 would call an unknown subcommand a missing one; name it instead.
bool is_unknown_subcommand(const std::vector<std::string>& reversed_args,
                           const std::vector<Command>& commands) {
  if (reversed_args.empty() || reversed_args.back().starts_with("-")) return false;
  return std::none_of(commands.begin(), commands.end(), [&](const Command& command) {
    return command.app->get_name() == reversed_args.back();
  });
}

int run(int argc, char** argv) {
  CLI::App app{"Pollen: a portable eBPF runtime. Assemble, disassemble and run eBPF programs.",
               "pollen"};
  app.set_version_flag("--version", "pollen " POLLEN_VERSION);
  app.require_subcommand(1);
  std::vector<Command> commands{
      pollen::cli::add_asm_command(app), pollen::cli::add_disasm_command(app),
      pollen::cli::add_exec_command(app), pollen::cli::add_plugin_command(app),
      pollen::cli::add_run_command(app), pollen::cli::add_test_run_command(app),
      pollen::cli::add_verify_command(app)};
  std::vector<std::string> args = arguments(argc, argv);
  if (is_unknown_subcommand(args, commands))
    return report_usage(app, "unknown subcommand '" + args.back() + "'");
  const bool plugin = !args.empty() && args.back() == "plugin";
  try {
    app.parse(args);  // consumes args
  } catch (const CLI::ParseError& error) {
    // --help and --version arrive as "errors" with CLI11's success code.
    if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(error);
    // The conformance runner writes the program to a plugin's stdin; read it so that the
    // runner sees this message rather than a broken pipe.
    if (plugin) std::cin.ignore(std::numeric_limits<std::streamsize>::max());
    return report_usage(app, error.what());
  }
  for (const Command& command : commands)
    if (command.app->parsed()) return command.run();
  return pollen::cli::kExitUsage;  // require_subcommand(1) makes this unreachable
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    // Nothing is expected to throw; if something does (say, out of memory on a huge input),
    // say so on one line rather than abort.
    std::cerr << "pollen: internal error: " << one_line(error.what()) << '\n';
    return pollen::cli::kExitUsage;
  }
}

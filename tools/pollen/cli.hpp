// SPDX-License-Identifier: MIT
// What the `pollen` subcommands share: exit codes, one-line error reports, reading input files
// and hex text, and loading a program from raw bytecode, hex or assembly. Built only on the
// public API (include/pollen), like everything under tools/.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pollen/pollen.hpp"

namespace pollen::cli {

/// Exit codes of every subcommand (STYLE.md, "Errors and messages").
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  ///< the program was rejected or its run failed
inline constexpr int kExitUsage = 2;   ///< bad usage or unreadable input

/// A subcommand: its CLI11 app, and what to run when the command line selected it.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_asm_command(CLI::App& parent);
Command add_disasm_command(CLI::App& parent);
Command add_exec_command(CLI::App& parent);
Command add_plugin_command(CLI::App& parent);
Command add_run_command(CLI::App& parent);
Command add_test_run_command(CLI::App& parent);

/// Accepts a whole decimal number of at least `min`: "--repeat: must be at least 1 (is 0)".
CLI::Validator whole_number(uint64_t min);

/// Adds --engine interp|jit (left out: Engine::Auto, the JIT where the host has one).
void add_engine_option(CLI::App& app, Engine& engine);

/// Adds --harden (JIT constant blinding).
void add_harden_flag(CLI::App& app, bool& harden);

/// Prints `error` on stderr as one line; when the error names no file, `input` (the file or
/// option it came from) goes first: "prog.bin: insn 3: unknown opcode 0x8f". Returns the exit
/// code for the error's kind: kExitFailed for a runtime fault or a rejected program, kExitUsage
/// otherwise.
int report(const Error& error, std::string_view input = {});

/// Name of `path` in messages: "<stdin>" for "-".
std::string display_name(const std::string& path);

/// True when `bytes` start with the ELF magic (an object file, not bare bytecode).
bool is_elf(std::span<const uint8_t> bytes);

/// The whole of a file, or of stdin for "-".
Result<std::vector<uint8_t>> read_file(const std::string& path);

/// Bytes as the text they hold.
std::string_view as_text(const std::vector<uint8_t>& bytes);

/// Bytes written as hex digit pairs ("aa bb 11", "aabb11", the plugin protocol's "aa  bb  "),
/// with any whitespace between pairs. Errors are located at a character offset in `text` and
/// name `where`: "--mem: offset 6: odd number of hex digits (7)".
Result<std::vector<uint8_t>> parse_hex(std::string_view text, std::string_view where);

/// Lowercase hex pairs separated by spaces, `per_line` bytes to a line.
std::string to_hex(std::span<const uint8_t> bytes, size_t per_line = 8);

/// How a program file is written.
enum class ProgramFormat : uint8_t {
  Raw,       ///< struct bpf_insn slots, little-endian
  Hex,       ///< the raw bytes as hex text (parse_hex)
  Assembly,  ///< the conformance suite's assembly
};

/// A program file and how it is written, as given on the command line.
struct ProgramSource {
  std::string path;
  bool assembly = false;  ///< --asm
  bool hex = false;       ///< --hex
  /// --asm or --hex if given, else by extension: .s and .asm are assembly, .hex is hex text,
  /// anything else raw bytecode.
  ProgramFormat format() const;
};

/// Adds FILE and the --asm/--hex flags that say how it is written.
void add_program_source(CLI::App& app, ProgramSource& source);

/// The bytecode of a program file: raw and hex input are not validated (assembly is). ELF
/// objects are refused: the commands that take bytecode run bare programs.
Result<std::vector<uint8_t>> load_bytecode(const ProgramSource& source);

/// A validated program from a program file.
Result<Program> load_program(const ProgramSource& source);

}  // namespace pollen::cli

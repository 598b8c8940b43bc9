// SPDX-License-Identifier: MIT
// The helpers every `pollen` subcommand shares (see cli.hpp): error reports, file and hex
// input, and loading programs. Input is read whole; programs are small and files are local.
#include "cli.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

namespace pollen::cli {
namespace {

Location in_file(std::string_view name) {
  return {Location::Kind::None, 0, std::string(name)};
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

uint8_t hex_value(char c) {
  if (c <= '9') return static_cast<uint8_t>(c - '0');
  return static_cast<uint8_t>((c | 0x20) - 'a' + 10);
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// A character as a message shows it: printable ones as themselves, others as \xNN.
std::string quoted(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte >= 0x20 && byte < 0x7f ? fmt::format("'{}'", c) : fmt::format("'\\x{:02x}'", byte);
}

bool has_suffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

bool is_elf(std::span<const uint8_t> bytes) {
  return bytes.size() >= 4 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' &&
         bytes[3] == 'F';
}

std::string_view as_text(const std::vector<uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

CLI::Validator whole_number(uint64_t min) {
  auto check = [min](std::string& text) -> std::string {
    uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc::result_out_of_range)
      return fmt::format("'{}' is too large (at most {})", text, UINT64_MAX);
    if (error != std::errc{} || end != text.data() + text.size())
      return fmt::format("'{}' is not a whole number", text);
    if (value < min) return fmt::format("must be at least {} (is {})", min, value);
    return {};
  };
  return CLI::Validator(check, "");
}

void add_engine_option(CLI::App& app, Engine& engine) {
  app.add_option_function<std::string>(
         "--engine",
         [&engine](const std::string& name) {
           engine = name == "jit" ? Engine::Jit : Engine::Interpreter;
         },
         "jit (the default where the host supports it: x86-64) or interp")
      ->check(CLI::IsMember({"interp", "jit"}))
      ->type_name("ENGINE");
}

void add_harden_flag(CLI::App& app, bool& harden) {
  app.add_flag("--harden", harden,
               "JIT constant blinding, as Linux's bpf_jit_harden: no immediate of the program "
               "appears in the generated code");
}

int report(const Error& error, std::string_view input) {
  std::string line = error.str();
  if (error.location.file.empty() && !input.empty()) line = fmt::format("{}: {}", input, line);
  // One error, one line, whatever the message holds.
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::cerr << line << '\n';
  return error.code == Errc::RuntimeFault || error.code == Errc::Rejected ? kExitFailed
                                                                          : kExitUsage;
}

std::string display_name(const std::string& path) {
  return path == "-" ? "<stdin>" : path;
}

Result<std::vector<uint8_t>> read_file(const std::string& path) {
  std::vector<uint8_t> bytes;
  if (path == "-") {
    bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (std::cin.bad())
      return make_error(Errc::Io, in_file(display_name(path)), "cannot read standard input");
    return bytes;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_error(Errc::Io, in_file(path),
                      fmt::format("cannot open ({})", std::strerror(errno)));
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad())
    return make_error(Errc::Io, in_file(path),
                      fmt::format("cannot read ({})", std::strerror(errno)));
  return bytes;
}

Result<std::vector<uint8_t>> parse_hex(std::string_view text, std::string_view where) {
  std::vector<uint8_t> bytes;
  size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < text.size() && is_hex_digit(text[i])) ++i;
    if (i < text.size() && !is_space(text[i]))
      return make_error(
          Errc::Parse, Location::offset(i, std::string(where)),
          fmt::format("invalid hex digit {} (expected 0-9, a-f or whitespace)", quoted(text[i])));
    if ((i - start) % 2 != 0)
      return make_error(Errc::Parse, Location::offset(start, std::string(where)),
                        fmt::format("odd number of hex digits ({})", i - start));
    for (size_t k = start; k < i; k += 2)
      bytes.push_back(static_cast<uint8_t>(hex_value(text[k]) << 4 | hex_value(text[k + 1])));
  }
  return bytes;
}

std::string to_hex(std::span<const uint8_t> bytes, size_t per_line) {
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    out += fmt::format("{:02x}", bytes[i]);
    out += (i + 1) % per_line == 0 || i + 1 == bytes.size() ? '\n' : ' ';
  }
  return out;
}

ProgramFormat ProgramSource::format() const {
  if (assembly) return ProgramFormat::Assembly;
  if (hex) return ProgramFormat::Hex;
  if (has_suffix(path, ".s") || has_suffix(path, ".asm")) return ProgramFormat::Assembly;
  if (has_suffix(path, ".hex")) return ProgramFormat::Hex;
  return ProgramFormat::Raw;
}

void add_program_source(CLI::App& app, ProgramSource& source) {
  app.add_option("FILE", source.path,
                 "Program file, or - for stdin: raw bytecode (struct bpf_insn slots, "
                 "little-endian); .s/.asm files are assembly, .hex files hex text")
      ->required();
  auto* assembly =
      app.add_flag("--asm", source.assembly, "FILE is assembly (the bpf_conformance syntax)");
  app.add_flag("--hex", source.hex, "FILE is hex text: byte pairs, any whitespace between")
      ->excludes(assembly);
}

Result<std::vector<uint8_t>> load_bytecode(const ProgramSource& source) {
  if (source.format() == ProgramFormat::Assembly) {
    POLLEN_TRY(Program program, load_program(source));
    return program.bytes();
  }
  std::string name = display_name(source.path);
  POLLEN_TRY(std::vector<uint8_t> file, read_file(source.path));
  if (source.format() == ProgramFormat::Hex) return parse_hex(as_text(file), name);
  if (is_elf(file))
    return make_error(Errc::NotSupported, in_file(name),
                      "this command takes raw bytecode, --hex or --asm; an ELF object's "
                      "programs run with `pollen test-run` or `pollen run`, and list with "
                      "`pollen disasm`");
  return file;
}

Result<Program> load_program(const ProgramSource& source) {
  if (source.format() != ProgramFormat::Assembly) {
    POLLEN_TRY(std::vector<uint8_t> bytes, load_bytecode(source));
    return Program::from_bytes(bytes);
  }
  POLLEN_TRY(std::vector<uint8_t> file, read_file(source.path));
  return Program::from_assembly(as_text(file), display_name(source.path));
}

}  // namespace pollen::cli

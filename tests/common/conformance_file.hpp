// SPDX-License-Identifier: MIT
// Reader for the bpf_conformance suite's `.data` files, following the rules of
// ../shared/conformance/README.md ("The .data file format"), which are those of the upstream
// parser (lib/src/bpf_test_parser.cc): a trailing \r is dropped, `#` starts a comment, a line
// holding `--` is a section header named by the first of asm, result, mem, raw, no register
// offset, " c", error that it contains; raw replaces asm; mem bytes join across lines; result and
// error take their last line. Files upstream would skip come back with a skip reason, not an error.
// Where upstream silently stops reading a malformed number, this reader fails with a located
// Errc::Parse instead, so a damaged file cannot quietly turn into a different test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pollen/pollen.hpp"
#include "pollen/result.hpp"

namespace pollen::test {

/// One `.data` file, as the upstream runner sees it.
struct ConformanceFile {
  std::string file_name;  ///< "add.data": the name errors are located in
  /// The `-- asm` lines with comments removed. Every other line of the file is kept as an empty
  /// line, so an assembler error's line number is the line number in the file.
  std::string assembly;
  std::vector<uint8_t> raw;          ///< `-- raw` as little-endian 8-byte slots; empty if none
  std::vector<uint8_t> memory;       ///< `-- mem`, joined across lines
  std::optional<uint64_t> result;    ///< last line of `-- result`
  std::optional<std::string> error;  ///< last line of `-- error`
  /// Why the upstream runner would skip this file (unknown section header, neither result nor
  /// error, no instructions); empty when the file is a test.
  std::string skip_reason;

  bool is_test() const { return skip_reason.empty(); }
};

/// Parses the text of a `.data` file; `file_name` is used in error locations.
Result<ConformanceFile> parse_conformance_file(std::string_view text, std::string_view file_name);

/// Reads and parses one `.data` file.
Result<ConformanceFile> read_conformance_file(const std::filesystem::path& path);

/// The `*.data` files at the top level of `dir`, sorted by path, as the upstream runner scans
/// them. Empty when the directory is missing or unreadable (callers assert on the count).
std::vector<std::filesystem::path> list_conformance_files(const std::filesystem::path& dir);

/// The file's program through the public API: Program::from_bytes for `-- raw`, otherwise
/// Program::from_assembly on the assembly, located in the file.
Result<Program> conformance_program(const ConformanceFile& file);

/// A GoogleTest-safe test name for a file: its stem with every character that is not a letter,
/// digit or underscore replaced by '_' ("lsh32-imm-high.data" -> "lsh32_imm_high").
std::string conformance_test_name(const std::filesystem::path& path);

}  // namespace pollen::test

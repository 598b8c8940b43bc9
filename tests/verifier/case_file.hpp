// SPDX-License-Identifier: MIT
// Verifier test cases as data. A case file holds several cases, each a header and a program in
// the conformance suite's assembly:
//
//   == rejects a load through a pointer that may be null
//   type: xdp                      raw (default), xdp, socket_filter, syscall
//   verdict: reject                accept | reject
//   message: r0 may be null        a substring of the rejection (reject only)
//   insn: 4                        the rejected instruction (optional)
//   mem: 64                        raw: the bytes r1 points to
//   map: 1 hash key=4 value=8      a map the program may name by fd: fd, type (hash, array,
//                                  ringbuf, prog_array), sizes, flags
//   kernel: rejects                what Linux does when it differs from the verdict, and why
//   <assembly>
//
// Lines starting with `#` before the first `==` describe the rule the file tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace pollen::test {

struct CaseMap {
  uint32_t fd = 0;
  std::string type = "array";  ///< hash, array, ringbuf, prog_array (key=4 value=4)
  uint32_t key_size = 4;
  uint32_t value_size = 8;
  uint32_t max_entries = 1;
  bool read_only = false;
};

struct VerifierCase {
  std::string file;  ///< the case file's name
  int line = 0;      ///< the line of its `==`
  std::string name;
  std::string type = "raw";
  bool accept = true;
  std::string message;
  std::optional<uint32_t> insn;
  uint32_t mem = 0;
  std::vector<CaseMap> maps;
  /// Linux's verdict where it differs from Pollen's: "accepts" or "rejects", then why.
  std::string kernel;
  std::string assembly;  ///< other lines blanked, so assembler line numbers are file lines

  /// "file.txt:12 (name)", for failure messages.
  std::string where() const;
  /// A GoogleTest-safe name: the file's stem and the case's name.
  std::string test_name() const;
};

/// GoogleTest prints a case as its location.
void PrintTo(const VerifierCase& c, std::ostream* os);

/// Every case of every `*.txt` under `dir`, sorted by file then position. Malformed headers
/// fail the parse with a message naming the file and line.
std::vector<VerifierCase> read_cases(const std::filesystem::path& dir, std::string& error);

/// The cases of one file's text.
std::vector<VerifierCase> parse_cases(const std::string& text, const std::string& file,
                                      std::string& error);

}  // namespace pollen::test

// SPDX-License-Identifier: MIT
// byte_diff and hex_dump (byte_diff.hpp).
#include "byte_diff.hpp"

#include <algorithm>
#include <cstdio>

namespace pollen::test {
namespace {

constexpr size_t kLine = 16;
constexpr size_t kContextLines = 4;  // lines shown before and after the first difference

std::string hex_line(const std::vector<uint8_t>& bytes, size_t at,
                     const std::vector<uint8_t>& other) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04zx:", at);
  std::string line = buf;
  for (size_t i = at; i < at + kLine && i < bytes.size(); ++i) {
    const bool differs = i >= other.size() || other[i] != bytes[i];
    std::snprintf(buf, sizeof buf, "%c%02x", differs ? '*' : ' ', bytes[i]);
    line += buf;
  }
  return line + "\n";
}

}  // namespace

std::string hex_dump(const std::vector<uint8_t>& bytes, size_t begin, size_t end) {
  std::string out;
  end = std::min(end, bytes.size());
  for (size_t at = begin / kLine * kLine; at < end; at += kLine) out += hex_line(bytes, at, bytes);
  return out;
}

std::string byte_diff(const std::vector<uint8_t>& expected, const std::vector<uint8_t>& actual,
                      const std::string& expected_name, const std::string& actual_name) {
  if (expected == actual) return "";
  size_t first = 0;
  while (first < expected.size() && first < actual.size() && expected[first] == actual[first])
    ++first;
  char head[160];
  std::snprintf(
      head, sizeof head, "%s has %zu bytes, %s has %zu; first difference at offset %zu (0x%zx)\n",
      expected_name.c_str(), expected.size(), actual_name.c_str(), actual.size(), first, first);
  const size_t from = first / kLine * kLine >= kContextLines * kLine
                          ? first / kLine * kLine - kContextLines * kLine
                          : 0;
  const size_t to = first / kLine * kLine + (kContextLines + 1) * kLine;
  std::string out = head;
  for (const auto* side : {&expected, &actual}) {
    const auto& other = side == &expected ? actual : expected;
    out += (side == &expected ? expected_name : actual_name) + " (* differs):\n";
    if (side->empty()) out += "  (empty)\n";
    for (size_t at = from; at < std::min(to, side->size()); at += kLine)
      out += "  " + hex_line(*side, at, other);
  }
  return out;
}

}  // namespace pollen::test

// SPDX-License-Identifier: MIT
// Readable differences between byte strings, for failure messages: where the first difference
// is and a hex dump of both sides around it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pollen::test {

/// Empty when `expected` and `actual` are equal; otherwise their sizes, the first differing
/// offset and a hex dump of both around it, each line marked where they differ.
std::string byte_diff(const std::vector<uint8_t>& expected, const std::vector<uint8_t>& actual,
                      const std::string& expected_name = "kernel",
                      const std::string& actual_name = "pollen");

/// `bytes` as hex, 16 to a line, each line prefixed with its offset.
std::string hex_dump(const std::vector<uint8_t>& bytes, size_t begin = 0,
                     size_t end = static_cast<size_t>(-1));

}  // namespace pollen::test

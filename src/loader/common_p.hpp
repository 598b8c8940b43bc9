// SPDX-License-Identifier: MIT
// Private helpers shared by the loader's parsers: little-endian reads from byte spans whose
// bounds the caller has checked, an overflow-free bounds check, and the constructors of located
// errors. A loader location is text such as "prog.o: section 'xdp', reloc 3", carried in a
// Location of kind None so that Error::str() prints "<where>: <what is wrong> (<fact>)".
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "pollen/result.hpp"

namespace pollen::loader {

inline uint16_t load_le16(std::span<const uint8_t> bytes, size_t offset) {
  return static_cast<uint16_t>(bytes[offset] | bytes[offset + 1] << 8);
}

inline uint32_t load_le32(std::span<const uint8_t> bytes, size_t offset) {
  return static_cast<uint32_t>(bytes[offset]) | static_cast<uint32_t>(bytes[offset + 1]) << 8 |
         static_cast<uint32_t>(bytes[offset + 2]) << 16 |
         static_cast<uint32_t>(bytes[offset + 3]) << 24;
}

/// True when [offset, offset + length) lies inside a buffer of `size` bytes.
inline bool fits(uint64_t size, uint64_t offset, uint64_t length) {
  return offset <= size && length <= size - offset;
}

inline Location at(std::string where) {
  return Location{Location::Kind::None, 0, std::move(where)};
}

/// `text` with every byte outside printable ASCII written as \xNN: names in a damaged object
/// can hold anything, and an error stays one printable line.
inline std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

/// Malformed input.
inline Error invalid(std::string_view where, std::string_view message) {
  return make_error(Errc::InvalidProgram, at(printable(where)), printable(message));
}

/// Well-formed input that uses something Pollen does not implement; the message names it.
inline Error not_supported(std::string_view where, std::string_view message) {
  return make_error(Errc::NotSupported, at(printable(where)), printable(message));
}

}  // namespace pollen::loader

// SPDX-License-Identifier: MIT
// Entry points of the loader: BPF ELF object bytes in, ObjectSpec out. Loading reads nothing but
// the bytes it is given (or the one file named), touches nothing in the environment, and gives
// the same ObjectSpec on every OS. Malformed input is an Errc::InvalidProgram error and input
// that uses what Pollen does not implement an Errc::NotSupported error naming it; both located
// ("prog.o: section 'xdp', reloc 3: symbol 'events' is not a map (...)"). Never a crash.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "loader/spec.hpp"
#include "pollen/result.hpp"

namespace pollen::loader {

/// Reads a little-endian BPF ELF relocatable object (clang -target bpf, with or without -g).
/// `name_for_messages` starts every error location, usually the file name.
Result<ObjectSpec> load_object(std::span<const uint8_t> elf_bytes,
                               std::string_view name_for_messages);

/// Reads the file and loads it; an unreadable file is an Errc::Io error.
Result<ObjectSpec> load_object_file(const std::filesystem::path& path);

}  // namespace pollen::loader

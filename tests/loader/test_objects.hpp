// SPDX-License-Identifier: MIT
// Test support for the loader: the eBPF objects this directory builds (their paths come from
// CMake; a path is empty when clang could not target BPF), and ElfPatch, which finds section
// headers, symbols, relocations and BTF records in an object's bytes so that a test can corrupt
// exactly one field. ElfPatch trusts its input: it is only used on the good objects.
#pragma once

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pollen::loader::test {

inline constexpr const char* kMultiObj = POLLEN_LOADER_MULTI_OBJ;
inline constexpr const char* kMultiNodebugObj = POLLEN_LOADER_MULTI_NODEBUG_OBJ;
inline constexpr const char* kLegacyObj = POLLEN_LOADER_LEGACY_OBJ;
inline constexpr const char* kLegacyNodebugObj = POLLEN_LOADER_LEGACY_NODEBUG_OBJ;
inline constexpr const char* kCoreObj = POLLEN_LOADER_CORE_OBJ;
inline constexpr const char* kProgsDir = POLLEN_LOADER_PROGS_DIR;
inline constexpr const char* kRegressionDir = POLLEN_LOADER_REGRESSION_DIR;

/// The file's bytes; empty when the path is empty or unreadable.
std::vector<uint8_t> read_bytes(const std::string& path);

/// 1-based number of the first line of progs/<file> that contains `marker`, 0 when none does.
uint32_t source_line(const std::string& file, std::string_view marker);

class ElfPatch {
 public:
  explicit ElfPatch(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}

  std::vector<uint8_t>& bytes() { return bytes_; }
  template <class T>
  T get(size_t offset) const {
    T value;
    std::memcpy(&value, bytes_.data() + offset, sizeof value);
    return value;
  }
  template <class T>
  void put(size_t offset, T value) {
    std::memcpy(bytes_.data() + offset, &value, sizeof value);
  }

  Elf64_Ehdr header() const { return get<Elf64_Ehdr>(0); }
  /// File offset of section `index`'s header.
  size_t shdr_offset(size_t index) const;
  Elf64_Shdr shdr(size_t index) const { return get<Elf64_Shdr>(shdr_offset(index)); }
  /// Index of the section called `name`; 0 when there is none.
  size_t section(std::string_view name) const;
  /// File offset of the start of section `name`'s data.
  size_t data_offset(std::string_view name) const { return shdr(section(name)).sh_offset; }
  /// Index and file offset of the symbol called `name` in .symtab.
  size_t symbol_index(std::string_view name) const;
  size_t symbol_offset(std::string_view name) const;
  /// File offset of relocation `k` of the SHT_REL section `rel_section`.
  size_t rel_offset(std::string_view rel_section, size_t k) const {
    return data_offset(rel_section) + k * sizeof(Elf64_Rel);
  }
  /// File offsets inside .BTF: the first type, and the first occurrence of a string.
  size_t btf_first_type() const;
  size_t btf_string(std::string_view text) const;
  /// File offset of .BTF.ext's header field at `field` (a byte offset in btf_ext_header), and of
  /// the first byte of its func_info or line_info block (the record size).
  size_t btf_ext_field(size_t field) const { return data_offset(".BTF.ext") + field; }
  size_t btf_ext_block(size_t off_field) const;

 private:
  std::string section_name(size_t index) const;
  std::vector<uint8_t> bytes_;
};

}  // namespace pollen::loader::test

// SPDX-License-Identifier: MIT
// Test support for the loader: reading the built objects and the sources' marker lines, and the
// ELF/BTF field finder the corruption tests use.
#include "test_objects.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace pollen::loader::test {

std::vector<uint8_t> read_bytes(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t source_line(const std::string& file, std::string_view marker) {
  std::ifstream in(std::string(kProgsDir) + "/" + file);
  std::string line;
  for (uint32_t number = 1; std::getline(in, line); ++number)
    if (line.find(marker) != std::string::npos) return number;
  return 0;
}

size_t ElfPatch::shdr_offset(size_t index) const {
  return header().e_shoff + index * sizeof(Elf64_Shdr);
}

std::string ElfPatch::section_name(size_t index) const {
  size_t names = shdr(header().e_shstrndx).sh_offset;
  return reinterpret_cast<const char*>(bytes_.data() + names + shdr(index).sh_name);
}

size_t ElfPatch::section(std::string_view name) const {
  for (size_t i = 1; i < header().e_shnum; ++i)
    if (section_name(i) == name) return i;
  return 0;
}

size_t ElfPatch::symbol_index(std::string_view name) const {
  for (size_t s = 1; s < header().e_shnum; ++s) {
    Elf64_Shdr symtab = shdr(s);
    if (symtab.sh_type != SHT_SYMTAB) continue;
    size_t strings = shdr(symtab.sh_link).sh_offset;
    for (size_t i = 0; i < symtab.sh_size / sizeof(Elf64_Sym); ++i) {
      auto sym = get<Elf64_Sym>(symtab.sh_offset + i * sizeof(Elf64_Sym));
      if (reinterpret_cast<const char*>(bytes_.data() + strings + sym.st_name) == name) return i;
    }
  }
  return 0;
}

size_t ElfPatch::symbol_offset(std::string_view name) const {
  return data_offset(".symtab") + symbol_index(name) * sizeof(Elf64_Sym);
}

size_t ElfPatch::btf_first_type() const {
  size_t btf = data_offset(".BTF");
  return btf + get<uint32_t>(btf + 4) + get<uint32_t>(btf + 8);  // hdr_len + type_off
}

size_t ElfPatch::btf_string(std::string_view text) const {
  size_t btf = data_offset(".BTF");
  size_t start = btf + get<uint32_t>(btf + 4) + get<uint32_t>(btf + 16);  // hdr_len + str_off
  size_t end = start + get<uint32_t>(btf + 20);
  std::string needle(text);
  needle.push_back('\0');
  auto it = std::search(bytes_.begin() + start, bytes_.begin() + end, needle.begin(), needle.end());
  return static_cast<size_t>(it - bytes_.begin());
}

size_t ElfPatch::btf_ext_block(size_t off_field) const {
  size_t ext = data_offset(".BTF.ext");
  return ext + get<uint32_t>(ext + 4) + get<uint32_t>(ext + off_field);
}

}  // namespace pollen::loader::test

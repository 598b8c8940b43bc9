// SPDX-License-Identifier: MIT
// Private: an ELF relocatable object read with libelf into plain vectors — sections with their
// bytes, symbols with their names, relocations. Only the shape of the ELF container is checked
// here (header, section table, symbol table, string references); what the sections mean for BPF
// is the loader's business. After open() returns, libelf's handle is gone and nothing refers to
// the input bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pollen/result.hpp"

namespace pollen::loader {

struct ElfSection {
  uint32_t index = 0;
  std::string name;
  uint32_t type = 0;   ///< SHT_*
  uint64_t flags = 0;  ///< SHF_*
  uint32_t link = 0;
  uint32_t info = 0;
  uint64_t size = 0;  ///< sh_size; for SHT_NOBITS larger than `data`, which is empty
  std::vector<uint8_t> data;
};

struct ElfSymbol {
  uint32_t index = 0;
  std::string name;
  uint64_t value = 0;
  uint64_t size = 0;
  uint16_t shndx = 0;      ///< section index, or SHN_UNDEF / SHN_ABS / SHN_COMMON
  uint8_t type = 0;        ///< STT_*
  uint8_t bind = 0;        ///< STB_*
  uint8_t visibility = 0;  ///< STV_*
};

struct ElfRel {
  uint64_t offset = 0;
  uint32_t symbol = 0;
  uint32_t type = 0;
};

/// One SHT_REL section: the section its relocations apply to, and the relocations.
struct ElfRelSection {
  uint32_t index = 0;   ///< of the SHT_REL section itself
  uint32_t target = 0;  ///< sh_info: the section the relocations patch
  std::vector<ElfRel> rels;
};

class ElfFile {
 public:
  /// Reads a little-endian 64-bit ELF relocatable object for EM_BPF. `name` prefixes errors.
  static Result<ElfFile> open(std::span<const uint8_t> bytes, std::string name);

  const std::string& name() const { return name_; }
  /// Every section by index; index 0 is the null section.
  const std::vector<ElfSection>& sections() const { return sections_; }
  const ElfSection* section(uint32_t index) const;
  /// Name of section `index` for messages, "#<index>" when there is none.
  std::string section_name(uint32_t index) const;
  const std::vector<ElfSymbol>& symbols() const { return symbols_; }
  const std::vector<ElfRelSection>& rel_sections() const { return rel_sections_; }
  /// The relocations that patch section `target`, or null.
  const ElfRelSection* rels_for(uint32_t target) const;

 private:
  std::string name_;
  std::vector<ElfSection> sections_;
  std::vector<ElfSymbol> symbols_;
  std::vector<ElfRelSection> rel_sections_;
  friend class ElfReader;
};

}  // namespace pollen::loader

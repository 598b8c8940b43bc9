// SPDX-License-Identifier: MIT
// Reads the ELF container with libelf (gelf): the header is checked by hand first, so that
// unsupported objects (32-bit, big-endian, another machine, not relocatable) get a NotSupported
// error that names what is missing, and so that libelf only ever sees a plausible header; then
// every section, the one symbol table and every SHT_REL section are copied into ElfFile, with
// each index and string offset checked and any failure reported at the section or symbol.
// Symbols and relocations are decoded from the raw little-endian bytes through <elf.h>'s
// structs, which assumes a little-endian host, as Pollen's JIT targets (x86-64, arm64) are.
#include <gelf.h>
#include <libelf.h>

#include <cstring>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "loader/common_p.hpp"
#include "loader/elf_file_p.hpp"

namespace pollen::loader {
namespace {

constexpr uint16_t kEmBpf = 247;  // EM_BPF, missing from older <elf.h>

struct ElfCloser {
  void operator()(Elf* elf) const { elf_end(elf); }
};
using ElfHandle = std::unique_ptr<Elf, ElfCloser>;

// Checks the fixed-size header before libelf sees the bytes.
Result<void> check_header(std::span<const uint8_t> b, const std::string& where) {
  if (b.size() < sizeof(Elf64_Ehdr))
    return invalid(where, fmt::format("truncated ({} bytes, an ELF64 header needs {})", b.size(),
                                      sizeof(Elf64_Ehdr)));
  if (std::memcmp(b.data(), ELFMAG, SELFMAG) != 0)
    return invalid(where, "not an ELF file (bad magic)");
  if (b[EI_CLASS] != ELFCLASS64)
    return not_supported(
        where, fmt::format("ELF class {} (Pollen reads 64-bit BPF objects)", b[EI_CLASS]));
  if (b[EI_DATA] != ELFDATA2LSB)
    return not_supported(where, "big-endian ELF (Pollen reads little-endian BPF objects)");
  Elf64_Ehdr h;
  std::memcpy(&h, b.data(), sizeof h);
  if (h.e_machine != kEmBpf && h.e_machine != EM_NONE)
    return not_supported(
        where, fmt::format("ELF machine {} (Pollen loads EM_BPF, {})", h.e_machine, kEmBpf));
  if (h.e_type != ET_REL)
    return not_supported(
        where, fmt::format("ELF type {} (Pollen loads relocatable objects, ET_REL)", h.e_type));
  if (h.e_shentsize != sizeof(Elf64_Shdr) ||
      !fits(b.size(), h.e_shoff, uint64_t{h.e_shnum} * sizeof(Elf64_Shdr)))
    return invalid(where, fmt::format("section headers [{}, +{} x {}) outside the file ({} bytes)",
                                      h.e_shoff, h.e_shnum, h.e_shentsize, b.size()));
  return {};
}

}  // namespace

class ElfReader {
 public:
  ElfReader(Elf* elf, ElfFile& out, uint64_t file_size)
      : elf_(elf), out_(out), file_size_(file_size) {}

  Result<void> read_sections();
  Result<void> read_symbols();
  Result<void> read_relocations();

 private:
  std::string at_section(size_t index) const {
    return fmt::format("{}: section {}", out_.name_, index);
  }
  Result<void> read_section(Elf_Scn* scn, size_t strndx);
  Result<ElfSymbol> read_symbol(size_t index, const Elf64_Sym& raw, uint32_t strtab);

  Elf* elf_;
  ElfFile& out_;
  uint64_t file_size_;
};

Result<void> ElfReader::read_sections() {
  size_t count = 0, strndx = 0;
  if (elf_getshdrnum(elf_, &count) != 0 || elf_getshdrstrndx(elf_, &strndx) != 0)
    return invalid(out_.name_ + ": ELF header",
                   fmt::format("unreadable section table ({})", elf_errmsg(-1)));
  if (count == 0 || strndx >= count)
    return invalid(
        out_.name_ + ": ELF header",
        fmt::format("section name table index {} out of range ({} sections)", strndx, count));
  out_.sections_.resize(count);
  for (size_t i = 1; i < count; ++i) {
    Elf_Scn* scn = elf_getscn(elf_, i);
    if (!scn) return invalid(at_section(i), fmt::format("unreadable ({})", elf_errmsg(-1)));
    POLLEN_CHECK(read_section(scn, strndx));
  }
  return {};
}

Result<void> ElfReader::read_section(Elf_Scn* scn, size_t strndx) {
  size_t index = elf_ndxscn(scn);
  GElf_Shdr sh;
  if (!gelf_getshdr(scn, &sh))
    return invalid(at_section(index), fmt::format("unreadable header ({})", elf_errmsg(-1)));
  const char* name = elf_strptr(elf_, strndx, sh.sh_name);
  if (!name)
    return invalid(at_section(index),
                   fmt::format("name offset {} outside the section name table", sh.sh_name));
  ElfSection& s = out_.sections_[index];
  s = ElfSection{static_cast<uint32_t>(index),
                 name,
                 sh.sh_type,
                 sh.sh_flags,
                 sh.sh_link,
                 sh.sh_info,
                 sh.sh_size,
                 {}};
  if (sh.sh_type == SHT_NOBITS || sh.sh_type == SHT_NULL || sh.sh_size == 0) return {};
  if (!fits(file_size_, sh.sh_offset, sh.sh_size))
    return invalid(fmt::format("{}: section '{}'", out_.name_, name),
                   fmt::format("data [{}, +{}) outside the file ({} bytes)", sh.sh_offset,
                               sh.sh_size, file_size_));
  Elf_Data* data = elf_rawdata(scn, nullptr);
  if (!data || (data->d_size > 0 && !data->d_buf))
    return invalid(fmt::format("{}: section '{}'", out_.name_, name),
                   fmt::format("unreadable data ({})", elf_errmsg(-1)));
  auto* bytes = static_cast<const uint8_t*>(data->d_buf);
  s.data.assign(bytes, bytes + data->d_size);
  return {};
}

Result<void> ElfReader::read_symbols() {
  const ElfSection* symtab = nullptr;
  for (const ElfSection& s : out_.sections_) {
    if (s.type != SHT_SYMTAB) continue;
    if (symtab) return invalid(at_section(s.index), "a second symbol table (only one is allowed)");
    symtab = &s;
  }
  if (!symtab) return invalid(out_.name_, "no symbol table (stripped object?)");
  const ElfSection* strtab = out_.section(symtab->link);
  if (!strtab || strtab->type != SHT_STRTAB)
    return invalid(fmt::format("{}: section '{}'", out_.name_, symtab->name),
                   fmt::format("sh_link {} is not a string table", symtab->link));
  if (symtab->data.size() % sizeof(Elf64_Sym) != 0)
    return invalid(
        fmt::format("{}: section '{}'", out_.name_, symtab->name),
        fmt::format("size {} is not a multiple of {}", symtab->data.size(), sizeof(Elf64_Sym)));
  out_.symbols_.resize(symtab->data.size() / sizeof(Elf64_Sym));
  for (size_t i = 0; i < out_.symbols_.size(); ++i) {
    Elf64_Sym raw;
    std::memcpy(&raw, symtab->data.data() + i * sizeof raw, sizeof raw);
    POLLEN_TRY(out_.symbols_[i], read_symbol(i, raw, symtab->link));
  }
  return {};
}

Result<ElfSymbol> ElfReader::read_symbol(size_t index, const Elf64_Sym& raw, uint32_t strtab) {
  std::string where = fmt::format("{}: symbol {}", out_.name_, index);
  const char* name = elf_strptr(elf_, strtab, raw.st_name);
  if (!name)
    return invalid(where, fmt::format("name offset {} outside the string table", raw.st_name));
  if (raw.st_shndx == SHN_XINDEX)
    return not_supported(where, "extended section indices (SHN_XINDEX)");
  if (raw.st_shndx < SHN_LORESERVE && raw.st_shndx >= out_.sections_.size())
    return invalid(where + " '" + name + "'",
                   fmt::format("section index {} out of range ({} sections)", raw.st_shndx,
                               out_.sections_.size()));
  return ElfSymbol{static_cast<uint32_t>(index),
                   name,
                   raw.st_value,
                   raw.st_size,
                   raw.st_shndx,
                   static_cast<uint8_t>(ELF64_ST_TYPE(raw.st_info)),
                   static_cast<uint8_t>(ELF64_ST_BIND(raw.st_info)),
                   static_cast<uint8_t>(ELF64_ST_VISIBILITY(raw.st_other))};
}

Result<void> ElfReader::read_relocations() {
  for (const ElfSection& s : out_.sections_) {
    if (s.type != SHT_REL) continue;
    if (s.info == 0 || s.info >= out_.sections_.size())
      return invalid(fmt::format("{}: section '{}'", out_.name_, s.name),
                     fmt::format("relocates section {} (out of range, {} sections)", s.info,
                                 out_.sections_.size()));
    if (s.data.size() % sizeof(Elf64_Rel) != 0)
      return invalid(
          fmt::format("{}: section '{}'", out_.name_, s.name),
          fmt::format("size {} is not a multiple of {}", s.data.size(), sizeof(Elf64_Rel)));
    ElfRelSection rels{s.index, s.info, {}};
    rels.rels.resize(s.data.size() / sizeof(Elf64_Rel));
    for (size_t i = 0; i < rels.rels.size(); ++i) {
      Elf64_Rel raw;
      std::memcpy(&raw, s.data.data() + i * sizeof raw, sizeof raw);
      rels.rels[i] = ElfRel{raw.r_offset, static_cast<uint32_t>(ELF64_R_SYM(raw.r_info)),
                            static_cast<uint32_t>(ELF64_R_TYPE(raw.r_info))};
    }
    out_.rel_sections_.push_back(std::move(rels));
  }
  return {};
}

Result<ElfFile> ElfFile::open(std::span<const uint8_t> bytes, std::string name) {
  POLLEN_CHECK(check_header(bytes, name + ": ELF header"));
  static std::once_flag version_once;
  std::call_once(version_once, [] { elf_version(EV_CURRENT); });
  // libelf wants a mutable image and may keep pointers into it until elf_end.
  std::vector<char> image(bytes.begin(), bytes.end());
  ElfHandle elf(elf_memory(image.data(), image.size()));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF)
    return invalid(name + ": ELF header",
                   fmt::format("libelf cannot read it ({})", elf_errmsg(-1)));
  ElfFile file;
  file.name_ = std::move(name);
  ElfReader reader(elf.get(), file, bytes.size());
  POLLEN_CHECK(reader.read_sections());
  POLLEN_CHECK(reader.read_symbols());
  POLLEN_CHECK(reader.read_relocations());
  return file;
}

const ElfSection* ElfFile::section(uint32_t index) const {
  return index > 0 && index < sections_.size() ? &sections_[index] : nullptr;
}

std::string ElfFile::section_name(uint32_t index) const {
  const ElfSection* s = section(index);
  return s ? s->name : fmt::format("#{}", index);
}

const ElfRelSection* ElfFile::rels_for(uint32_t target) const {
  for (const ElfRelSection& r : rel_sections_)
    if (r.target == target) return &r;
  return nullptr;
}

}  // namespace pollen::loader

// SPDX-License-Identifier: MIT
// Corrupted objects: each case takes one of the good objects, breaks one field of its ELF, BTF
// or .BTF.ext bytes, and expects a one-line error with the right code, a location naming where
// the damage is, and a message naming what is wrong. Regression inputs found by the fuzzer
// (tests/loader/regressions/*) are loaded too: each must fail or load, never crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "loader/loader.hpp"
#include "test_objects.hpp"

namespace pollen::loader {
namespace {

using test::ElfPatch;

struct Corruption {
  const char* name;
  const char* object;
  std::function<void(ElfPatch&)> damage;
  Errc code;
  const char* location;  // substring of Error::location.str()
  const char* message;   // substring of Error::message
};

void put_shdr_field(ElfPatch& e, std::string_view section, size_t field, uint64_t value) {
  size_t at = e.shdr_offset(e.section(section)) + field;
  if (field == offsetof(Elf64_Shdr, sh_name) || field == offsetof(Elf64_Shdr, sh_type))
    e.put<uint32_t>(at, static_cast<uint32_t>(value));
  else
    e.put<uint64_t>(at, value);
}

void put_rel_symbol(ElfPatch& e, std::string_view rel_section, size_t k, size_t symbol) {
  size_t at = e.rel_offset(rel_section, k) + offsetof(Elf64_Rel, r_info);
  auto info = e.get<uint64_t>(at);
  e.put<uint64_t>(at, ELF64_R_INFO(symbol, ELF64_R_TYPE(info)));
}

void put_rel_type(ElfPatch& e, std::string_view rel_section, size_t k, uint32_t type) {
  size_t at = e.rel_offset(rel_section, k) + offsetof(Elf64_Rel, r_info);
  e.put<uint64_t>(at, ELF64_R_INFO(ELF64_R_SYM(e.get<uint64_t>(at)), type));
}

void put_symbol(ElfPatch& e, std::string_view symbol, size_t field, uint64_t value) {
  size_t at = e.symbol_offset(symbol) + field;
  if (field == offsetof(Elf64_Sym, st_name))
    e.put<uint32_t>(at, static_cast<uint32_t>(value));
  else if (field == offsetof(Elf64_Sym, st_shndx))
    e.put<uint16_t>(at, static_cast<uint16_t>(value));
  else if (field == offsetof(Elf64_Sym, st_info))
    e.put<uint8_t>(at, static_cast<uint8_t>(value));
  else
    e.put<uint64_t>(at, value);
}

// Overwrites relocation `to` with relocation `from`, so that the one `to` had is gone.
void copy_rel(ElfPatch& e, std::string_view rel_section, size_t from, size_t to) {
  e.put<Elf64_Rel>(e.rel_offset(rel_section, to),
                   e.get<Elf64_Rel>(e.rel_offset(rel_section, from)));
}

// Gives `section` the name of `other`, which must be one no loader step reads.
void rename_section(ElfPatch& e, std::string_view section, std::string_view other) {
  e.put<uint32_t>(e.shdr_offset(e.section(section)), e.shdr(e.section(other)).sh_name);
}

// Length of the .BTF string section (str_len in the header).
uint32_t btf_string_bytes(ElfPatch& e) {
  return e.get<uint32_t>(e.data_offset(".BTF") + 20);
}

constexpr size_t kShName = offsetof(Elf64_Shdr, sh_name), kShType = offsetof(Elf64_Shdr, sh_type),
                 kShOffset = offsetof(Elf64_Shdr, sh_offset),
                 kShSize = offsetof(Elf64_Shdr, sh_size);
constexpr size_t kStName = offsetof(Elf64_Sym, st_name), kStInfo = offsetof(Elf64_Sym, st_info),
                 kStShndx = offsetof(Elf64_Sym, st_shndx), kStSize = offsetof(Elf64_Sym, st_size);
constexpr Errc kBad = Errc::InvalidProgram, kNo = Errc::NotSupported;

const char* const M = test::kMultiObj;
const char* const L = test::kLegacyNodebugObj;

// clang-format off
const std::vector<Corruption> kCorruptions = {
  // The ELF container.
  {"empty input", M, [](ElfPatch& e) { e.bytes().clear(); },
   kBad, "test.o: ELF header", "truncated (0 bytes"},
  {"truncated inside the ELF header", M, [](ElfPatch& e) { e.bytes().resize(40); },
   kBad, "test.o: ELF header", "truncated (40 bytes"},
  {"truncated in half", M, [](ElfPatch& e) { e.bytes().resize(e.bytes().size() / 2); },
   kBad, "ELF header", "section headers"},
  {"truncated by one byte", M, [](ElfPatch& e) { e.bytes().pop_back(); },
   kBad, "ELF header", "outside the file"},
  {"bad ELF magic", M, [](ElfPatch& e) { e.bytes()[1] = 'X'; },
   kBad, "ELF header", "not an ELF file"},
  {"32-bit ELF", M, [](ElfPatch& e) { e.bytes()[EI_CLASS] = ELFCLASS32; },
   kNo, "ELF header", "64-bit"},
  {"big-endian ELF", M, [](ElfPatch& e) { e.bytes()[EI_DATA] = ELFDATA2MSB; },
   kNo, "ELF header", "big-endian ELF"},
  {"another machine", M,
   [](ElfPatch& e) { e.put<uint16_t>(offsetof(Elf64_Ehdr, e_machine), EM_X86_64); },
   kNo, "ELF header", "ELF machine 62"},
  {"not relocatable", M,
   [](ElfPatch& e) { e.put<uint16_t>(offsetof(Elf64_Ehdr, e_type), ET_EXEC); },
   kNo, "ELF header", "ET_REL"},
  {"bad e_shoff", M,
   [](ElfPatch& e) { e.put<uint64_t>(offsetof(Elf64_Ehdr, e_shoff), 0xffffffffu); },
   kBad, "ELF header", "section headers"},
  {"bad e_shstrndx", M, [](ElfPatch& e) { e.put<uint16_t>(offsetof(Elf64_Ehdr, e_shstrndx), 999); },
   kBad, "ELF header", "section name table index 999"},
  {"section data outside the file", M,
   [](ElfPatch& e) { put_shdr_field(e, ".BTF", kShOffset, e.bytes().size()); },
   kBad, "section '.BTF'", "outside the file"},
  {"section name outside the name table", M,
   [](ElfPatch& e) { put_shdr_field(e, "tc", kShName, 0xffffff); },
   kBad, "test.o: section 7", "name offset 16777215"},
  {"no symbol table", M, [](ElfPatch& e) { put_shdr_field(e, ".symtab", kShType, SHT_PROGBITS); },
   kBad, "test.o", "no symbol table"},
  {"symbol with a bad section index", M, [](ElfPatch& e) { put_symbol(e, "flows", kStShndx, 999); },
   kBad, "'flows'", "section index 999 out of range"},
  {"symbol name outside the string table", M,
   [](ElfPatch& e) { put_symbol(e, "flows", kStName, 0xfffffff); },
   kBad, "test.o: symbol", "name offset"},
  // Code and relocations.
  {"code section not whole instructions", M,
   [](ElfPatch& e) { put_shdr_field(e, "xdp.frags", kShSize, 12); },
   kBad, "section 'xdp.frags'", "whole number of instructions"},
  {"function past its section", M, [](ElfPatch& e) { put_symbol(e, "tail_b", kStSize, 1000); },
   kBad, "function 'tail_b'", "bad extent"},
  {"static program", M,
   [](ElfPatch& e) { put_symbol(e, "tail_b", kStInfo, ELF64_ST_INFO(STB_LOCAL, STT_FUNC)); },
   kNo, "section 'xdp.frags'", "program 'tail_b' is static"},
  {"relocation symbol out of range", M, [](ElfPatch& e) { put_rel_symbol(e, ".relxdp", 3, 9999); },
   kBad, "section 'xdp', reloc 3", "symbol 9999 out of range"},
  {"relocation against a non-map symbol", M,
   [](ElfPatch& e) { put_rel_symbol(e, ".relsocket", 0, e.symbol_index("LICENSE")); },
   kBad, "section 'socket', reloc 0", "symbol 'LICENSE' is not a map"},
  {"relocation outside its section", M,
   [](ElfPatch& e) { e.put<uint64_t>(e.rel_offset(".relxdp", 0), 0x10000); },
   kBad, "section 'xdp', reloc 0", "offset 65536 is not an instruction"},
  {"misaligned relocation", M, [](ElfPatch& e) { e.put<uint64_t>(e.rel_offset(".relxdp", 0), 3); },
   kBad, "section 'xdp', reloc 0", "offset 3 is not an instruction"},
  {"relocation on a plain instruction", M,
   [](ElfPatch& e) { e.put<uint64_t>(e.rel_offset(".relxdp", 0), 0x10); },
   kBad, "section 'xdp', reloc 0", "patches opcode 0x61"},
  {"relocation of the wrong type", M, [](ElfPatch& e) { put_rel_type(e, ".relxdp", 0, 2); },
   kBad, "section 'xdp', reloc 0", "relocation type 2 on lddw"},
  {"call to the middle of a function", M,
   [](ElfPatch& e) { e.put<int32_t>(e.data_offset("xdp") + 15 * 8 + 4, 2); },
   kBad, "section 'xdp', reloc 1", "call to 'add_bytes' does not reach the start"},
  {"call without a relocation", M,
   [](ElfPatch& e) { copy_rel(e, ".relxdp", 5, 1); },
   kBad, "section 'xdp', insn 15 (function 'xdp_count')", "call without a relocation"},
  {"lddw cut by the end of its function", M,
   [](ElfPatch& e) { put_symbol(e, "tail_a", kStSize, 8); },
   kBad, "section 'xdp', insn 0 (function 'tail_a')", "cut in two"},
  {"data pointer outside its section", M,
   [](ElfPatch& e) { e.put<int32_t>(e.data_offset("syscall") + 3 * 8 + 4, 100); },
   kBad, "section 'syscall', reloc 1", "points outside section '.rodata' (17 bytes)"},
  {"extern symbol", M, [](ElfPatch& e) { put_symbol(e, "dropped", kStShndx, SHN_UNDEF); },
   kNo, "section '.text', reloc 3", "extern 'dropped'"},
  // BTF-defined maps and their initial values.
  {".maps without BTF", test::kMultiNodebugObj, [](ElfPatch&) {},
   kBad, "section '.maps'", "without a .BTF section"},
  {"unknown map field", M, [](ElfPatch& e) { e.bytes()[e.btf_string("max_entries") + 10] = 'z'; },
   kNo, "section '.maps', map 'inner_a'", "unknown map definition field 'max_entriez'"},
  {"prog array slot naming a map", M,
   [](ElfPatch& e) { put_rel_symbol(e, ".rel.maps", 2, e.symbol_index("flows")); },
   kBad, "section '.maps', reloc 2", "'flows' is not an entry-point program"},
  {"map-in-map slot naming a program", M,
   [](ElfPatch& e) { put_rel_symbol(e, ".rel.maps", 0, e.symbol_index("tail_a")); },
   kBad, "section '.maps', reloc 0", "'tail_a' is not a BTF-defined map"},
  {"initial value outside every map", M,
   [](ElfPatch& e) { e.put<uint64_t>(e.rel_offset(".rel.maps", 0), 0x100000); },
   kBad, "section '.maps', reloc 0", "no map at offset 1048576"},
  // .BTF
  {"bad BTF magic", M, [](ElfPatch& e) { e.put<uint16_t>(e.data_offset(".BTF"), 0x1234); },
   kBad, "test.o: .BTF", "bad magic (0x1234"},
  {"big-endian BTF", M, [](ElfPatch& e) { e.put<uint16_t>(e.data_offset(".BTF"), 0x9feb); },
   kNo, "test.o: .BTF", "big-endian BTF"},
  {"BTF header length", M,
   [](ElfPatch& e) { e.put<uint32_t>(e.data_offset(".BTF") + 4, 0x100000); },
   kBad, "test.o: .BTF", "bad header length"},
  {"BTF type section too long", M,
   [](ElfPatch& e) { e.put<uint32_t>(e.data_offset(".BTF") + 12, 0xffffff); },
   kBad, "test.o: .BTF", "type section"},
  {"BTF type id out of range", M,
   [](ElfPatch& e) { e.put<uint32_t>(e.btf_first_type() + 8, 0x7fff); },
   kBad, ".BTF: type 1 (PTR)", "refers to type 32767"},
  {"BTF unknown kind", M, [](ElfPatch& e) { e.put<uint32_t>(e.btf_first_type() + 4, 31u << 24); },
   kBad, ".BTF: type 1", "unknown kind 31"},
  {"BTF name outside the strings", M,
   [](ElfPatch& e) { e.put<uint32_t>(e.btf_first_type(), 0xffffff); },
   kBad, ".BTF: type 1 (PTR)", "name offset 16777215"},
  {"BTF strings not terminated", M,
   [](ElfPatch& e) { e.bytes()[e.btf_string("") + btf_string_bytes(e) - 1] = 'x'; },
   kBad, "test.o: .BTF", "end with NUL"},
  // .BTF.ext
  {"bad .BTF.ext magic", M, [](ElfPatch& e) { e.put<uint16_t>(e.btf_ext_field(0), 0); },
   kBad, "test.o: .BTF.ext", "bad magic"},
  {".BTF.ext header length", M, [](ElfPatch& e) { e.put<uint32_t>(e.btf_ext_field(4), 0x10000); },
   kBad, "test.o: .BTF.ext", "bad header length"},
  {".BTF.ext block outside the section", M,
   [](ElfPatch& e) { e.put<uint32_t>(e.btf_ext_field(20), 0x100000); },
   kBad, "test.o: .BTF.ext", "line_info"},
  {"func_info record size too small", M,
   [](ElfPatch& e) { e.put<uint32_t>(e.btf_ext_block(8), 4); },
   kBad, ".BTF.ext: func_info", "bad record size 4"},
  {"line_info record size not a multiple of 4", M,
   [](ElfPatch& e) { e.put<uint32_t>(e.btf_ext_block(16), 17); },
   kBad, ".BTF.ext: line_info", "bad record size 17"},
  {"func_info count too large", M,
   [](ElfPatch& e) { e.put<uint32_t>(e.btf_ext_block(8) + 8, 0xffffff); },
   kBad, ".BTF.ext: func_info, group 0", "do not fit"},
  {"func_info section name", M,
   [](ElfPatch& e) { e.put<uint32_t>(e.btf_ext_block(8) + 4, 0xffffff); },
   kBad, ".BTF.ext: func_info, group 0", "is not a name"},
  {"func_info type not a FUNC", M, [](ElfPatch& e) { e.put<uint32_t>(e.btf_ext_block(8) + 16, 1); },
   kBad, ".BTF.ext: func_info, group 0, record 0", "type 1 is not a FUNC (PTR)"},
  {".BTF.ext without .BTF", M,
   [](ElfPatch& e) { rename_section(e, ".BTF", ".debug_abbrev"); },
   kBad, "section '.BTF.ext'", "without a .BTF section"},
  // Legacy maps and the version section.
  {"legacy maps of uneven size", L, [](ElfPatch& e) { put_shdr_field(e, "maps", kShSize, 39); },
   kBad, "section 'maps'", "39 bytes do not hold 2 map definitions"},
  {"legacy map with unknown fields", L, [](ElfPatch& e) { put_shdr_field(e, "maps", kShSize, 48); },
   kNo, "section 'maps', map 'packets'", "fields past struct bpf_map_def (byte 20 of 24 is 0x01"},
  {"version of the wrong size", L, [](ElfPatch& e) { put_shdr_field(e, "version", kShSize, 3); },
   kBad, "section 'version'", "size 3 (must be 4)"},
};
// clang-format on

void PrintTo(const Corruption& c, std::ostream* os) {
  *os << c.name;
}

class CorruptObject : public testing::TestWithParam<Corruption> {};

TEST_P(CorruptObject, GivesALocatedOneLineError) {
  const Corruption& c = GetParam();
  std::vector<uint8_t> bytes = test::read_bytes(c.object);
  if (bytes.empty()) GTEST_SKIP() << "no eBPF object (clang lacks the BPF target)";
  ElfPatch patch(std::move(bytes));
  c.damage(patch);
  Result<ObjectSpec> r = load_object(patch.bytes(), "test.o");
  ASSERT_FALSE(r.ok()) << "the damaged object loaded";
  const Error& e = r.error();
  EXPECT_EQ(e.code, c.code) << e.str();
  EXPECT_NE(e.location.str().find(c.location), std::string::npos) << e.str();
  EXPECT_NE(e.message.find(c.message), std::string::npos) << e.str();
  EXPECT_EQ(e.str().find('\n'), std::string::npos) << e.str();
}

std::string case_name(const testing::TestParamInfo<Corruption>& info) {
  std::string name;
  for (const char* p = info.param.name; *p; ++p)
    name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Loader, CorruptObject, testing::ValuesIn(kCorruptions), case_name);

TEST(LoaderCorrupt, EveryTruncationFailsCleanly) {
  std::vector<uint8_t> bytes = test::read_bytes(test::kMultiObj);
  if (bytes.empty()) GTEST_SKIP() << "no eBPF object (clang lacks the BPF target)";
  for (size_t size = 0; size < bytes.size(); size += 97) {
    Result<ObjectSpec> r = load_object(std::span(bytes.data(), size), "test.o");
    EXPECT_FALSE(r.ok()) << size;
  }
}

TEST(LoaderCorrupt, FuzzerRegressionsDoNotCrash) {
  std::filesystem::path dir = test::kRegressionDir;
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::vector<uint8_t> bytes = test::read_bytes(entry.path().string());
    Result<ObjectSpec> r = load_object(bytes, entry.path().filename().string());
    if (!r.ok()) {
      EXPECT_FALSE(r.error().location.str().empty()) << r.error().str();
      EXPECT_EQ(r.error().str().find('\n'), std::string::npos) << entry.path();
    }
    ++count;
  }
  EXPECT_GT(count, 0u) << "no regression inputs in " << dir;
}

}  // namespace
}  // namespace pollen::loader

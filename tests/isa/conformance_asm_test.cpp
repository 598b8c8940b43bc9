// SPDX-License-Identifier: MIT
// The assembler against real data: the `-- asm` section of every bpf_conformance .data file
// (read in place from POLLEN_CONFORMANCE_DIR) assembles, validates, and survives a conformance
// listing round trip; where a file also has `-- raw` (lddw.data), the bytes match it. Sections
// are split by the rules in ../shared/conformance/README.md ("The .data file format").
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "insn_builder.hpp"
#include "isa/assembler.hpp"
#include "isa/disassembler.hpp"

namespace pollen::isa {
namespace {

namespace fs = std::filesystem;

struct DataFile {
  std::string asm_text;
  std::vector<std::string> raw_tokens;
  bool has_raw = false;
};

// The section a header line opens, by the README's substring order; "" for the others.
std::string section_of(const std::string& header) {
  for (const char* name : {"asm", "result", "mem", "raw", "no register offset", " c", "error"})
    if (header.find(name) != std::string::npos) return name;
  return "";
}

DataFile read_data_file(const fs::path& path) {
  std::ifstream in(path);
  DataFile file;
  std::string line, section;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    line = line.substr(0, line.find('#'));
    if (line.find("--") != std::string::npos) {
      section = section_of(line);
      file.has_raw |= section == "raw";
      continue;
    }
    if (section == "asm") file.asm_text += line + "\n";
    if (section != "raw") continue;
    std::istringstream words(line);
    for (std::string word; words >> word;) file.raw_tokens.push_back(word);
  }
  return file;
}

// A raw token is the slot as a little-endian u64: opcode, dst, src, off, imm from low to high.
Insn raw_slot(const std::string& token) {
  bool hex = token.starts_with("0x") || token.starts_with("0X");
  uint64_t v = 0;
  std::from_chars(token.data() + (hex ? 2 : 0), token.data() + token.size(), v, hex ? 16 : 10);
  return test::slot(static_cast<uint8_t>(v), (v >> 8) & 0xf, (v >> 12) & 0xf,
                    static_cast<int16_t>(v >> 16), static_cast<int32_t>(v >> 32));
}

std::vector<std::string> data_files() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(POLLEN_CONFORMANCE_DIR, ec))
    if (entry.path().extension() == ".data") names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(ConformanceData, DirectoryHoldsTheSuite) {
  EXPECT_EQ(data_files().size(), 313u) << "POLLEN_CONFORMANCE_DIR=" << POLLEN_CONFORMANCE_DIR;
}

class ConformanceAsm : public testing::TestWithParam<std::string> {};

TEST_P(ConformanceAsm, AssemblesValidatesAndRoundTrips) {
  DataFile file = read_data_file(fs::path(POLLEN_CONFORMANCE_DIR) / GetParam());
  Result<std::vector<Insn>> prog = assemble(file.asm_text, GetParam());
  ASSERT_TRUE(prog.ok()) << prog.error().str();
  ASSERT_FALSE(prog->empty());
  Result<void> valid = validate(*prog);
  EXPECT_TRUE(valid.ok()) << valid.error().str();
  if (file.has_raw) {
    std::vector<Insn> raw;
    for (const std::string& token : file.raw_tokens) raw.push_back(raw_slot(token));
    EXPECT_EQ(*prog, raw);
  }
  Result<std::string> listing = disassemble(*prog, {Syntax::Conformance, false, false});
  ASSERT_TRUE(listing.ok()) << listing.error().str();
  Result<std::vector<Insn>> again = assemble(*listing);
  ASSERT_TRUE(again.ok()) << again.error().str();
  EXPECT_EQ(*again, *prog) << *listing;
}

INSTANTIATE_TEST_SUITE_P(EveryFile, ConformanceAsm, testing::ValuesIn(data_files()),
                         [](const auto& info) {
                           std::string name = info.param.substr(0, info.param.size() - 5);
                           std::replace_if(
                               name.begin(), name.end(), [](char c) { return !std::isalnum(c); },
                               '_');
                           return name;
                         });

}  // namespace
}  // namespace pollen::isa

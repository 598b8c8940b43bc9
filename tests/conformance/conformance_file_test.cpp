// SPDX-License-Identifier: MIT
// Table tests of the `.data` reader (tests/common/conformance_file.hpp): each row is a file's
// text and what the upstream parser makes of it, per ../shared/conformance/README.md. A second
// table holds malformed files the reader must refuse, located at the offending line.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "conformance_file.hpp"

namespace pollen::test {
namespace {

struct ReadCase {
  std::string behaviour = {};
  std::string text = {};
  std::string assembly = {};  // with one '\n' per line of the file
  std::vector<uint8_t> raw = {};
  std::vector<uint8_t> memory = {};
  std::optional<uint64_t> result = {};
  std::optional<std::string> error = {};
  std::string skip_reason = {};
};

const std::vector<ReadCase> kReadCases = {
    {.behaviour = "drops a trailing carriage return",
     .text = "-- asm\r\nexit\r\n-- result\r\n0x1\r\n",
     .assembly = "\nexit\n\n\n",
     .result = 1},
    {.behaviour = "removes comments, including on header lines",
     .text = "# header\n-- asm # program\nmov %r0, 1 # set r0\n-- result # expected\n7 # seven\n",
     .assembly = "\n\nmov %r0, 1 \n\n\n",
     .result = 7},
    {.behaviour = "ignores lines before the first header",
     .text = "mov %r0, 2\n-- asm\nexit\n-- result\n0\n",
     .assembly = "\n\nexit\n\n\n",
     .result = 0},
    {.behaviour = "names a section by the first needle it contains, asm before result",
     .text = "-- result of asm\nexit\n--result\n3\n",
     .assembly = "\nexit\n\n\n",
     .result = 3},
    {.behaviour = "reads a header without a space after the dashes",
     .text = "--asm\nexit\n--mem\naa\n--result\n1\n",
     .assembly = "\nexit\n\n\n\n\n",
     .memory = {0xaa},
     .result = 1},
    {.behaviour = "ignores the c and no register offset sections",
     .text = "-- c\nreturn 0;\n-- asm\nexit\n-- no register offset\ncall instruction\n"
             "-- result\n0\n",
     .assembly = "\n\n\nexit\n\n\n\n\n",
     .result = 0},
    {.behaviour = "joins mem across lines",
     .text = "-- asm\nexit\n-- mem\n00 01\n  0a ff\n-- result\n0\n",
     .assembly = "\nexit\n\n\n\n\n\n",
     .memory = {0x00, 0x01, 0x0a, 0xff},
     .result = 0},
    {.behaviour = "reads raw slots as little endian u64 in hex or decimal",
     .text = "-- asm\nexit\n-- raw\n0x0000000000000095 149\n-- result\n0\n",
     .assembly = "\nexit\n\n\n\n\n",
     .raw = {0x95, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0},
     .result = 0},
    {.behaviour = "reads a result as hex when it contains 0x",
     .text = "-- asm\nexit\n-- result\n0xFFFFffffFFFFffff\n",
     .assembly = "\nexit\n\n\n",
     .result = 0xffff'ffff'ffff'ffff},
    {.behaviour = "reads a result without 0x as decimal",
     .text = "-- asm\nexit\n-- result\n10\n",
     .assembly = "\nexit\n\n\n",
     .result = 10},
    {.behaviour = "wraps a negative decimal result to 64 bits",
     .text = "-- asm\nexit\n-- result\n-1\n",
     .assembly = "\nexit\n\n\n",
     .result = 0xffff'ffff'ffff'ffff},
    {.behaviour = "takes the last result line",
     .text = "-- asm\nexit\n-- result\n0x1\n\n0x2\n",
     .assembly = "\nexit\n\n\n\n\n",
     .result = 2},
    {.behaviour = "takes the last error line and leaves result unset",
     .text = "-- asm\nexit\n-- error\nfirst\nFailed to load code: at PC 0\n",
     .assembly = "\nexit\n\n\n\n",
     .error = "Failed to load code: at PC 0"},
    {.behaviour = "skips a file with neither result nor error",
     .text = "-- asm\nexit\n-- error\n\n",
     .assembly = "\nexit\n\n\n",
     .skip_reason = "no result or error"},
    {.behaviour = "skips a file with an unknown section header",
     .text = "-- asm\nexit\n-- output\n1\n",
     .assembly = "\nexit\n",
     .skip_reason = "line 3: unknown section header '-- output'"},
    {.behaviour = "skips a file with no instructions",
     .text = "-- asm\n\n-- result\n0\n",
     .assembly = "\n\n\n\n",
     .result = 0,
     .skip_reason = "no instructions"},
};

class ReadsLikeUpstream : public ::testing::TestWithParam<ReadCase> {};

TEST_P(ReadsLikeUpstream, Case) {
  const ReadCase& c = GetParam();
  auto file = parse_conformance_file(c.text, "case.data");
  ASSERT_TRUE(file) << file.error().str();
  EXPECT_EQ(file->file_name, "case.data");
  EXPECT_EQ(file->assembly, c.assembly);
  EXPECT_EQ(file->raw, c.raw);
  EXPECT_EQ(file->memory, c.memory);
  EXPECT_EQ(file->result, c.result);
  EXPECT_EQ(file->error, c.error);
  EXPECT_EQ(file->skip_reason, c.skip_reason);
}

std::string behaviour_name(const std::string& behaviour) {
  std::string name;
  for (char c : behaviour) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(ConformanceFile, ReadsLikeUpstream, ::testing::ValuesIn(kReadCases),
                         [](const auto& info) { return behaviour_name(info.param.behaviour); });

struct RefuseCase {
  std::string behaviour;
  std::string text;
  std::string message;  // Error::str()
};

const std::vector<RefuseCase> kRefuseCases = {
    {"refuses a result that is not a number", "-- asm\nexit\n-- result\n0x12g\n",
     "case.data:4: result is not a hex 64-bit number ('0x12g')"},
    {"refuses a decimal result that overflows 64 bits",
     "-- asm\nexit\n-- result\n18446744073709551616\n",
     "case.data:4: result is not a decimal 64-bit number ('18446744073709551616')"},
    {"refuses a mem token that is not a hex byte", "-- asm\nexit\n-- mem\n00\n100\n-- result\n0\n",
     "case.data:5: mem token is not a hex byte ('100')"},
    {"refuses a raw token that is not a number", "-- raw\n0x95 nine\n-- result\n0\n",
     "case.data:2: raw slot is not a 64-bit number ('nine')"},
};

class RefusesMalformed : public ::testing::TestWithParam<RefuseCase> {};

TEST_P(RefusesMalformed, Case) {
  auto file = parse_conformance_file(GetParam().text, "case.data");
  ASSERT_FALSE(file) << "parsed a malformed file";
  EXPECT_EQ(file.error().code, Errc::Parse);
  EXPECT_EQ(file.error().str(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(ConformanceFile, RefusesMalformed, ::testing::ValuesIn(kRefuseCases),
                         [](const auto& info) { return behaviour_name(info.param.behaviour); });

TEST(ConformanceFile, NamesTestsAfterTheFileStem) {
  EXPECT_EQ(conformance_test_name("/x/lsh32-imm-high.data"), "lsh32_imm_high");
  EXPECT_EQ(conformance_test_name("rfc9669_add32.data"), "rfc9669_add32");
}

TEST(ConformanceFile, ListsOnlyTopLevelDataFilesSorted) {
  auto dir = std::filesystem::path(::testing::TempDir()) / "pollen_conformance_list";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "negative");
  for (auto name : {"b.data", "a.data", "notes.txt", "negative/c.data"}) {
    std::ofstream(dir / name) << "-- asm\nexit\n";
  }
  EXPECT_EQ(list_conformance_files(dir),
            (std::vector<std::filesystem::path>{dir / "a.data", dir / "b.data"}));
  EXPECT_TRUE(list_conformance_files(dir / "missing").empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pollen::test

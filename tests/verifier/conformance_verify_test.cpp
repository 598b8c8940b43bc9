// SPDX-License-Identifier: MIT
// The verifier on the bpf_conformance programs, through the public API: each program, verified
// as a raw program with its memory's size, must be accepted, except those Linux's verifier also
// refuses, which must be refused for the same reason (the list matches
// tests/differential's list of kernel refusals). These are programs written by hand to test
// every instruction, so they check that the verifier does not refuse what it should allow.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "conformance_file.hpp"
#include "pollen/pollen.hpp"

namespace pollen::test {
namespace {

const std::filesystem::path kConformanceDir = POLLEN_CONFORMANCE_DIR;

struct Refusal {
  std::string file;
  std::string message;  ///< a substring of Pollen's rejection
};

// Linux refuses these too (tests/differential): constant shifts outside the width, and callx.
const std::vector<Refusal> kRefusals = {
    {"arsh32-imm-high.data", "invalid shift 48"},  {"arsh32-imm-neg.data", "invalid shift -16"},
    {"arsh64-imm-high.data", "invalid shift 124"}, {"arsh64-imm-neg.data", "invalid shift -4"},
    {"lsh32-imm-high.data", "invalid shift 60"},   {"lsh32-imm-neg.data", "invalid shift -4"},
    {"lsh64-imm-high.data", "invalid shift 68"},   {"lsh64-imm-neg.data", "invalid shift -60"},
    {"rsh32-imm-high.data", "invalid shift 40"},   {"rsh32-imm-neg.data", "invalid shift -24"},
    {"rsh64-imm-high.data", "invalid shift 68"},   {"rsh64-imm-neg.data", "invalid shift -60"},
    {"callx.data", "callx is not supported"},
};

class ConformanceVerifyTest : public testing::TestWithParam<std::filesystem::path> {};

TEST_P(ConformanceVerifyTest, VerdictMatchesLinux) {
  auto file = read_conformance_file(GetParam());
  ASSERT_TRUE(file) << file.error().str();
  if (!file->is_test()) GTEST_SKIP() << "the upstream runner skips it: " << file->skip_reason;
  auto program = conformance_program(*file);
  ASSERT_TRUE(program) << program.error().str();
  VerifyOptions options;
  options.raw_memory_size = file->memory.size();
  auto report = verify(*program, ProgramType::Raw, options);
  ASSERT_TRUE(report) << report.error().str();
  auto refusal = std::find_if(kRefusals.begin(), kRefusals.end(),
                              [&](const Refusal& r) { return r.file == file->file_name; });
  if (refusal == kRefusals.end()) {
    EXPECT_TRUE(report->accepted) << file->file_name << ": " << report->error->str();
    return;
  }
  ASSERT_FALSE(report->accepted) << file->file_name << " is accepted; Linux refuses it";
  EXPECT_NE(report->error->message.find(refusal->message), std::string::npos)
      << report->error->str();
}

INSTANTIATE_TEST_SUITE_P(Conformance, ConformanceVerifyTest,
                         testing::ValuesIn(list_conformance_files(kConformanceDir)),
                         [](const auto& info) { return conformance_test_name(info.param); });

TEST(ConformanceVerify, FindsTheFiles) {
  EXPECT_EQ(list_conformance_files(kConformanceDir).size(), 313u) << kConformanceDir;
}

}  // namespace
}  // namespace pollen::test

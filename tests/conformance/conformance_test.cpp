// SPDX-License-Identifier: MIT
// The bpf_conformance suite on Pollen: every `*.data` file in POLLEN_CONFORMANCE_DIR (read in
// place) is one test case, named after the file, per engine. Each is assembled with the public
// API (Program::from_assembly, or from_bytes for `-- raw`), run in checked mode with an
// instruction budget on the file's memory, and its full 64-bit r0 compared with `-- result`.
// Nothing is skipped: a file the upstream runner would skip fails here. A separate test pins
// the number of files, so a missing directory fails instead of running nothing.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "conformance_file.hpp"
#include "pollen/pollen.hpp"

namespace pollen::test {
namespace {

const std::filesystem::path kConformanceDir = POLLEN_CONFORMANCE_DIR;
// The files copied from bpf_conformance f5585662 (../shared/conformance/README.md).
constexpr size_t kConformanceFileCount = 313;
// Far above what any file needs (prime.data, the longest run, takes a few hundred), so only a
// runaway loop reaches it.
constexpr uint64_t kInsnBudget = 1'000'000;

struct ConformanceCase {
  std::filesystem::path path;
  Engine engine;
  bool harden = false;  ///< JIT constant blinding
};

// Called while tests are registered, so the file list exists before main().
std::vector<ConformanceCase> cases_for(Engine engine, bool harden = false) {
  std::vector<ConformanceCase> cases;
  for (auto& path : list_conformance_files(kConformanceDir))
    cases.push_back({path, engine, harden});
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<ConformanceCase>& info) {
  return conformance_test_name(info.param.path);
}

std::string hex(uint64_t value) {
  char text[19];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

class ConformanceTest : public ::testing::TestWithParam<ConformanceCase> {};

TEST_P(ConformanceTest, GivesTheExpectedR0) {
  if (!engine_supported(GetParam().engine)) GTEST_SKIP() << "this host has no JIT";
  auto file = read_conformance_file(GetParam().path);
  ASSERT_TRUE(file) << file.error().str();
  ASSERT_TRUE(file->is_test()) << "the upstream runner would skip this file: " << file->skip_reason;

  auto program = conformance_program(*file);
  std::vector<uint8_t> memory = file->memory;
  ExecOptions options;
  options.engine = GetParam().engine;
  options.harden = GetParam().harden;
  options.checked = true;
  options.insn_budget = kInsnBudget;

  if (file->error) {
    // As the upstream runner grades it: loading or running fails with exactly this message.
    std::string failure;
    if (program) {
      auto run = exec(*program, memory, options);
      ASSERT_FALSE(run) << "ran to r0 " << hex(run->r0) << ", expected the failure '"
                        << *file->error << "'";
      failure = run.error().str();
    } else {
      failure = program.error().str();
    }
    EXPECT_EQ(failure, *file->error);
    return;
  }
  ASSERT_TRUE(program) << program.error().str();
  auto run = exec(*program, memory, options);
  ASSERT_TRUE(run) << run.error().str();
  EXPECT_EQ(run->r0, *file->result) << "r0 " << hex(run->r0) << ", expected " << hex(*file->result);
}

INSTANTIATE_TEST_SUITE_P(Interpreter, ConformanceTest,
                         ::testing::ValuesIn(cases_for(Engine::Interpreter)), case_name);
// Each further engine is one more instantiation over cases_for(that engine).
INSTANTIATE_TEST_SUITE_P(Jit, ConformanceTest, ::testing::ValuesIn(cases_for(Engine::Jit)),
                         case_name);
INSTANTIATE_TEST_SUITE_P(JitHardened, ConformanceTest,
                         ::testing::ValuesIn(cases_for(Engine::Jit, true)), case_name);

TEST(ConformanceSuite, FindsEveryDataFile) {
  EXPECT_EQ(list_conformance_files(kConformanceDir).size(), kConformanceFileCount)
      << "*.data files in " << kConformanceDir;
}

}  // namespace
}  // namespace pollen::test

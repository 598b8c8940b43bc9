// SPDX-License-Identifier: MIT
// Pollen against the Linux kernel on the bpf_conformance programs: each `*.data` file in
// POLLEN_CONFORMANCE_DIR runs on Pollen's interpreter and, through BPF_PROG_TEST_RUN, in the
// kernel; the full 64-bit r0 and the memory after the run must agree. Where the kernel's
// verifier refuses a program the suite considers valid, the refusal is a known difference,
// listed below with the verifier's exact refusal; such a file is reported as skipped with that
// message, never as a pass. A refusal not on the list fails, and so does a listed file the
// kernel accepts (then the list is out of date). Without BPF everything skips, saying why.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "conformance_file.hpp"
#include "kernel_xdp_runner.hpp"
#include "pollen/pollen.hpp"

namespace pollen::test {
namespace {

const std::filesystem::path kConformanceDir = POLLEN_CONFORMANCE_DIR;
constexpr size_t kConformanceFileCount = 313;
constexpr uint64_t kInsnBudget = 1'000'000;

struct KnownDifference {
  std::string file;            // the .data file name
  std::string kernel_message;  // the verifier's refusal line (refusal_line())
  std::string why;
};

// Programs the suite calls valid that Linux's verifier refuses (kernel/bpf/verifier.c).
const std::vector<KnownDifference> kKnownDifferences = {
    // check_alu_op(): a constant shift must be below the operand width; the suite expects
    // the count to be masked instead (README, "Shift counts are masked").
    {"arsh32-imm-high.data", "invalid shift 48", "constant shift >= 32"},
    {"arsh32-imm-neg.data", "invalid shift -16", "negative constant shift"},
    {"arsh64-imm-high.data", "invalid shift 124", "constant shift >= 64"},
    {"arsh64-imm-neg.data", "invalid shift -4", "negative constant shift"},
    {"lsh32-imm-high.data", "invalid shift 60", "constant shift >= 32"},
    {"lsh32-imm-neg.data", "invalid shift -4", "negative constant shift"},
    {"lsh64-imm-high.data", "invalid shift 68", "constant shift >= 64"},
    {"lsh64-imm-neg.data", "invalid shift -60", "negative constant shift"},
    {"rsh32-imm-high.data", "invalid shift 40", "constant shift >= 32"},
    {"rsh32-imm-neg.data", "invalid shift -24", "negative constant shift"},
    {"rsh64-imm-high.data", "invalid shift 68", "constant shift >= 64"},
    {"rsh64-imm-neg.data", "invalid shift -60", "negative constant shift"},
    // callx (0x8d) is the suite's own extension; Linux has no such opcode.
    {"callx.data", "unknown opcode 8d", "callx is not a Linux instruction"},
};

const KnownDifference* known_difference(const std::string& file) {
  auto it = std::find_if(kKnownDifferences.begin(), kKnownDifferences.end(),
                         [&](const KnownDifference& k) { return k.file == file; });
  return it == kKnownDifferences.end() ? nullptr : &*it;
}

std::vector<std::filesystem::path> files() {
  return list_conformance_files(kConformanceDir);
}

std::string hex(uint64_t value) {
  char text[19];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

class DifferentialTest : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(DifferentialTest, KernelAgreesWithInterpreter) {
  if (const std::string& why = kernel_bpf_unavailable(); !why.empty()) {
    GTEST_SKIP() << "BPF unavailable: " << why;
  }
  auto file = read_conformance_file(GetParam());
  ASSERT_TRUE(file) << file.error().str();
  ASSERT_TRUE(file->is_test()) << "the upstream runner would skip this file: " << file->skip_reason;
  ASSERT_TRUE(file->result) << "expects an error, which only has a meaning per runtime";
  auto program = conformance_program(*file);
  ASSERT_TRUE(program) << program.error().str();

  auto kernel = run_in_kernel(program->bytes(), file->memory);
  ASSERT_TRUE(kernel) << kernel.error().str();
  const KnownDifference* known = known_difference(file->file_name);
  if (!kernel->accepted) {
    ASSERT_NE(known, nullptr) << "the kernel refuses it (" << std::strerror(kernel->load_errno)
                              << "):\n"
                              << kernel->verifier_log;
    ASSERT_EQ(refusal_line(kernel->verifier_log), known->kernel_message)
        << "refused for another reason than the listed one:\n"
        << kernel->verifier_log;
    GTEST_SKIP() << "known difference (" << known->why << "): the kernel refuses it with '"
                 << known->kernel_message << "'";
  }
  EXPECT_EQ(known, nullptr) << "listed as a known difference (" << known->why
                            << "), but the kernel accepts it: update kKnownDifferences";

  std::vector<uint8_t> memory = file->memory;
  ExecOptions options;
  options.checked = true;
  options.insn_budget = kInsnBudget;
  auto pollen = exec(*program, memory, options);
  ASSERT_TRUE(pollen) << pollen.error().str();
  EXPECT_EQ(pollen->r0, kernel->r0) << "Pollen r0 " << hex(pollen->r0) << ", kernel r0 "
                                    << hex(kernel->r0) << ", file expects " << hex(*file->result);
  EXPECT_EQ(memory, kernel->memory) << "memory after the run differs";
}

INSTANTIATE_TEST_SUITE_P(Kernel, DifferentialTest, ::testing::ValuesIn(files()),
                         [](const auto& info) { return conformance_test_name(info.param); });

TEST(DifferentialSuite, FindsEveryDataFile) {
  EXPECT_EQ(files().size(), kConformanceFileCount) << "*.data files in " << kConformanceDir;
}

TEST(DifferentialSuite, ListsKnownDifferencesOnlyForExistingFiles) {
  for (const KnownDifference& k : kKnownDifferences) {
    EXPECT_TRUE(std::filesystem::is_regular_file(kConformanceDir / k.file)) << k.file;
  }
}

}  // namespace
}  // namespace pollen::test

// SPDX-License-Identifier: MIT
// Pollen's verdicts against Linux's on every verifier case (the differential test): each case is
// loaded in the running kernel (kernel_verdict.hpp) and must get the verdict the case expects
// from Pollen. Where Linux differs on purpose, the case says so (`kernel: accepts ...`) and the
// difference is asserted. Above all, every program Linux rejects must be rejected by Pollen.
// Without BPF (not root, no bpf(2)) every case skips with the reason. A summary of the agreement
// is printed at the end.
#include <gtest/gtest.h>

#include <time.h>

#include <cstdio>

#include "case_file.hpp"
#include "case_runner.hpp"
#include "isa/assembler.hpp"
#include "kernel_verdict.hpp"

namespace pollen::test {
namespace {

struct Tally {
  int agree = 0, documented = 0, skipped = 0, disagree = 0;
  uint64_t kernel_us = 0, pollen_us = 0;
  ~Tally() {
    if (agree + documented + disagree == 0) return;
    std::printf(
        "kernel agreement: %d cases agree, %d differ as documented, %d differ "
        "unexpectedly, %d skipped\n",
        agree, documented, disagree, skipped);
    std::printf("verification time over the compared cases: Linux %llu us, Pollen %llu us\n",
                static_cast<unsigned long long>(kernel_us),
                static_cast<unsigned long long>(pollen_us));
  }
};
Tally tally;

std::vector<VerifierCase> all_cases() {
  std::string error;
  std::vector<VerifierCase> cases = read_cases(POLLEN_VERIFIER_CASES_DIR, error);
  if (!error.empty()) ADD_FAILURE() << error;
  return cases;
}

uint64_t thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// Pollen's own verification time for the case, as the kernel's is measured: the analysis alone,
// in CPU time, so that other work on the machine does not count.
uint64_t pollen_time_us(const VerifierCase& c, std::span<const isa::Insn> insns) {
  std::vector<TestMap> maps;
  for (const CaseMap& m : c.maps) maps.push_back({m.fd, map_info(m)});
  TestPlatform platform(std::move(maps));
  verifier::Input input{insns, verifier::find_program_type(c.type), &platform, {}, {}};
  input.options.raw_memory_size = c.mem;
  uint64_t start = thread_cpu_us();
  (void)verifier::verify(input);
  return thread_cpu_us() - start;
}

class KernelCaseTest : public testing::TestWithParam<VerifierCase> {};

TEST_P(KernelCaseTest, KernelAgrees) {
  const VerifierCase& c = GetParam();
  if (const std::string& why = kernel_unavailable(); !why.empty()) {
    ++tally.skipped;
    GTEST_SKIP() << "BPF unavailable: " << why;
  }
  if (c.kernel.rfind("skip", 0) == 0) {
    ++tally.skipped;
    GTEST_SKIP() << "not comparable in the kernel: " << c.kernel;
  }
  auto insns = isa::assemble(c.assembly, c.file);
  ASSERT_TRUE(insns) << insns.error().str();
  std::string error;
  KernelVerdict k = kernel_verdict(c, *insns, error);
  ASSERT_EQ(error, "") << c.where();
  tally.kernel_us += k.time_us;
  tally.pollen_us += pollen_time_us(c, *insns);
  bool expect_kernel = c.accept;
  if (c.kernel.rfind("accepts", 0) == 0) expect_kernel = true;
  if (c.kernel.rfind("rejects", 0) == 0) expect_kernel = false;
  bool documented = expect_kernel != c.accept;
  if (k.accepted != expect_kernel)
    ++tally.disagree;
  else if (documented)
    ++tally.documented;
  else
    ++tally.agree;
  EXPECT_FALSE(!k.accepted && c.accept && !documented)
      << c.where() << ": Linux rejects a program Pollen accepts: " << k.refusal;
  EXPECT_EQ(k.accepted, expect_kernel)
      << c.where() << ": Linux " << (k.accepted ? "accepts" : "rejects (" + k.refusal + ")")
      << "; the case expects it to " << (expect_kernel ? "accept" : "reject");
}

INSTANTIATE_TEST_SUITE_P(Cases, KernelCaseTest, testing::ValuesIn(all_cases()),
                         [](const testing::TestParamInfo<VerifierCase>& info) {
                           return info.param.test_name();
                         });

}  // namespace
}  // namespace pollen::test

// SPDX-License-Identifier: MIT
// Table tests of the kernel side of the differential test (kernel_xdp_runner.hpp), on programs
// written as raw slots so that they do not depend on Pollen's assembler: the wrapper must hand
// back the full 64-bit r0, the real memory length, the memory after the run and the verifier's
// refusal. Skips, saying why, where BPF is unavailable.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "kernel_xdp_runner.hpp"

namespace pollen::test {
namespace {

struct RunnerCase {
  std::string behaviour = {};
  std::vector<uint64_t> slots = {};  // struct bpf_insn read as a little-endian u64, as in `-- raw`
  std::vector<uint8_t> memory = {};
  uint64_t r0 = 0;
  std::vector<uint8_t> memory_after = {};
  std::string refusal = {};  // empty: the kernel must accept the program
};

const std::vector<RunnerCase> kRunnerCases = {
    {.behaviour = "returns the full 64 bit r0",  // lddw r0, 0x1122334455667788; exit
     .slots = {0x5566778800000018, 0x1122334400000000, 0x95},
     .r0 = 0x1122334455667788},
    {.behaviour = "passes the memory length not the padded packet length",  // mov r0, r2; exit
     .slots = {0x00000000000020bf, 0x95},
     .memory = {1, 2, 3},
     .r0 = 3,
     .memory_after = {1, 2, 3}},
    {.behaviour = "passes zero in r1 without memory",  // mov r0, r1; exit
     .slots = {0x00000000000010bf, 0x95},
     .r0 = 0},
    {.behaviour = "passes the memory in r1",  // ldxb r0, [r1+1]; exit
     .slots = {0x0000000000011071, 0x95},
     .memory = {0x11, 0x22},
     .r0 = 0x22,
     .memory_after = {0x11, 0x22}},
    {.behaviour = "returns the memory after the run",  // stb [r1+0], 0x7f; mov r0, 0; exit
     .slots = {0x0000007f00000172, 0x00000000000000b7, 0x95},
     .memory = {0, 1},
     .r0 = 0,
     .memory_after = {0x7f, 1}},
    {.behaviour = "reports a refusal with the verifier message",  // callx r0; exit
     .slots = {0x000000000000008d, 0x95},
     .refusal = "unknown opcode 8d"},
};

std::vector<uint8_t> to_bytes(const std::vector<uint64_t>& slots) {
  std::vector<uint8_t> bytes;
  for (uint64_t slot : slots) {
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(slot >> (8 * i)));
  }
  return bytes;
}

class KernelXdpRunner : public ::testing::TestWithParam<RunnerCase> {};

TEST_P(KernelXdpRunner, Case) {
  if (const std::string& why = kernel_bpf_unavailable(); !why.empty()) {
    GTEST_SKIP() << "BPF unavailable: " << why;
  }
  const RunnerCase& c = GetParam();
  auto run = run_in_kernel(to_bytes(c.slots), c.memory);
  ASSERT_TRUE(run) << run.error().str();
  ASSERT_EQ(run->accepted, c.refusal.empty()) << run->verifier_log;
  if (!c.refusal.empty()) {
    EXPECT_EQ(refusal_line(run->verifier_log), c.refusal);
    return;
  }
  EXPECT_EQ(run->r0, c.r0);
  EXPECT_EQ(run->memory, c.memory_after);
}

INSTANTIATE_TEST_SUITE_P(Wrapper, KernelXdpRunner, ::testing::ValuesIn(kRunnerCases),
                         [](const auto& info) {
                           std::string name;
                           for (char ch : info.param.behaviour) {
                             name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           }
                           return name;
                         });

TEST(KernelXdpRunner, RefusalLineSkipsTheClosingStatistics) {
  EXPECT_EQ(refusal_line("0: (b7) r0 = 17\ninvalid shift 60\nprocessed 13 insns (limit 1000000)"
                         "\nverification time 9 usec\nstack depth 0\n\n"),
            "invalid shift 60");
  EXPECT_EQ(refusal_line(""), "");
}

}  // namespace
}  // namespace pollen::test

// SPDX-License-Identifier: MIT
// The "current task" helpers in user space: the host thread's process and thread ids, the
// process's real uid and gid, the thread's name with strscpy_pad's cut and zero padding, and
// the execution slot as the CPU number, from a program as from a direct call.
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "helper_test_util.hpp"

namespace pollen::helpers::test {
namespace {

TEST(Task, PidTgidIsProcessIdAboveThreadId) {
  auto prog = link("call 14\nexit");
  uint64_t expected = 0;
  Result<uint64_t> r = 0;
  // On a thread of its own, so that the thread id differs from the process id.
  std::thread([&] {
    expected = static_cast<uint64_t>(getpid()) << 32 | static_cast<uint32_t>(gettid());
    r = run(prog);
  }).join();
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, expected);
  EXPECT_NE(*r >> 32, *r & 0xffffffff);
}

TEST(Task, UidGidIsGidAboveUid) {
  vm::RunContext ctx;
  EXPECT_EQ(call(id::kGetCurrentUidGid, ctx), static_cast<uint64_t>(getgid()) << 32 | getuid());
}

TEST(Task, NoTaskStructOutsideTheKernel) {
  vm::RunContext ctx;
  EXPECT_EQ(call(id::kGetCurrentTask, ctx), 0u);
}

TEST(Task, CommIsTheThreadNameCutAndPadded) {
  std::thread([] {
    prctl(PR_SET_NAME, "pollen-worker-1");
    vm::RunContext ctx;
    char buf[20];
    std::memset(buf, 'x', sizeof buf);
    EXPECT_EQ(call(id::kGetCurrentComm, ctx, address(buf), sizeof buf), 0u);
    EXPECT_EQ(std::string(buf, sizeof buf), std::string("pollen-worker-1") + std::string(5, '\0'));
    std::memset(buf, 'x', sizeof buf);
    EXPECT_EQ(call(id::kGetCurrentComm, ctx, address(buf), 7), 0u);
    EXPECT_EQ(std::string(buf, 8), std::string("pollen\0x", 8));
  }).join();
}

TEST(Task, CommFromAProgram) {
  std::thread([] {
    prctl(PR_SET_NAME, "bee");
    auto prog = link(R"(
      mov %r1, %r10
      add %r1, -16
      mov %r2, 16
      call 16
      ldxdw %r0, [%r10-16]
      exit)");
    expect_r0(prog, 0x656562);  // "bee\0\0\0\0\0"
  }).join();
}

TEST(Task, SmpProcessorIdIsTheSlot) {
  auto prog = link("call 8\nexit");
  for (uint32_t slot : {0u, 5u, 4095u}) expect_r0(prog, slot, {.slot = slot});
}

}  // namespace
}  // namespace pollen::helpers::test

// SPDX-License-Identifier: MIT
// bpf_tail_call, bpf_loop and their engine support, with Linux's rules: a tail call replaces
// the program and keeps registers and stack, fails on a bad index or an empty slot, and the
// 34th program of a chain cannot be entered (MAX_TAIL_CALL_CNT = 33, an empty slot's attempt
// counting too); bpf_loop calls its callback nr_loops times in a frame of its own, stops when
// the callback returns 1, refuses flags and more than 1 << 23 loops.
#include <gtest/gtest.h>

#include <cerrno>

#include "helper_test_util.hpp"
#include "maps/ref_maps.hpp"

namespace pollen::helpers::test {
namespace {

// A PROG_ARRAY whose slots the tests fill with interpreters.
class TailCallTest : public ::testing::Test {
 protected:
  std::shared_ptr<maps::Map> array = make_map(maps::MapType::ProgArray, 4, 4, 4);

  void set(uint32_t index, std::string_view text) {
    Result<vm::Interpreter> interp =
        vm::Interpreter::create(link(text, {array.get()}), default_helpers());
    ASSERT_TRUE(interp.ok()) << interp.error().str();
    auto prog = std::make_shared<vm::Interpreter>(std::move(*interp));
    auto* ref_array = static_cast<maps::RefArrayMap*>(array.get());
    ASSERT_EQ(ref_array->set_prog(index, prog, index + 100), 0);
  }
  RunSetup setup() { return {.maps = {array.get()}}; }
};

// Tail calls index r3 = `index` of map 0, with r1 = the context.
std::string tail_call_to(int index) {
  return "lddw %r2, map_fd 0\nmov %r3, " + std::to_string(index) + "\ncall 12\n";
}

TEST_F(TailCallTest, JumpsToTheTargetWhichNeverReturns) {
  set(1, "mov %r0, 7\nexit");
  expect_r0(link(tail_call_to(1) + "mov %r0, 99\nexit", {array.get()}), 7, setup());
}

TEST_F(TailCallTest, TargetKeepsRegistersAndStackFrame) {
  set(1, "ldxdw %r0, [%r10-8]\nadd %r0, %r6\nadd %r0, %r1\nexit");
  auto prog = link("stdw [%r10-8], 6\nmov %r6, 5\nmov %r1, 1000\n" + tail_call_to(1) + "exit",
                   {array.get()});
  expect_r0(prog, 1011, setup());
}

TEST_F(TailCallTest, FailureContinuesAfterTheCallWithAnError) {
  set(1, "mov %r0, 7\nexit");
  for (int index : {2, 4, -1}) {  // an empty slot, one past the end, u32 index 0xffffffff
    expect_r0(link(tail_call_to(index) + "exit", {array.get()}), neg(ENOENT), setup());
    expect_r0(link(tail_call_to(index) + "mov %r0, 99\nexit", {array.get()}), 99, setup());
  }
}

TEST_F(TailCallTest, AChainEndsAfter33TailCalls) {
  // Each program of the chain counts itself in r6 and tail calls itself.
  const std::string self = "add %r6, 1\n" + tail_call_to(0) + "mov %r0, %r6\nexit";
  set(0, self);
  expect_r0(link(self, {array.get()}), 34, setup());
}

TEST_F(TailCallTest, AnAttemptOnAnEmptySlotCountsTowardsTheLimit) {
  const std::string self =
      "add %r6, 1\n" + tail_call_to(3) + tail_call_to(0) + "mov %r0, %r6\nexit";
  set(0, self);
  expect_r0(link(self, {array.get()}), 17, setup());
}

TEST_F(TailCallTest, EachRunStartsItsOwnCount) {
  const std::string self = "add %r6, 1\n" + tail_call_to(0) + "mov %r0, %r6\nexit";
  set(0, self);
  auto prog = link(self, {array.get()});
  for (int i = 0; i < 3; ++i) expect_r0(prog, 34, setup());
}

TEST_F(TailCallTest, FaultsInTheTargetAreLocatedInTheTarget) {
  set(1, "mov %r0, 0\nmov %r2, 0\nldxw %r0, [%r2+16]\nexit");
  RunSetup checked = setup();
  checked.checked = true;
  Result<uint64_t> r = run(link("mov %r0, 0\n" + tail_call_to(1) + "exit", {array.get()}), checked);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 2u);
  EXPECT_NE(r.error().message.find("ldxw: out-of-bounds read of 4 bytes at 0x10"),
            std::string::npos)
      << r.error().str();
}

TEST_F(TailCallTest, FromALocalCallTheTargetReturnsToTheCaller) {
  // The target takes f's place: its r0 is f's result, and main's r6 survives it.
  set(1, "mov %r6, 99\nmov %r0, 7\nexit");
  expect_r0(link("mov %r6, 5\ncall local f\nadd %r0, %r6\nexit\nf:\n" + tail_call_to(1) +
                     "mov %r0, 1\nexit",
                 {array.get()}),
            12, setup());
}

TEST_F(TailCallTest, AMapThatIsNotAProgArrayIsRefused) {
  auto hash = make_map(maps::MapType::Hash, 4, 4, 4);
  Result<uint64_t> r = run(link(tail_call_to(0) + "exit", {hash.get()}), {.maps = {hash.get()}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().str(),
            "insn 3: helper 12: bpf_tail_call: r2 (a map of type hash) is not a prog_array");
}

// bpf_loop(nr_loops = r7, callback 0, ctx = r10 - 8, flags = r8); r0 = its result * 1000 + the
// u64 the callbacks accumulate at r10 - 8.
std::vector<isa::Insn> loop_program(std::string_view callback, uint64_t loops, int flags = 0) {
  const std::string main =
      "lddw %r7, " + std::to_string(loops) + "\nmov %r8, " + std::to_string(flags) + R"(
    stdw [%r10-8], 0
    mov %r1, %r7
    lddw %r2, func 0
    mov %r3, %r10
    add %r3, -8
    mov %r4, %r8
    call 181
    ldxdw %r1, [%r10-8]
    mul %r0, 1000
    add %r0, %r1
    exit)";
  return link(main, {}, {callback});
}

// Adds the index to *ctx; returns 1 once the index is 3.
constexpr std::string_view kSumUntilThree = R"(
  ldxdw %r3, [%r2+0]
  add %r3, %r1
  stxdw [%r2+0], %r3
  mov %r0, 0
  jne %r1, 3, +1
  mov %r0, 1
  exit
)";

TEST(Loop, CallsTheCallbackNrLoopsTimesWithTheIndex) {
  expect_r0(loop_program(kSumUntilThree, 3), 3003);  // 0 + 1 + 2
  expect_r0(loop_program(kSumUntilThree, 0), 0);
}

TEST(Loop, CallbackReturningOneStopsTheLoop) {
  expect_r0(loop_program(kSumUntilThree, 100), 4006);  // 0 + 1 + 2 + 3, four calls
}

TEST(Loop, NrLoopsIsAU32) {
  expect_r0(loop_program(kSumUntilThree, 0x1'0000'0002), 2001);
}

TEST(Loop, RefusesFlagsAndTooManyLoops) {
  expect_r0(loop_program(kSumUntilThree, 5, 1), neg(EINVAL) * 1000);
  expect_r0(loop_program(kSumUntilThree, kMaxLoops + 1), neg(E2BIG) * 1000);
}

TEST(Loop, CallbackHasAFrameOfItsOwn) {
  // The callback writes its own r10 - 8; the caller's r10 - 8 (the ctx) only gets the sum.
  constexpr std::string_view kScribble = R"(
    stdw [%r10-8], 12345
    ldxdw %r3, [%r2+0]
    add %r3, 1
    stxdw [%r2+0], %r3
    mov %r0, 0
    exit
  )";
  expect_r0(loop_program(kScribble, 4), 4004);
}

TEST(Loop, NestedLoopsStopAtLinuxsFrameLimit) {
  // The callback runs bpf_loop on itself: every level adds a frame until the ninth.
  constexpr std::string_view kRecurse = R"(
    mov %r1, 1
    lddw %r2, func 0
    mov %r3, 0
    mov %r4, 0
    call 181
    exit
  )";
  for (bool checked : {false, true}) {
    Result<uint64_t> r = run(loop_program(kRecurse, 1), {.checked = checked});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::RuntimeFault);
    EXPECT_NE(r.error().message.find("callback: too many nested calls (more than 8 frames"),
              std::string::npos)
        << r.error().str();
  }
}

TEST(Loop, AFaultInTheCallbackIsLocatedThere) {
  // Slot 16 of the program is the callback's load from address 0.
  constexpr std::string_view kBadLoad = "mov %r0, 0\nldxdw %r0, [%r0+0]\nexit";
  Result<uint64_t> r = run(loop_program(kBadLoad, 2), {.checked = true});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 16u) << r.error().str();
  EXPECT_NE(r.error().message.find("ldxdw: out-of-bounds read of 8 bytes at 0x0"),
            std::string::npos)
      << r.error().str();
}

}  // namespace
}  // namespace pollen::helpers::test

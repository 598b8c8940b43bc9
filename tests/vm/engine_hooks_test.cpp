// SPDX-License-Identifier: MIT
// What the interpreter offers helpers beyond the registers, tested with helpers of the test's
// own: RunContext::call_function runs a BPF function of the program (named by an lddw with
// BPF_PSEUDO_FUNC) in a frame below its caller's, with the budget and fault locations of the
// run; RunContext::tail_call makes another interpreter the running program; memory a helper
// adds to RunContext::dynamic becomes accessible to a checked run, and RunContext::release
// runs when the run ends. Interpreter-only: the JIT's tests do not build this file.
#include <gtest/gtest.h>

#include <memory>

#include "builder.hpp"

namespace pollen::vm::test {
namespace {

// Helper 1: calls function r1 with r2..r5 as its r1..r4 and returns its r0 (or 0 on failure).
uint64_t call_fn_helper(uint64_t fn, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                        RunContext* ctx) {
  uint64_t r0 = 0;
  return ctx->call_function(fn, {a, b, c, d, 0}, r0) ? r0 : 0;
}

// Helper 2: makes the Interpreter at r1 the running program.
uint64_t tail_call_helper(uint64_t target, uint64_t, uint64_t, uint64_t, uint64_t,
                          RunContext* ctx) {
  ctx->tail_call = reinterpret_cast<const void*>(target);
  return 0;
}

// Helper 3: hands out the 8 bytes at r1 as writable memory of a checked run, to be released at
// the end of the run (release counts in the u64 at r2).
uint64_t hand_out_helper(uint64_t addr, uint64_t counter, uint64_t, uint64_t, uint64_t,
                         RunContext* ctx) {
  ctx->dynamic.add(addr, 8, DynamicKind::RingbufRecord);
  ctx->dynamic.add(counter, 0, DynamicKind::SpinLock);
  ctx->release = [](RunContext& c) {
    for (const DynamicEntry& e : c.dynamic.entries())
      if (e.kind == DynamicKind::SpinLock) ++*reinterpret_cast<uint64_t*>(e.begin);
  };
  return 0;
}

HelperTable hooks() {
  HelperTable table;
  table.fn[1] = call_fn_helper;
  table.fn[2] = tail_call_helper;
  table.fn[3] = hand_out_helper;
  return table;
}

// lddw dst, func: imm is the callback's offset from the next slot (BPF_PSEUDO_FUNC).
I func(uint8_t dst, int32_t offset) {
  return {Op::LddwFunc, dst, 0, 0, 0, static_cast<uint32_t>(offset)};
}

RunOptions mode(bool checked) {
  RunOptions options;
  options.checked = checked;
  return options;
}

// main: r1 = func at slot 6, r2 = 20, r3 = 22; helper 1; exit.  f: r0 = r1 + r2; exit.
std::vector<isa::Insn> sum_via_callback() {
  return program({func(1, 5),
                  mov(2, 20),
                  mov(3, 22),
                  {Op::CallHelper, 0, 0, 0, 1},
                  exit_insn(),
                  // f, slot 6:
                  {Op::Mov64Reg, 0, 1},
                  {Op::Add64Reg, 0, 2},
                  exit_insn()});
}

TEST(CallFunction, PseudoFuncLddwLoadsTheCallbacksSlotIndex) {
  auto prog = program({func(0, 2), exit_insn(), exit_insn()});
  for (bool checked : {false, true}) {
    Result<uint64_t> r = run(prog, RunArgs{}, mode(checked), HelperTable{});
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, 3u);
  }
}

TEST(CallFunction, CreateRefusesACallbackThatIsNotAnInstruction) {
  const std::vector<isa::Insn> progs[] = {
      program({func(0, 5), exit_insn()}),             // past the end
      program({func(0, -3), exit_insn()}),            // before the start
      program({mov(0, 0), func(0, 0), exit_insn()}),  // lddw's second slot
  };
  for (const std::vector<isa::Insn>& prog : progs) {
    Result<Interpreter> interp = Interpreter::create(prog, HelperTable{});
    ASSERT_FALSE(interp.ok());
    EXPECT_EQ(interp.error().code, Errc::InvalidProgram);
    EXPECT_NE(interp.error().message.find("lddw: function address"), std::string::npos)
        << interp.error().str();
  }
}

TEST(CallFunction, RunsTheCallbackWithItsArgumentsAndReturnsR0) {
  for (bool checked : {false, true}) {
    Result<uint64_t> r = run(sum_via_callback(), RunArgs{}, mode(checked), hooks());
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, 42u);
  }
}

TEST(CallFunction, CallbackFrameIsOneBelowTheCaller) {
  // main: r2 = r10; helper 1 on f.  f: r0 = r1 (caller's r10) - r10.
  auto prog = program({func(1, 4),
                       {Op::Mov64Reg, 2, 10},
                       {Op::CallHelper, 0, 0, 0, 1},
                       exit_insn(),
                       {Op::Mov64Reg, 0, 1},
                       {Op::Sub64Reg, 0, 10},
                       exit_insn()});
  for (bool checked : {false, true}) {
    Result<uint64_t> r = run(prog, RunArgs{}, mode(checked), hooks());
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, kStackSize);
  }
}

TEST(CallFunction, CheckedCallbackMayUseItsCallersStackButNotBelowItsFrame) {
  // main: [r10-8] = 5; r2 = r10 - 8; helper 1 on f.  f: r0 = *r1; *(r10 - 520) = 1 faults.
  auto prog = program({{Op::StDW, 10, 0, -8, 5},
                       func(1, 5),
                       {Op::Mov64Reg, 2, 10},
                       {Op::Add64Imm, 2, 0, 0, -8},
                       {Op::CallHelper, 0, 0, 0, 1},
                       exit_insn(),
                       // f, slot 7:
                       {Op::LdxDW, 0, 1, 0},
                       {Op::StDW, 10, 0, -520, 1},
                       exit_insn()});
  Result<uint64_t> r = run(prog, RunArgs{}, mode(true), hooks());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 8u) << r.error().str();
  EXPECT_NE(r.error().message.find("out-of-bounds write"), std::string::npos);
}

TEST(CallFunction, InstructionsOfCallbacksCountTowardsTheBudget) {
  Result<uint64_t> r = run(sum_via_callback(), RunArgs{}, RunOptions{}, hooks());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Interpreter::last_insn_count(), 8u);  // 5 in main, 3 in the callback
  RunOptions tight;
  tight.insn_budget = 6;
  r = run(sum_via_callback(), RunArgs{}, tight, hooks());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().str(), "insn 8: instruction budget of 6 exceeded");
}

TEST(CallFunction, FailsWithoutRunningForAnythingButAFunctionStart) {
  // Past the end, the second slot of the lddw at 4, an exit that starts no function.
  for (uint64_t fn : {99, 5, 3}) {
    auto prog = program({{Op::Lddw, 1, 0, 0, 0, fn},
                         {Op::CallHelper, 0, 0, 0, 1},
                         exit_insn(),
                         {Op::Lddw, 0, 0, 0, 0, 1},
                         exit_insn()});
    Result<uint64_t> r = run(prog, RunArgs{}, mode(true), hooks());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().str(), "insn 2: helper 1: callback " + std::to_string(fn) +
                                   " is not the first slot of a function of the program");
  }
}

TEST(TailCall, ReplacesTheRunningProgram) {
  auto target = std::make_shared<Interpreter>(*Interpreter::create(
      program({{Op::Add64Imm, 6, 0, 0, 1}, {Op::Mov64Reg, 0, 6}, exit_insn()}), HelperTable{}));
  auto prog = program({mov(6, 41),
                       {Op::Lddw, 1, 0, 0, 0, reinterpret_cast<uint64_t>(target.get())},
                       {Op::CallHelper, 0, 0, 0, 2},
                       mov(0, 0),
                       exit_insn()});
  for (bool checked : {false, true}) {
    Result<uint64_t> r = run(prog, RunArgs{}, mode(checked), hooks());
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, 42u);
  }
}

TEST(DynamicRegions, MemoryAHelperHandsOutIsAccessibleAndReleasedAtTheEnd) {
  alignas(8) uint64_t handed = 0;
  uint64_t releases = 0;
  // helper 3 (r1 = &handed, r2 = &releases); *r6 = 7; r0 = *r6.
  auto prog = program({{Op::Lddw, 1, 0, 0, 0, reinterpret_cast<uint64_t>(&handed)},
                       {Op::Lddw, 2, 0, 0, 0, reinterpret_cast<uint64_t>(&releases)},
                       {Op::Mov64Reg, 6, 1},
                       {Op::CallHelper, 0, 0, 0, 3},
                       {Op::StDW, 6, 0, 0, 7},
                       {Op::LdxDW, 0, 6, 0},
                       {Op::LdxDW, 0, 6, 8},
                       exit_insn()});
  Result<uint64_t> r = run(prog, RunArgs{}, mode(true), hooks());
  ASSERT_FALSE(r.ok()) << "8 bytes past the handed-out memory";
  EXPECT_EQ(r.error().location.value, 8u);
  EXPECT_NE(r.error().message.find("the ring buffer record"), std::string::npos) << r.error().str();
  EXPECT_EQ(handed, 7u);
  EXPECT_EQ(releases, 1u);
}

TEST(DynamicRegions, ForgetTheOldestEntriesThatHoldNothing) {
  DynamicRegions d;
  ASSERT_TRUE(d.add(0x1000, 8, DynamicKind::RingbufRecord));
  for (uint64_t i = 1; i <= DynamicRegions::kCapacity; ++i)
    ASSERT_TRUE(d.add(0x1000 + 16 * i, 8, DynamicKind::MapValue));
  EXPECT_EQ(d.entries().size(), DynamicRegions::kCapacity);
  EXPECT_TRUE(d.contains(0x1000, DynamicKind::RingbufRecord)) << "a record is never forgotten";
  EXPECT_FALSE(d.allows(0x1010, 8, false)) << "the oldest map value was";
  EXPECT_TRUE(d.allows(0x1000 + 16 * DynamicRegions::kCapacity, 8, true));
  EXPECT_TRUE(d.remove(0x1000, DynamicKind::RingbufRecord));
  EXPECT_FALSE(d.remove(0x1000, DynamicKind::RingbufRecord));
}

}  // namespace
}  // namespace pollen::vm::test

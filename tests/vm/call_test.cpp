// SPDX-License-Identifier: MIT
// Calls and run control: local calls get their own stack frame and keep the caller's r6-r9,
// nesting stops at Linux's 8 frames; helpers are called through the table by id (call and
// callx), see the run's context and can refuse their arguments; unknown helpers, kfuncs and an
// exhausted instruction budget fault at the right instruction; runs from several threads do not
// interfere.
#include <gtest/gtest.h>

#include <thread>

#include "builder.hpp"

namespace pollen::vm::test {
namespace {

Result<uint64_t> run_with(const std::vector<isa::Insn>& prog, const HelperTable& helpers,
                          RunOptions options = {}) {
  return run(prog, RunArgs{}, options, helpers);
}

TEST(LocalCall, CalleeHasItsOwnStackFrame) {
  // main: [r10-8] = 1; call f; r0 = [r10-8]; exit.  f: [r10-8] = 2; exit.
  auto prog = program({{Op::StDW, 10, 0, -8, 1},
                       {Op::CallLocal, 0, 0, 0, 2},
                       {Op::LdxDW, 0, 10, -8},
                       exit_insn(),
                       // f:
                       {Op::StDW, 10, 0, -8, 2},
                       exit_insn()});
  for (bool checked : {false, true}) {
    RunOptions options;
    options.checked = checked;
    Result<uint64_t> r = run_with(prog, HelperTable{}, options);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, 1u);
  }
}

TEST(LocalCall, CalleeFrameIs512BytesBelowTheCaller) {
  auto prog = program({{Op::Mov64Reg, 1, 10},
                       {Op::CallLocal, 0, 0, 0, 1},
                       exit_insn(),
                       // f: r0 = r1 - r10
                       {Op::Mov64Reg, 0, 1},
                       {Op::Sub64Reg, 0, 10},
                       exit_insn()});
  Result<uint64_t> r = run_with(prog, HelperTable{});
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, kStackSize);
}

TEST(LocalCall, CalleeMayUseACallersStackThroughAPointer) {
  auto prog = program({{Op::StDW, 10, 0, -8, 7},
                       {Op::Mov64Reg, 1, 10},
                       {Op::Add64Imm, 1, 0, 0, -8},
                       {Op::CallLocal, 0, 0, 0, 1},
                       exit_insn(),
                       // f: r0 = *r1; *r1 = 9 (visible to no one, but allowed)
                       {Op::LdxDW, 0, 1, 0},
                       {Op::StDW, 1, 0, 0, 9},
                       exit_insn()});
  RunOptions options;
  options.checked = true;
  Result<uint64_t> r = run_with(prog, HelperTable{}, options);
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 7u);
}

TEST(LocalCall, PassesR1ToR5AndPreservesR6ToR9) {
  // As conformance's call_local.data: the callee sums r1-r5 and clobbers r6-r9.
  auto prog = program({mov(1, 1),
                       mov(2, 2),
                       mov(3, 3),
                       mov(4, 4),
                       mov(5, 5),
                       mov(6, 6),
                       mov(7, 7),
                       mov(8, 8),
                       mov(9, 9),
                       {Op::CallLocal, 0, 0, 0, 9},
                       // r0 = r0 * 10000 + r6 * 1000 + r7 * 100 + r8 * 10 + r9
                       {Op::Mul64Imm, 0, 0, 0, 10},
                       {Op::Add64Reg, 0, 6},
                       {Op::Mul64Imm, 0, 0, 0, 10},
                       {Op::Add64Reg, 0, 7},
                       {Op::Mul64Imm, 0, 0, 0, 10},
                       {Op::Add64Reg, 0, 8},
                       {Op::Mul64Imm, 0, 0, 0, 10},
                       {Op::Add64Reg, 0, 9},
                       exit_insn(),
                       // f:
                       {Op::Mov64Reg, 0, 1},
                       {Op::Add64Reg, 0, 2},
                       {Op::Add64Reg, 0, 3},
                       {Op::Add64Reg, 0, 4},
                       {Op::Add64Reg, 0, 5},
                       mov(6, 0),
                       mov(7, 0),
                       mov(8, 0),
                       mov(9, 0),
                       exit_insn()});
  Result<uint64_t> r = run_with(prog, HelperTable{});
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 156789u);
}

// main: r1 = depth - 2; call f; r0 = 42; exit.  f: if r1 == 0 exit; r1 -= 1; call f; exit.
// f runs depth - 1 times nested, so the deepest point has `depth` frames.
std::vector<isa::Insn> nested_calls(int32_t depth) {
  return program({mov(1, depth - 2),
                  {Op::CallLocal, 0, 0, 0, 2},
                  mov(0, 42),
                  exit_insn(),
                  {Op::JeqImm, 1, 0, 2, 0},
                  {Op::Sub64Imm, 1, 0, 0, 1},
                  {Op::CallLocal, 0, 0, 0, -3},
                  exit_insn()});
}

TEST(LocalCall, EightFramesAreAllowed) {
  for (bool checked : {false, true}) {
    RunOptions options;
    options.checked = checked;
    Result<uint64_t> r = run_with(nested_calls(8), HelperTable{}, options);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, 42u);
  }
}

TEST(LocalCall, NinthFrameFaultsAtTheCall) {
  for (bool checked : {false, true}) {
    RunOptions options;
    options.checked = checked;
    Result<uint64_t> r = run_with(nested_calls(9), HelperTable{}, options);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::RuntimeFault);
    EXPECT_EQ(r.error().str(),
              "insn 6: call local: too many nested calls (more than 8 frames, Linux's "
              "MAX_CALL_FRAMES)");
  }
}

// --- Helpers ------------------------------------------------------------------------------

uint64_t sum_helper(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, RunContext*) {
  return a + b * 10 + c * 100 + d * 1000 + e * 10000;
}

uint64_t context_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  return *static_cast<uint64_t*>(ctx->env) + ctx->slot * 100 + (ctx->checked ? 1000 : 0);
}

uint64_t refusing_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  ctx->fault = "r1 is not a valid pointer";
  return 0;
}

HelperTable test_helpers() {
  HelperTable table;
  table.fn[1] = sum_helper;
  table.fn[2] = context_helper;
  table.fn[3] = refusing_helper;
  return table;
}

TEST(Helper, CallPassesR1ToR5AndReturnsInR0) {
  auto prog = program({mov(1, 1),
                       mov(2, 2),
                       mov(3, 3),
                       mov(4, 4),
                       mov(5, 5),
                       {Op::CallHelper, 0, 0, 0, 1},
                       exit_insn()});
  Result<uint64_t> r = run_with(prog, test_helpers());
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 54321u);
}

TEST(Helper, SeesEnvSlotAndMode) {
  uint64_t env_value = 7;
  auto prog = program({{Op::CallHelper, 0, 0, 0, 2}, exit_insn()});
  for (bool checked : {false, true}) {
    RunOptions options;
    options.env = &env_value;
    options.slot = 3;
    options.checked = checked;
    Result<uint64_t> r = run_with(prog, test_helpers(), options);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, checked ? 1307u : 307u);
  }
}

TEST(Helper, CallxCallsTheHelperWhoseIdIsInDst) {
  auto prog = program({mov(1, 4), mov(6, 1), {Op::Callx, 6}, exit_insn()});
  Result<uint64_t> r = run_with(prog, test_helpers());
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 4u);
}

TEST(Helper, InterpreterKeepsItsOwnCopyOfTheTable) {
  auto prog =
      program({mov(1, 4), mov(6, 1), {Op::Callx, 6}, {Op::CallHelper, 0, 0, 0, 1}, exit_insn()});
  Result<Vm> interp = Vm::create(prog, test_helpers());  // table is a temporary
  ASSERT_TRUE(interp.ok()) << interp.error().str();
  Result<uint64_t> r = interp->run(RunArgs{});
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 4u);
}

TEST(Helper, UnknownIdFaultsAtTheCall) {
  auto prog = program({mov(0, 0), {Op::CallHelper, 0, 0, 0, 999}, exit_insn()});
  Result<uint64_t> r = run_with(prog, test_helpers());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::RuntimeFault);
  EXPECT_EQ(r.error().str(), "insn 1: call to unknown helper 999");
  // An id inside the table's range without an entry, and a negative id, are unknown too.
  for (int32_t id : {4, -1}) {
    Result<uint64_t> bad =
        run_with(program({{Op::CallHelper, 0, 0, 0, id}, exit_insn()}), test_helpers());
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().str(), "insn 0: call to unknown helper " + std::to_string(id));
  }
}

TEST(Helper, CallxWithUnknownIdFaults) {
  auto prog = program({lddw(2, 0x100000001), {Op::Callx, 2}, exit_insn()});
  Result<uint64_t> r = run_with(prog, test_helpers());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().str(), "insn 2: call to unknown helper 4294967297 (the value of r2)");
}

TEST(Helper, RefusalStopsTheRunAtTheCall) {
  auto prog = program({mov(0, 0), {Op::CallHelper, 0, 0, 0, 3}, exit_insn()});
  Result<uint64_t> r = run_with(prog, test_helpers());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::RuntimeFault);
  EXPECT_EQ(r.error().str(), "insn 1: helper 3: r1 is not a valid pointer");
}

TEST(Kfunc, CallIsNotSupported) {
  auto prog = program({{Op::CallKfunc, 0, 0, 0, 1234}, exit_insn()});
  Result<uint64_t> r = run_with(prog, HelperTable{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::NotSupported);
  EXPECT_EQ(r.error().str(), "insn 0: call runtime: kfunc calls are not supported (BTF id 1234)");
}

// --- Budget and counting ------------------------------------------------------------------

TEST(Budget, ExactlyEnoughInstructionsRuns) {
  RunOptions options;
  options.insn_budget = 3;
  Result<uint64_t> r = run_with(program({mov(0, 1), mov(0, 2), exit_insn()}), {}, options);
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 2u);
  EXPECT_EQ(Vm::last_insn_count(), 3u);
}

TEST(Budget, OneTooFewFaultsAtTheNextInstruction) {
  for (bool checked : {false, true}) {
    RunOptions options;
    options.insn_budget = 2;
    options.checked = checked;
    Result<uint64_t> r = run_with(program({mov(0, 1), mov(0, 2), exit_insn()}), {}, options);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::RuntimeFault);
    EXPECT_EQ(r.error().str(), "insn 2: instruction budget of 2 exceeded");
    EXPECT_EQ(Vm::last_insn_count(), 2u);
  }
}

TEST(Budget, StopsAnEndlessLoop) {
  RunOptions options;
  options.insn_budget = 1000;
  Result<uint64_t> r =
      run_with(program({mov(0, 0), {Op::Add64Imm, 0, 0, 0, 1}, {Op::Ja, 0, 0, -2}, exit_insn()}),
               {}, options);
  ASSERT_FALSE(r.ok());
  // mov, then add/ja pairs: the 1000th instruction is an add, so the 1001st is the ja.
  EXPECT_EQ(r.error().str(), "insn 2: instruction budget of 1000 exceeded");
}

TEST(Budget, CountsLocalCallsAndHelperCalls) {
  auto prog = program(
      {{Op::CallLocal, 0, 0, 0, 1}, exit_insn(), {Op::CallHelper, 0, 0, 0, 1}, exit_insn()});
  ASSERT_TRUE(run_with(prog, test_helpers()).ok());
  EXPECT_EQ(Vm::last_insn_count(), 4u);
}

TEST(Interpreter, RunsFromManyThreadsAtOnce) {
  // r0 = sum of 1..r2 in a loop, so every thread's result depends on its own argument.
  auto prog = program({mov(0, 0),
                       {Op::Add64Reg, 0, 2},
                       {Op::Sub64Imm, 2, 0, 0, 1},
                       {Op::JneImm, 2, 0, -3, 0},
                       exit_insn()});
  Result<Vm> interp = Vm::create(prog, HelperTable{});
  ASSERT_TRUE(interp.ok());
  std::vector<std::thread> threads;
  std::array<uint64_t, 4> results{};
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      RunArgs args;
      args.r[1] = 1000 + t;
      for (int i = 0; i < 1000; ++i) results[t] = interp->run(args).value();
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t t = 0; t < results.size(); ++t) EXPECT_EQ(results[t], (1000 + t) * (1001 + t) / 2);
}

TEST(Interpreter, CreateRejectsAStructurallyInvalidProgram) {
  Result<Vm> interp =
      Vm::create(program({mov(0, 0), {Op::Ja, 0, 0, 5}, exit_insn()}), HelperTable{});
  ASSERT_FALSE(interp.ok());
  EXPECT_EQ(interp.error().code, Errc::InvalidProgram);
  EXPECT_EQ(interp.error().location.value, 1u);
}

}  // namespace
}  // namespace pollen::vm::test

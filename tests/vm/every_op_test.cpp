// SPDX-License-Identifier: MIT
// A property over the whole ISA table: every row of opcodes.def runs in both modes, in a small
// program built from its operand form (r1 = 16 bytes of memory, r3 = a known helper id). This
// catches a handler that is missing, crashes, or dispatches to the wrong place for its form.
#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <string>

#include "builder.hpp"

namespace pollen::vm::test {
namespace {

uint64_t helper_seven(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  return 7;
}

// The instruction under test for `op`, with operands its form allows and that stay in bounds.
I instance(Op op) {
  switch (isa::info(op).form) {
    case isa::Form::AluImm: return {op, 0, 0, 0, 3};
    case isa::Form::AluReg:
    case isa::Form::MovsxReg: return {op, 0, 2};
    case isa::Form::AluNeg:
    case isa::Form::Endian: return {op, 0};
    // Pseudo sources other than values require the second slot's imm to be 0. A callback
    // address (src=4) must name a function: from slot 1, imm 2 names the spare exit at slot 4.
    case isa::Form::Lddw: return {op, 0, 0, 0, 0, op == Op::LddwFunc ? 2u : 7u};
    case isa::Form::LdAbs: return {op, 0, 0, 0, 0};
    case isa::Form::LdInd: return {op, 0, 2, 0, -16};
    case isa::Form::Ldx: return {op, 0, 1, 8};
    case isa::Form::St: return {op, 1, 0, 8, 5};
    case isa::Form::Stx:
    case isa::Form::Atomic: return {op, 1, 2, 8};
    case isa::Form::JmpImm: return {op, 0, 0, 0, 3};
    case isa::Form::JmpReg: return {op, 0, 2, 0};
    case isa::Form::Ja: return {op};
    case isa::Form::Ja32: return {op};
    case isa::Form::CallHelper: return {op, 0, 0, 0, 1};
    case isa::Form::CallLocal: return {op, 0, 0, 0, 1};
    case isa::Form::CallKfunc: return {op, 0, 0, 0, 1};
    case isa::Form::Callx: return {op, 3};
    case isa::Form::Exit: return {op};
  }
  return {op};
}

class EveryOpTest : public ::testing::TestWithParam<isa::OpInfo> {};

TEST_P(EveryOpTest, RunsInBothModes) {
  Op op = GetParam().op;
  // r2 = 16 (the memory length), r3 = 1 (a helper id); the op; exit; a spare exit for the
  // callee of `call local` (imm 1 skips the main function's exit).
  auto prog = program({mov(3, 1), instance(op), exit_insn(), exit_insn()});
  HelperTable helpers;
  helpers.fn[1] = helper_seven;
  alignas(8) std::array<uint8_t, 16> mem{};
  for (bool checked : {false, true}) {
    RunOptions options;
    options.checked = checked;
    Result<uint64_t> r = run(prog, memory_args(mem), options, helpers);
    if (op == Op::CallKfunc) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, Errc::NotSupported);
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_GE(Vm::last_insn_count(), 2u);
  }
}

// "42_lock_fetch_add32": the row's position and mnemonic, as a valid test name.
std::string row_name(const ::testing::TestParamInfo<isa::OpInfo>& info) {
  std::string name = std::to_string(static_cast<int>(info.param.op)) + "_";
  for (char ch : info.param.mnemonic)
    name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Isa, EveryOpTest, ::testing::ValuesIn(isa::kOps), row_name);

}  // namespace
}  // namespace pollen::vm::test

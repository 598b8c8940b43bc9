// SPDX-License-Identifier: MIT
// Jump semantics, one row per condition and edge case, in both run modes: 64-bit jumps compare
// with imm sign-extended, JMP32 jumps compare only the low 32 bits, signed and unsigned
// comparisons differ on negative values; plus ja, gotol (ja32) and backward jumps.
#include <gtest/gtest.h>

#include <string>

#include "builder.hpp"

namespace pollen::vm::test {
namespace {

constexpr uint64_t kAll = ~uint64_t{0};

struct JumpCase {
  const char* name;
  Op op;
  uint64_t dst;      ///< r1
  uint64_t operand;  ///< r2 for register forms, imm (as int32) for immediate forms
  bool taken;
};

// r0 = 1 when the jump is taken, 0 when it falls through.
std::vector<isa::Insn> jump_program(const JumpCase& c) {
  bool reg = isa::info(c.op).form == isa::Form::JmpReg;
  I jump = reg ? I{c.op, 1, 2, 2, 0} : I{c.op, 1, 0, 2, static_cast<int32_t>(c.operand)};
  return program(
      {lddw(1, c.dst), lddw(2, c.operand), jump, mov(0, 0), exit_insn(), mov(0, 1), exit_insn()});
}

class JumpTest : public ::testing::TestWithParam<JumpCase> {};

TEST_P(JumpTest, TakesTheBranchAsLinuxDoes) {
  const JumpCase& c = GetParam();
  for (bool checked : {false, true}) {
    Result<uint64_t> r = run(jump_program(c), {}, checked);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, c.taken ? 1u : 0u) << (checked ? "checked" : "unchecked");
  }
}

const JumpCase kJumpCases[] = {
    {"jeq_equal", Op::JeqReg, 5, 5, true},
    {"jeq_imm_sign_extends", Op::JeqImm, kAll, uint64_t(-1), true},
    {"jeq_imm_differs_in_upper_half", Op::JeqImm, 0x100000005, 5, false},
    {"jne", Op::JneReg, 5, 6, true},
    {"jne_imm_equal", Op::JneImm, 5, 5, false},
    {"jgt_is_unsigned", Op::JgtImm, kAll, 1, true},
    {"jgt_reg_equal", Op::JgtReg, 3, 3, false},
    {"jge_equal", Op::JgeImm, 3, 3, true},
    {"jge_reg_less", Op::JgeReg, 2, 3, false},
    {"jlt_is_unsigned", Op::JltImm, 1, uint64_t(-1), true},
    {"jlt_reg", Op::JltReg, kAll, 1, false},
    {"jle_equal", Op::JleReg, 7, 7, true},
    {"jle_imm_greater", Op::JleImm, 8, 7, false},
    {"jset_common_bit", Op::JsetImm, 6, 2, true},
    {"jset_reg_no_common_bit", Op::JsetReg, 6, 1, false},
    {"jsgt_is_signed", Op::JsgtImm, kAll, 1, false},
    {"jsgt_reg", Op::JsgtReg, 1, kAll, true},
    {"jsge_equal_negative", Op::JsgeImm, uint64_t(-4), uint64_t(-4), true},
    {"jsge_reg", Op::JsgeReg, uint64_t(-5), uint64_t(-4), false},
    {"jslt_is_signed", Op::JsltImm, kAll, 0, true},
    {"jslt_reg", Op::JsltReg, 0, kAll, false},
    {"jsle_equal", Op::JsleReg, uint64_t(-2), uint64_t(-2), true},
    {"jsle_imm_greater", Op::JsleImm, 1, 0, false},
    // JMP32: only the low halves count.
    {"jeq32_ignores_upper_half", Op::Jeq32Imm, 0x100000005, 5, true},
    {"jeq32_reg", Op::Jeq32Reg, 0x100000005, 0x200000005, true},
    {"jne32_ignores_upper_half", Op::Jne32Imm, 0x100000005, 5, false},
    {"jne32_reg", Op::Jne32Reg, 1, 2, true},
    {"jgt32_low_half_zero", Op::Jgt32Imm, 0x100000000, 0, false},
    {"jgt32_reg", Op::Jgt32Reg, 0xffffffff, 1, true},
    {"jge32_equal", Op::Jge32Imm, 0x700000007, 7, true},
    {"jge32_reg", Op::Jge32Reg, 6, 0x100000007, false},
    {"jlt32", Op::Jlt32Imm, 0x1000000001, 2, true},
    {"jlt32_reg", Op::Jlt32Reg, 3, 0x100000002, false},
    {"jle32_equal", Op::Jle32Reg, 0x200000002, 2, true},
    {"jle32_imm", Op::Jle32Imm, 3, 2, false},
    {"jset32_upper_bits_do_not_count", Op::Jset32Reg, 0x100000000, 0x100000000, false},
    {"jset32_imm", Op::Jset32Imm, 0x100000003, 2, true},
    {"jsgt32_is_signed_in_32_bits", Op::Jsgt32Imm, 0x80000000, 0, false},
    {"jsgt32_reg", Op::Jsgt32Reg, 1, 0xffffffff, true},
    {"jsge32", Op::Jsge32Imm, 0x1fffffffe, uint64_t(-2), true},
    {"jsge32_reg", Op::Jsge32Reg, 0x80000000, 0x7fffffff, false},
    {"jslt32_negative", Op::Jslt32Imm, 0x80000000, 0, true},
    {"jslt32_reg", Op::Jslt32Reg, 0x7fffffff, 0x80000000, false},
    {"jsle32", Op::Jsle32Reg, 0xffffffff, 0, true},
    {"jsle32_imm", Op::Jsle32Imm, 1, 0, false},
};

INSTANTIATE_TEST_SUITE_P(Jump, JumpTest, ::testing::ValuesIn(kJumpCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Jump, JaSkipsForward) {
  Result<uint64_t> r = run(program({mov(0, 1), {Op::Ja, 0, 0, 1}, mov(0, 2), exit_insn()}));
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 1u);
}

TEST(Jump, Ja32TakesItsTargetFromImm) {
  Result<uint64_t> r =
      run(program({mov(0, 1), {Op::Ja32, 0, 0, 0, 2}, mov(0, 2), mov(0, 3), exit_insn()}));
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 1u);
}

TEST(Jump, BackwardJumpLoopsAndCountsEveryInstruction) {
  // r0 = 0; r1 = 10; loop: r0 += 3; r1 -= 1; if r1 != 0 goto loop; exit
  auto prog = program({mov(0, 0),
                       mov(1, 10),
                       {Op::Add64Imm, 0, 0, 0, 3},
                       {Op::Sub64Imm, 1, 0, 0, 1},
                       {Op::JneImm, 1, 0, -3, 0},
                       exit_insn()});
  for (bool checked : {false, true}) {
    Result<uint64_t> r = run(prog, {}, checked);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, 30u);
    EXPECT_EQ(Vm::last_insn_count(), 2u + 3u * 10u + 1u);
  }
}

}  // namespace
}  // namespace pollen::vm::test

// SPDX-License-Identifier: MIT
// ALU semantics, one table row per edge case, each run in unchecked and checked mode: division
// and modulo by zero, signed INT_MIN / -1, masked shift counts, 32-bit zero extension, movsx,
// byte order, and lddw's 64-bit immediate. The expected values are Linux's (kernel/bpf/core.c).
#include <gtest/gtest.h>

#include <string>

#include "builder.hpp"

namespace pollen::vm::test {
namespace {

constexpr uint64_t kMin64 = 0x8000000000000000;
constexpr uint64_t kAll = ~uint64_t{0};

struct AluCase {
  const char* name;
  Op op;
  uint64_t dst;      ///< r0 before the operation
  uint64_t operand;  ///< src (in r1) for register forms, imm (as int32) for immediate forms
  uint64_t expected;
};

bool takes_register(Op op) {
  isa::Form form = isa::info(op).form;
  return form == isa::Form::AluReg || form == isa::Form::MovsxReg;
}

std::vector<isa::Insn> alu_program(const AluCase& c) {
  I operation{c.op, 0, 1, 0, 0};
  if (!takes_register(c.op)) operation = {c.op, 0, 0, 0, static_cast<int32_t>(c.operand)};
  return program({lddw(0, c.dst), lddw(1, c.operand), operation, exit_insn()});
}

class AluTest : public ::testing::TestWithParam<AluCase> {};

TEST_P(AluTest, ComputesLinuxResult) {
  const AluCase& c = GetParam();
  for (bool checked : {false, true}) {
    Result<uint64_t> r = run(alu_program(c), {}, checked);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, c.expected) << std::hex << "0x" << *r << " != 0x" << c.expected
                              << (checked ? " (checked)" : " (unchecked)");
  }
}

const AluCase kAluCases[] = {
    // 64-bit arithmetic wraps; immediates are sign-extended.
    {"add64_wraps", Op::Add64Reg, kAll, 2, 1},
    {"add64_imm_is_sign_extended", Op::Add64Imm, 10, uint64_t(-3), 7},
    {"sub64_borrows", Op::Sub64Imm, 0, 1, kAll},
    {"sub64_reg", Op::Sub64Reg, 10, 3, 7},
    {"mul64_keeps_low_64_bits", Op::Mul64Reg, 0x100000001, 0x100000001, 0x200000001},
    {"mul64_imm_negative", Op::Mul64Imm, 3, uint64_t(-2), uint64_t(-6)},
    {"div64_unsigned", Op::Div64Reg, kAll, 2, 0x7fffffffffffffff},
    {"div64_by_zero_gives_zero", Op::Div64Reg, 42, 0, 0},
    {"div64_imm_by_zero_gives_zero", Op::Div64Imm, 42, 0, 0},
    {"mod64_unsigned", Op::Mod64Imm, 17, 5, 2},
    {"mod64_by_zero_keeps_dst", Op::Mod64Reg, 0x123456789, 0, 0x123456789},
    {"mod64_imm_by_zero_keeps_dst", Op::Mod64Imm, 0x123456789, 0, 0x123456789},
    {"sdiv64_rounds_towards_zero", Op::SDiv64Imm, uint64_t(-7), 2, uint64_t(-3)},
    {"sdiv64_int_min_by_minus_one_is_int_min", Op::SDiv64Reg, kMin64, kAll, kMin64},
    {"sdiv64_int_min_by_minus_one_imm", Op::SDiv64Imm, kMin64, kAll, kMin64},
    {"sdiv64_by_zero_gives_zero", Op::SDiv64Reg, uint64_t(-5), 0, 0},
    {"smod64_takes_sign_of_dividend", Op::SMod64Imm, uint64_t(-7), 2, uint64_t(-1)},
    {"smod64_int_min_by_minus_one_is_zero", Op::SMod64Reg, kMin64, kAll, 0},
    {"smod64_by_zero_keeps_dst", Op::SMod64Imm, uint64_t(-5), 0, uint64_t(-5)},
    {"smod64_reg_by_zero_keeps_dst", Op::SMod64Reg, uint64_t(-5), 0, uint64_t(-5)},
    {"or64", Op::Or64Reg, 0xf0, 0x0f, 0xff},
    {"or64_imm_sign_extends", Op::Or64Imm, 0, uint64_t(-16), 0xfffffffffffffff0},
    {"and64", Op::And64Reg, 0xff00ff, 0x0ff0f0, 0x0f00f0},
    {"and64_imm", Op::And64Imm, 0x1234, 0xff, 0x34},
    {"xor64", Op::Xor64Reg, 0xff, 0x0f, 0xf0},
    {"xor64_imm", Op::Xor64Imm, 0xff, 0xff, 0},
    // Shift counts are masked to 6 (64-bit) or 5 (32-bit) bits.
    {"lsh64", Op::Lsh64Imm, 1, 63, kMin64},
    {"lsh64_count_is_masked", Op::Lsh64Reg, 1, 65, 2},
    {"rsh64_is_logical", Op::Rsh64Imm, kMin64, 63, 1},
    {"rsh64_imm_negative_count_is_masked", Op::Rsh64Imm, 0x10, uint64_t(-60), 1},
    {"rsh64_reg_count_is_masked", Op::Rsh64Reg, 0x10, 0x44, 1},
    {"arsh64_keeps_sign", Op::Arsh64Imm, kMin64, 60, 0xfffffffffffffff8},
    {"arsh64_reg_count_is_masked", Op::Arsh64Reg, uint64_t(-16), 0x42, uint64_t(-4)},
    {"neg64", Op::Neg64, 5, 0, uint64_t(-5)},
    {"neg64_int_min_stays", Op::Neg64, kMin64, 0, kMin64},
    {"mov64_imm_sign_extends", Op::Mov64Imm, 0, uint64_t(-1), kAll},
    {"mov64_reg", Op::Mov64Reg, 0, 0x123456789abcdef0, 0x123456789abcdef0},
    {"movsx8_64", Op::Movsx8_64, 0, 0x180, 0xffffffffffffff80},
    {"movsx8_64_positive", Op::Movsx8_64, 0, 0x17f, 0x7f},
    {"movsx16_64", Op::Movsx16_64, 0, 0x18000, 0xffffffffffff8000},
    {"movsx32_64", Op::Movsx32_64, 0, 0x180000000, 0xffffffff80000000},
    // 32-bit operations use the low halves and zero-extend the result.
    {"add32_zero_extends", Op::Add32Imm, 0xffffffff, 1, 0},
    {"add32_ignores_upper_halves", Op::Add32Reg, 0x100000001, 0x200000002, 3},
    {"sub32_zero_extends", Op::Sub32Imm, 0, 1, 0xffffffff},
    {"sub32_reg", Op::Sub32Reg, 0x500000005, 3, 2},
    {"mul32_keeps_low_32_bits", Op::Mul32Reg, 0x10001, 0x10001, 0x20001},
    {"mul32_imm", Op::Mul32Imm, 0xffffffff, 2, 0xfffffffe},
    {"div32", Op::Div32Imm, 0x1ffffffff, 2, 0x7fffffff},
    {"div32_by_zero_gives_zero", Op::Div32Imm, 7, 0, 0},
    {"div32_by_upper_half_only_is_by_zero", Op::Div32Reg, 7, 0x100000000, 0},
    {"mod32", Op::Mod32Reg, 0x100000011, 5, 2},
    {"mod32_by_zero_zero_extends_dst", Op::Mod32Reg, 0x1ffffffff, 0, 0xffffffff},
    {"mod32_imm_by_zero_zero_extends_dst", Op::Mod32Imm, 0x1ffffffff, 0, 0xffffffff},
    {"sdiv32_int_min_by_minus_one_is_int_min", Op::SDiv32Reg, 0x80000000, 0xffffffff, 0x80000000},
    {"sdiv32_imm_negative", Op::SDiv32Imm, 0xfffffff9, 2, 0xfffffffd},
    {"sdiv32_by_zero_gives_zero", Op::SDiv32Imm, 0xfffffff9, 0, 0},
    {"smod32_int_min_by_minus_one_is_zero", Op::SMod32Reg, 0x80000000, kAll, 0},
    {"smod32_takes_sign_of_dividend", Op::SMod32Imm, 0xfffffff9, 2, 0xffffffff},
    {"smod32_by_zero_zero_extends_dst", Op::SMod32Reg, 0x1fffffff9, 0, 0xfffffff9},
    {"or32_zero_extends", Op::Or32Imm, 0xff00000000, 1, 1},
    {"or32_reg", Op::Or32Reg, 0xf0, 0x10000000f, 0xff},
    {"and32", Op::And32Reg, 0xffffffffffffffff, 0xf0f0, 0xf0f0},
    {"and32_imm", Op::And32Imm, 0x1ffffffff, 0xff, 0xff},
    {"xor32", Op::Xor32Reg, 0x1ffffffff, 0xf, 0xfffffff0},
    {"xor32_imm", Op::Xor32Imm, 0xff00000000, 1, 1},
    {"lsh32_imm_count_is_masked", Op::Lsh32Imm, 0x11, 60, 0x10000000},
    {"lsh32_drops_bits_above_32", Op::Lsh32Reg, 0x80000001, 1, 2},
    {"rsh32_ignores_upper_half", Op::Rsh32Imm, 0xf00000010, 4, 1},
    {"rsh32_reg_count_is_masked", Op::Rsh32Reg, 0x10, 0x24, 1},
    {"arsh32_keeps_sign_in_32_bits", Op::Arsh32Imm, 0xf0000000, 4, 0xff000000},
    {"arsh32_reg", Op::Arsh32Reg, 0x80000000, 31, 0xffffffff},
    {"neg32_zero_extends", Op::Neg32, 1, 0, 0xffffffff},
    {"mov32_imm_zero_extends", Op::Mov32Imm, kAll, uint64_t(-1), 0xffffffff},
    {"mov32_reg_zero_extends", Op::Mov32Reg, 0, kAll, 0xffffffff},
    {"movsx8_32_zero_extends", Op::Movsx8_32, 0, 0x80, 0xffffff80},
    {"movsx16_32_zero_extends", Op::Movsx16_32, 0, 0x8000, 0xffff8000},
    // Byte order on the host (little-endian): le truncates, be and bswap swap.
    {"le16_truncates", Op::Le16, 0x1122334455667788, 0, 0x7788},
    {"le32_truncates", Op::Le32, 0x1122334455667788, 0, 0x55667788},
    {"le64_keeps", Op::Le64, 0x1122334455667788, 0, 0x1122334455667788},
    {"be16_swaps_and_truncates", Op::Be16, 0x1122334455667788, 0, 0x8877},
    {"be32_swaps_and_truncates", Op::Be32, 0x1122334455667788, 0, 0x88776655},
    {"be64_swaps", Op::Be64, 0x1122334455667788, 0, 0x8877665544332211},
    {"bswap16", Op::Bswap16, 0x1122334455667788, 0, 0x8877},
    {"bswap32", Op::Bswap32, 0x1122334455667788, 0, 0x88776655},
    {"bswap64", Op::Bswap64, 0x1122334455667788, 0, 0x8877665544332211},
};

INSTANTIATE_TEST_SUITE_P(Alu, AluTest, ::testing::ValuesIn(kAluCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Lddw, LoadsBothHalvesOfTheImmediate) {
  Result<uint64_t> r = run(program({lddw(0, 0x8000000180000002), exit_insn()}));
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 0x8000000180000002);
}

TEST(Lddw, CountsAsOneInstructionAndIsSkippedWhole) {
  // ja jumps over both slots of lddw to the exit.
  Result<uint64_t> r = run(program({mov(0, 3), {Op::Ja, 0, 0, 2}, lddw(0, 99), exit_insn()}));
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 3u);
  EXPECT_EQ(Vm::last_insn_count(), 3u);
  ASSERT_TRUE(run(program({lddw(0, 1), exit_insn()})).ok());
  EXPECT_EQ(Vm::last_insn_count(), 2u);
}

}  // namespace
}  // namespace pollen::vm::test

// SPDX-License-Identifier: MIT
// The assembler: every mnemonic family of the conformance syntax and its extensions, labels and
// relative targets, and errors with their line numbers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "insn_builder.hpp"
#include "isa/assembler.hpp"

namespace pollen::isa {
namespace {

using test::exit_insn;
using test::slot;

struct AsmCase {
  std::string name;
  std::string source;
  std::vector<Insn> expected;
};

std::vector<AsmCase> alu_cases() {
  return {
      {"Add64Imm", "add %r1, 5", {slot(0x07, 1, 0, 0, 5)}},
      {"Add64Reg", "add %r1, %r2", {slot(0x0f, 1, 2)}},
      {"Add32Imm", "add32 %r1, -5", {slot(0x04, 1, 0, 0, -5)}},
      {"Add32Reg", "add32 %r0, %r1", {slot(0x0c, 0, 1)}},
      {"WithoutCommas", "sub %r3 %r4", {slot(0x1f, 3, 4)}},
      {"EveryAlu64Op",
       "mul %r0, 1\ndiv %r0, 1\nor %r0, 1\nand %r0, 1\nlsh %r0, 1\nrsh %r0, 1\nmod %r0, 1\n"
       "xor %r0, 1\nmov %r0, 1\narsh %r0, 1",
       {slot(0x27, 0, 0, 0, 1), slot(0x37, 0, 0, 0, 1), slot(0x47, 0, 0, 0, 1),
        slot(0x57, 0, 0, 0, 1), slot(0x67, 0, 0, 0, 1), slot(0x77, 0, 0, 0, 1),
        slot(0x97, 0, 0, 0, 1), slot(0xa7, 0, 0, 0, 1), slot(0xb7, 0, 0, 0, 1),
        slot(0xc7, 0, 0, 0, 1)}},
      {"Neg", "neg %r2\nneg32 %r3", {slot(0x87, 2), slot(0x84, 3)}},
      {"SignedDivModHaveOffset1",
       "sdiv %r0, 3\nsdiv %r0, %r1\nsmod32 %r0, 3\nsmod32 %r0, %r1",
       {slot(0x37, 0, 0, 1, 3), slot(0x3f, 0, 1, 1), slot(0x94, 0, 0, 1, 3), slot(0x9c, 0, 1, 1)}},
      {"Movsx",
       "movsx864 %r0, %r1\nmovsx1664 %r0, %r1\nmovsx3264 %r0, %r1\nmovsx832 %r0, %r1\n"
       "movsx1632 %r0, %r1",
       {slot(0xbf, 0, 1, 8), slot(0xbf, 0, 1, 16), slot(0xbf, 0, 1, 32), slot(0xbc, 0, 1, 8),
        slot(0xbc, 0, 1, 16)}},
      {"Endian",
       "be16 %r1\nbe64 %r1\nle32 %r2",
       {slot(0xdc, 1, 0, 0, 16), slot(0xdc, 1, 0, 0, 64), slot(0xd4, 2, 0, 0, 32)}},
      {"BswapAndItsSynonymSwap",
       "bswap16 %r1\nswap32 %r1\nswap64 %r2",
       {slot(0xd7, 1, 0, 0, 16), slot(0xd7, 1, 0, 0, 32), slot(0xd7, 2, 0, 0, 64)}},
      {"HexImmIsABitPattern",
       "mov %r0, 0xffffffff\nmov32 %r0, 0X7FFFFFFF",
       {slot(0xb7, 0, 0, 0, -1), slot(0xb4, 0, 0, 0, INT32_MAX)}},
      {"ImmEdges",
       "mov %r0, -2147483648\nmov %r0, 2147483647\nmov %r0, -0x80000000",
       {slot(0xb7, 0, 0, 0, INT32_MIN), slot(0xb7, 0, 0, 0, INT32_MAX),
        slot(0xb7, 0, 0, 0, INT32_MIN)}},
      {"RegistersUpTo15ForNegativeTests", "mov %r11, %r15", {slot(0xbf, 11, 15)}},
  };
}

std::vector<AsmCase> memory_cases() {
  return {
      {"Lddw",
       "lddw %r0, 0x1122334455667788",
       {slot(0x18, 0, 0, 0, 0x55667788), slot(0x00, 0, 0, 0, 0x11223344)}},
      {"LddwNegativeDecimalSignExtends",
       "lddw %r1, -2",
       {slot(0x18, 1, 0, 0, -2), slot(0x00, 0, 0, 0, -1)}},
      {"LddwLargeDecimal",
       "lddw %r1, 18446744073709551615",
       {slot(0x18, 1, 0, 0, -1), slot(0x00, 0, 0, 0, -1)}},
      {"LddwPseudoSources",
       "lddw %r1, map_fd 3\nlddw %r2, map_value 0x800000003",
       {slot(0x18, 1, 1, 0, 3), slot(0x00), slot(0x18, 2, 2, 0, 3), slot(0x00, 0, 0, 0, 8)}},
      {"Ldx",
       "ldxb %r0, [%r1]\nldxh %r0, [%r1+2]\nldxw %r0, [%r1-4]\nldxdw %r0, [%r10-0x8]",
       {slot(0x71, 0, 1), slot(0x69, 0, 1, 2), slot(0x61, 0, 1, -4), slot(0x79, 0, 10, -8)}},
      {"SignExtendingLoads",
       "ldxsb %r0, [%r1]\nldxsh %r0, [%r1+1]\nldxsw %r0, [%r1+32767]",
       {slot(0x91, 0, 1), slot(0x89, 0, 1, 1), slot(0x81, 0, 1, INT16_MAX)}},
      {"St",
       "stb [%r10-1], 5\nsth [%r1+2], -1\nstw [%r1], 0x10\nstdw [%r1-32768], 7",
       {slot(0x72, 10, 0, -1, 5), slot(0x6a, 1, 0, 2, -1), slot(0x62, 1, 0, 0, 16),
        slot(0x7a, 1, 0, INT16_MIN, 7)}},
      {"Stx",
       "stxb [%r10-1], %r1\nstxh [%r1], %r2\nstxw [%r1+4], %r3\nstxdw [%r10-8], %r4",
       {slot(0x73, 10, 1, -1), slot(0x6b, 1, 2), slot(0x63, 1, 3, 4), slot(0x7b, 10, 4, -8)}},
      {"Atomics",
       "lock add [%r1], %r2\nlock fetch or32 [%r1+4], %r2\nlock and [%r1], %r2\n"
       "lock fetch xor [%r1], %r2\nlock xchg32 [%r1-4], %r2\nlock cmpxchg [%r1], %r2",
       {slot(0xdb, 1, 2, 0, 0x00), slot(0xc3, 1, 2, 4, 0x41), slot(0xdb, 1, 2, 0, 0x50),
        slot(0xdb, 1, 2, 0, 0xa1), slot(0xc3, 1, 2, -4, 0xe1), slot(0xdb, 1, 2, 0, 0xf1)}},
      {"LegacyPacketLoads",
       "ldabsb 12\nldabsh -1\nldabsw 0x10\nldindb %r1, 4\nldindh %r2, 0\n"
       "ldindw %r3, -4",
       {slot(0x30, 0, 0, 0, 12), slot(0x28, 0, 0, 0, -1), slot(0x20, 0, 0, 0, 16),
        slot(0x50, 0, 1, 0, 4), slot(0x48, 0, 2), slot(0x40, 0, 3, 0, -4)}},
  };
}

std::vector<AsmCase> jump_cases() {
  Insn x = exit_insn();
  return {
      {"JumpsWithRelativeTargets",
       "ja +1\njeq %r1, 0, -2\njslt32 %r1, %r2, +0\nja32 +3",
       {slot(0x05, 0, 0, 1), slot(0x15, 1, 0, -2), slot(0xce, 1, 2, 0), slot(0x06, 0, 0, 0, 3)}},
      {"EveryJmpOp",
       "jgt %r1, 1, +0\njge %r1, 1, +0\njset %r1, 1, +0\njne %r1, 1, +0\njsgt %r1, 1, +0\n"
       "jsge %r1, 1, +0\njlt %r1, 1, +0\njle %r1, 1, +0\njsle32 %r1, %r2, +0",
       {slot(0x25, 1, 0, 0, 1), slot(0x35, 1, 0, 0, 1), slot(0x45, 1, 0, 0, 1),
        slot(0x55, 1, 0, 0, 1), slot(0x65, 1, 0, 0, 1), slot(0x75, 1, 0, 0, 1),
        slot(0xa5, 1, 0, 0, 1), slot(0xb5, 1, 0, 0, 1), slot(0xde, 1, 2)}},
      {"LabelsForwardAndBackward",
       "top:\nja next\nnext:\njne %r0, 1, top\nexit",
       {slot(0x05, 0, 0, 0), slot(0x55, 0, 0, -2, 1), x}},
      {"LabelsCountLddwAsTwoSlots",
       "ja done\nlddw %r0, 1\ndone:\nexit",
       {slot(0x05, 0, 0, 2), slot(0x18, 0, 0, 0, 1), slot(0x00), x}},
      {"ExitLabelIsTheFirstExit",
       "jeq %r1, 0, exit\nmov %r0, 1\nexit\nexit",
       {slot(0x15, 1, 0, 1), slot(0xb7, 0, 0, 0, 1), x, x}},
      {"AnExitLabelInTheTextWinsOverTheAutomaticOne",
       "ja exit\nexit\nexit:\nexit",
       {slot(0x05, 0, 0, 1), x, x}},
      {"TextAfterALabelsColonIsIgnored",
       "here: mov %r0, 1\nja here\nexit",
       {slot(0x05, 0, 0, -1), x}},
      {"Ja32AndCallLocalTargetsGoInImm",
       "ja32 end\ncall local end\nend:\nexit",
       {slot(0x06, 0, 0, 0, 1), slot(0x85, 0, 1, 0, 0), x}},
      {"Calls",
       "call 5\ncall helper 6\ncall local -1\ncall runtime 7\ncall runtime 7, 2",
       {slot(0x85, 0, 0, 0, 5), slot(0x85, 0, 0, 0, 6), slot(0x85, 0, 1, 0, -1),
        slot(0x85, 0, 2, 0, 7), slot(0x85, 0, 2, 2, 7)}},
      {"CallxPutsTheRegisterInDst",
       "call %r2\ncallx %r3\ncall helper %r4",
       {slot(0x8d, 2), slot(0x8d, 3), slot(0x8d, 4)}},
      {"CommentsBlankLinesAndCarriageReturns",
       "# a comment line\n\n  mov %r0, 1   # trailing comment\r\n\t\nexit\r\n",
       {slot(0xb7, 0, 0, 0, 1), x}},
  };
}

class AssemblerAccepts : public testing::TestWithParam<AsmCase> {};

TEST_P(AssemblerAccepts, GivesTheExpectedSlots) {
  Result<std::vector<Insn>> prog = assemble(GetParam().source);
  ASSERT_TRUE(prog.ok()) << prog.error().str();
  EXPECT_EQ(*prog, GetParam().expected);
}

auto case_name = [](const auto& info) { return info.param.name; };
INSTANTIATE_TEST_SUITE_P(Alu, AssemblerAccepts, testing::ValuesIn(alu_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Memory, AssemblerAccepts, testing::ValuesIn(memory_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Jumps, AssemblerAccepts, testing::ValuesIn(jump_cases()), case_name);

struct AsmErrorCase {
  std::string name;
  std::string source;
  uint64_t line;
  std::string message;
};

std::vector<AsmErrorCase> error_cases() {
  return {
      {"UnknownMnemonic", "mov %r0, 1\nad %r0, 1", 2, "unknown mnemonic 'ad'"},
      {"UnknownAtomicOperation", "lock sub [%r1], %r2", 1, "unknown mnemonic 'lock sub'"},
      {"TooFewOperands", "add %r0", 1, "add: expected 2 operands, got 1"},
      {"TooManyOperands", "exit 1", 1, "exit: expected 0 operands, got 1"},
      {"NegTakesOneOperand", "neg %r1, %r2", 1, "neg: expected 1 operand, got 2"},
      {"KfuncOffsetIsOptional", "call runtime 1, 2, 3", 1, "expected 1 to 2 operands, got 3"},
      {"Imm32TooLargeHex", "mov %r0, 0x1ffffffff", 1,
       "mov: immediate 0x1ffffffff out of range for s32"},
      {"Imm32TooLargeDecimal", "mov %r0, 2147483648", 1, "immediate 2147483648 out of range"},
      {"Imm32TooSmall", "mov %r0, -2147483649", 1, "immediate -2147483649 out of range"},
      {"ImmHugeValue", "mov %r0, 99999999999999999999999", 1, "out of range for s32"},
      {"ImmNotANumber", "mov %r0, five", 1, "expected immediate, got 'five'"},
      {"ImmTrailingGarbage", "mov %r0, 5x", 1, "expected immediate, got '5x'"},
      {"Imm64TooLarge", "lddw %r0, 0x10000000000000000", 1, "out of range for 64 bits"},
      {"Imm64TooSmall", "lddw %r0, -9223372036854775809", 1, "out of range for 64 bits"},
      {"UnknownPseudoSource", "lddw %r0, map_foo 3", 1, "unknown lddw pseudo source 'map_foo'"},
      {"InvalidRegister", "mov %r16, 1", 1, "invalid register '%r16' (expected %r0 to %r15)"},
      {"RegisterWithLeadingZero", "mov %r01, 1", 1, "invalid register '%r01'"},
      {"RegisterWhereImmExpected", "movsx864 %r0, 5", 1, "movsx864: invalid register '5'"},
      {"MemoryOffsetTooLarge", "ldxw %r0, [%r1+40000]", 1, "offset +40000 out of range for s16"},
      {"MemoryOffsetTooSmall", "stw [%r1-32769], 1", 1, "offset -32769 out of range for s16"},
      {"MemoryWithoutBrackets", "ldxw %r0, %r1", 1, "expected a memory operand"},
      {"MemoryBadRegister", "stxw [%x1+2], %r1", 1, "invalid register '%x1'"},
      {"JumpOffsetTooLarge", "ja +32768", 1, "offset +32768 out of range for s16"},
      {"Ja32TargetTooLarge", "ja32 +2147483648", 1, "target +2147483648 out of range for s32"},
      {"JumpTargetWithoutSign", "ja 5", 1, "expected a jump target (+N, -N or a label), got '5'"},
      {"UndefinedLabel", "mov %r0, 0\njeq %r0, 0, foo\nexit", 2, "undefined label 'foo'"},
      {"DuplicateLabel", "a:\nexit\na:\nexit", 3, "duplicate label 'a' (first defined on line 1)"},
      {"EmptyLabel", ":\nexit", 1, "empty label name"},
  };
}

class AssemblerRejects : public testing::TestWithParam<AsmErrorCase> {};

TEST_P(AssemblerRejects, NamesTheLine) {
  const AsmErrorCase& c = GetParam();
  Result<std::vector<Insn>> prog = assemble(c.source, "prog.s");
  ASSERT_FALSE(prog.ok());
  const Error& error = prog.error();
  EXPECT_EQ(error.code, Errc::Parse);
  EXPECT_EQ(error.location.kind, Location::Kind::Line);
  EXPECT_EQ(error.location.value, c.line) << error.str();
  EXPECT_EQ(error.location.file, "prog.s");
  EXPECT_NE(error.message.find(c.message), std::string::npos) << error.str();
}

INSTANTIATE_TEST_SUITE_P(Errors, AssemblerRejects, testing::ValuesIn(error_cases()), case_name);

TEST(Assembler, LabelTooFarForAnOffsetIsOutOfRange) {
  std::string source = "ja far\n";
  for (int i = 0; i < 40000; ++i) source += "exit\n";
  source += "far:\nexit\n";
  Result<std::vector<Insn>> prog = assemble(source);
  ASSERT_FALSE(prog.ok());
  EXPECT_EQ(prog.error().str(), "line 1: ja: offset 40000 out of range for s16 (label 'far')");
}

TEST(Assembler, EmptyTextIsAnEmptyProgram) {
  Result<std::vector<Insn>> prog = assemble("# nothing\n\n");
  ASSERT_TRUE(prog.ok()) << prog.error().str();
  EXPECT_TRUE(prog->empty());
}

TEST(Assembler, ErrorStringNamesFileAndLine) {
  Result<std::vector<Insn>> prog = assemble("exit\nad %r0, 1\n", "prog.s");
  ASSERT_FALSE(prog.ok());
  EXPECT_EQ(prog.error().str(), "prog.s:2: unknown mnemonic 'ad'");
}

}  // namespace
}  // namespace pollen::isa

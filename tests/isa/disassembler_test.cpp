// SPDX-License-Identifier: MIT
// Golden text of the disassembler. The llvm syntax cases marked "llvm-objdump 14" are copied
// from `llvm-objdump -d --print-imm-hex` (LLVM 14.0.6; with --mattr=+alu32 for the 32-bit
// atomics) on objects built from these bytes; the others are forms LLVM 14 cannot decode,
// written as later LLVM releases print them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "insn_builder.hpp"
#include "isa/disassembler.hpp"

namespace pollen::isa {
namespace {

using test::exit_insn;
using test::slot;

struct GoldenCase {
  std::string name;
  std::vector<Insn> slots;  // one instruction (two slots for lddw)
  std::string text;
};

std::vector<GoldenCase> llvm_objdump_14_cases() {
  return {
      {"MovImm", {slot(0xb7, 0, 0, 0, 1)}, "r0 = 0x1"},
      {"MovNegativeImm", {slot(0xb7, 0, 0, 0, -1)}, "r0 = -0x1"},
      {"Mov32Imm", {slot(0xb4, 0, 0, 0, -1)}, "w0 = -0x1"},
      {"MovReg", {slot(0xbf, 6, 1)}, "r6 = r1"},
      {"Mov32Reg", {slot(0xbc, 1, 7)}, "w1 = w7"},
      {"AddImmMin", {slot(0x07, 0, 0, 0, INT32_MIN)}, "r0 += -0x80000000"},
      {"Add32Imm", {slot(0x04, 0, 0, 0, INT32_MAX)}, "w0 += 0x7fffffff"},
      {"Add32Reg", {slot(0x0c, 0, 1)}, "w0 += w1"},
      {"LshImm", {slot(0x67, 3, 0, 0, 63)}, "r3 <<= 0x3f"},
      {"Arsh32Reg", {slot(0xcc, 3, 4)}, "w3 s>>= w4"},
      {"Arsh32Imm", {slot(0xc4, 3, 0, 0, -1)}, "w3 s>>= -0x1"},
      {"DivImm", {slot(0x37, 0, 0, 0, 3)}, "r0 /= 0x3"},
      {"Neg", {slot(0x87, 3)}, "r3 = -r3"},
      {"Neg32", {slot(0x84, 3)}, "w3 = -w3"},
      {"Be16", {slot(0xdc, 1, 0, 0, 16)}, "r1 = be16 r1"},
      {"Le64", {slot(0xd4, 1, 0, 0, 64)}, "r1 = le64 r1"},
      {"Lddw",
       {slot(0x18, 1, 0, 0, 0x55667788), slot(0x00, 0, 0, 0, 0x11223344)},
       "r1 = 0x1122334455667788 ll"},
      {"LddwNegative", {slot(0x18, 1, 0, 0, -1), slot(0x00, 0, 0, 0, -1)}, "r1 = -0x1 ll"},
      {"LddwMapFd", {slot(0x18, 1, 1, 0, 3), slot(0x00)}, "ld_pseudo\tr1, 0x1, 0x3"},
      {"LdAbs", {slot(0x30, 0, 0, 0, 5)}, "r0 = *(u8 *)skb[0x5]"},
      {"LdAbsNegative", {slot(0x28, 0, 0, 0, -5)}, "r0 = *(u16 *)skb[-0x5]"},
      {"LdInd", {slot(0x48, 0, 1)}, "r0 = *(u16 *)skb[r1]"},
      {"Ldx", {slot(0x61, 2, 1, 8)}, "r2 = *(u32 *)(r1 + 0x8)"},
      {"LdxZeroOffset", {slot(0x61, 7, 6)}, "r7 = *(u32 *)(r6 + 0x0)"},
      {"LdxByte", {slot(0x71, 8, 6, 8)}, "r8 = *(u8 *)(r6 + 0x8)"},
      {"StxNegativeOffset", {slot(0x7b, 10, 1, -8)}, "*(u64 *)(r10 - 0x8) = r1"},
      {"Stx32", {slot(0x63, 10, 0, -8)}, "*(u32 *)(r10 - 0x8) = r0"},
      {"LockAdd", {slot(0xdb, 1, 2, 0, 0x00)}, "lock *(u64 *)(r1 + 0x0) += r2"},
      {"LockOr", {slot(0xdb, 1, 2, 0, 0x40)}, "lock *(u64 *)(r1 + 0x0) |= r2"},
      {"LockAnd", {slot(0xdb, 1, 2, 0, 0x50)}, "lock *(u64 *)(r1 + 0x0) &= r2"},
      {"LockXor32", {slot(0xc3, 1, 2, -4, 0xa0)}, "lock *(u32 *)(r1 - 0x4) ^= w2"},
      {"FetchAdd", {slot(0xdb, 1, 2, 0, 0x01)}, "r2 = atomic_fetch_add((u64 *)(r1 + 0x0), r2)"},
      {"FetchOr32", {slot(0xc3, 1, 2, -4, 0x41)}, "w2 = atomic_fetch_or((u32 *)(r1 - 0x4), w2)"},
      {"FetchAnd", {slot(0xdb, 1, 2, 0, 0x51)}, "r2 = atomic_fetch_and((u64 *)(r1 + 0x0), r2)"},
      {"FetchXor", {slot(0xdb, 1, 2, 0, 0xa1)}, "r2 = atomic_fetch_xor((u64 *)(r1 + 0x0), r2)"},
      {"Xchg", {slot(0xdb, 1, 2, 0, 0xe1)}, "r2 = xchg_64(r1 + 0x0, r2)"},
      {"Xchg32", {slot(0xc3, 1, 2, -4, 0xe1)}, "w2 = xchg32_32(r1 - 0x4, w2)"},
      {"Cmpxchg", {slot(0xdb, 1, 2, 0, 0xf1)}, "r0 = cmpxchg_64(r1 + 0x0, r0, r2)"},
      {"Cmpxchg32", {slot(0xc3, 1, 2, -4, 0xf1)}, "w0 = cmpxchg32_32(r1 - 0x4, w0, w2)"},
      {"JeqImm", {slot(0x15, 1, 0, 3, -1)}, "if r1 == -0x1 goto +0x3"},
      {"Jeq32Imm", {slot(0x16, 1, 0, -3, -1)}, "if w1 == -0x1 goto -0x3"},
      {"JumpOffsetMin", {slot(0x15, 1, 0, INT16_MIN, 16)}, "if r1 == 0x10 goto -0x8000"},
      {"JsltImm", {slot(0xc5, 1, 0, 1, -1)}, "if r1 s< -0x1 goto +0x1"},
      {"Jsgt32Reg", {slot(0x6e, 1, 2, -2)}, "if w1 s> w2 goto -0x2"},
      {"Jlt32Reg", {slot(0xae, 7, 9, 1)}, "if w7 < w9 goto +0x1"},
      {"Goto", {slot(0x05, 0, 0, 3)}, "goto +0x3"},
      {"GotoZero", {slot(0x05)}, "goto +0x0"},
      {"CallHelper", {slot(0x85, 0, 0, 0, 5)}, "call 0x5"},
      {"CallLocal", {slot(0x85, 0, 1, 0, -3)}, "call -0x3"},
      {"CallKfunc", {slot(0x85, 0, 2, 3, 5)}, "call 0x5"},
      {"Exit", {exit_insn()}, "exit"},
  };
}

std::vector<GoldenCase> later_llvm_cases() {
  return {
      {"SdivImm", {slot(0x37, 0, 0, 1, 3)}, "r0 s/= 0x3"},
      {"Smod32Reg", {slot(0x9c, 0, 1, 1)}, "w0 s%= w1"},
      {"ModReg", {slot(0x9f, 0, 1)}, "r0 %= r1"},
      {"Movsx8", {slot(0xbf, 0, 1, 8)}, "r0 = (s8)r1"},
      {"Movsx16To32", {slot(0xbc, 0, 1, 16)}, "w0 = (s16)w1"},
      {"Bswap16", {slot(0xd7, 1, 0, 0, 16)}, "r1 = bswap16 r1"},
      {"Ldxsw", {slot(0x81, 1, 2, -3)}, "r1 = *(s32 *)(r2 - 0x3)"},
      {"StImm", {slot(0x7a, 10, 0, -8, 5)}, "*(u64 *)(r10 - 0x8) = 0x5"},
      {"JsetImm", {slot(0x45, 1, 0, 1, 5)}, "if r1 & 0x5 goto +0x1"},
      {"Gotol", {slot(0x06, 0, 0, 0, -3)}, "gotol -0x3"},
      {"Callx", {slot(0x8d, 2)}, "callx r2"},
      {"LdIndWithImm", {slot(0x40, 0, 3, 0, -4)}, "r0 = *(u32 *)skb[r3 - 0x4]"},
      {"LddwMapValueKeepsTheOffset",
       {slot(0x18, 1, 2, 0, 3), slot(0x00, 0, 0, 0, 8)},
       "ld_pseudo\tr1, 0x2, 0x800000003"},
  };
}

std::vector<GoldenCase> conformance_cases() {
  return {
      {"AluImm", {slot(0x07, 1, 0, 0, -5)}, "add %r1, -5"},
      {"AluReg32", {slot(0xcc, 3, 4)}, "arsh32 %r3, %r4"},
      {"Sdiv", {slot(0x3f, 0, 1, 1)}, "sdiv %r0, %r1"},
      {"Movsx", {slot(0xbc, 0, 1, 16)}, "movsx1632 %r0, %r1"},
      {"Bswap", {slot(0xd7, 1, 0, 0, 64)}, "bswap64 %r1"},
      {"Lddw",
       {slot(0x18, 0, 0, 0, 0x55667788), slot(0x00, 0, 0, 0, 0x11223344)},
       "lddw %r0, 0x1122334455667788"},
      {"LddwPseudo",
       {slot(0x18, 1, 2, 0, 3), slot(0x00, 0, 0, 0, 8)},
       "lddw %r1, map_value 0x800000003"},
      {"LdxZeroOffset", {slot(0x61, 0, 1)}, "ldxw %r0, [%r1]"},
      {"St", {slot(0x7a, 10, 0, -8, 7)}, "stdw [%r10-8], 7"},
      {"Stx", {slot(0x6b, 1, 2, 2)}, "stxh [%r1+2], %r2"},
      {"LockFetch32", {slot(0xc3, 1, 2, 4, 0x01)}, "lock fetch add32 [%r1+4], %r2"},
      {"Cmpxchg", {slot(0xdb, 1, 2, 0, 0xf1)}, "lock cmpxchg [%r1], %r2"},
      {"Jump", {slot(0x5e, 1, 2, -2)}, "jne32 %r1, %r2, -2"},
      {"JumpZero", {slot(0x15, 1, 0, 0, 0)}, "jeq %r1, 0, +0"},
      {"Ja32", {slot(0x06, 0, 0, 0, 7)}, "ja32 +7"},
      {"CallLocal", {slot(0x85, 0, 1, 0, -3)}, "call local -3"},
      {"CallRuntimeWithOffset", {slot(0x85, 0, 2, 2, 7)}, "call runtime 7, 2"},
      {"Callx", {slot(0x8d, 2)}, "call %r2"},
      {"LdInd", {slot(0x50, 0, 1, 0, 4)}, "ldindb %r1, 4"},
      {"Exit", {exit_insn()}, "exit"},
  };
}

struct SyntaxCase {
  Syntax syntax;
  GoldenCase golden;
};

class Golden : public testing::TestWithParam<SyntaxCase> {};

TEST_P(Golden, PrintsTheExpectedText) {
  const GoldenCase& c = GetParam().golden;
  Result<Decoded> d = decode(c.slots, 0);
  ASSERT_TRUE(d.ok()) << d.error().str();
  EXPECT_EQ(format(*d, 0, GetParam().syntax), c.text);
}

std::vector<SyntaxCase> with_syntax(Syntax syntax, const std::vector<GoldenCase>& cases) {
  std::vector<SyntaxCase> out;
  for (const GoldenCase& c : cases) out.push_back({syntax, c});
  return out;
}

auto golden_name = [](const auto& info) { return info.param.golden.name; };
INSTANTIATE_TEST_SUITE_P(LlvmObjdump14, Golden,
                         testing::ValuesIn(with_syntax(Syntax::Llvm, llvm_objdump_14_cases())),
                         golden_name);
INSTANTIATE_TEST_SUITE_P(LaterLlvm, Golden,
                         testing::ValuesIn(with_syntax(Syntax::Llvm, later_llvm_cases())),
                         golden_name);
INSTANTIATE_TEST_SUITE_P(Conformance, Golden,
                         testing::ValuesIn(with_syntax(Syntax::Conformance, conformance_cases())),
                         golden_name);

// Lines as llvm-objdump 14 prints them (address, tab, bytes, tab, text); lddw's 16 bytes on one.
TEST(Listing, MatchesLlvmObjdumpLayout) {
  std::vector<Insn> prog = {slot(0xb7, 0, 0, 0, 1), slot(0x18, 1, 0, 0, 0x55667788),
                            slot(0x00, 0, 0, 0, 0x11223344), exit_insn()};
  Result<std::string> listing = disassemble(prog);
  ASSERT_TRUE(listing.ok()) << listing.error().str();
  EXPECT_EQ(*listing,
            "       0:\tb7 00 00 00 01 00 00 00\tr0 = 0x1\n"
            "       1:\t18 01 00 00 88 77 66 55 00 00 00 00 44 33 22 11\t"
            "r1 = 0x1122334455667788 ll\n"
            "       3:\t95 00 00 00 00 00 00 00\texit\n");
}

TEST(Listing, ConformanceWithoutAddressesOrBytes) {
  std::vector<Insn> prog = {slot(0x07, 0, 0, 0, 1), exit_insn()};
  Result<std::string> listing = disassemble(prog, {Syntax::Conformance, false, false});
  ASSERT_TRUE(listing.ok()) << listing.error().str();
  EXPECT_EQ(*listing, "add %r0, 1\nexit\n");
}

TEST(Listing, FailsAtTheFirstSlotThatDoesNotDecode) {
  std::vector<Insn> prog = {exit_insn(), slot(0xff)};
  Result<std::string> listing = disassemble(prog);
  ASSERT_FALSE(listing.ok());
  EXPECT_EQ(listing.error().str(), "insn 1: unknown opcode 0xff");
}

TEST(Listing, FailsOnATruncatedLddw) {
  std::vector<Insn> prog = {exit_insn(), slot(0x18, 1)};
  Result<std::string> listing = disassemble(prog);
  ASSERT_FALSE(listing.ok());
  EXPECT_EQ(listing.error().location.value, 1u);
}

}  // namespace
}  // namespace pollen::isa

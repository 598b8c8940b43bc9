// SPDX-License-Identifier: MIT
// One rejected program for every rule of isa::validate(), each checked for the instruction the
// error names and a piece of its message, and accepted programs that sit right next to a rule.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "insn_builder.hpp"

namespace pollen::isa {
namespace {

using test::exit_insn;
using test::slot;

struct RejectCase {
  std::string name;
  std::vector<Insn> prog;
  size_t insn;          // where the error must point
  std::string message;  // a piece of the message
  size_t max_insns = ValidateOptions{}.max_insns;
};

// Opcode bytes used below: 0x07 add imm, 0x0f add reg, 0x87 neg, 0xdc be, 0xbf mov/movsx reg,
// 0xb7 mov imm, 0x18 lddw, 0x20 ldabsw, 0x40 ldindw, 0x79 ldxdw, 0x7a stdw, 0x7b stxdw,
// 0xdb atomic64, 0x15 jeq imm, 0x1d jeq reg, 0x05 ja, 0x06 ja32, 0x85 call, 0x8d callx, 0x95 exit.
std::vector<RejectCase> reject_cases() {
  Insn x = exit_insn();
  Insn second = slot(0x00);
  return {
      {"EmptyProgram", {}, 0, "program is empty"},
      {"TooManyInstructions", {x, x, x}, 2, "3 instructions (limit 2)", 2},
      {"UnknownOpcode", {slot(0xff), x}, 0, "unknown opcode 0xff"},
      {"UnknownOpcodeZero", {slot(0x00), x}, 0, "unknown opcode 0x00"},
      {"DivWithOffset5", {slot(0x37, 1, 0, 5, 3), x}, 0, "offset 5 (expected 0 or 1)"},
      {"MovsxWithOffset24", {slot(0xbf, 1, 2, 24), x}, 0, "offset 24"},
      {"EndianWithImm8", {slot(0xdc, 1, 0, 0, 8), x}, 0, "imm 8 (expected 0x10, 0x20 or 0x40)"},
      {"LddwWithSrc7", {slot(0x18, 1, 7), second, x}, 0, "src 7"},
      {"AtomicWithImm2", {slot(0xdb, 1, 2, 0, 2), x}, 0, "imm 2"},
      {"CallWithSrc3", {slot(0x85, 0, 3, 0, 1), x}, 0, "src 3"},
      // Reserved fields, each form's unused ones.
      {"AluImmSrc", {slot(0x07, 1, 2, 0, 1), x}, 0, "reserved field src must be 0 (is 2)"},
      {"AluImmOffset", {slot(0x07, 1, 0, 3, 1), x}, 0, "reserved field offset must be 0 (is 3)"},
      {"AluRegImm", {slot(0x0f, 1, 2, 0, 5), x}, 0, "reserved field imm must be 0 (is 5)"},
      {"NegSrc", {slot(0x87, 1, 2), x}, 0, "reserved field src"},
      {"NegOffset", {slot(0x87, 1, 0, 1), x}, 0, "reserved field offset"},
      {"NegImm", {slot(0x87, 1, 0, 0, 1), x}, 0, "reserved field imm"},
      {"EndianSrc", {slot(0xdc, 1, 1, 0, 16), x}, 0, "reserved field src"},
      {"EndianOffset", {slot(0xdc, 1, 0, 1, 16), x}, 0, "reserved field offset"},
      {"MovsxImm", {slot(0xbf, 1, 2, 8, 1), x}, 0, "reserved field imm"},
      {"LddwOffset", {slot(0x18, 1, 0, 4), second, x}, 0, "reserved field offset"},
      {"LdAbsDst", {slot(0x20, 1, 0, 0, 4), x}, 0, "reserved field dst"},
      {"LdAbsSrc", {slot(0x20, 0, 1, 0, 4), x}, 0, "reserved field src"},
      {"LdAbsOffset", {slot(0x20, 0, 0, 1, 4), x}, 0, "reserved field offset"},
      {"LdIndDst", {slot(0x40, 1, 2), x}, 0, "reserved field dst"},
      {"LdIndOffset", {slot(0x40, 0, 2, 1), x}, 0, "reserved field offset"},
      {"LdxImm", {slot(0x79, 1, 2, 0, 1), x}, 0, "reserved field imm"},
      {"StSrc", {slot(0x7a, 10, 1, -8, 1), x}, 0, "reserved field src"},
      {"StxImm", {slot(0x7b, 10, 1, -8, 1), x}, 0, "reserved field imm"},
      {"JmpImmSrc", {slot(0x15, 1, 2, 0, 0), x}, 0, "reserved field src"},
      {"JmpRegImm", {slot(0x1d, 1, 2, 0, 1), x}, 0, "reserved field imm"},
      {"JaDst", {slot(0x05, 1), x}, 0, "reserved field dst"},
      {"JaSrc", {slot(0x05, 0, 1), x}, 0, "reserved field src"},
      {"JaImm", {slot(0x05, 0, 0, 0, 1), x}, 0, "reserved field imm"},
      {"Ja32Dst", {slot(0x06, 1), x}, 0, "reserved field dst"},
      {"Ja32Src", {slot(0x06, 0, 1), x}, 0, "reserved field src"},
      {"Ja32Offset", {slot(0x06, 0, 0, 1), x}, 0, "reserved field offset"},
      {"CallHelperDst", {slot(0x85, 1, 0, 0, 5), x}, 0, "reserved field dst"},
      {"CallHelperOffset", {slot(0x85, 0, 0, 1, 5), x}, 0, "reserved field offset"},
      {"CallLocalDst", {slot(0x85, 1, 1, 0, 0), x}, 0, "reserved field dst"},
      {"CallLocalOffset", {slot(0x85, 0, 1, 1, 0), x}, 0, "reserved field offset"},
      {"CallKfuncDst", {slot(0x85, 1, 2, 0, 5), x}, 0, "reserved field dst"},
      {"CallxSrc", {slot(0x8d, 1, 2), x}, 0, "reserved field src"},
      {"CallxOffset", {slot(0x8d, 1, 0, 1), x}, 0, "reserved field offset"},
      {"CallxImm", {slot(0x8d, 1, 0, 0, 1), x}, 0, "reserved field imm"},
      {"ExitDst", {slot(0x95, 1)}, 0, "reserved field dst"},
      {"ExitSrc", {slot(0x95, 0, 1)}, 0, "reserved field src"},
      {"ExitOffset", {slot(0x95, 0, 0, 1)}, 0, "reserved field offset"},
      {"ExitImm", {slot(0x95, 0, 0, 0, 1)}, 0, "reserved field imm"},
      // Registers beyond r10.
      {"DstRegister11", {slot(0x07, 11, 0, 0, 1), x}, 0, "invalid register r11 in dst"},
      {"SrcRegister12", {slot(0xbf, 1, 12), x}, 0, "invalid register r12 in src"},
      {"StoreBaseRegister15", {slot(0x7b, 15, 1), x}, 0, "invalid register r15 in dst"},
      {"LoadBaseRegister13", {slot(0x79, 1, 13), x}, 0, "invalid register r13 in src"},
      // Writes to the frame pointer.
      {"AluWritesR10", {slot(0xb7, 10, 0, 0, 1), x}, 0, "r10 is read-only"},
      {"LdxWritesR10", {slot(0x79, 10, 1), x}, 0, "r10 is read-only"},
      {"LddwWritesR10", {slot(0x18, 10), second, x}, 0, "r10 is read-only"},
      {"FetchAtomicWritesR10", {slot(0xdb, 1, 10, 0, 0x01), x}, 0, "r10 is read-only"},
      {"XchgWritesR10", {slot(0xdb, 1, 10, 0, 0xe1), x}, 0, "r10 is read-only"},
      // lddw's second slot.
      {"LddwMissingSecondSlot", {slot(0x18, 1, 0, 0, 1)}, 0, "missing second slot"},
      {"LddwSecondSlotOpcode", {slot(0x18, 1), x, x}, 1, "second slot must have opcode"},
      {"LddwSecondSlotDst", {slot(0x18, 1), slot(0x00, 1), x}, 1, "dst 1"},
      {"LddwMapFdSecondSlotImm",
       {slot(0x18, 1, 1, 0, 3), slot(0x00, 0, 0, 0, 1), x},
       1,
       "second slot imm must be 0 (is 1)"},
      // Control flow.
      {"JumpOutOfRangeForwards", {slot(0x05, 0, 0, 5), x}, 0, "out of range (target 6"},
      {"JumpOutOfRangeBackwards", {slot(0x05, 0, 0, -2), x}, 0, "out of range (target -1"},
      {"ConditionalJumpPastTheEnd", {slot(0x15, 1, 0, 1), x}, 0, "out of range (target 2"},
      {"Ja32OutOfRange", {slot(0x06, 0, 0, 0, 100), x}, 0, "out of range (target 101"},
      {"JumpIntoMiddleOfLddw",
       {slot(0x05, 0, 0, 1), slot(0x18, 1), second, x},
       0,
       "into the middle of lddw (target 2)"},
      {"LocalCallOutOfRange", {slot(0x85, 0, 1, 0, 5), x}, 0, "local call out of range"},
      {"LocalCallBackwardsOutOfRange", {slot(0x85, 0, 1, 0, -5), x}, 0, "local call out of range"},
      {"LocalCallIntoMiddleOfLddw",
       {slot(0x85, 0, 1, 0, 2), x, slot(0x18, 0), second, x},
       0,
       "into the middle of lddw"},
      // lddw src=4 (BPF_PSEUDO_FUNC) names a callback function, like a local call does.
      {"CallbackAddressOutOfRange", {slot(0x18, 1, 4, 0, 5), second, x}, 0,
       "function address out of range"},
      {"CallbackAddressIntoMiddleOfLddw",
       {slot(0x18, 1, 4, 0, 3), second, x, slot(0x18, 0), second, x},
       0,
       "function address into the middle of lddw"},
      {"JumpIntoACallback",
       {slot(0x18, 1, 4, 0, 2), second, slot(0x05, 0, 0, 1), x, slot(0xb7), x},
       2,
       "jump out of its function"},
      {"CallbackFallsOffTheEnd",
       {slot(0x18, 1, 4, 0, 2), second, x, slot(0xb7)},
       3,
       "function starting at 3 is not exit or ja"},
      {"JumpIntoAnotherFunction",
       {slot(0x85, 0, 1, 0, 2), slot(0x05, 0, 0, 1), x, slot(0xb7), x},
       1,
       "jump out of its function"},
      {"FallsOffTheEnd", {slot(0xb7)}, 0, "falls off the end"},
      {"SubprogramFallsOffTheEnd",
       {slot(0x85, 0, 1, 0, 1), x, slot(0xb7)},
       2,
       "function starting at 2 is not exit or ja"},
      {"ConditionalJumpIsNotAnEnd", {slot(0x15, 1, 0, -1)}, 0, "falls off the end"},
      {"LddwIsTheLastInstructionOfItsFunction",
       {slot(0x18, 1), second},
       0,
       "lddw is the last instruction of its function"},
  };
}

class ValidateRejects : public testing::TestWithParam<RejectCase> {};

TEST_P(ValidateRejects, NamesTheInstructionAndTheRule) {
  const RejectCase& c = GetParam();
  Result<void> result = validate(c.prog, ValidateOptions{c.max_insns});
  ASSERT_FALSE(result.ok()) << "accepted";
  const Error& error = result.error();
  EXPECT_EQ(error.code, Errc::InvalidProgram);
  EXPECT_EQ(error.location.kind, Location::Kind::Insn);
  EXPECT_EQ(error.location.value, c.insn) << error.str();
  EXPECT_NE(error.message.find(c.message), std::string::npos) << error.str();
}

INSTANTIATE_TEST_SUITE_P(EveryRule, ValidateRejects, testing::ValuesIn(reject_cases()),
                         [](const auto& info) { return info.param.name; });

struct AcceptCase {
  std::string name;
  std::vector<Insn> prog;
  size_t max_insns = ValidateOptions{}.max_insns;
};

// Programs right at the edge of a rule, so that the rules above are not simply "reject all".
std::vector<AcceptCase> accept_cases() {
  Insn x = exit_insn();
  Insn second = slot(0x00);
  return {
      {"SingleExit", {x}},
      {"ExactlyMaxInstructions", {x, x}, 2},
      {"StoreThroughR10", {slot(0x7b, 10, 1, -8), x}},
      {"R10AsSource", {slot(0xbf, 1, 10), x}},
      {"NonFetchingAtomicFromR10", {slot(0xdb, 1, 10, 0, 0x00), x}},
      {"CmpxchgWithR10AsSource", {slot(0xdb, 1, 10, 0, 0xf1), x}},
      {"LddwMapValueWithSecondSlotImm", {slot(0x18, 1, 2, 0, 3), slot(0x00, 0, 0, 0, 8), x}},
      {"JumpToTheLastInstruction", {slot(0x05, 0, 0, 0), x}},
      {"JumpOverLddw", {slot(0x05, 0, 0, 2), slot(0x18, 1), second, x}},
      {"BackwardJumpToTheStart", {slot(0xb7), slot(0x15, 0, 0, -2), x}},
      {"FunctionEndsInJa", {slot(0xb7), slot(0x05, 0, 0, -2)}},
      {"LocalCallToASubprogram", {slot(0x85, 0, 1, 0, 1), x, slot(0xb7), x}},
      {"Callx", {slot(0x8d, 2), x}},
      {"CallbackAddressOfASubprogram",
       {slot(0x18, 1, 4, 0, 2), second, x, slot(0xb7), x}},
  };
}

class ValidateAccepts : public testing::TestWithParam<AcceptCase> {};

TEST_P(ValidateAccepts, ProgramAtTheEdgeOfARule) {
  Result<void> result = validate(GetParam().prog, ValidateOptions{GetParam().max_insns});
  EXPECT_TRUE(result.ok()) << result.error().str();
}

INSTANTIATE_TEST_SUITE_P(EdgeCases, ValidateAccepts, testing::ValuesIn(accept_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace pollen::isa

// SPDX-License-Identifier: MIT
// Tests of the public C++ API (include/pollen/pollen.hpp) as a user of the library sees it:
// programs from bytes and assembly with located errors, listings, and exec with its memory,
// repeat, budget, checked-mode, engine and hardening options, and the JIT's listing.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pollen/pollen.hpp"

namespace pollen {
namespace {

Program assemble(std::string_view text) {
  auto program = Program::from_assembly(text, "test.s");
  EXPECT_TRUE(program.ok()) << program.error().str();
  return *std::move(program);
}

const std::vector<uint8_t> kRet42 = {0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0};

TEST(Program, FromBytesKeepsTheBytes) {
  auto program = Program::from_bytes(kRet42);
  ASSERT_TRUE(program.ok()) << program.error().str();
  EXPECT_EQ(program->bytes(), kRet42);
  EXPECT_EQ(program->slot_count(), 2u);
}

TEST(Program, FromAssemblyGivesTheSameBytesAsFromBytes) {
  EXPECT_EQ(assemble("mov %r0, 42\nexit\n").bytes(), kRet42);
}

TEST(Program, RejectsTruncatedBytecodeAtItsOffset) {
  std::vector<uint8_t> bytes(kRet42.begin(), kRet42.begin() + 12);
  auto program = Program::from_bytes(bytes);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().code, Errc::InvalidProgram);
  EXPECT_EQ(program.error().location.str(), "offset 8");
}

TEST(Program, RejectsUnknownOpcodeAtItsInstruction) {
  std::vector<uint8_t> bytes = kRet42;
  bytes.insert(bytes.begin() + 8, {0x8f, 0, 0, 0, 0, 0, 0, 0});
  auto program = Program::from_bytes(bytes);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().code, Errc::InvalidProgram);
  EXPECT_EQ(program.error().str(), "insn 1: unknown opcode 0x8f");
}

TEST(Program, RejectsEmptyProgram) {
  auto program = Program::from_bytes({});
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().code, Errc::InvalidProgram);
}

TEST(Program, LocatesAssemblerErrorsAtFileAndLine) {
  auto program = Program::from_assembly("mov %r0, 1\nad %r0, 1\nexit\n", "prog.s");
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().code, Errc::Parse);
  EXPECT_EQ(program.error().location.str(), "prog.s:2");
}

TEST(Program, RejectsAssemblyThatIsStructurallyInvalid) {
  auto program = Program::from_assembly("ja +5\nexit\n", "prog.s");
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().code, Errc::InvalidProgram);
  EXPECT_EQ(program.error().location.str(), "insn 0");
}

TEST(Program, ConformanceListingAssemblesBack) {
  Program program = assemble(
      "lddw %r1, 0x123456789abcdef0\njne %r1, 0, +1\nmov %r0, -3\nstxdw [%r10-8], %r1\n"
      "lock fetch add [%r10-8], %r0\nexit\n");
  std::string listing = program.disassemble({Syntax::Conformance, false, false});
  EXPECT_EQ(assemble(listing).bytes(), program.bytes()) << listing;
}

TEST(Program, LlvmListingHasAddressesAndBytes) {
  std::string listing = assemble("mov %r0, 42\nexit\n").disassemble({});
  EXPECT_NE(listing.find("b7 00 00 00 2a 00 00 00"), std::string::npos) << listing;
  EXPECT_NE(listing.find("r0 = "), std::string::npos) << listing;
  EXPECT_NE(listing.find("exit"), std::string::npos) << listing;
}

TEST(Listing, DisassemblesStructurallyInvalidBytecode) {
  std::vector<uint8_t> jump_out = {0x05, 0, 5, 0, 0, 0, 0, 0};  // ja +5, no exit
  auto listing = disassemble_bytes(jump_out, {Syntax::Conformance, false, false});
  ASSERT_TRUE(listing.ok()) << listing.error().str();
  EXPECT_EQ(*listing, "ja +5\n");
}

TEST(Listing, ListsLddwOnceWithBothSlots) {
  auto listing = list_insns(assemble("lddw %r0, 0x100000002\nexit\n").bytes(), Syntax::Conformance);
  ASSERT_TRUE(listing.ok()) << listing.error().str();
  ASSERT_EQ(listing->size(), 2u);
  EXPECT_EQ((*listing)[0].slot, 0u);
  EXPECT_EQ((*listing)[0].bytes.size(), 16u);
  EXPECT_EQ((*listing)[0].text, "lddw %r0, 0x100000002");
  EXPECT_EQ((*listing)[1].slot, 2u);
  EXPECT_EQ((*listing)[1].text, "exit");
}

TEST(Listing, FailsAtTheFirstSlotThatDoesNotDecode) {
  std::vector<uint8_t> bytes = kRet42;
  bytes[8] = 0x8f;
  auto listing = list_insns(bytes, Syntax::Llvm);
  ASSERT_FALSE(listing.ok());
  EXPECT_EQ(listing.error().str(), "insn 1: unknown opcode 0x8f");
}

TEST(Exec, ReturnsR0) {
  auto result = exec(assemble("mov %r0, 42\nexit\n"), {});
  ASSERT_TRUE(result.ok()) << result.error().str();
  EXPECT_EQ(result->r0, 42u);
  EXPECT_EQ(result->repeat, 1u);
  EXPECT_EQ(result->insns_per_run, 2u);
}

TEST(Exec, PassesMemoryInR1AndItsLengthInR2) {
  std::vector<uint8_t> memory = {7, 0, 0};
  Program program = assemble("ldxb %r0, [%r1]\nlsh %r0, 8\nadd %r0, %r2\nexit\n");
  auto result = exec(program, memory);
  ASSERT_TRUE(result.ok()) << result.error().str();
  EXPECT_EQ(result->r0, (7u << 8) + 3);
}

TEST(Exec, RepeatRunsOnTheSameMemory) {
  std::vector<uint8_t> memory = {0};
  Program program = assemble("ldxb %r0, [%r1]\nadd %r0, 1\nstxb [%r1], %r0\nexit\n");
  auto result = exec(program, memory, {.repeat = 10});
  ASSERT_TRUE(result.ok()) << result.error().str();
  EXPECT_EQ(result->r0, 10u);
  EXPECT_EQ(result->repeat, 10u);
  EXPECT_EQ(memory[0], 10);
  EXPECT_GT(result->ns_per_run, 0);
}

TEST(Exec, CheckedModeFaultsOutsideTheMemory) {
  std::vector<uint8_t> memory = {1, 2, 3, 4};
  auto result = exec(assemble("ldxdw %r0, [%r1]\nexit\n"), memory);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::RuntimeFault);
  EXPECT_EQ(result.error().location.str(), "insn 0");
}

TEST(Exec, BudgetStopsALoop) {
  auto result =
      exec(assemble("mov %r0, 0\nloop:\nadd %r0, 1\nja loop\n"), {}, {.insn_budget = 1000});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::RuntimeFault);
}

TEST(Exec, DefaultEngineIsTheJitWhereTheHostHasOne) {
  auto result = exec(assemble("mov %r0, 42\nexit\n"), {});
  ASSERT_TRUE(result.ok()) << result.error().str();
  EXPECT_EQ(result->r0, 42u);
  EXPECT_EQ(result->engine, engine_supported(Engine::Jit) ? Engine::Jit : Engine::Interpreter);
}

TEST(Exec, JitGivesTheInterpretersResultsAndCounts) {
  if (!engine_supported(Engine::Jit)) GTEST_SKIP() << "this host has no JIT";
  std::vector<uint8_t> memory = {0};
  Program count = assemble("ldxb %r0, [%r1]\nadd %r0, 1\nstxb [%r1], %r0\nexit\n");
  for (Engine engine : {Engine::Interpreter, Engine::Jit}) {
    auto result = exec(count, memory, {.engine = engine, .repeat = 3});
    ASSERT_TRUE(result.ok()) << result.error().str();
    EXPECT_EQ(result->engine, engine);
    EXPECT_EQ(result->insns_per_run, 4u);
  }
  EXPECT_EQ(memory[0], 6u);  // three runs on each engine, on the same memory
}

TEST(Exec, JitFaultsAndBudgetsAsTheInterpreterDoes) {
  if (!engine_supported(Engine::Jit)) GTEST_SKIP() << "this host has no JIT";
  std::vector<uint8_t> memory = {1, 2, 3, 4};
  auto fault = exec(assemble("ldxdw %r0, [%r1]\nexit\n"), memory, {.engine = Engine::Jit});
  ASSERT_FALSE(fault.ok());
  EXPECT_EQ(fault.error().str().substr(0, 40), "insn 0: ldxdw: out-of-bounds read of 8 b");
  auto loop = exec(assemble("mov %r0, 0\nloop:\nadd %r0, 1\nja loop\n"), {},
                   {.engine = Engine::Jit, .insn_budget = 1000});
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.error().str(), "insn 2: instruction budget of 1000 exceeded");
}

TEST(Exec, HardenIsForTheJitOnly) {
  Program ret = assemble("mov %r0, 42\nexit\n");
  auto interp = exec(ret, {}, {.engine = Engine::Interpreter, .harden = true});
  ASSERT_FALSE(interp.ok());
  EXPECT_EQ(interp.error().code, Errc::InvalidArgument);
  if (!engine_supported(Engine::Jit)) GTEST_SKIP() << "this host has no JIT";
  auto jit = exec(ret, {}, {.engine = Engine::Jit, .harden = true});
  ASSERT_TRUE(jit.ok()) << jit.error().str();
  EXPECT_EQ(jit->r0, 42u);
}

TEST(JitListing, ShowsMachineCodeUnderEachInstruction) {
  auto listing = jit_listing(assemble("mov %r0, 42\nexit\n"));
  if (!engine_supported(Engine::Jit)) {
    ASSERT_FALSE(listing.ok());
    EXPECT_EQ(listing.error().code, Errc::NotSupported);
    return;
  }
  ASSERT_TRUE(listing.ok()) << listing.error().str();
  EXPECT_NE(listing->find("   0: r0 = 0x2a\n        mov eax, 0x2A"), std::string::npos) << *listing;
  EXPECT_NE(listing->find("   1: exit\n"), std::string::npos) << *listing;
}

TEST(Exec, ZeroRepeatIsAnInvalidArgument) {
  auto result = exec(assemble("mov %r0, 42\nexit\n"), {}, {.repeat = 0});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::InvalidArgument);
}

TEST(Helpers, NamesLinuxHelpersByIdAndNothingElse) {
  EXPECT_EQ(helper_name(5), "bpf_ktime_get_ns");
  EXPECT_EQ(helper_name(250), "");
}

}  // namespace
}  // namespace pollen

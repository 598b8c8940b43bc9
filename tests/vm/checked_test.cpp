// SPDX-License-Identifier: MIT
// Checked mode: every kind of out-of-bounds access (below the memory, above it, straddling its
// end, below the current stack frame, above r10, a write to a read-only region, a misaligned
// atomic, a null pointer) faults at the right instruction with a message that says why, and the
// matching in-bounds accesses run. Helpers see the same memory through RunContext::allows.
#include <gtest/gtest.h>

#include <array>
#include <sstream>
#include <string>

#include "builder.hpp"

namespace pollen::vm::test {
namespace {

struct BoundsCase {
  const char* name;
  std::vector<I> body;  ///< runs with r1 = 16 bytes of memory, r2 = 16; r0 = 0 is appended
  bool read_only;       ///< the memory region is read-only
  int64_t fault_insn;   ///< -1: runs to the end
  const char* message;  ///< a part of the fault message (addresses vary from run to run)
};

std::vector<isa::Insn> bounds_program(const BoundsCase& c) {
  std::vector<isa::Insn> out;
  for (const I& i : c.body) {
    std::vector<isa::Insn> slots = program({i});
    out.insert(out.end(), slots.begin(), slots.end());
  }
  for (const isa::Insn& slot : program({mov(0, 0), exit_insn()})) out.push_back(slot);
  return out;
}

class BoundsTest : public ::testing::TestWithParam<BoundsCase> {};

TEST_P(BoundsTest, FaultsExactlyOnOutOfBoundsAccesses) {
  const BoundsCase& c = GetParam();
  alignas(8) std::array<uint8_t, 16> mem{};
  RunArgs args = memory_args(mem);
  args.regions[0].writable = !c.read_only;
  RunOptions options;
  options.checked = true;
  Result<uint64_t> r = run(bounds_program(c), args, options, HelperTable{});
  if (c.fault_insn < 0) {
    EXPECT_TRUE(r.ok()) << r.error().str();
    return;
  }
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::RuntimeFault);
  EXPECT_EQ(r.error().location.kind, Location::Kind::Insn);
  EXPECT_EQ(r.error().location.value, static_cast<uint64_t>(c.fault_insn));
  EXPECT_NE(r.error().message.find(c.message), std::string::npos) << r.error().str();
}

// clang-format off
const BoundsCase kBoundsCases[] = {
    {"read_inside_memory_runs", {{Op::LdxW, 0, 1, 12}, {Op::LdxB, 0, 1, 0}}, false, -1, ""},
    {"read_below_memory", {mov(3, 0), {Op::LdxW, 0, 1, -4}}, false, 1,
     "ldxw: out-of-bounds read of 4 bytes at "},
    {"read_below_memory_names_operand", {{Op::LdxW, 0, 1, -4}}, false, 0,
     "(r1 - 4; not inside the memory ("},
    {"read_above_memory", {{Op::LdxB, 0, 1, 16}}, false, 0, "out-of-bounds read of 1 bytes"},
    {"read_above_memory_is_not_in_memory_or_stack", {{Op::LdxDW, 0, 1, 64}}, false, 0,
     "+16) or the stack ("},
    {"read_straddling_the_end", {{Op::LdxW, 0, 1, 14}}, false, 0,
     "(r1 + 14; runs 2 bytes past the end of the memory ("},
    {"write_straddling_the_end", {{Op::StxDW, 1, 2, 9}}, false, 0,
     "stxdw: out-of-bounds write of 8 bytes at"},
    {"imm_store_above_memory", {{Op::StH, 1, 0, 16, 1}}, false, 0, "sth: out-of-bounds write"},
    {"write_to_read_only_memory", {{Op::LdxW, 0, 1, 0}, {Op::StW, 1, 0, 4, 1}}, true, 1,
     "stw: write to read-only memory of 4 bytes at"},
    {"read_only_message_names_the_region", {{Op::StxB, 1, 2, 0}}, true, 0,
     "(r1 + 0; the memory ("},
    {"read_of_read_only_memory_runs", {{Op::LdxDW, 0, 1, 8}}, true, -1, ""},
    {"null_pointer_read", {mov(3, 0), {Op::LdxB, 0, 3, 0}}, false, 1,
     "at 0x0 (r3 + 0; not inside"},
    {"stack_frame_bottom_and_top_run", {{Op::StDW, 10, 0, -512, 1}, {Op::LdxDW, 0, 10, -8}},
     false, -1, ""},
    {"stack_below_the_frame", {{Op::StDW, 10, 0, -8, 1}, {Op::StB, 10, 0, -513, 1}}, false, 1,
     "stb: out-of-bounds write of 1 bytes at"},
    {"stack_straddling_the_top", {{Op::LdxDW, 0, 10, -4}}, false, 0,
     "(r10 - 4; runs 4 bytes past the end of the stack ("},
    {"stack_above_r10", {{Op::LdxB, 0, 10, 0}}, false, 0, "(r10 + 0; not inside the memory"},
    {"atomic_inside_memory_runs", {mov(2, 1), {Op::AtomicAdd64, 1, 2, 8}}, false, -1, ""},
    {"atomic_above_memory", {mov(2, 1), {Op::AtomicFetchAdd32, 1, 2, 16}}, false, 1,
     "lock fetch add32: out-of-bounds write of 4 bytes"},
    {"atomic_on_read_only_memory", {mov(2, 1), {Op::AtomicXchg64, 1, 2, 0}}, true, 1,
     "lock xchg: write to read-only memory"},
    {"atomic_misaligned", {mov(2, 1), {Op::AtomicAdd64, 1, 2, 4}}, false, 1,
     "lock add: misaligned atomic access of 8 bytes at "},
    {"atomic_on_stack_runs",
     {{Op::StDW, 10, 0, -8, 5}, mov(0, 5), mov(2, 6), {Op::AtomicCmpxchg64, 10, 2, -8}}, false,
     -1, ""},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Checked, BoundsTest, ::testing::ValuesIn(kBoundsCases),
                         [](const auto& info) { return std::string(info.param.name); });

Result<uint64_t> run_checked(const std::vector<isa::Insn>& prog, std::span<uint8_t> memory,
                             const HelperTable& helpers = HelperTable{}) {
  RunOptions options;
  options.checked = true;
  return run(prog, memory_args(memory), options, helpers);
}

TEST(Checked, MessageGivesAddressOperandAndRegion) {
  alignas(8) std::array<uint8_t, 16> mem{};
  Result<uint64_t> r = run_checked(program({{Op::LdxW, 0, 1, 14}, exit_insn()}), mem);
  ASSERT_FALSE(r.ok());
  auto base = reinterpret_cast<uint64_t>(mem.data());
  std::ostringstream want;
  want << std::hex << "insn 0: ldxw: out-of-bounds read of 4 bytes at 0x" << base + 14
       << " (r1 + 14; runs 2 bytes past the end of the memory (0x" << base << "+16))";
  EXPECT_EQ(r.error().str(), want.str());
}

TEST(Checked, CalleeFrameIsGoneAfterReturn) {
  // main: call f; r0 = [r10 - 520] (inside f's frame while f ran); exit.  f: [r10 - 8] = 1.
  auto prog = program({{Op::CallLocal, 0, 0, 0, 2},
                       {Op::LdxDW, 0, 10, -520},
                       exit_insn(),
                       {Op::StDW, 10, 0, -8, 1},
                       exit_insn()});
  Result<uint64_t> r = run_checked(prog, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 1u) << r.error().str();
}

TEST(Checked, CalleeCannotReachBelowItsOwnFrame) {
  auto prog = program({{Op::CallLocal, 0, 0, 0, 1},
                       exit_insn(),
                       {Op::LdxDW, 0, 10, 8},
                       {Op::LdxDW, 0, 10, -520},
                       exit_insn()});
  Result<uint64_t> r = run_checked(prog, {});
  ASSERT_FALSE(r.ok());
  // [r10 + 8] is in the caller's frame, which stays live; [r10 - 520] is below the callee's.
  EXPECT_EQ(r.error().location.value, 3u) << r.error().str();
}

TEST(Checked, StackStartsZeroedInEveryFrame) {
  // A checked run must not show an unverified program what the host left on its stack. The
  // first program leaves -1 at the bottom and top of two frames; the second, run from the same
  // place, reads them back.
  auto dirty = program({{Op::StDW, 10, 0, -512, -1},
                        {Op::StDW, 10, 0, -8, -1},
                        {Op::CallLocal, 0, 0, 0, 1},
                        exit_insn(),
                        {Op::StDW, 10, 0, -512, -1},
                        {Op::StDW, 10, 0, -8, -1},
                        exit_insn()});
  auto read = program({{Op::LdxDW, 6, 10, -512},
                       {Op::LdxDW, 7, 10, -8},
                       {Op::CallLocal, 0, 0, 0, 3},
                       {Op::Or64Reg, 0, 6},
                       {Op::Or64Reg, 0, 7},
                       exit_insn(),
                       {Op::LdxDW, 0, 10, -8},
                       {Op::LdxDW, 1, 10, -512},
                       {Op::Or64Reg, 0, 1},
                       exit_insn()});
  Result<Vm> first = Vm::create(dirty, HelperTable{});
  Result<Vm> second = Vm::create(read, HelperTable{});
  ASSERT_TRUE(first.ok() && second.ok());
  RunOptions options;
  options.checked = true;
  for (const Vm* interp : {&*first, &*second}) {
    Result<uint64_t> r = interp->run(RunArgs{}, options);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, 0u);
  }
}

uint64_t allows_helper(uint64_t addr, uint64_t size, uint64_t write, uint64_t, uint64_t,
                       RunContext* ctx) {
  return ctx->allows(addr, size, write != 0) ? 1 : 0;
}

TEST(Checked, HelpersSeeTheSameMemoryAsTheProgram) {
  HelperTable helpers;
  helpers.fn[1] = allows_helper;
  alignas(8) std::array<uint8_t, 16> mem{};
  struct Probe {
    I base;  ///< puts the address to probe in r1
    int32_t size;
    uint64_t allowed;
  };
  const Probe probes[] = {
      {{Op::Mov64Reg, 1, 1}, 16, 1},       // all of the memory
      {{Op::Add64Imm, 1, 0, 0, 8}, 9, 0},  // one byte past its end
      {{Op::Mov64Reg, 1, 10}, 1, 0},       // the byte at r10
      {{Op::Add64Imm, 1, 0, 0, 0}, 0, 1},  // nothing at its start
  };
  for (const Probe& p : probes) {
    auto prog =
        program({p.base, mov(2, p.size), mov(3, 1), {Op::CallHelper, 0, 0, 0, 1}, exit_insn()});
    Result<uint64_t> r = run_checked(prog, mem, helpers);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, p.allowed) << "size " << p.size;
  }
  auto stack_probe = program({{Op::Mov64Reg, 1, 10},
                              {Op::Add64Imm, 1, 0, 0, -512},
                              mov(2, 512),
                              mov(3, 1),
                              {Op::CallHelper, 0, 0, 0, 1},
                              exit_insn()});
  Result<uint64_t> r = run_checked(stack_probe, mem, helpers);
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 1u);
}

}  // namespace
}  // namespace pollen::vm::test

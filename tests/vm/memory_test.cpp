// SPDX-License-Identifier: MIT
// Loads, stores, atomics and legacy packet loads: widths, zero and sign extension, imm stores,
// each atomic operation's effect on memory, src and r0, atomics from two threads losing no
// update, and ld_abs/ld_ind reading big-endian and ending the program with r0 = 0 outside the
// packet, as Linux does.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <thread>

#include "builder.hpp"

namespace pollen::vm::test {
namespace {

using Mem = std::array<uint8_t, 32>;

template <class T>
T read_at(const Mem& mem, size_t offset) {
  T v;
  std::memcpy(&v, mem.data() + offset, sizeof v);
  return v;
}

template <class T>
void write_at(Mem& mem, size_t offset, T v) {
  std::memcpy(mem.data() + offset, &v, sizeof v);
}

TEST(Memory, StoresEachWidthAndLoadsItBack) {
  Mem mem{};
  // Store r2 at 0 (8 bytes), 8 (4), 12 (2) and 14 (1); read back the dword at 8.
  auto prog = program({lddw(2, 0x1122334455667788),
                       {Op::StxDW, 1, 2, 0},
                       {Op::StxW, 1, 2, 8},
                       {Op::StxH, 1, 2, 12},
                       {Op::StxB, 1, 2, 14},
                       {Op::LdxDW, 0, 1, 8},
                       exit_insn()});
  for (bool checked : {false, true}) {
    mem.fill(0xee);
    Result<uint64_t> r = run(prog, mem, checked);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, 0xee88778855667788u);
    EXPECT_EQ(read_at<uint64_t>(mem, 0), 0x1122334455667788u);
  }
}

struct LoadCase {
  const char* name;
  Op op;
  uint64_t expected;  ///< loading from bytes 80 81 82 ... 87 (little-endian)
};

class LoadTest : public ::testing::TestWithParam<LoadCase> {};

TEST_P(LoadTest, ExtendsAsTheOpcodeSays) {
  Mem mem{};
  for (int i = 0; i < 8; ++i) mem[4 + i] = static_cast<uint8_t>(0x80 + i);
  auto prog = program({lddw(0, ~uint64_t{0}), {GetParam().op, 0, 1, 4}, exit_insn()});
  for (bool checked : {false, true}) {
    Result<uint64_t> r = run(prog, mem, checked);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, GetParam().expected);
  }
}

const LoadCase kLoadCases[] = {
    {"ldxb_zero_extends", Op::LdxB, 0x80},
    {"ldxh_zero_extends", Op::LdxH, 0x8180},
    {"ldxw_zero_extends", Op::LdxW, 0x83828180},
    {"ldxdw", Op::LdxDW, 0x8786858483828180},
    {"ldxsb_sign_extends", Op::LdxsB, 0xffffffffffffff80},
    {"ldxsh_sign_extends", Op::LdxsH, 0xffffffffffff8180},
    {"ldxsw_sign_extends", Op::LdxsW, 0xffffffff83828180},
};

INSTANTIATE_TEST_SUITE_P(Memory, LoadTest, ::testing::ValuesIn(kLoadCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Memory, ImmStoresTruncateAndStdwSignExtends) {
  Mem mem{};
  auto prog = program({{Op::StDW, 1, 0, 0, -2},
                       {Op::StW, 1, 0, 8, -2},
                       {Op::StH, 1, 0, 16, -2},
                       {Op::StB, 1, 0, 24, -2},
                       mov(0, 0),
                       exit_insn()});
  for (bool checked : {false, true}) {
    mem.fill(0);
    ASSERT_TRUE(run(prog, mem, checked).ok());
    EXPECT_EQ(read_at<uint64_t>(mem, 0), 0xfffffffffffffffeu);
    EXPECT_EQ(read_at<uint64_t>(mem, 8), 0xfffffffeu);
    EXPECT_EQ(read_at<uint64_t>(mem, 16), 0xfffeu);
    EXPECT_EQ(read_at<uint64_t>(mem, 24), 0xfeu);
  }
}

TEST(Memory, UnalignedAccessesWork) {
  Mem mem{};
  auto prog = program(
      {lddw(2, 0x0102030405060708), {Op::StxDW, 1, 2, 3}, {Op::LdxW, 0, 1, 5}, exit_insn()});
  Result<uint64_t> r = run(prog, mem, true);
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 0x03040506u);
}

TEST(Memory, StackIsUsableDownToR10Minus512) {
  auto prog = program({{Op::StDW, 10, 0, -512, 7},
                       {Op::StDW, 10, 0, -8, 5},
                       {Op::LdxDW, 0, 10, -512},
                       {Op::LdxDW, 1, 10, -8},
                       {Op::Add64Reg, 0, 1},
                       exit_insn()});
  for (bool checked : {false, true}) {
    Result<uint64_t> r = run(prog, {}, checked);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, 12u);
  }
}

// --- Atomics ------------------------------------------------------------------------------

struct AtomicCase {
  const char* name;
  Op op;
  uint64_t memory;  ///< the 8 bytes at offset 0 before
  uint64_t src;     ///< r2
  uint64_t r0;      ///< r0 before (cmpxchg compares with it)
  uint64_t memory_after;
  uint64_t src_after;
  uint64_t r0_after;
};

class AtomicTest : public ::testing::TestWithParam<AtomicCase> {};

// Runs the atomic on [r1 + 0] with src r2, then stores r2 at 8 and r0 at 16 to inspect them.
TEST_P(AtomicTest, UpdatesMemorySrcAndR0) {
  const AtomicCase& c = GetParam();
  auto prog = program({lddw(2, c.src),
                       lddw(0, c.r0),
                       {c.op, 1, 2, 0},
                       {Op::StxDW, 1, 2, 8},
                       {Op::StxDW, 1, 0, 16},
                       exit_insn()});
  for (bool checked : {false, true}) {
    alignas(8) Mem mem{};
    write_at(mem, 0, c.memory);
    Result<uint64_t> r = run(prog, mem, checked);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(read_at<uint64_t>(mem, 0), c.memory_after) << "memory";
    EXPECT_EQ(read_at<uint64_t>(mem, 8), c.src_after) << "src";
    EXPECT_EQ(read_at<uint64_t>(mem, 16), c.r0_after) << "r0";
  }
}

constexpr uint64_t kHigh = 0xaaaaaaaa00000000;  // upper half of memory, untouched by 32-bit ops

const AtomicCase kAtomicCases[] = {
    {"add64", Op::AtomicAdd64, 40, 2, 9, 42, 2, 9},
    {"fetch_add64_returns_old_in_src", Op::AtomicFetchAdd64, 40, 2, 9, 42, 40, 9},
    {"or64", Op::AtomicOr64, 0xf0, 0x0f, 9, 0xff, 0x0f, 9},
    {"fetch_or64", Op::AtomicFetchOr64, 0xf0, 0x0f, 9, 0xff, 0xf0, 9},
    {"and64", Op::AtomicAnd64, 0xff, 0x0f, 9, 0x0f, 0x0f, 9},
    {"fetch_and64", Op::AtomicFetchAnd64, 0xff, 0x0f, 9, 0x0f, 0xff, 9},
    {"xor64", Op::AtomicXor64, 0xff, 0x0f, 9, 0xf0, 0x0f, 9},
    {"fetch_xor64", Op::AtomicFetchXor64, 0xff, 0x0f, 9, 0xf0, 0xff, 9},
    {"xchg64", Op::AtomicXchg64, 1, 2, 9, 2, 1, 9},
    {"cmpxchg64_equal_stores", Op::AtomicCmpxchg64, 5, 7, 5, 7, 7, 5},
    {"cmpxchg64_different_keeps", Op::AtomicCmpxchg64, 5, 7, 6, 5, 7, 5},
    {"add32_wraps_in_low_half", Op::AtomicAdd32, kHigh | 0xffffffff, 2, 9, kHigh | 1, 2, 9},
    {"fetch_add32_zero_extends_old", Op::AtomicFetchAdd32, kHigh | 0xfffffff0, 0x10, 9, kHigh,
     0xfffffff0, 9},
    {"or32", Op::AtomicOr32, kHigh | 0xf0, 0x10000000f, 9, kHigh | 0xff, 0x10000000f, 9},
    {"fetch_or32", Op::AtomicFetchOr32, kHigh | 0xf0, 0x0f, 9, kHigh | 0xff, 0xf0, 9},
    {"and32", Op::AtomicAnd32, kHigh | 0xff, 0x0f, 9, kHigh | 0x0f, 0x0f, 9},
    {"fetch_and32", Op::AtomicFetchAnd32, kHigh | 0xff, 0x0f, 9, kHigh | 0x0f, 0xff, 9},
    {"xor32", Op::AtomicXor32, kHigh | 0xff, 0x0f, 9, kHigh | 0xf0, 0x0f, 9},
    {"fetch_xor32", Op::AtomicFetchXor32, kHigh | 0xff, 0x0f, 9, kHigh | 0xf0, 0xff, 9},
    {"xchg32_zero_extends_old", Op::AtomicXchg32, kHigh | 0x80000001, 2, 9, kHigh | 2, 0x80000001,
     9},
    {"cmpxchg32_compares_low_half_of_r0", Op::AtomicCmpxchg32, kHigh | 5, 7, 0x100000005, kHigh | 7,
     7, 5},
    {"cmpxchg32_different_keeps", Op::AtomicCmpxchg32, kHigh | 5, 7, 6, kHigh | 5, 7, 5},
};

INSTANTIATE_TEST_SUITE_P(Atomic, AtomicTest, ::testing::ValuesIn(kAtomicCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Atomic, TwoThreadsLoseNoUpdate) {
  // [r1] += 1 (lock add), [r1 + 8] += 1 (fetch add, 32-bit) and a cmpxchg increment loop on
  // [r1 + 16]: ldxdw r0, [r1 + 16]; r2 = r0 + 1; cmpxchg [r1 + 16], r2; if r0 != old retry.
  auto prog = program({mov(2, 1),
                       {Op::AtomicAdd64, 1, 2, 0},
                       {Op::AtomicFetchAdd32, 1, 2, 8},
                       {Op::LdxDW, 0, 1, 16},
                       {Op::Mov64Reg, 3, 0},
                       {Op::Mov64Reg, 2, 0},
                       {Op::Add64Imm, 2, 0, 0, 1},
                       {Op::AtomicCmpxchg64, 1, 2, 16},
                       {Op::JneReg, 0, 3, -6},
                       exit_insn()});
  Result<Vm> interp = Vm::create(prog, HelperTable{});
  ASSERT_TRUE(interp.ok()) << interp.error().str();
  alignas(8) Mem mem{};
  constexpr int kRuns = 100000;
  auto worker = [&](bool checked) {
    RunArgs args = memory_args(mem);
    RunOptions options;
    options.checked = checked;
    for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(interp->run(args, options).ok());
  };
  std::thread a(worker, false), b(worker, true);
  a.join();
  b.join();
  EXPECT_EQ(read_at<uint64_t>(mem, 0), 2u * kRuns);
  EXPECT_EQ(read_at<uint64_t>(mem, 8), 2u * kRuns);
  EXPECT_EQ(read_at<uint64_t>(mem, 16), 2u * kRuns);
}

// --- Legacy packet loads ------------------------------------------------------------------

struct PacketCase {
  const char* name;
  I load;
  uint64_t r6;     ///< ld_ind's base register
  bool ends;       ///< the load is outside the packet: the program ends with r0 = 0
  uint64_t value;  ///< otherwise: what the load puts in r0
};

class PacketTest : public ::testing::TestWithParam<PacketCase> {};

// After the load the program adds 0x1000000 to r0, which it does not reach when the load ends it.
TEST_P(PacketTest, ReadsBigEndianOrEndsWithZero) {
  const PacketCase& c = GetParam();
  std::array<uint8_t, 6> packet = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
  auto prog =
      program({lddw(6, c.r6), mov(0, 77), c.load, {Op::Add64Imm, 0, 0, 0, 0x1000000}, exit_insn()});
  for (bool checked : {false, true}) {
    Result<uint64_t> r = run(prog, packet, checked);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, c.ends ? 0 : c.value + 0x1000000);
  }
}

const PacketCase kPacketCases[] = {
    {"ldabsb", {Op::LdAbsB, 0, 0, 0, 0}, 0, false, 0x11},
    {"ldabsh_is_big_endian", {Op::LdAbsH, 0, 0, 0, 1}, 0, false, 0x2233},
    {"ldabsw_is_big_endian", {Op::LdAbsW, 0, 0, 0, 2}, 0, false, 0x33445566},
    {"ldabsw_past_the_end_exits_with_zero", {Op::LdAbsW, 0, 0, 0, 3}, 0, true, 0},
    {"ldabsb_at_length_exits_with_zero", {Op::LdAbsB, 0, 0, 0, 6}, 0, true, 0},
    {"ldabsh_negative_offset_exits_with_zero", {Op::LdAbsH, 0, 0, 0, -1}, 0, true, 0},
    {"ldindb_adds_src", {Op::LdIndB, 0, 6, 0, 1}, 4, false, 0x66},
    {"ldindh_adds_src", {Op::LdIndH, 0, 6, 0, -1}, 2, false, 0x2233},
    {"ldindw", {Op::LdIndW, 0, 6, 0, 0}, 1, false, 0x22334455},
    {"ldindw_past_the_end_exits_with_zero", {Op::LdIndW, 0, 6, 0, 1}, 2, true, 0},
    {"ldindb_negative_sum_exits_with_zero", {Op::LdIndB, 0, 6, 0, 0}, ~uint64_t{0}, true, 0},
    {"ldindb_offset_wraps_at_32_bits", {Op::LdIndB, 0, 6, 0, 1}, 0x100000000, false, 0x22},
};

INSTANTIATE_TEST_SUITE_P(Packet, PacketTest, ::testing::ValuesIn(kPacketCases),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace pollen::vm::test

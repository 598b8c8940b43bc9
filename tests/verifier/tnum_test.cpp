// SPDX-License-Identifier: MIT
// Tristate numbers: each operation on hand-computed examples (worked through Linux's
// kernel/bpf/tnum.c by hand), then soundness against concrete values: for random values x in a
// and y in b, op(x, y) must be in op(a, b).
#include <gtest/gtest.h>

#include <random>

#include "verifier/tnum.hpp"

namespace pollen::verifier {
namespace {

struct TnumCase {
  const char* name;
  Tnum got;
  Tnum want;
};

TEST(Tnum, OperationsGiveTheKernelsResults) {
  const TnumCase cases[] = {
      {"range 5..10", Tnum::range(5, 10), {0, 0xf}},
      {"range 0x10..0x1f", Tnum::range(0x10, 0x1f), {0x10, 0xf}},
      {"range of one value", Tnum::range(42, 42), Tnum::constant(42)},
      {"range over the sign bit", Tnum::range(0, ~uint64_t{0}), Tnum::unknown()},
      {"add carries into unknown bits", tnum_add({0, 0xf}, Tnum::constant(1)), {0, 0x1f}},
      {"add of constants", tnum_add(Tnum::constant(40), Tnum::constant(2)), Tnum::constant(42)},
      {"sub of constants", tnum_sub(Tnum::constant(2), Tnum::constant(3)),
       Tnum::constant(~uint64_t{0})},
      {"sub borrows", tnum_sub({0x10, 0x1}, Tnum::constant(1)), {0x0, 0x1f}},
      {"neg of a constant", tnum_neg(Tnum::constant(1)), Tnum::constant(~uint64_t{0})},
      {"and with a mask", tnum_and({0, 0xff}, Tnum::constant(0x0f)), {0, 0xf}},
      {"and keeps known ones", tnum_and({0x3, 0x4}, Tnum::constant(0x6)), {0x2, 0x4}},
      {"or sets known ones", tnum_or({0x10, 0x1}, Tnum::constant(0x2)), {0x12, 0x1}},
      {"xor flips known bits", tnum_xor({0x3, 0x4}, Tnum::constant(0x1)), {0x2, 0x4}},
      {"mul by 3 of 0 or 1", tnum_mul(Tnum::constant(3), {0, 1}), {0, 3}},
      {"mul of constants", tnum_mul(Tnum::constant(6), Tnum::constant(7)), Tnum::constant(42)},
      {"lshift", tnum_lshift({0x1, 0x2}, 4), {0x10, 0x20}},
      {"rshift", tnum_rshift({0xf0, 0x0f}, 4), {0xf, 0x0}},
      {"arshift 32 of a negative", tnum_arshift(Tnum::constant(0x80000000u), 4, 32),
       Tnum::constant(0xf8000000u)},
      {"arshift 64 by 63", tnum_arshift(Tnum::constant(uint64_t{1} << 63), 63, 64),
       Tnum::constant(~uint64_t{0})},
      {"arshift of an unknown sign",
       tnum_arshift({0, uint64_t{1} << 63}, 62, 64),
       {0, ~uint64_t{1}}},
      {"intersect", tnum_intersect({0, 0xff}, {0x10, 0xf0f}), {0x10, 0xf}},
      {"cast to a byte", tnum_cast({0x1ff, 0xf000}, 1), {0xff, 0}},
      {"subreg", Tnum{0x1234567800000001, 0xff00}.subreg(), {0x1, 0xff00}},
      {"with_subreg",
       Tnum{0x1234567800000001, 0}.with_subreg({0x2, 0x4}),
       {0x1234567800000002, 0x4}},
  };
  for (const TnumCase& c : cases) {
    EXPECT_EQ(c.got.value, c.want.value)
        << c.name << ": got " << c.got.str() << ", want " << c.want.str();
    EXPECT_EQ(c.got.mask, c.want.mask)
        << c.name << ": got " << c.got.str() << ", want " << c.want.str();
  }
}

TEST(Tnum, PredicatesAnswerAsTheKernelDoes) {
  EXPECT_TRUE(Tnum({0x10, 0xf}).contains(0x1a));
  EXPECT_FALSE(Tnum({0x10, 0xf}).contains(0x20));
  EXPECT_TRUE(Tnum({0, 0xff}).includes({0x10, 0xf}));
  EXPECT_FALSE(Tnum({0x10, 0xf}).includes({0, 0xff}));
  EXPECT_TRUE(Tnum({0x10, 0x20}).is_aligned(16));
  EXPECT_FALSE(Tnum({0x10, 0x8}).is_aligned(16));
  EXPECT_TRUE(tnum_overlaps({0, 0xf}, Tnum::constant(7)));
  EXPECT_FALSE(tnum_overlaps({0x10, 0xf}, Tnum::constant(7)));
  EXPECT_EQ(Tnum::constant(0x2a).str(), "0x2a");
  EXPECT_EQ(Tnum({0x10, 0xf}).str(), "(0x10; 0xf)");
}

// A random tnum and a random member of it.
Tnum random_tnum(std::mt19937_64& rng) {
  uint64_t mask = rng() & rng();  // about a quarter of the bits unknown
  if (rng() % 4 == 0) mask &= 0xff;
  return {rng() & ~mask, mask};
}

uint64_t member(Tnum t, std::mt19937_64& rng) {
  return t.value | (rng() & t.mask);
}

TEST(Tnum, OperationsHoldEveryConcreteResult) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 20000; ++i) {
    Tnum a = random_tnum(rng), b = random_tnum(rng);
    uint64_t x = member(a, rng), y = member(b, rng);
    unsigned k = static_cast<unsigned>(rng() % 64);
    ASSERT_TRUE(tnum_add(a, b).contains(x + y));
    ASSERT_TRUE(tnum_sub(a, b).contains(x - y));
    ASSERT_TRUE(tnum_neg(a).contains(0 - x));
    ASSERT_TRUE(tnum_and(a, b).contains(x & y));
    ASSERT_TRUE(tnum_or(a, b).contains(x | y));
    ASSERT_TRUE(tnum_xor(a, b).contains(x ^ y));
    ASSERT_TRUE(tnum_mul(a, b).contains(x * y)) << a.str() << " * " << b.str();
    ASSERT_TRUE(tnum_lshift(a, k).contains(x << k));
    ASSERT_TRUE(tnum_rshift(a, k).contains(x >> k));
    ASSERT_TRUE(
        tnum_arshift(a, k, 64).contains(static_cast<uint64_t>(static_cast<int64_t>(x) >> k)));
    uint32_t x32 = static_cast<uint32_t>(x);
    ASSERT_TRUE(tnum_arshift(a, k % 32, 32)
                    .contains(static_cast<uint32_t>(static_cast<int32_t>(x32) >> (k % 32))));
    ASSERT_TRUE(tnum_cast(a, 2).contains(x & 0xffff));
    uint64_t lo = std::min(x, y), hi = std::max(x, y);
    ASSERT_TRUE(Tnum::range(lo, hi).contains(lo + (hi - lo) / 2));
    if (tnum_overlaps(a, b) && a.contains(y)) {
      ASSERT_TRUE(tnum_intersect(a, b).contains(y));
    }
  }
}

}  // namespace
}  // namespace pollen::verifier

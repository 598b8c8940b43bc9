// SPDX-License-Identifier: MIT
// The scalar domain: hand-computed results of Linux's reg_bounds_sync, ALU transfer functions
// and branch refinement, then soundness against concrete values. A random scalar is built as
// the abstraction of a few concrete values (sometimes widened); every operation must then hold
// the concrete result of every pair of members, every refined branch side must keep the members
// for which the condition holds, and a decided branch must be right for all members.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "verifier/branch.hpp"
#include "verifier/scalar.hpp"

namespace pollen::verifier {
namespace {

constexpr uint64_t kU64Max = ~uint64_t{0};

TEST(Scalar, KnownValuesFillEveryView) {
  Scalar s = Scalar::known(~uint64_t{0});
  EXPECT_EQ(s.smin, -1);
  EXPECT_EQ(s.smax, -1);
  EXPECT_EQ(s.umin, kU64Max);
  EXPECT_EQ(s.u32_max, 0xffffffffu);
  EXPECT_EQ(s.s32_min, -1);
  EXPECT_EQ(s.str(), "-1");
}

TEST(Scalar, SizedValuesAreZeroExtended) {
  Scalar s = Scalar::of_size(1);
  EXPECT_EQ(s.umin, 0u);
  EXPECT_EQ(s.umax, 255u);
  EXPECT_EQ(s.smin, 0);
  EXPECT_EQ(s.smax, 255);
  EXPECT_EQ(s.u32_max, 255u);
  EXPECT_EQ(s.s32_max, 255);
  EXPECT_EQ(s.str(), "umax=255,var_off=(0x0; 0xff)");
}

// The examples of the comments in Linux's __reg32_deduce_bounds.
TEST(Scalar, SyncDerivesSubregisterBoundsAsLinuxDoes) {
  Scalar s = Scalar::urange(0x10000000aull, 0x10000000full);
  EXPECT_EQ(s.u32_min, 10u);
  EXPECT_EQ(s.u32_max, 15u);
  EXPECT_EQ(s.s32_min, 10);
  EXPECT_EQ(s.s32_max, 15);

  Scalar t;
  t.smin = -1;
  t.smax = 1;
  ASSERT_TRUE(t.sync());
  EXPECT_EQ(t.s32_min, -1);
  EXPECT_EQ(t.s32_max, 1);
}

TEST(Scalar, SyncUsesTheSubregisterForTheLowHalf) {
  Scalar s = Scalar::urange(0x100000000ull, 0x380000000ull);
  s.s32_min = 1;
  ASSERT_TRUE(s.sync());
  EXPECT_EQ(s.umin, 0x100000001ull);  // __reg_deduce_mixed_bounds' example
}

TEST(Scalar, SyncFindsContradictions) {
  Scalar s = Scalar::urange(3, 3);
  s.var_off = {0, 0x2};  // only 0 or 2
  EXPECT_FALSE(s.sync());
}

TEST(Scalar, ZeroExtensionKeepsOnlyTheSubregister) {
  Scalar s;
  s.s32_min = -4;
  s.s32_max = -1;
  ASSERT_TRUE(s.sync());
  s.zext32();
  ASSERT_TRUE(s.sync());
  EXPECT_EQ(s.umin, 0xfffffffcu);
  EXPECT_EQ(s.umax, 0xffffffffu);
  EXPECT_EQ(s.smin, 0xfffffffc);
}

struct AluCase {
  const char* name;
  AluOp op;
  Scalar a, b;
  bool alu32;
  uint64_t umin, umax;
};

TEST(Scalar, AluGivesTheKernelsBounds) {
  const AluCase cases[] = {
      {"add", AluOp::Add, Scalar::urange(0, 15), Scalar::urange(0, 15), false, 0, 30},
      {"sub", AluOp::Sub, Scalar::urange(10, 20), Scalar::urange(0, 5), false, 5, 20},
      {"sub may wrap", AluOp::Sub, Scalar::urange(0, 20), Scalar::urange(0, 5), false, 0, kU64Max},
      {"mul", AluOp::Mul, Scalar::urange(2, 3), Scalar::urange(4, 5), false, 8, 15},
      {"and with a constant", AluOp::And, Scalar::unknown(), Scalar::known(0xff), false, 0, 0xff},
      {"or", AluOp::Or, Scalar::urange(0, 3), Scalar::known(4), false, 4, 7},
      {"lsh", AluOp::Lsh, Scalar::urange(1, 3), Scalar::known(2), false, 4, 12},
      {"rsh", AluOp::Rsh, Scalar::unknown(), Scalar::known(60), false, 0, 15},
      {"arsh of a constant", AluOp::Arsh, Scalar::known(static_cast<uint64_t>(-16)),
       Scalar::known(2), false, static_cast<uint64_t>(-4), static_cast<uint64_t>(-4)},
      {"add32 wraps to zero", AluOp::Add, Scalar::known(0xffffffff), Scalar::known(1), true, 0, 0},
      {"add32 zero-extends", AluOp::Add, Scalar::known(~uint64_t{0}), Scalar::known(0), true,
       0xffffffff, 0xffffffff},
      {"div is unknown, as in Linux", AluOp::Div, Scalar::urange(10, 100), Scalar::known(10), false,
       0, kU64Max},
      {"mod32 is a zero-extended unknown", AluOp::Mod, Scalar::unknown(), Scalar::known(16), true,
       0, 0xffffffff},
      {"div by a register is unknown", AluOp::Div, Scalar::urange(10, 100), Scalar::urange(0, 10),
       false, 0, kU64Max},
      {"shift by an unknown count", AluOp::Lsh, Scalar::known(1), Scalar::urange(0, 3), false, 0,
       kU64Max},
      {"shift too far", AluOp::Lsh, Scalar::known(1), Scalar::known(64), false, 0, kU64Max},
  };
  for (const AluCase& c : cases) {
    Scalar r = scalar_alu(c.op, c.a, c.b, c.alu32);
    EXPECT_EQ(r.umin, c.umin) << c.name << ": " << r.str();
    EXPECT_EQ(r.umax, c.umax) << c.name << ": " << r.str();
  }
}

TEST(Scalar, SignExtensionAndByteOrder) {
  EXPECT_EQ(scalar_sign_extend(Scalar::known(0x80), 8).const_value(), ~uint64_t{0x7f});
  Scalar small = scalar_sign_extend(Scalar::urange(0, 100), 8);
  EXPECT_EQ(small.umax, 100u);
  Scalar any = scalar_sign_extend(Scalar::urange(0, 255), 8);
  EXPECT_EQ(any.smin, -128);
  EXPECT_EQ(any.smax, 127);
  EXPECT_EQ(scalar_endian(Scalar::known(0x1234), 16, true).const_value(), 0x3412u);
  EXPECT_EQ(scalar_endian(Scalar::unknown(), 16, true).umax, 0xffffu);
  EXPECT_EQ(scalar_endian(Scalar::known(0x11223344), 16, false).const_value(), 0x3344u);
}

struct BranchCase {
  const char* name;
  Cond cond;
  bool is32;
  Scalar a;
  uint64_t k;
  std::optional<bool> outcome;
  uint64_t umin, umax;  // a's unsigned bounds on the true side (when not decided)
};

TEST(Branch, RefinementGivesTheKernelsBounds) {
  const BranchCase cases[] = {
      {"gt", Cond::Gt, false, Scalar::unknown(), 15, std::nullopt, 16, kU64Max},
      {"le", Cond::Le, false, Scalar::unknown(), 15, std::nullopt, 0, 15},
      {"lt", Cond::Lt, false, Scalar::unknown(), 16, std::nullopt, 0, 15},
      {"ge", Cond::Ge, false, Scalar::urange(0, 100), 50, std::nullopt, 50, 100},
      {"eq", Cond::Eq, false, Scalar::urange(0, 100), 42, std::nullopt, 42, 42},
      {"ne trims the edge", Cond::Ne, false, Scalar::urange(0, 100), 0, std::nullopt, 1, 100},
      {"sle", Cond::Sle, false, Scalar::urange(0, 100), 10, std::nullopt, 0, 10},
      {"jset of one bit", Cond::Set, false, Scalar::urange(0, 7), 4, std::nullopt, 4, 7},
      {"jle32 on a small value", Cond::Le, true, Scalar::urange(0, 0xffffffff), 15, std::nullopt, 0,
       15},
      {"decided gt", Cond::Gt, false, Scalar::urange(20, 30), 15, true, 0, 0},
      {"decided eq by known bits", Cond::Eq, false, Scalar::known(3), 4, false, 0, 0},
      {"decided jset", Cond::Set, false, Scalar::urange(0, 7), 8, false, 0, 0},
      {"decided by the subregister", Cond::Eq, false,
       Scalar::urange(0x100000000ull, 0x100000005ull), 7, false, 0, 0},
  };
  for (const BranchCase& c : cases) {
    Scalar a = c.a, b = Scalar::known(c.k);
    EXPECT_EQ(branch_outcome(c.cond, a, b, c.is32), c.outcome) << c.name;
    if (c.outcome) continue;
    ASSERT_TRUE(refine(c.cond, a, b, c.is32)) << c.name;
    EXPECT_EQ(a.umin, c.umin) << c.name << ": " << a.str();
    EXPECT_EQ(a.umax, c.umax) << c.name << ": " << a.str();
  }
}

TEST(Branch, ImpossibleSidesAreReported) {
  Scalar a = Scalar::urange(0, 10), b = Scalar::urange(20, 30);
  EXPECT_FALSE(refine(Cond::Gt, a, b, false));
  Scalar c = Scalar::known(5), d = Scalar::known(5);
  EXPECT_FALSE(refine(Cond::Ne, c, d, false));
}

// --- soundness against concrete values ---------------------------------------------------

uint64_t interesting(std::mt19937_64& rng) {
  static const uint64_t kEdges[] = {0,
                                    1,
                                    2,
                                    7,
                                    15,
                                    16,
                                    255,
                                    0x7fff,
                                    0x8000,
                                    0x7fffffff,
                                    0x80000000,
                                    0xffffffff,
                                    0x100000000,
                                    0x7fffffffffffffff,
                                    0x8000000000000000,
                                    kU64Max};
  switch (rng() % 4) {
    case 0: return kEdges[rng() % std::size(kEdges)] + (rng() % 3) - 1;
    case 1: return rng() % 64;
    case 2: return static_cast<uint64_t>(-static_cast<int64_t>(rng() % 64));
    default: return rng();
  }
}

// The abstraction of `values`, sometimes with views forgotten (still holding them all).
Scalar abstraction(const std::vector<uint64_t>& values, std::mt19937_64& rng) {
  uint64_t all_and = ~uint64_t{0}, all_or = 0;
  Scalar s = Scalar::known(values[0]);
  for (uint64_t v : values) {
    all_and &= v;
    all_or |= v;
    s.umin = std::min(s.umin, v);
    s.umax = std::max(s.umax, v);
    s.smin = std::min(s.smin, static_cast<int64_t>(v));
    s.smax = std::max(s.smax, static_cast<int64_t>(v));
    s.u32_min = std::min(s.u32_min, static_cast<uint32_t>(v));
    s.u32_max = std::max(s.u32_max, static_cast<uint32_t>(v));
    s.s32_min = std::min(s.s32_min, static_cast<int32_t>(v));
    s.s32_max = std::max(s.s32_max, static_cast<int32_t>(v));
  }
  s.var_off = {all_and, all_and ^ all_or};
  if (rng() % 3 == 0) s.unbound64();
  if (rng() % 3 == 0) s.unbound32();
  if (rng() % 4 == 0) s.var_off = Tnum::unknown();
  EXPECT_TRUE(s.sync());
  return s;
}

std::vector<uint64_t> sample(std::mt19937_64& rng) {
  std::vector<uint64_t> v(1 + rng() % 4);
  for (uint64_t& x : v) x = interesting(rng);
  return v;
}

uint64_t concrete(AluOp op, uint64_t a, uint64_t b, bool w) {
  auto lo = [](uint64_t x) { return x & 0xffffffffu; };
  uint64_t x = w ? lo(a) : a, y = w ? lo(b) : b;
  unsigned bits = w ? 32 : 64;
  uint64_t r = 0;
  switch (op) {
    case AluOp::Add: r = x + y; break;
    case AluOp::Sub: r = x - y; break;
    case AluOp::Mul: r = x * y; break;
    case AluOp::Div: r = y ? x / y : 0; break;
    case AluOp::Mod: r = y ? x % y : x; break;
    case AluOp::Or: r = x | y; break;
    case AluOp::And: r = x & y; break;
    case AluOp::Xor: r = x ^ y; break;
    case AluOp::Lsh: r = x << (y % bits); break;
    case AluOp::Rsh: r = x >> (y % bits); break;
    case AluOp::Arsh:
      r = w ? lo(static_cast<uint64_t>(static_cast<int32_t>(x) >> (y % 32)))
            : static_cast<uint64_t>(static_cast<int64_t>(x) >> (y % 64));
      break;
    case AluOp::SDiv:
    case AluOp::SMod: return 0;  // always unknown: nothing to check
  }
  return w ? lo(r) : r;
}

TEST(ScalarSoundness, AluHoldsEveryConcreteResult) {
  std::mt19937_64 rng(2);
  const AluOp ops[] = {AluOp::Add, AluOp::Sub, AluOp::Mul, AluOp::Div, AluOp::Mod, AluOp::Or,
                       AluOp::And, AluOp::Xor, AluOp::Lsh, AluOp::Rsh, AluOp::Arsh};
  for (int i = 0; i < 30000; ++i) {
    std::vector<uint64_t> xs = sample(rng), ys = sample(rng);
    Scalar a = abstraction(xs, rng), b = abstraction(ys, rng);
    AluOp op = ops[rng() % std::size(ops)];
    bool w = rng() % 2;
    Scalar r = scalar_alu(op, a, b, w);
    for (uint64_t x : xs)
      for (uint64_t y : ys)
        ASSERT_TRUE(r.contains(concrete(op, x, y, w)))
            << static_cast<int>(op) << (w ? " (32-bit) " : " ") << a.str() << " , " << b.str()
            << " -> " << r.str() << " misses " << concrete(op, x, y, w) << " from " << x << ", "
            << y;
  }
}

TEST(ScalarSoundness, UnaryOperationsHoldEveryConcreteResult) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 30000; ++i) {
    std::vector<uint64_t> xs = sample(rng);
    Scalar a = abstraction(xs, rng);
    unsigned bits = 8u << (rng() % 3);
    unsigned size = 1u << (rng() % 4);
    Scalar sx = scalar_sign_extend(a, bits), neg = scalar_neg(a, false),
           neg32 = scalar_neg(a, true);
    Scalar swapped = scalar_endian(a, bits == 8 ? 16 : bits, true);
    Scalar cut = a;
    cut.truncate(size);
    for (uint64_t x : xs) {
      uint64_t low = bits == 64 ? x : x & ((uint64_t{1} << bits) - 1);
      uint64_t ext = bits < 64 && (low >> (bits - 1)) ? low | ~((uint64_t{1} << bits) - 1) : low;
      ASSERT_TRUE(sx.contains(ext)) << a.str() << " sx" << bits << " -> " << sx.str();
      ASSERT_TRUE(neg.contains(0 - x));
      ASSERT_TRUE(neg32.contains((0 - x) & 0xffffffffu));
      uint64_t sw = bits == 32 ? __builtin_bswap32(static_cast<uint32_t>(x))
                    : bits == 64
                        ? __builtin_bswap64(x)
                        : static_cast<uint16_t>(__builtin_bswap16(static_cast<uint16_t>(x)));
      ASSERT_TRUE(swapped.contains(sw));
      ASSERT_TRUE(cut.contains(size == 8 ? x : x & ((uint64_t{1} << (size * 8)) - 1)));
    }
  }
}

bool holds(Cond c, uint64_t a, uint64_t b, bool w) {
  if (w) {
    a &= 0xffffffffu;
    b &= 0xffffffffu;
  }
  int64_t sa = w ? static_cast<int32_t>(a) : static_cast<int64_t>(a);
  int64_t sb = w ? static_cast<int32_t>(b) : static_cast<int64_t>(b);
  switch (c) {
    case Cond::Eq: return a == b;
    case Cond::Ne: return a != b;
    case Cond::Gt: return a > b;
    case Cond::Ge: return a >= b;
    case Cond::Lt: return a < b;
    case Cond::Le: return a <= b;
    case Cond::Sgt: return sa > sb;
    case Cond::Sge: return sa >= sb;
    case Cond::Slt: return sa < sb;
    case Cond::Sle: return sa <= sb;
    case Cond::Set: return (a & b) != 0;
    case Cond::NotSet: return (a & b) == 0;
  }
  return false;
}

TEST(ScalarSoundness, BranchesKeepEveryValueForWhichTheConditionHolds) {
  std::mt19937_64 rng(4);
  for (int i = 0; i < 40000; ++i) {
    std::vector<uint64_t> xs = sample(rng), ys = sample(rng);
    Scalar a = abstraction(xs, rng), b = abstraction(ys, rng);
    auto c = static_cast<Cond>(rng() % 12);
    bool w = rng() % 2;
    std::optional<bool> decided = branch_outcome(c, a, b, w);
    Scalar ra = a, rb = b;
    bool feasible = refine(c, ra, rb, w);
    for (uint64_t x : xs)
      for (uint64_t y : ys) {
        bool h = holds(c, x, y, w);
        if (decided) {
          ASSERT_EQ(*decided, h) << a.str() << " " << cond_operator(c) << " " << b.str();
        }
        if (!h) continue;
        ASSERT_TRUE(feasible) << a.str() << " " << cond_operator(c) << (w ? "32 " : " ") << b.str();
        ASSERT_TRUE(ra.contains(x) && rb.contains(y))
            << a.str() << " " << cond_operator(c) << (w ? "32 " : " ") << b.str() << " refined to "
            << ra.str() << ", " << rb.str() << " loses " << x << ", " << y;
      }
  }
}

TEST(ScalarSoundness, InclusionMeansMembership) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint64_t> xs = sample(rng);
    Scalar a = abstraction(xs, rng);
    std::vector<uint64_t> sub(xs.begin(), xs.begin() + 1);
    Scalar b = abstraction(sub, rng);
    if (!a.includes(b)) continue;
    for (uint64_t x : sub) ASSERT_TRUE(a.contains(x));
  }
}

}  // namespace
}  // namespace pollen::verifier

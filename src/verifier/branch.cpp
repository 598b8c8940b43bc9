// SPDX-License-Identifier: MIT
// Branch decision and refinement on scalars, following Linux's is_scalar_branch_taken() and
// regs_refine_cond_op(): comparisons narrow the unsigned or signed bounds of the 64-bit value or
// of the subregister, equality intersects everything, jset learns known bits, and reg_bounds_sync
// spreads what one view learnt to the others. Where the kernel reports inconsistent bounds as a
// verifier bug, an empty result here means that side of the branch is unreachable.
#include "verifier/branch.hpp"

#include <algorithm>
#include <bit>
#include <utility>

namespace pollen::verifier {
namespace {

// The four bounds and the bits of the width a comparison looks at.
struct View {
  uint64_t umin, umax;
  int64_t smin, smax;
  Tnum bits;
};

View view(const Scalar& s, bool is32) {
  if (is32) return {s.u32_min, s.u32_max, s.s32_min, s.s32_max, s.var_off.subreg()};
  return {s.umin, s.umax, s.smin, s.smax, s.var_off};
}

std::optional<bool> equal_outcome(const Scalar& a, const Scalar& b, bool is32) {
  View x = view(a, is32), y = view(b, is32);
  if (x.bits.is_const() && y.bits.is_const()) return x.bits.value == y.bits.value;
  if (x.umin > y.umax || x.umax < y.umin || x.smin > y.smax || x.smax < y.smin) return false;
  if (!tnum_overlaps(x.bits, y.bits)) return false;
  // A 64-bit comparison also fails when the subregisters cannot be equal.
  if (!is32 && !equal_outcome(a, b, true).value_or(true)) return false;
  return std::nullopt;
}

// As Linux: decided only against a known mask, by the bits known set or possibly set.
std::optional<bool> set_outcome(const Scalar& a, const Scalar& b, bool is32) {
  Tnum x = view(a, is32).bits, y = view(b, is32).bits;
  if (!y.is_const()) std::swap(x, y);
  if (!y.is_const()) return std::nullopt;
  if (x.value & y.value) return true;
  if (((x.value | x.mask) & y.value) == 0) return false;
  return std::nullopt;
}

std::optional<bool> order_outcome(Cond c, const Scalar& a, const Scalar& b, bool is32) {
  View x = view(a, is32), y = view(b, is32);
  switch (c) {
    case Cond::Gt:
      if (x.umin > y.umax) return true;
      if (x.umax <= y.umin) return false;
      break;
    case Cond::Ge:
      if (x.umin >= y.umax) return true;
      if (x.umax < y.umin) return false;
      break;
    case Cond::Sgt:
      if (x.smin > y.smax) return true;
      if (x.smax <= y.smin) return false;
      break;
    case Cond::Sge:
      if (x.smin >= y.smax) return true;
      if (x.smax < y.smin) return false;
      break;
    default: break;
  }
  return std::nullopt;
}

// --- refinement, one width at a time --------------------------------------------------------

// Setters for the bounds of one width; the 32-bit ones store into the subregister views.
void set_u(Scalar& s, bool is32, uint64_t lo, uint64_t hi) {
  if (is32) {
    s.u32_min = static_cast<uint32_t>(lo);
    s.u32_max = static_cast<uint32_t>(hi);
  } else {
    s.umin = lo;
    s.umax = hi;
  }
}

void set_s(Scalar& s, bool is32, int64_t lo, int64_t hi) {
  if (is32) {
    s.s32_min = static_cast<int32_t>(lo);
    s.s32_max = static_cast<int32_t>(hi);
  } else {
    s.smin = lo;
    s.smax = hi;
  }
}

void set_bits(Scalar& s, bool is32, Tnum t) {
  s.var_off = is32 ? s.var_off.with_subreg(t) : t;
}

bool refine_eq(Scalar& a, Scalar& b, bool is32) {
  View x = view(a, is32), y = view(b, is32);
  if (!tnum_overlaps(x.bits, y.bits)) return false;
  uint64_t umin = std::max(x.umin, y.umin), umax = std::min(x.umax, y.umax);
  int64_t smin = std::max(x.smin, y.smin), smax = std::min(x.smax, y.smax);
  if (umin > umax || smin > smax) return false;
  Tnum t = tnum_intersect(x.bits, y.bits);
  for (Scalar* s : {&a, &b}) {
    set_u(*s, is32, umin, umax);
    set_s(*s, is32, smin, smax);
    set_bits(*s, is32, t);
  }
  return true;
}

// a != k for a known k: an edge of a's ranges equal to k moves inwards.
bool refine_ne_const(Scalar& a, uint64_t k, bool is32) {
  View x = view(a, is32);
  uint64_t ku = is32 ? static_cast<uint32_t>(k) : k;
  int64_t ks = is32 ? static_cast<int32_t>(k) : static_cast<int64_t>(k);
  if (x.umin == ku && x.umax == ku) return false;
  if (x.smin == ks && x.smax == ks) return false;
  if (x.umin == ku) ++x.umin;
  if (x.umax == ku) --x.umax;
  if (x.smin == ks) ++x.smin;
  if (x.smax == ks) --x.smax;
  set_u(a, is32, x.umin, x.umax);
  set_s(a, is32, x.smin, x.smax);
  return true;
}

bool refine_ne(Scalar& a, Scalar& b, bool is32) {
  View x = view(a, is32), y = view(b, is32);
  if (y.bits.is_const()) return refine_ne_const(a, y.bits.value, is32);
  if (x.bits.is_const()) return refine_ne_const(b, x.bits.value, is32);
  return true;
}

// a & k != 0 with k a single known bit: that bit of a is set. Nothing is learnt from more bits.
bool refine_set(Scalar& a, Scalar& b, bool is32) {
  for (auto [s, k] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    Tnum bits = view(*s, is32).bits, kb = view(*k, is32).bits;
    if (!kb.is_const()) continue;
    if (((bits.value | bits.mask) & kb.value) == 0) return false;
    if (std::has_single_bit(kb.value)) set_bits(*s, is32, tnum_or(bits, kb));
  }
  return true;
}

// a & k == 0 with k known: every bit of k is clear in a.
bool refine_not_set(Scalar& a, Scalar& b, bool is32) {
  for (auto [s, k] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    Tnum bits = view(*s, is32).bits, kb = view(*k, is32).bits;
    if (!kb.is_const()) continue;
    if (bits.value & kb.value) return false;
    Tnum keep = Tnum::constant(is32 ? ~kb.value & 0xffffffffu : ~kb.value);
    set_bits(*s, is32, tnum_and(bits, keep));
  }
  return true;
}

// a < b (strict) or a <= b, unsigned: a's maximum and b's minimum move.
bool refine_less(Scalar& a, Scalar& b, bool is32, bool strict) {
  View x = view(a, is32), y = view(b, is32);
  uint64_t top = is32 ? 0xffffffffu : ~uint64_t{0};
  if (strict && (y.umax == 0 || x.umin == top)) return false;
  uint64_t amax = std::min(x.umax, strict ? y.umax - 1 : y.umax);
  uint64_t bmin = std::max(y.umin, strict ? x.umin + 1 : x.umin);
  if (x.umin > amax || bmin > y.umax) return false;
  set_u(a, is32, x.umin, amax);
  set_u(b, is32, bmin, y.umax);
  return true;
}

bool refine_sless(Scalar& a, Scalar& b, bool is32, bool strict) {
  View x = view(a, is32), y = view(b, is32);
  int64_t lowest = is32 ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
  int64_t highest =
      is32 ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
  if (strict && (y.smax == lowest || x.smin == highest)) return false;
  int64_t amax = std::min(x.smax, strict ? y.smax - 1 : y.smax);
  int64_t bmin = std::max(y.smin, strict ? x.smin + 1 : x.smin);
  if (x.smin > amax || bmin > y.smax) return false;
  set_s(a, is32, x.smin, amax);
  set_s(b, is32, bmin, y.smax);
  return true;
}

bool refine_width(Cond c, Scalar& a, Scalar& b, bool is32) {
  switch (c) {
    case Cond::Eq: return refine_eq(a, b, is32);
    case Cond::Ne: return refine_ne(a, b, is32);
    case Cond::Set: return refine_set(a, b, is32);
    case Cond::NotSet: return refine_not_set(a, b, is32);
    case Cond::Lt: return refine_less(a, b, is32, true);
    case Cond::Le: return refine_less(a, b, is32, false);
    case Cond::Slt: return refine_sless(a, b, is32, true);
    case Cond::Sle: return refine_sless(a, b, is32, false);
    // a > b is b < a: the same rules with the operands swapped.
    case Cond::Gt:
    case Cond::Ge:
    case Cond::Sgt:
    case Cond::Sge: return refine_width(mirror(c), b, a, is32);
  }
  return true;
}

}  // namespace

std::optional<Cond> jump_condition(isa::Op op) {
  const isa::OpInfo& row = isa::info(op);
  if (row.form != isa::Form::JmpImm && row.form != isa::Form::JmpReg) return std::nullopt;
  // The operation field of the opcode (RFC 9669 section 4.3), the same in JMP and JMP32.
  switch (row.opcode & 0xf0) {
    case 0x10: return Cond::Eq;
    case 0x20: return Cond::Gt;
    case 0x30: return Cond::Ge;
    case 0x40: return Cond::Set;
    case 0x50: return Cond::Ne;
    case 0x60: return Cond::Sgt;
    case 0x70: return Cond::Sge;
    case 0xa0: return Cond::Lt;
    case 0xb0: return Cond::Le;
    case 0xc0: return Cond::Slt;
    case 0xd0: return Cond::Sle;
    default: return std::nullopt;
  }
}

Cond negate(Cond c) {
  switch (c) {
    case Cond::Eq: return Cond::Ne;
    case Cond::Ne: return Cond::Eq;
    case Cond::Gt: return Cond::Le;
    case Cond::Ge: return Cond::Lt;
    case Cond::Lt: return Cond::Ge;
    case Cond::Le: return Cond::Gt;
    case Cond::Sgt: return Cond::Sle;
    case Cond::Sge: return Cond::Slt;
    case Cond::Slt: return Cond::Sge;
    case Cond::Sle: return Cond::Sgt;
    case Cond::Set: return Cond::NotSet;
    case Cond::NotSet: return Cond::Set;
  }
  return c;
}

Cond mirror(Cond c) {
  switch (c) {
    case Cond::Gt: return Cond::Lt;
    case Cond::Ge: return Cond::Le;
    case Cond::Lt: return Cond::Gt;
    case Cond::Le: return Cond::Ge;
    case Cond::Sgt: return Cond::Slt;
    case Cond::Sge: return Cond::Sle;
    case Cond::Slt: return Cond::Sgt;
    case Cond::Sle: return Cond::Sge;
    default: return c;  // ==, !=, & are symmetric
  }
}

const char* cond_operator(Cond c) {
  switch (c) {
    case Cond::Eq: return "==";
    case Cond::Ne: return "!=";
    case Cond::Gt: return ">";
    case Cond::Ge: return ">=";
    case Cond::Lt: return "<";
    case Cond::Le: return "<=";
    case Cond::Sgt: return "s>";
    case Cond::Sge: return "s>=";
    case Cond::Slt: return "s<";
    case Cond::Sle: return "s<=";
    case Cond::Set: return "&";
    case Cond::NotSet: return "!&";
  }
  return "?";
}

std::optional<bool> branch_outcome(Cond c, const Scalar& a, const Scalar& b, bool is32) {
  switch (c) {
    case Cond::Eq: return equal_outcome(a, b, is32);
    case Cond::Set: return set_outcome(a, b, is32);
    case Cond::Gt:
    case Cond::Ge:
    case Cond::Sgt:
    case Cond::Sge: return order_outcome(c, a, b, is32);
    case Cond::Lt:
    case Cond::Le:
    case Cond::Slt:
    case Cond::Sle: return order_outcome(mirror(c), b, a, is32);
    case Cond::Ne:
    case Cond::NotSet: {
      std::optional<bool> opposite = branch_outcome(negate(c), a, b, is32);
      if (opposite) return !*opposite;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

bool refine(Cond c, Scalar& a, Scalar& b, bool is32) {
  if (!refine_width(c, a, b, is32)) return false;
  return a.sync() && b.sync();
}

}  // namespace pollen::verifier

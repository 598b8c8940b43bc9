// SPDX-License-Identifier: MIT
// Transfer functions of the ALU operations on the scalar domain, as Linux's
// adjust_scalar_min_max_vals() and the scalar{32,}_min_max_<op>() functions compute them: each
// operation updates the Tnum and both the 32-bit and the 64-bit bounds (for a 64-bit operation
// the low halves follow the same arithmetic), a 32-bit operation is then zero-extended, and the
// views are synchronised. Where Linux gives up (division and modulo, shifts by a count that is
// not a known value below the width) the result is an unknown value, as in Linux, so that no
// program Linux refuses for an unbounded value is accepted here.
#include <bit>
#include <limits>

#include "verifier/scalar.hpp"

namespace pollen::verifier {
namespace {

constexpr uint32_t kU32Max = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

template <class T>
bool add_overflows(T a, T b) {
  T r;
  return __builtin_add_overflow(a, b, &r);
}
template <class T>
bool sub_overflows(T a, T b) {
  T r;
  return __builtin_sub_overflow(a, b, &r);
}

void add32(Scalar& d, const Scalar& s) {
  if (add_overflows(d.s32_min, s.s32_min) || add_overflows(d.s32_max, s.s32_max)) {
    d.s32_min = std::numeric_limits<int32_t>::min();
    d.s32_max = std::numeric_limits<int32_t>::max();
  } else {
    d.s32_min += s.s32_min;
    d.s32_max += s.s32_max;
  }
  if (add_overflows(d.u32_min, s.u32_min) || add_overflows(d.u32_max, s.u32_max)) {
    d.u32_min = 0;
    d.u32_max = kU32Max;
  } else {
    d.u32_min += s.u32_min;
    d.u32_max += s.u32_max;
  }
}

void add64(Scalar& d, const Scalar& s) {
  if (add_overflows(d.smin, s.smin) || add_overflows(d.smax, s.smax)) {
    d.smin = std::numeric_limits<int64_t>::min();
    d.smax = std::numeric_limits<int64_t>::max();
  } else {
    d.smin += s.smin;
    d.smax += s.smax;
  }
  if (add_overflows(d.umin, s.umin) || add_overflows(d.umax, s.umax)) {
    d.umin = 0;
    d.umax = kU64Max;
  } else {
    d.umin += s.umin;
    d.umax += s.umax;
  }
}

void sub32(Scalar& d, const Scalar& s) {
  if (sub_overflows(d.s32_min, s.s32_max) || sub_overflows(d.s32_max, s.s32_min)) {
    d.s32_min = std::numeric_limits<int32_t>::min();
    d.s32_max = std::numeric_limits<int32_t>::max();
  } else {
    d.s32_min -= s.s32_max;
    d.s32_max -= s.s32_min;
  }
  if (d.u32_min < s.u32_max) {  // the difference may wrap below zero
    d.u32_min = 0;
    d.u32_max = kU32Max;
  } else {
    d.u32_min -= s.u32_max;
    d.u32_max -= s.u32_min;
  }
}

void sub64(Scalar& d, const Scalar& s) {
  if (sub_overflows(d.smin, s.smax) || sub_overflows(d.smax, s.smin)) {
    d.smin = std::numeric_limits<int64_t>::min();
    d.smax = std::numeric_limits<int64_t>::max();
  } else {
    d.smin -= s.smax;
    d.smax -= s.smin;
  }
  if (d.umin < s.umax) {
    d.umin = 0;
    d.umax = kU64Max;
  } else {
    d.umin -= s.umax;
    d.umax -= s.umin;
  }
}

// scalar32_min_max_mul: only small non-negative factors keep a range.
void mul32(Scalar& d, const Scalar& s) {
  if (d.s32_min < 0 || s.s32_min < 0 || d.u32_max > 0xffff || s.u32_max > 0xffff) {
    d.unbound32();
    return;
  }
  d.u32_min *= s.u32_min;
  d.u32_max *= s.u32_max;
  if (d.u32_max > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
    d.s32_min = std::numeric_limits<int32_t>::min();
    d.s32_max = std::numeric_limits<int32_t>::max();
  } else {
    d.s32_min = static_cast<int32_t>(d.u32_min);
    d.s32_max = static_cast<int32_t>(d.u32_max);
  }
}

void mul64(Scalar& d, const Scalar& s) {
  if (d.smin < 0 || s.smin < 0 || d.umax > kU32Max || s.umax > kU32Max) {
    d.unbound64();
    return;
  }
  d.umin *= s.umin;
  d.umax *= s.umax;
  if (d.umax > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    d.smin = std::numeric_limits<int64_t>::min();
    d.smax = std::numeric_limits<int64_t>::max();
  } else {
    d.smin = static_cast<int64_t>(d.umin);
    d.smax = static_cast<int64_t>(d.umax);
  }
}

// After a bitwise operation: signed bounds equal the unsigned ones when those do not cross the
// sign bit, and are unbounded otherwise.
void signed_from_unsigned32(Scalar& d) {
  if (static_cast<int32_t>(d.u32_min) <= static_cast<int32_t>(d.u32_max)) {
    d.s32_min = static_cast<int32_t>(d.u32_min);
    d.s32_max = static_cast<int32_t>(d.u32_max);
  } else {
    d.s32_min = std::numeric_limits<int32_t>::min();
    d.s32_max = std::numeric_limits<int32_t>::max();
  }
}

void signed_from_unsigned64(Scalar& d) {
  if (static_cast<int64_t>(d.umin) <= static_cast<int64_t>(d.umax)) {
    d.smin = static_cast<int64_t>(d.umin);
    d.smax = static_cast<int64_t>(d.umax);
  } else {
    d.smin = std::numeric_limits<int64_t>::min();
    d.smax = std::numeric_limits<int64_t>::max();
  }
}

// AND, OR, XOR (scalar{32,}_min_max_{and,or,xor}); d.var_off already holds the result's bits.
void bitwise(AluOp op, Scalar& d, const Scalar& s) {
  Tnum t32 = d.var_off.subreg();
  const Tnum& t = d.var_off;
  switch (op) {
    case AluOp::And:
      d.u32_min = static_cast<uint32_t>(t32.value);
      d.u32_max = std::min(d.u32_max, s.u32_max);
      d.umin = t.value;
      d.umax = std::min(d.umax, s.umax);
      break;
    case AluOp::Or:
      d.u32_min = std::max(d.u32_min, s.u32_min);
      d.u32_max = static_cast<uint32_t>(t32.value | t32.mask);
      d.umin = std::max(d.umin, s.umin);
      d.umax = t.value | t.mask;
      break;
    default:  // Xor
      d.u32_min = static_cast<uint32_t>(t32.value);
      d.u32_max = static_cast<uint32_t>(t32.value | t32.mask);
      d.umin = t.value;
      d.umax = t.value | t.mask;
      break;
  }
  signed_from_unsigned32(d);
  signed_from_unsigned64(d);
}

// __scalar32_min_max_lsh: bounds survive unless the top bit may be shifted out.
void lsh32_bounds(Scalar& d, unsigned shift) {
  d.s32_min = std::numeric_limits<int32_t>::min();
  d.s32_max = std::numeric_limits<int32_t>::max();
  if (shift > 31 || d.u32_max > (kU32Max >> shift)) {
    d.u32_min = 0;
    d.u32_max = kU32Max;
  } else {
    d.u32_min <<= shift;
    d.u32_max <<= shift;
  }
}

// __scalar64_min_max_lsh, with the kernel's special case for `<< 32` of a non-negative
// subregister (the first half of the compiler's sign-extension idiom `<< 32 s>> 32`).
void lsh64_bounds(Scalar& d, unsigned shift) {
  bool by32 = shift == 32;
  d.smax = by32 && d.s32_max >= 0 ? static_cast<int64_t>(d.s32_max) << 32
                                  : std::numeric_limits<int64_t>::max();
  d.smin = by32 && d.s32_min >= 0 ? static_cast<int64_t>(d.s32_min) << 32
                                  : std::numeric_limits<int64_t>::min();
  if (d.umax > (kU64Max >> shift)) {
    d.umin = 0;
    d.umax = kU64Max;
  } else {
    d.umin <<= shift;
    d.umax <<= shift;
  }
}

// A 32-bit shift by a known n < 32: bounds of the subregister, bits of the low half.
Scalar shift32(AluOp op, Scalar d, unsigned n) {
  Tnum sub = d.var_off.subreg();
  switch (op) {
    case AluOp::Lsh:
      lsh32_bounds(d, n);
      d.var_off = tnum_lshift(sub, n).subreg();
      break;
    case AluOp::Rsh:
      d.u32_min >>= n;
      d.u32_max >>= n;
      d.s32_min = std::numeric_limits<int32_t>::min();
      d.s32_max = std::numeric_limits<int32_t>::max();
      d.var_off = tnum_rshift(sub, n);
      break;
    default:  // Arsh
      d.s32_min >>= n;
      d.s32_max >>= n;
      d.u32_min = 0;
      d.u32_max = kU32Max;
      d.var_off = tnum_arshift(sub, n, 32);
      break;
  }
  d.unbound64();  // the zero-extension gives them back
  return d;
}

// A 64-bit shift by a known n < 64 (scalar_min_max_{lsh,rsh,arsh}).
Scalar shift64(AluOp op, Scalar d, unsigned n) {
  switch (op) {
    case AluOp::Lsh:
      lsh64_bounds(d, n);  // uses the unshifted 32-bit bounds, so before lsh32_bounds
      lsh32_bounds(d, n);
      d.var_off = tnum_lshift(d.var_off, n);
      break;
    case AluOp::Rsh:
      d.umin >>= n;
      d.umax >>= n;
      d.smin = std::numeric_limits<int64_t>::min();
      d.smax = std::numeric_limits<int64_t>::max();
      d.var_off = tnum_rshift(d.var_off, n);
      d.unbound32();
      break;
    default:  // Arsh
      d.smin >>= n;
      d.smax >>= n;
      d.umin = 0;
      d.umax = kU64Max;
      d.var_off = tnum_arshift(d.var_off, n, 64);
      d.unbound32();
      break;
  }
  return d;
}

// The operations that keep no range: an unknown value of the operation's width.
Scalar unknown_result(bool alu32) {
  return alu32 ? Scalar::of_size(4) : Scalar::unknown();
}

Scalar finish(Scalar d, bool alu32) {
  if (alu32) d.zext32();
  // Sound transfer functions never empty a non-empty value; if they did, knowing nothing is
  // still sound.
  if (!d.sync()) return unknown_result(alu32);
  return d;
}

}  // namespace

Scalar scalar_alu(AluOp op, const Scalar& dst, const Scalar& src, bool alu32) {
  Scalar d = dst;
  unsigned width = alu32 ? 32 : 64;
  switch (op) {
    case AluOp::Add:
      d.var_off = tnum_add(d.var_off, src.var_off);
      add32(d, src);
      add64(d, src);
      break;
    case AluOp::Sub:
      d.var_off = tnum_sub(d.var_off, src.var_off);
      sub32(d, src);
      sub64(d, src);
      break;
    case AluOp::Mul:
      d.var_off = tnum_mul(d.var_off, src.var_off);
      mul32(d, src);
      mul64(d, src);
      break;
    case AluOp::And:
    case AluOp::Or:
    case AluOp::Xor: {
      Tnum (*fn)(Tnum, Tnum) = op == AluOp::And ? tnum_and : op == AluOp::Or ? tnum_or : tnum_xor;
      d.var_off = fn(d.var_off, src.var_off);
      bitwise(op, d, src);
      break;
    }
    case AluOp::Lsh:
    case AluOp::Rsh:
    case AluOp::Arsh: {
      bool known = alu32 ? src.subreg_is_const() : src.is_const();
      uint64_t n = alu32 ? src.var_off.value & 0xffffffffu : src.var_off.value;
      if (!known || n >= width) return unknown_result(alu32);
      d = alu32 ? shift32(op, d, static_cast<unsigned>(n))
                : shift64(op, d, static_cast<unsigned>(n));
      break;
    }
    case AluOp::Div:
    case AluOp::Mod:
    case AluOp::SDiv:
    case AluOp::SMod: return unknown_result(alu32);
  }
  return finish(d, alu32);
}

Scalar scalar_neg(const Scalar& dst, bool alu32) {
  return scalar_alu(AluOp::Sub, Scalar::known(0), dst, alu32);
}

Scalar scalar_sign_extend(const Scalar& src, unsigned bits) {
  uint64_t half = uint64_t{1} << (bits - 1);
  if (src.is_const()) {
    uint64_t low = src.const_value() & ((half << 1) - 1);
    return Scalar::known(low & half ? low | ~((half << 1) - 1) : low);
  }
  // A value that already is a sign-extended `bits`-bit number is left as it is.
  if (src.smin >= -static_cast<int64_t>(half) && src.smax < static_cast<int64_t>(half)) return src;
  Tnum low = tnum_cast(src.var_off, bits / 8);
  uint64_t high = ~((half << 1) - 1);
  Scalar r;
  if (low.value & half)
    r.var_off = {low.value | high, low.mask};
  else if (low.mask & half)
    r.var_off = {low.value, low.mask | high};
  else
    r.var_off = low;
  r.smin = -static_cast<int64_t>(half);
  r.smax = static_cast<int64_t>(half - 1);
  if (!r.sync()) return Scalar::unknown();
  return r;
}

Scalar scalar_endian(const Scalar& src, unsigned bits, bool swap) {
  if (!swap) {
    Scalar r = src;
    r.truncate(bits / 8);
    return r;
  }
  if (!src.is_const()) return Scalar::of_size(bits / 8);
  uint64_t v = src.const_value();
  if (bits == 16) return Scalar::known(static_cast<uint16_t>((v >> 8 & 0xff) | (v & 0xff) << 8));
  if (bits == 32) return Scalar::known(__builtin_bswap32(static_cast<uint32_t>(v)));
  return Scalar::known(__builtin_bswap64(v));
}

}  // namespace pollen::verifier

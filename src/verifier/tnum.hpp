// SPDX-License-Identifier: MIT
// Tristate numbers: the bit-level half of the verifier's scalar domain, with the meaning and
// the operations of Linux's kernel/bpf/tnum.c. A Tnum is a (value, mask) pair: every bit set in
// mask is unknown, every other bit is known and equal to the bit of value (value & mask is
// always 0). The 64-bit register and its low 32-bit subregister share one Tnum; the *_subreg
// helpers look at the low half.
#pragma once

#include <cstdint>
#include <string>

namespace pollen::verifier {

struct Tnum {
  uint64_t value = 0;
  uint64_t mask = 0;

  /// Exactly `v`.
  static constexpr Tnum constant(uint64_t v) { return {v, 0}; }
  /// Any 64-bit value.
  static constexpr Tnum unknown() { return {0, ~uint64_t{0}}; }
  /// The smallest Tnum holding every value of [min, max] (tnum_range).
  static Tnum range(uint64_t min, uint64_t max);

  constexpr bool is_const() const { return mask == 0; }
  constexpr bool is_unknown() const { return mask == ~uint64_t{0}; }
  /// True when `v` is one of the values this Tnum stands for.
  constexpr bool contains(uint64_t v) const { return (v & ~mask) == value; }
  /// True when every value of `other` is one of ours (tnum_in(this, other)).
  constexpr bool includes(Tnum other) const {
    return (other.mask & ~mask) == 0 && (other.value & ~mask) == value;
  }
  /// True when every value is a multiple of `size`, a power of two (tnum_is_aligned).
  constexpr bool is_aligned(uint64_t size) const { return ((value | mask) & (size - 1)) == 0; }

  /// The low 32 bits, zero-extended (tnum_subreg).
  constexpr Tnum subreg() const { return {value & 0xffffffffu, mask & 0xffffffffu}; }
  /// The high 32 bits with the low 32 known zero (tnum_clear_subreg).
  constexpr Tnum clear_subreg() const {
    return {value & ~uint64_t{0xffffffff}, mask & ~uint64_t{0xffffffff}};
  }
  /// The high 32 bits of this, the low 32 bits of `low` (tnum_with_subreg).
  constexpr Tnum with_subreg(Tnum low) const {
    return {clear_subreg().value | low.subreg().value, clear_subreg().mask | low.subreg().mask};
  }
  constexpr bool subreg_is_const() const { return (mask & 0xffffffffu) == 0; }

  friend constexpr bool operator==(Tnum, Tnum) = default;

  /// "0x1f" when known, else "(0x10; 0xf)" as the kernel's tnum_strn prints it.
  std::string str() const;
};

// Operations: each result holds every value the operation can give on values of its operands.
Tnum tnum_add(Tnum a, Tnum b);
Tnum tnum_sub(Tnum a, Tnum b);
Tnum tnum_neg(Tnum a);
Tnum tnum_and(Tnum a, Tnum b);
Tnum tnum_or(Tnum a, Tnum b);
Tnum tnum_xor(Tnum a, Tnum b);
Tnum tnum_mul(Tnum a, Tnum b);
/// Shifts by a known count below the width (the caller guarantees it).
Tnum tnum_lshift(Tnum a, unsigned shift);
Tnum tnum_rshift(Tnum a, unsigned shift);
/// Arithmetic right shift of the low `width` (32 or 64) bits; a 32-bit result is zero-extended.
Tnum tnum_arshift(Tnum a, unsigned shift, unsigned width);
/// Values in both (tnum_intersect). Undefined when they share no value; callers check first.
Tnum tnum_intersect(Tnum a, Tnum b);
/// True when a and b have at least one value in common.
bool tnum_overlaps(Tnum a, Tnum b);
/// The low `size` bytes, zero-extended (tnum_cast).
Tnum tnum_cast(Tnum a, unsigned size);

}  // namespace pollen::verifier

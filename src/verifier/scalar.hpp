// SPDX-License-Identifier: MIT
// The verifier's scalar domain, as Linux's struct bpf_reg_state tracks a scalar: a Tnum for the
// bits plus signed and unsigned bounds of the 64-bit value and of its low 32-bit subregister.
// The five views are kept consistent with reg_bounds_sync()'s rules (each view tightens the
// others); the transfer functions of ALU operations, conditional-jump refinement and the
// subsumption test used for state pruning all live next to this type (scalar_alu.cpp,
// branch.cpp). A pointer's variable offset uses the same type.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "verifier/tnum.hpp"

namespace pollen::verifier {

struct Scalar {
  Tnum var_off = Tnum::unknown();
  int64_t smin = std::numeric_limits<int64_t>::min();
  int64_t smax = std::numeric_limits<int64_t>::max();
  uint64_t umin = 0;
  uint64_t umax = std::numeric_limits<uint64_t>::max();
  int32_t s32_min = std::numeric_limits<int32_t>::min();
  int32_t s32_max = std::numeric_limits<int32_t>::max();
  uint32_t u32_min = 0;
  uint32_t u32_max = std::numeric_limits<uint32_t>::max();

  /// Any 64-bit value.
  static Scalar unknown() { return {}; }
  /// Exactly `v` (__mark_reg_known).
  static Scalar known(uint64_t v);
  /// Any value of `bytes` bytes, zero-extended: what a narrow load gives.
  static Scalar of_size(unsigned bytes);
  /// Any value in [min, max] (unsigned).
  static Scalar urange(uint64_t min, uint64_t max);

  bool is_const() const { return var_off.is_const(); }
  uint64_t const_value() const { return var_off.value; }
  bool subreg_is_const() const { return var_off.subreg_is_const(); }
  bool is_zero() const { return is_const() && var_off.value == 0; }

  /// True when `v` is one of the values this stands for (in every view).
  bool contains(uint64_t v) const;
  /// True when every value of `other` is one of ours: Linux's range_within() && tnum_in().
  bool includes(const Scalar& other) const;

  /// reg_bounds_sync(): tighten each view from the others. Returns false when the views
  /// contradict each other, which means no value is left.
  [[nodiscard]] bool sync();
  /// The result of a 32-bit operation becoming the 64-bit value (zext_32_to_64).
  void zext32();
  /// Keeps the low `size` bytes, zero-extended (coerce_reg_to_size).
  void truncate(unsigned size);
  /// Forgets the 64-bit bounds (__mark_reg64_unbounded) or the 32-bit ones.
  void unbound64();
  void unbound32();

  friend bool operator==(const Scalar&, const Scalar&) = default;

  /// The kernel's notation: "0x2a" for a constant, else the views that say something:
  /// "smin=-4,umax=255,var_off=(0x0; 0xff)".
  std::string str() const;
};

/// The ALU operations, as their transfer functions see them.
enum class AluOp : uint8_t { Add, Sub, Mul, Div, SDiv, Mod, SMod, Or, And, Xor, Lsh, Rsh, Arsh };

/// dst = dst `op` src on scalars, 64-bit or (alu32) 32-bit with the result zero-extended, as
/// adjust_scalar_min_max_vals() computes it. Shifts need src known and below the width (the
/// caller checks; other shift counts give an unknown value, as in Linux).
Scalar scalar_alu(AluOp op, const Scalar& dst, const Scalar& src, bool alu32);
/// dst = -dst (64-bit, or 32-bit zero-extended).
Scalar scalar_neg(const Scalar& dst, bool alu32);
/// The low `bits` (8, 16, 32) bits of `src`, sign-extended to 64 bits (movsx, ldsx).
Scalar scalar_sign_extend(const Scalar& src, unsigned bits);
/// Byte-order operations: `swap` says whether the bytes are reversed on this host; `bits` is
/// the width (16, 32, 64) whose result is zero-extended.
Scalar scalar_endian(const Scalar& src, unsigned bits, bool swap);

}  // namespace pollen::verifier

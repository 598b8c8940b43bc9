// SPDX-License-Identifier: MIT
// The scalar domain's consistency rules, after Linux's reg_bounds_sync() and the functions it
// calls (__update_reg_bounds, __reg32_deduce_bounds, __reg64_deduce_bounds,
// __reg_deduce_mixed_bounds, __reg_bound_offset), plus the helpers around them: known values,
// zero-extension of 32-bit results, truncation, membership and subsumption.
#include "verifier/scalar.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace pollen::verifier {
namespace {

constexpr uint64_t kLow32 = 0xffffffffu;
constexpr int64_t kS64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kS64Max = std::numeric_limits<int64_t>::max();
constexpr int32_t kS32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kS32Max = std::numeric_limits<int32_t>::max();

int64_t s64(uint64_t v) {
  return static_cast<int64_t>(v);
}
int32_t s32(uint64_t v) {
  return static_cast<int32_t>(static_cast<uint32_t>(v));
}
uint32_t u32(uint64_t v) {
  return static_cast<uint32_t>(v);
}

// __update_reg32_bounds / __update_reg64_bounds: what the known bits say about the bounds.
void bounds_from_tnum(Scalar& r) {
  Tnum t32 = r.var_off.subreg();
  r.s32_min = std::max(r.s32_min, s32(t32.value | (t32.mask & 0x80000000u)));
  r.s32_max = std::min(r.s32_max, s32(t32.value | (t32.mask & 0x7fffffffu)));
  r.u32_min = std::max(r.u32_min, u32(t32.value));
  r.u32_max = std::min(r.u32_max, u32(t32.value | t32.mask));
  const Tnum& t = r.var_off;
  r.smin = std::max(r.smin, s64(t.value | (t.mask & (uint64_t{1} << 63))));
  r.smax = std::min(r.smax, s64(t.value | (t.mask & ~(uint64_t{1} << 63))));
  r.umin = std::max(r.umin, t.value);
  r.umax = std::min(r.umax, t.value | t.mask);
}

void tighten_s32(Scalar& r, int32_t lo, int32_t hi) {
  r.s32_min = std::max(r.s32_min, lo);
  r.s32_max = std::min(r.s32_max, hi);
}

void tighten_u32(Scalar& r, uint32_t lo, uint32_t hi) {
  r.u32_min = std::max(r.u32_min, lo);
  r.u32_max = std::min(r.u32_max, hi);
}

// __reg32_deduce_bounds: the subregister's bounds from the 64-bit ones (when the upper halves
// pin down the lower halves as a range), then signed and unsigned 32-bit views from each other.
void deduce32(Scalar& r) {
  if ((r.umin >> 32) == (r.umax >> 32)) {
    tighten_u32(r, u32(r.umin), u32(r.umax));
    if (s32(r.umin) <= s32(r.umax)) tighten_s32(r, s32(r.umin), s32(r.umax));
  }
  if ((r.smin >> 32) == (r.smax >> 32)) {
    if (u32(r.smin) <= u32(r.smax)) tighten_u32(r, u32(r.smin), u32(r.smax));
    if (s32(r.smin) <= s32(r.smax)) tighten_s32(r, s32(r.smin), s32(r.smax));
  }
  // Upper halves that are two consecutive numbers, with the lower halves crossing from
  // negative to non-negative, still give an s32 range ([-1, 1] over 0xffffffff_ffffffff..1).
  if (u32(r.umin >> 32) + 1 == u32(r.umax >> 32) && s32(r.umin) < 0 && s32(r.umax) >= 0)
    tighten_s32(r, s32(r.umin), s32(r.umax));
  if (u32(static_cast<uint64_t>(r.smin) >> 32) + 1 == u32(static_cast<uint64_t>(r.smax) >> 32) &&
      s32(static_cast<uint64_t>(r.smin)) < 0 && s32(static_cast<uint64_t>(r.smax)) >= 0)
    tighten_s32(r, s32(static_cast<uint64_t>(r.smin)), s32(static_cast<uint64_t>(r.smax)));
  // A u32 range that does not cross the sign bit is also an s32 range, and vice versa.
  if (static_cast<int32_t>(r.u32_min) <= static_cast<int32_t>(r.u32_max))
    tighten_s32(r, static_cast<int32_t>(r.u32_min), static_cast<int32_t>(r.u32_max));
  if (static_cast<uint32_t>(r.s32_min) <= static_cast<uint32_t>(r.s32_max))
    tighten_u32(r, static_cast<uint32_t>(r.s32_min), static_cast<uint32_t>(r.s32_max));
}

// __reg64_deduce_bounds: signed and unsigned 64-bit views from each other.
void deduce64(Scalar& r) {
  if (s64(r.umin) <= s64(r.umax)) {
    r.smin = std::max(r.smin, s64(r.umin));
    r.smax = std::min(r.smax, s64(r.umax));
  }
  if (static_cast<uint64_t>(r.smin) <= static_cast<uint64_t>(r.smax)) {
    r.umin = std::max(r.umin, static_cast<uint64_t>(r.smin));
    r.umax = std::min(r.umax, static_cast<uint64_t>(r.smax));
  }
}

// __reg_deduce_mixed_bounds: the 32-bit bounds substituted into the low halves of the 64-bit
// bounds (values below the new minimum or above the new maximum have impossible low halves).
void deduce_mixed(Scalar& r) {
  auto with_low = [](uint64_t v, uint32_t low) { return (v & ~kLow32) | low; };
  r.umin = std::max(r.umin, with_low(r.umin, r.u32_min));
  r.umax = std::min(r.umax, with_low(r.umax, r.u32_max));
  r.smin = std::max(r.smin, s64(with_low(static_cast<uint64_t>(r.smin), r.u32_min)));
  r.smax = std::min(r.smax, s64(with_low(static_cast<uint64_t>(r.smax), r.u32_max)));
  if (static_cast<uint32_t>(r.s32_min) <= static_cast<uint32_t>(r.s32_max)) {
    auto lo = static_cast<uint32_t>(r.s32_min), hi = static_cast<uint32_t>(r.s32_max);
    r.umin = std::max(r.umin, with_low(r.umin, lo));
    r.umax = std::min(r.umax, with_low(r.umax, hi));
    r.smin = std::max(r.smin, s64(with_low(static_cast<uint64_t>(r.smin), lo)));
    r.smax = std::min(r.smax, s64(with_low(static_cast<uint64_t>(r.smax), hi)));
  }
  // After a sign-extending load: a non-negative s32 range and a 64-bit range inside s32 means
  // the upper half is zero, so the 64-bit value is the s32 value.
  if (r.s32_min >= 0 && r.smin >= kS32Min && r.smax <= kS32Max) {
    r.smin = r.umin = static_cast<uint64_t>(r.s32_min);
    r.smax = r.s32_max;
    r.umax = static_cast<uint64_t>(r.s32_max);
  }
}

bool views_consistent(const Scalar& r) {
  return r.smin <= r.smax && r.umin <= r.umax && r.s32_min <= r.s32_max && r.u32_min <= r.u32_max;
}

// __reg_bound_offset: the known bits from the bounds. False when bits and bounds disagree.
bool tnum_from_bounds(Scalar& r) {
  Tnum range64 = Tnum::range(r.umin, r.umax);
  if (!tnum_overlaps(r.var_off, range64)) return false;
  Tnum t64 = tnum_intersect(r.var_off, range64);
  Tnum range32 = Tnum::range(r.u32_min, r.u32_max);
  if (!tnum_overlaps(t64.subreg(), range32)) return false;
  Tnum t32 = tnum_intersect(t64.subreg(), range32);
  r.var_off = t64.with_subreg(t32);
  return true;
}

}  // namespace

Scalar Scalar::known(uint64_t v) {
  Scalar r;
  r.var_off = Tnum::constant(v);
  r.smin = r.smax = s64(v);
  r.umin = r.umax = v;
  r.s32_min = r.s32_max = s32(v);
  r.u32_min = r.u32_max = u32(v);
  return r;
}

Scalar Scalar::of_size(unsigned bytes) {
  Scalar r;
  r.var_off = tnum_cast(Tnum::unknown(), bytes);
  (void)r.sync();  // an unknown value of some size always has values
  return r;
}

Scalar Scalar::urange(uint64_t min, uint64_t max) {
  Scalar r;
  r.umin = min;
  r.umax = max;
  (void)r.sync();  // min <= max: the caller's promise
  return r;
}

bool Scalar::contains(uint64_t v) const {
  return var_off.contains(v) && umin <= v && v <= umax && smin <= s64(v) && s64(v) <= smax &&
         u32_min <= u32(v) && u32(v) <= u32_max && s32_min <= s32(v) && s32(v) <= s32_max;
}

bool Scalar::includes(const Scalar& o) const {
  return var_off.includes(o.var_off) && umin <= o.umin && o.umax <= umax && smin <= o.smin &&
         o.smax <= smax && u32_min <= o.u32_min && o.u32_max <= u32_max && s32_min <= o.s32_min &&
         o.s32_max <= s32_max;
}

bool Scalar::sync() {
  if (!views_consistent(*this)) return false;
  bounds_from_tnum(*this);
  // Twice, as Linux does: the mixed step can enable another round of the 32/64-bit steps.
  for (int round = 0; round < 2; ++round) {
    if (!views_consistent(*this)) return false;
    deduce32(*this);
    deduce64(*this);
    deduce_mixed(*this);
  }
  if (!views_consistent(*this) || !tnum_from_bounds(*this)) return false;
  bounds_from_tnum(*this);
  return views_consistent(*this);
}

void Scalar::zext32() {
  var_off = var_off.subreg();
  umin = u32_min;
  umax = u32_max;
  // __reg_assign_32_into_64: signed 32-bit bounds carry over only when both are non-negative.
  if (s32_min >= 0) {
    smin = s32_min;
    smax = s32_max;
  } else {
    smin = 0;
    smax = kLow32;
  }
}

void Scalar::truncate(unsigned size) {
  if (size >= 8) return;
  var_off = tnum_cast(var_off, size);
  uint64_t mask = (uint64_t{1} << (size * 8)) - 1;
  if ((umin & ~mask) == (umax & ~mask)) {
    umin &= mask;
    umax &= mask;
  } else {
    umin = 0;
    umax = mask;
  }
  smin = s64(umin);
  smax = s64(umax);
  if (size < 4) unbound32();
  // Truncating a non-empty value leaves a non-empty value.
  (void)sync();
}

void Scalar::unbound64() {
  smin = kS64Min;
  smax = kS64Max;
  umin = 0;
  umax = std::numeric_limits<uint64_t>::max();
}

void Scalar::unbound32() {
  s32_min = kS32Min;
  s32_max = kS32Max;
  u32_min = 0;
  u32_max = std::numeric_limits<uint32_t>::max();
}

std::string Scalar::str() const {
  if (is_const()) {
    return s64(var_off.value) < 0 && s64(var_off.value) > -4096
               ? fmt::format("{}", s64(var_off.value))
               : fmt::format("{:#x}", var_off.value);
  }
  std::vector<std::string> parts;
  // Signed bounds equal to the unsigned ones (a range that does not cross the sign bit) are
  // printed once, as the unsigned ones.
  bool same64 = static_cast<uint64_t>(smin) == umin && static_cast<uint64_t>(smax) == umax;
  if (!same64 && smin != kS64Min) parts.push_back(fmt::format("smin={}", smin));
  if (!same64 && smax != kS64Max) parts.push_back(fmt::format("smax={}", smax));
  if (umin != 0) parts.push_back(fmt::format("umin={}", umin));
  if (umax != std::numeric_limits<uint64_t>::max()) parts.push_back(fmt::format("umax={}", umax));
  // The 32-bit views, only where they say more than the 64-bit ones do.
  bool fits32 = umax <= kLow32 && same64;
  bool same32 =
      static_cast<uint32_t>(s32_min) == u32_min && static_cast<uint32_t>(s32_max) == u32_max;
  if (!same32 && s32_min != kS32Min && !(fits32 && s32_min == smin))
    parts.push_back(fmt::format("smin32={}", s32_min));
  if (!same32 && s32_max != kS32Max && !(fits32 && s32_max == smax))
    parts.push_back(fmt::format("smax32={}", s32_max));
  if (u32_min != 0 && !(fits32 && u32_min == umin))
    parts.push_back(fmt::format("umin32={}", u32_min));
  if (u32_max != std::numeric_limits<uint32_t>::max() && !(fits32 && u32_max == umax))
    parts.push_back(fmt::format("umax32={}", u32_max));
  if (!var_off.is_unknown()) parts.push_back("var_off=" + var_off.str());
  return fmt::format("{}", fmt::join(parts, ","));
}

}  // namespace pollen::verifier

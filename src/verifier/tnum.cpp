// SPDX-License-Identifier: MIT
// The tristate-number operations, with the semantics of Linux's kernel/bpf/tnum.c (the add/sub
// carry tricks of "Verifying the Verifier", the shift-and-add multiplication of
// "Sound, Precise, and Fast Abstract Interpretation with Tristate Numbers"). Each result holds
// every value the concrete operation can produce from values of its operands.
#include "verifier/tnum.hpp"

#include <bit>

#include <fmt/format.h>

namespace pollen::verifier {

Tnum Tnum::range(uint64_t min, uint64_t max) {
  // Every bit at or below the highest bit in which min and max differ may take any value.
  uint64_t chi = min ^ max;
  int bits = 64 - std::countl_zero(chi);
  if (bits > 63) return unknown();
  uint64_t delta = (uint64_t{1} << bits) - 1;
  return {min & ~delta, delta};
}

std::string Tnum::str() const {
  if (is_const()) return fmt::format("{:#x}", value);
  return fmt::format("({:#x}; {:#x})", value, mask);
}

Tnum tnum_add(Tnum a, Tnum b) {
  // Bits where the sum with all unknown bits 0 and with all of them 1 differ are the ones a
  // carry can reach; they and the unknown inputs are unknown.
  uint64_t sm = a.mask + b.mask;
  uint64_t sv = a.value + b.value;
  uint64_t sigma = sm + sv;
  uint64_t chi = sigma ^ sv;
  uint64_t mu = chi | a.mask | b.mask;
  return {sv & ~mu, mu};
}

Tnum tnum_sub(Tnum a, Tnum b) {
  uint64_t dv = a.value - b.value;
  uint64_t alpha = dv + a.mask;
  uint64_t beta = dv - b.mask;
  uint64_t chi = alpha ^ beta;
  uint64_t mu = chi | a.mask | b.mask;
  return {dv & ~mu, mu};
}

Tnum tnum_neg(Tnum a) {
  return tnum_sub(Tnum::constant(0), a);
}

Tnum tnum_and(Tnum a, Tnum b) {
  uint64_t alpha = a.value | a.mask;
  uint64_t beta = b.value | b.mask;
  uint64_t v = a.value & b.value;
  return {v, alpha & beta & ~v};
}

Tnum tnum_or(Tnum a, Tnum b) {
  uint64_t v = a.value | b.value;
  uint64_t mu = a.mask | b.mask;
  return {v, mu & ~v};
}

Tnum tnum_xor(Tnum a, Tnum b) {
  uint64_t v = a.value ^ b.value;
  uint64_t mu = a.mask | b.mask;
  return {v & ~mu, mu};
}

Tnum tnum_mul(Tnum a, Tnum b) {
  // Long multiplication: the known product of the values, plus, for every bit of a that is
  // known 1 the unknown bits of b, and for every unknown bit of a all possible bits of b.
  uint64_t acc_v = a.value * b.value;
  Tnum acc_m = Tnum::constant(0);
  while (a.value != 0 || a.mask != 0) {
    if (a.value & 1)
      acc_m = tnum_add(acc_m, {0, b.mask});
    else if (a.mask & 1)
      acc_m = tnum_add(acc_m, {0, b.value | b.mask});
    a = tnum_rshift(a, 1);
    b = tnum_lshift(b, 1);
  }
  return tnum_add(Tnum::constant(acc_v), acc_m);
}

Tnum tnum_lshift(Tnum a, unsigned shift) {
  return {a.value << shift, a.mask << shift};
}

Tnum tnum_rshift(Tnum a, unsigned shift) {
  return {a.value >> shift, a.mask >> shift};
}

Tnum tnum_arshift(Tnum a, unsigned shift, unsigned width) {
  // An unknown sign bit makes every bit shifted in unknown; a known one copies itself.
  if (width == 32) {
    auto v = static_cast<uint32_t>(static_cast<int32_t>(a.value) >> shift);
    auto m = static_cast<uint32_t>(static_cast<int32_t>(a.mask) >> shift);
    return {v, m};
  }
  return {static_cast<uint64_t>(static_cast<int64_t>(a.value) >> shift),
          static_cast<uint64_t>(static_cast<int64_t>(a.mask) >> shift)};
}

Tnum tnum_intersect(Tnum a, Tnum b) {
  uint64_t v = a.value | b.value;
  uint64_t mu = a.mask & b.mask;
  return {v & ~mu, mu};
}

bool tnum_overlaps(Tnum a, Tnum b) {
  return ((a.value ^ b.value) & ~(a.mask | b.mask)) == 0;
}

Tnum tnum_cast(Tnum a, unsigned size) {
  if (size >= 8) return a;
  uint64_t keep = (uint64_t{1} << (size * 8)) - 1;
  return {a.value & keep, a.mask & keep};
}

}  // namespace pollen::verifier

// SPDX-License-Identifier: MIT
// Hashing and comparing map keys, inline because a hash map lookup is little else: a program's
// bpf_map_lookup_elem on a 16-byte key used to spend most of its time in four rounds of a
// 64-bit finalizer and a call to memcmp. Keys of up to 16 bytes are read with two loads that
// may overlap (the length is hashed too, so overlapping reads of different lengths cannot
// collide by construction) and hashed with two 64x64->128-bit multiplications folded to 64
// bits; longer keys fold 16 bytes per multiplication first. Not a cryptographic hash: the seed
// is per map and random unless BPF_F_ZERO_SEED asks for 0, as Linux seeds its jhash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pollen::maps {
namespace detail {

inline uint64_t load8(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t load4(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
// The full 128-bit product of a and b, its halves XORed.
inline uint64_t fold_multiply(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}
// Odd constants with well-spread bits (the 64-bit golden ratio and two from splitmix64).
inline constexpr uint64_t kMulA = 0x9e3779b97f4a7c15ull;
inline constexpr uint64_t kMulB = 0xbf58476d1ce4e5b9ull;
inline constexpr uint64_t kMulC = 0x94d049bb133111ebull;

}  // namespace detail

/// A seeded 64-bit hash of `size` bytes (hash maps and bloom filters).
inline uint64_t hash_bytes(const void* data, size_t size, uint64_t seed) {
  using namespace detail;
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t acc = seed;
  uint64_t lo = 0, hi = 0;
  if (size > 16) {
    size_t left = size;
    for (; left > 16; left -= 16, p += 16)
      acc = fold_multiply(load8(p) ^ acc ^ kMulA, load8(p + 8) ^ kMulB);
    // The last 16 bytes of the key, overlapping the last block.
    lo = load8(p + left - 16);
    hi = load8(p + left - 8);
  } else if (size >= 8) {
    lo = load8(p);
    hi = load8(p + size - 8);
  } else if (size >= 4) {
    lo = load4(p);
    hi = load4(p + size - 4);
  } else if (size > 0) {
    lo = uint64_t{p[0]} | uint64_t{p[size / 2]} << 8 | uint64_t{p[size - 1]} << 16;
  }
  const uint64_t mixed = fold_multiply(lo ^ acc ^ kMulA, hi ^ kMulB);
  return fold_multiply(mixed ^ (uint64_t{size} * kMulC), kMulC ^ seed);
}

/// Whether the `size` bytes at `a` and `b` are equal; a few loads for keys of up to 16 bytes.
inline bool bytes_equal(const void* a, const void* b, size_t size) {
  using namespace detail;
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  if (size >= 8 && size <= 16)
    return ((load8(x) ^ load8(y)) | (load8(x + size - 8) ^ load8(y + size - 8))) == 0;
  if (size >= 4 && size < 8)
    return ((load4(x) ^ load4(y)) | (load4(x + size - 4) ^ load4(y + size - 4))) == 0;
  return std::memcmp(x, y, size) == 0;
}

}  // namespace pollen::maps

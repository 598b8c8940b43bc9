// SPDX-License-Identifier: MIT
// What each eBPF operation computes, one small function per operation, exactly as Linux's
// interpreter (kernel/bpf/core.c, ___bpf_prog_run) and the verifier's fix-ups around it
// (do_misc_fixups: division by zero, INT_MIN / -1) define it. The interpreter's handlers are
// one-line calls into these; a JIT can use them as its reference. Private to src/vm.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace pollen::vm::sem {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "eBPF byte-order operations assume a little- or big-endian host");

// One line per operation, so that each group reads as a table.
// clang-format off

// --- 64-bit ALU (class ALU64) -------------------------------------------------------------

inline int64_t s64(uint64_t a) { return static_cast<int64_t>(a); }
inline int32_t s32(uint64_t a) { return static_cast<int32_t>(a); }
inline uint64_t add64(uint64_t a, uint64_t b) { return a + b; }
inline uint64_t sub64(uint64_t a, uint64_t b) { return a - b; }
inline uint64_t mul64(uint64_t a, uint64_t b) { return a * b; }
inline uint64_t or64(uint64_t a, uint64_t b) { return a | b; }
inline uint64_t and64(uint64_t a, uint64_t b) { return a & b; }
inline uint64_t xor64(uint64_t a, uint64_t b) { return a ^ b; }
inline uint64_t neg64(uint64_t a) { return 0 - a; }
// Shift counts are masked to the operand width, as the kernel's JITs and interpreter do.
inline uint64_t lsh64(uint64_t a, uint64_t b) { return a << (b & 63); }
inline uint64_t rsh64(uint64_t a, uint64_t b) { return a >> (b & 63); }
inline uint64_t arsh64(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>(s64(a) >> (b & 63));
}
// Division by zero gives 0 and modulo by zero leaves dst unchanged (Linux's do_misc_fixups).
inline uint64_t div64(uint64_t a, uint64_t b) { return b ? a / b : 0; }
inline uint64_t mod64(uint64_t a, uint64_t b) { return b ? a % b : a; }
// Signed forms: LLONG_MIN / -1 = LLONG_MIN and LLONG_MIN % -1 = 0 (Linux rewrites a divisor of
// -1 to a negation); computed without the host's trapping idiv.
inline uint64_t sdiv64(uint64_t a, uint64_t b) {
  if (b == 0) return 0;
  if (b == ~uint64_t{0}) return 0 - a;
  return static_cast<uint64_t>(s64(a) / s64(b));
}
inline uint64_t smod64(uint64_t a, uint64_t b) {
  if (b == 0) return a;
  if (b == ~uint64_t{0}) return 0;
  return static_cast<uint64_t>(s64(a) % s64(b));
}
inline uint64_t movsx8(uint64_t a) { return static_cast<uint64_t>(static_cast<int8_t>(a)); }
inline uint64_t movsx16(uint64_t a) { return static_cast<uint64_t>(static_cast<int16_t>(a)); }
inline uint64_t movsx32(uint64_t a) { return static_cast<uint64_t>(static_cast<int32_t>(a)); }

// --- 32-bit ALU (class ALU): operate on the low halves, zero-extend the result ------------

inline uint64_t lo(uint64_t a) { return static_cast<uint32_t>(a); }
inline uint64_t add32(uint64_t a, uint64_t b) { return lo(a + b); }
inline uint64_t sub32(uint64_t a, uint64_t b) { return lo(a - b); }
inline uint64_t mul32(uint64_t a, uint64_t b) { return lo(lo(a) * lo(b)); }
inline uint64_t or32(uint64_t a, uint64_t b) { return lo(a | b); }
inline uint64_t and32(uint64_t a, uint64_t b) { return lo(a & b); }
inline uint64_t xor32(uint64_t a, uint64_t b) { return lo(a ^ b); }
inline uint64_t neg32(uint64_t a) { return lo(0 - a); }
inline uint64_t mov32(uint64_t a) { return lo(a); }
inline uint64_t lsh32(uint64_t a, uint64_t b) { return lo(lo(a) << (b & 31)); }
inline uint64_t rsh32(uint64_t a, uint64_t b) { return lo(a) >> (b & 31); }
inline uint64_t arsh32(uint64_t a, uint64_t b) {
  return lo(static_cast<uint64_t>(s32(a) >> (b & 31)));
}
// Only the low 32 bits of the divisor count: dividing by 0x1_0000_0000 divides by zero.
// Modulo by zero keeps dst, zero-extended (Linux emits a 32-bit mov of dst to itself).
inline uint64_t div32(uint64_t a, uint64_t b) { return lo(b) ? lo(a) / lo(b) : 0; }
inline uint64_t mod32(uint64_t a, uint64_t b) { return lo(b) ? lo(a) % lo(b) : lo(a); }
inline uint64_t sdiv32(uint64_t a, uint64_t b) {
  if (lo(b) == 0) return 0;
  if (lo(b) == 0xffffffff) return lo(0 - a);
  return lo(static_cast<uint64_t>(s32(a) / s32(b)));
}
inline uint64_t smod32(uint64_t a, uint64_t b) {
  if (lo(b) == 0) return lo(a);
  if (lo(b) == 0xffffffff) return 0;
  return lo(static_cast<uint64_t>(s32(a) % s32(b)));
}
inline uint64_t movsx8_32(uint64_t a) { return lo(movsx8(a)); }
inline uint64_t movsx16_32(uint64_t a) { return lo(movsx16(a)); }

// --- Byte order: le/be convert between host order and the named one; bswap always swaps ----

inline uint64_t bswap16(uint64_t a) {
  auto v = static_cast<uint16_t>(a);
  return static_cast<uint16_t>((v >> 8) | (v << 8));
}
inline uint64_t bswap32(uint64_t a) { return __builtin_bswap32(static_cast<uint32_t>(a)); }
inline uint64_t bswap64(uint64_t a) { return __builtin_bswap64(a); }
inline constexpr bool kLittleHost = std::endian::native == std::endian::little;
inline uint64_t le16(uint64_t a) { return kLittleHost ? static_cast<uint16_t>(a) : bswap16(a); }
inline uint64_t le32(uint64_t a) { return kLittleHost ? lo(a) : bswap32(a); }
inline uint64_t le64(uint64_t a) { return kLittleHost ? a : bswap64(a); }
inline uint64_t be16(uint64_t a) { return kLittleHost ? bswap16(a) : static_cast<uint16_t>(a); }
inline uint64_t be32(uint64_t a) { return kLittleHost ? bswap32(a) : lo(a); }
inline uint64_t be64(uint64_t a) { return kLittleHost ? bswap64(a) : a; }

// --- Conditions of the conditional jumps; 64-bit jumps see imm sign-extended -------------

inline bool jeq(uint64_t a, uint64_t b) { return a == b; }
inline bool jne(uint64_t a, uint64_t b) { return a != b; }
inline bool jgt(uint64_t a, uint64_t b) { return a > b; }
inline bool jge(uint64_t a, uint64_t b) { return a >= b; }
inline bool jlt(uint64_t a, uint64_t b) { return a < b; }
inline bool jle(uint64_t a, uint64_t b) { return a <= b; }
inline bool jset(uint64_t a, uint64_t b) { return (a & b) != 0; }
inline bool jsgt(uint64_t a, uint64_t b) { return s64(a) > s64(b); }
inline bool jsge(uint64_t a, uint64_t b) { return s64(a) >= s64(b); }
inline bool jslt(uint64_t a, uint64_t b) { return s64(a) < s64(b); }
inline bool jsle(uint64_t a, uint64_t b) { return s64(a) <= s64(b); }
// JMP32 compares the low 32 bits only.
inline bool jeq32(uint64_t a, uint64_t b) { return lo(a) == lo(b); }
inline bool jne32(uint64_t a, uint64_t b) { return lo(a) != lo(b); }
inline bool jgt32(uint64_t a, uint64_t b) { return lo(a) > lo(b); }
inline bool jge32(uint64_t a, uint64_t b) { return lo(a) >= lo(b); }
inline bool jlt32(uint64_t a, uint64_t b) { return lo(a) < lo(b); }
inline bool jle32(uint64_t a, uint64_t b) { return lo(a) <= lo(b); }
inline bool jset32(uint64_t a, uint64_t b) { return (lo(a) & lo(b)) != 0; }
inline bool jsgt32(uint64_t a, uint64_t b) { return s32(a) > s32(b); }
inline bool jsge32(uint64_t a, uint64_t b) { return s32(a) >= s32(b); }
inline bool jslt32(uint64_t a, uint64_t b) { return s32(a) < s32(b); }
inline bool jsle32(uint64_t a, uint64_t b) { return s32(a) <= s32(b); }

// clang-format on

// --- Memory: programs may access unaligned addresses (x86 and arm64 Linux allow it) -------

template <class T>
inline uint64_t load(uint64_t addr) {
  T v;
  std::memcpy(&v, reinterpret_cast<const void*>(addr), sizeof v);
  return static_cast<uint64_t>(v);
}
/// ldsx: the loaded value sign-extended to 64 bits (T is the signed type of the access).
template <class T>
inline uint64_t load_sx(uint64_t addr) {
  T v;
  std::memcpy(&v, reinterpret_cast<const void*>(addr), sizeof v);
  return static_cast<uint64_t>(static_cast<int64_t>(v));
}
template <class T>
inline void store(uint64_t addr, uint64_t value) {
  auto v = static_cast<T>(value);
  std::memcpy(reinterpret_cast<void*>(addr), &v, sizeof v);
}

/// ld_abs/ld_ind: a big-endian read of sizeof(T) bytes at `off` of the packet, or false when
/// that is outside the packet (Linux's bpf_load_pointer then ends the program with r0 = 0).
template <class T>
inline bool load_packet(const uint8_t* packet, uint64_t size, int64_t off, uint64_t& out) {
  if (off < 0 || static_cast<uint64_t>(off) > size || size - off < sizeof(T)) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = (v << 8) | packet[off + i];
  out = v;
  return true;
}

// --- Atomics: real atomic operations on the shared memory. Linux orders the value-returning
// forms fully (atomic_fetch_*, xchg, cmpxchg) and the plain ones not at all (atomic_add). ---

template <class T>
inline T* atomic_ptr(uint64_t addr) {
  return reinterpret_cast<T*>(addr);
}
template <class T>
inline void atomic_add(uint64_t addr, uint64_t v) {
  __atomic_fetch_add(atomic_ptr<T>(addr), static_cast<T>(v), __ATOMIC_RELAXED);
}
template <class T>
inline void atomic_or(uint64_t addr, uint64_t v) {
  __atomic_fetch_or(atomic_ptr<T>(addr), static_cast<T>(v), __ATOMIC_RELAXED);
}
template <class T>
inline void atomic_and(uint64_t addr, uint64_t v) {
  __atomic_fetch_and(atomic_ptr<T>(addr), static_cast<T>(v), __ATOMIC_RELAXED);
}
template <class T>
inline void atomic_xor(uint64_t addr, uint64_t v) {
  __atomic_fetch_xor(atomic_ptr<T>(addr), static_cast<T>(v), __ATOMIC_RELAXED);
}
// The fetch forms return the old value, zero-extended for 32-bit accesses.
template <class T>
inline uint64_t atomic_fetch_add(uint64_t addr, uint64_t v) {
  return __atomic_fetch_add(atomic_ptr<T>(addr), static_cast<T>(v), __ATOMIC_SEQ_CST);
}
template <class T>
inline uint64_t atomic_fetch_or(uint64_t addr, uint64_t v) {
  return __atomic_fetch_or(atomic_ptr<T>(addr), static_cast<T>(v), __ATOMIC_SEQ_CST);
}
template <class T>
inline uint64_t atomic_fetch_and(uint64_t addr, uint64_t v) {
  return __atomic_fetch_and(atomic_ptr<T>(addr), static_cast<T>(v), __ATOMIC_SEQ_CST);
}
template <class T>
inline uint64_t atomic_fetch_xor(uint64_t addr, uint64_t v) {
  return __atomic_fetch_xor(atomic_ptr<T>(addr), static_cast<T>(v), __ATOMIC_SEQ_CST);
}
template <class T>
inline uint64_t atomic_xchg(uint64_t addr, uint64_t v) {
  return __atomic_exchange_n(atomic_ptr<T>(addr), static_cast<T>(v), __ATOMIC_SEQ_CST);
}
/// cmpxchg: compares with r0 (`expected`), stores `v` when equal; returns the old value, which
/// becomes r0 whether or not the store happened.
template <class T>
inline uint64_t atomic_cmpxchg(uint64_t addr, uint64_t expected, uint64_t v) {
  auto old = static_cast<T>(expected);
  __atomic_compare_exchange_n(atomic_ptr<T>(addr), &old, static_cast<T>(v), false, __ATOMIC_SEQ_CST,
                              __ATOMIC_SEQ_CST);
  return old;
}

}  // namespace pollen::vm::sem

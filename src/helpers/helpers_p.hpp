// SPDX-License-Identifier: MIT
// What the helper families share, private to src/helpers: the implementation lists each family
// file exports, the argument checks of checked mode (every pointer a helper dereferences is
// first checked against the run's memory, as Linux's verifier has checked it before a verified
// program runs, and a helper that refuses says which argument and why), the bookkeeping of what
// a checked run holds (ring buffer records, a spin lock), and reads of arbitrary addresses that
// fail instead of crashing (the probe_read family, %s in formats).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "helpers/helpers.hpp"
#include "maps/map.hpp"

namespace pollen::helpers::detail {

/// One implemented helper.
struct Implementation {
  uint32_t id;
  vm::HelperFn fn;
};

// Each family file's implementations.
std::span<const Implementation> map_helpers();
std::span<const Implementation> ringbuf_helpers();
std::span<const Implementation> control_helpers();
std::span<const Implementation> memory_helpers();
std::span<const Implementation> string_helpers();
std::span<const Implementation> format_helpers();
std::span<const Implementation> task_helpers();
std::span<const Implementation> xdp_helpers();

template <class T = void>
T* ptr(uint64_t value) {
  return reinterpret_cast<T*>(value);
}

/// A `long` result (0, a count or a negative errno, as the maps module returns) as a helper's
/// u64 return value, sign-extended as Linux's BPF_CALL returns a long.
inline uint64_t from_long(long value) {
  return static_cast<uint64_t>(value);
}

/// Linux's `return -err;` as a helper's return value: neg_errno(EINVAL) is -EINVAL.
inline uint64_t neg_errno(int err) {
  return static_cast<uint64_t>(-static_cast<int64_t>(err));
}

// --- Checked mode: arguments are validated before use; all of these pass in unchecked mode.

/// Refuses the call: ctx->fault becomes "<helper name>: <message>", and the run stops with a
/// RuntimeFault at the call. Returns false, for `return refuse(...)` in checks.
bool refuse(vm::RunContext* ctx, uint32_t helper, std::string message);

/// Whether argument r`arg` = `addr` points to `size` readable (writable) bytes of the run's
/// memory; refuses when not. Size 0 needs no memory (ARG_CONST_SIZE_OR_ZERO allows null).
bool readable(vm::RunContext* ctx, uint32_t helper, int arg, uint64_t addr, uint64_t size);
bool writable(vm::RunContext* ctx, uint32_t helper, int arg, uint64_t addr, uint64_t size);

/// The length (without its NUL) of the string argument r`arg` = `addr`. Checked mode refuses
/// a string whose NUL is not inside the run's readable memory (ARG_PTR_TO_CONST_STR).
std::optional<size_t> const_string(vm::RunContext* ctx, uint32_t helper, int arg, uint64_t addr);

/// The map in argument r`arg`, or null after refusing: in checked mode only the maps the
/// program was linked with and inner maps it looked up. A per-CPU map also needs the run's
/// execution slot to be one of the map's.
maps::Map* map_arg(vm::RunContext* ctx, uint32_t helper, int arg, uint64_t value);

/// What a map lookup returns to the program: in checked mode, the value (read-only for a map
/// with BPF_F_RDONLY_PROG) or an inner map becomes something the run may use.
uint64_t hand_out(vm::RunContext* ctx, const maps::Map& map, void* value);

/// Checked mode: records something the run now holds (a ring buffer record, a spin lock) so
/// that the end of the run releases it if the program does not. False when the run already
/// holds as many things as it can track.
bool hold(vm::RunContext* ctx, uint64_t begin, uint64_t size, vm::DynamicKind kind);

// --- Reads that fail instead of faulting.

/// Copies `size` bytes from any address of this process; false when some byte is unreadable
/// (then `dst` is partly written).
bool safe_read(void* dst, uint64_t src, size_t size);

/// Linux's strncpy_from_user_nofault: copies the string at `src` into `dst`, at most `size`
/// bytes including a NUL that always ends it; returns that count (`size` when the string was
/// cut), or -EFAULT when a byte before the end is unreadable.
long safe_read_str(char* dst, uint64_t src, size_t size);

}  // namespace pollen::helpers::detail

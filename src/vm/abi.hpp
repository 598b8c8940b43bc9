// SPDX-License-Identifier: MIT
// The runtime ABI shared by the interpreter, the JIT and the helpers: the helper signature
// (five u64 arguments, as Linux's BPF_CALL_5), the helper table indexed by Linux helper ID,
// the per-run context handed to helpers (with the memory a checked run may touch), stack sizes
// and call-frame limits.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pollen::vm {

/// Linux's MAX_BPF_STACK: each function gets its own frame of this many bytes.
inline constexpr size_t kStackSize = 512;
/// Linux's MAX_CALL_FRAMES: the main function plus up to 7 nested local calls.
inline constexpr size_t kMaxCallFrames = 8;
/// Helper ids at or above this are unknown; Linux's helpers end well below it (__BPF_FUNC_MAX_ID
/// is 212 in Linux 6.8).
inline constexpr size_t kMaxHelperId = 256;

/// A memory region an unverified program may access in checked mode.
struct Region {
  uint64_t begin = 0;
  uint64_t size = 0;
  bool writable = false;
  std::string_view name = "memory";  ///< how fault messages call it ("packet", "context", ...)

  /// True when [addr, addr + len) lies inside the region; written so that no sum can overflow.
  bool contains(uint64_t addr, uint64_t len) const {
    return addr >= begin && addr - begin <= size && len <= size - (addr - begin);
  }
};

/// What a helper sees of the run that called it.
struct RunContext {
  void* env = nullptr;   ///< RunOptions::env: the runtime's or hook's state (maps, ...)
  uint32_t slot = 0;     ///< RunOptions::slot: the execution slot (Pollen's "CPU number")
  bool checked = false;  ///< the run is in checked mode: helpers must validate pointers too
  std::span<const Region> regions;  ///< checked mode: the run's regions (stack not included)
  uint64_t stack_begin = 0;  ///< checked mode: the live stack frames are [stack_begin, stack_end)
  uint64_t stack_end = 0;
  /// A helper that refuses its arguments (checked mode: a pointer outside the run's memory)
  /// sets this; the run then stops with a RuntimeFault at the call that says it.
  std::string fault;

  /// Whether a checked run may access [addr, addr + len): inside the live stack frames, or
  /// inside a region (writable, when `write`). The interpreter's checked mode uses this too.
  bool allows(uint64_t addr, uint64_t len, bool write) const {
    // Unsigned wrap-around makes an address below stack_begin fail the first comparison.
    if (addr - stack_begin <= stack_end - stack_begin &&
        len <= stack_end - stack_begin - (addr - stack_begin))
      return true;
    for (const Region& r : regions)
      if (r.contains(addr, len) && (r.writable || !write)) return true;
    return false;
  }
};

using HelperFn = uint64_t (*)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                              RunContext* ctx);

/// Helpers by Linux helper ID; a null entry is an unknown helper.
struct HelperTable {
  std::array<HelperFn, kMaxHelperId> fn{};

  /// The helper with Linux id `id`, or null when there is none.
  HelperFn find(uint64_t id) const { return id < fn.size() ? fn[id] : nullptr; }
};

}  // namespace pollen::vm

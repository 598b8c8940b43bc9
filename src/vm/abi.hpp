// SPDX-License-Identifier: MIT
// The runtime ABI shared by the interpreter, the JIT and the helpers: the helper signature
// (five u64 arguments, as Linux's BPF_CALL_5), the helper table indexed by Linux helper ID,
// the per-run context handed to helpers (the memory a checked run may touch, including what
// helpers hand out while it runs, and what the engine offers helpers: running a BPF callback
// for bpf_loop and bpf_for_each_map_elem, jumping for bpf_tail_call), stack sizes and
// call-frame limits.
#pragma once

#include <algorithm>
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
/// Linux's MAX_TAIL_CALL_CNT: a run may make this many tail calls; the next one fails.
inline constexpr uint32_t kMaxTailCalls = 33;

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

/// What a dynamic entry of a checked run is: in Linux, the verifier knows these as the types
/// of the registers helpers return; checked mode tracks them while the program runs.
enum class DynamicKind : uint8_t {
  MapValue,          ///< a value a map lookup returned (PTR_TO_MAP_VALUE): writable
  ReadOnlyMapValue,  ///< the same, of a map with BPF_F_RDONLY_PROG
  MapKey,            ///< the key a bpf_for_each_map_elem callback gets (PTR_TO_MAP_KEY)
  RingbufRecord,     ///< a reserved ring buffer record (MEM_RINGBUF), until submit or discard
  SpinLock,          ///< a bpf_spin_lock the run holds; no memory access through it
  Map,               ///< an inner map a map-in-map lookup returned (CONST_PTR_TO_MAP)
};

/// One thing a checked run got from a helper: [begin, begin + size) and what it is.
struct DynamicEntry {
  uint64_t begin;
  uint64_t size;
  DynamicKind kind;

  bool is_memory() const { return kind <= DynamicKind::RingbufRecord; }
  bool writable() const {
    return kind == DynamicKind::MapValue || kind == DynamicKind::RingbufRecord;
  }
  /// The entry as a Region, named for fault messages.
  Region region() const {
    constexpr std::string_view kNames[] = {"map value",          "read-only map value", "map key",
                                           "ring buffer record", "bpf_spin_lock",       "map"};
    return {begin, size, writable(), kNames[static_cast<size_t>(kind)]};
  }
};

/// What helpers handed a checked run while it runs: the memory of looked-up map values and
/// reserved ring buffer records, the spin lock it holds, inner maps. Bounded, so that a run
/// never allocates: when full, the oldest entry that holds nothing (a map value, a key, an
/// inner map; never a record or a lock) is forgotten, so an unverified program that keeps more
/// than kCapacity map values in use may see the oldest refused, and is never allowed more.
class DynamicRegions {
 public:
  static constexpr size_t kCapacity = 64;

  /// Adds an entry unless the same one is there; false when every entry holds a record or a
  /// lock, so nothing can be forgotten.
  bool add(uint64_t begin, uint64_t size, DynamicKind kind) {
    if (contains(begin, kind)) return true;
    if (count_ == kCapacity) {
      auto* it = std::find_if(entries_.begin(), entries_.end(), [](const DynamicEntry& e) {
        return e.kind != DynamicKind::RingbufRecord && e.kind != DynamicKind::SpinLock;
      });
      if (it == entries_.end()) return false;
      erase(static_cast<size_t>(it - entries_.begin()));
    }
    entries_[count_++] = {begin, size, kind};
    return true;
  }
  /// Removes the entry for `begin` of `kind`; false when there is none.
  bool remove(uint64_t begin, DynamicKind kind) {
    for (size_t i = 0; i < count_; ++i) {
      if (entries_[i].begin == begin && entries_[i].kind == kind) {
        erase(i);
        return true;
      }
    }
    return false;
  }
  bool contains(uint64_t begin, DynamicKind kind) const {
    return std::any_of(entries().begin(), entries().end(),
                       [&](const DynamicEntry& e) { return e.begin == begin && e.kind == kind; });
  }
  /// Whether [addr, addr + len) lies inside one memory entry (a writable one, when `write`);
  /// the newest entries, the likeliest, are tried first.
  bool allows(uint64_t addr, uint64_t len, bool write) const {
    for (size_t i = count_; i-- > 0;) {
      const DynamicEntry& e = entries_[i];
      if (e.is_memory() && e.region().contains(addr, len) && (e.writable() || !write)) return true;
    }
    return false;
  }
  /// Oldest first.
  std::span<const DynamicEntry> entries() const { return {entries_.data(), count_}; }
  /// Forgets every entry (an engine reusing its RunContext for the next run).
  void clear() { count_ = 0; }

 private:
  void erase(size_t i) {
    std::copy(entries_.begin() + i + 1, entries_.begin() + count_, entries_.begin() + i);
    --count_;
  }
  // Not initialized: a run starts with none, and zeroing 64 entries would cost every run.
  std::array<DynamicEntry, kCapacity> entries_;
  uint32_t count_ = 0;
};

/// Where bpf_trace_printk's messages go (Linux: the trace pipe): `write` receives each message
/// as the program formatted it. Without `write`, messages go to stderr.
struct TraceSink {
  void (*write)(void* arg, std::string_view message) = nullptr;
  void* arg = nullptr;
};

struct RunContext;

/// An engine's way of running BPF function `fn` of the running program (the value an lddw with
/// BPF_PSEUDO_FUNC loaded) with r1..r5 = `args` in a new frame, to its exit, leaving its r0 in
/// `r0`. False when the run must stop: the callback faulted, or ctx.fault says why not.
using CallFunctionFn = bool (*)(RunContext& ctx, uint64_t fn, const std::array<uint64_t, 5>& args,
                                uint64_t& r0);

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

  /// Checked mode: the maps the program was linked with (the maps::Map addresses its lddw map
  /// instructions load). Map helpers accept no other map, besides inner maps in `dynamic`.
  std::span<const uint64_t> maps;
  /// Checked mode: what helpers handed out during this run; allows() accepts its memory.
  DynamicRegions dynamic;
  /// Checked mode: set by a helper that left a record or a lock in `dynamic`. The engine calls
  /// it when the run ends, so that a program that forgets to release one (which Linux's
  /// verifier would have refused) cannot block later runs.
  void (*release)(RunContext& ctx) = nullptr;
  TraceSink trace;  ///< RunOptions::trace: where bpf_trace_printk writes

  // What the engine offers helpers.
  CallFunctionFn call_fn = nullptr;   ///< runs callbacks; null when the engine cannot
  void* engine = nullptr;             ///< the engine's own run state, for call_fn
  bool tail_calls_supported = false;  ///< the engine jumps where `tail_call` says
  /// bpf_tail_call: the program to continue with (what a PROG_ARRAY slot holds), set by the
  /// helper; the engine jumps there once the helper returns.
  const void* tail_call = nullptr;
  uint32_t tail_call_count = 0;  ///< tail calls this run has made (Linux's tail_call_cnt)

  /// Whether a checked run may access [addr, addr + len): inside the live stack frames, a
  /// region or a dynamic entry (writable, when `write`). The interpreter's checked mode uses
  /// this too.
  bool allows(uint64_t addr, uint64_t len, bool write) const {
    // Unsigned wrap-around makes an address below stack_begin fail the first comparison.
    if (addr - stack_begin <= stack_end - stack_begin &&
        len <= stack_end - stack_begin - (addr - stack_begin))
      return true;
    for (const Region& r : regions)
      if (r.contains(addr, len) && (r.writable || !write)) return true;
    return dynamic.allows(addr, len, write);
  }

  /// Checked mode: whether `map` is one a helper may use (linked, or an inner map obtained).
  bool knows_map(uint64_t map) const {
    return std::find(maps.begin(), maps.end(), map) != maps.end() ||
           dynamic.contains(map, DynamicKind::Map);
  }

  /// Runs BPF function `fn` through the engine (see CallFunctionFn).
  bool call_function(uint64_t fn, const std::array<uint64_t, 5>& args, uint64_t& r0) {
    if (call_fn == nullptr) {
      fault = "BPF callbacks are not supported by this engine";
      return false;
    }
    return call_fn(*this, fn, args, r0);
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

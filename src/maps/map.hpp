// SPDX-License-Identifier: MIT
// The map interface every Pollen map type implements, with Linux's semantics: the MapDef a map is
// created from (Linux's BPF_MAP_CREATE attributes), the operations programs use through helpers
// (lookup returning a stable pointer, update, delete, push/pop/peek, for_each) and the operations
// the host uses like the bpf(2) syscall (copying lookups, updates of every per-CPU slot,
// get_next_key, batches). Hot-path operations return Linux's negative errno values as `long`,
// never a Result. Programs run inside an EpochGuard (epoch.hpp): that is what keeps a looked-up
// value at a stable address until the program ends, even if the element is deleted meanwhile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "pollen/result.hpp"

namespace pollen::maps {

/// Linux's enum bpf_map_type; the values are the kernel's, so a map read from an ELF object
/// needs no translation.
enum class MapType : uint32_t {
  Unspec,
  Hash,
  Array,
  ProgArray,
  PerfEventArray,
  PercpuHash,
  PercpuArray,
  StackTrace,
  CgroupArray,
  LruHash,
  LruPercpuHash,
  LpmTrie,
  ArrayOfMaps,
  HashOfMaps,
  Devmap,
  Sockmap,
  Cpumap,
  Xskmap,
  Sockhash,
  CgroupStorage,
  ReuseportSockarray,
  PercpuCgroupStorage,
  Queue,
  Stack,
  SkStorage,
  DevmapHash,
  StructOps,
  Ringbuf,
  InodeStorage,
  TaskStorage,
  BloomFilter,
  UserRingbuf,
};

/// The name bpftool prints for a map type ("lru_percpu_hash"), or "unknown".
const char* map_type_name(MapType type);

// Update flags of BPF_MAP_UPDATE_ELEM and bpf_map_update_elem (Linux's values).
inline constexpr uint64_t kBpfAny = 0;      ///< create or replace
inline constexpr uint64_t kBpfNoExist = 1;  ///< create only: -EEXIST if present
inline constexpr uint64_t kBpfExist = 2;    ///< replace only: -ENOENT if absent
inline constexpr uint64_t kBpfFLock = 4;    ///< copy the value under its bpf_spin_lock

// Creation flags (map_flags of BPF_MAP_CREATE, Linux's values).
inline constexpr uint32_t kBpfFNoPrealloc = 1u << 0;
inline constexpr uint32_t kBpfFNoCommonLru = 1u << 1;
inline constexpr uint32_t kBpfFNumaNode = 1u << 2;
inline constexpr uint32_t kBpfFRdonly = 1u << 3;
inline constexpr uint32_t kBpfFWronly = 1u << 4;
inline constexpr uint32_t kBpfFZeroSeed = 1u << 6;
inline constexpr uint32_t kBpfFRdonlyProg = 1u << 7;
inline constexpr uint32_t kBpfFWronlyProg = 1u << 8;
inline constexpr uint32_t kBpfFMmapable = 1u << 10;
inline constexpr uint32_t kBpfFPreserveElems = 1u << 11;
inline constexpr uint32_t kBpfFInnerMap = 1u << 12;
/// Linux's BPF_F_ACCESS_MASK: the flags that restrict who may read or write.
inline constexpr uint32_t kBpfFAccessMask =
    kBpfFRdonly | kBpfFWronly | kBpfFRdonlyProg | kBpfFWronlyProg;

/// Linux's ENOTSUPP (524): kernel-internal, yet the bpf syscall returns it to user space for
/// operations a map type does not implement (batches, ring buffer lookups), so Pollen does too.
inline constexpr long kEnotsupp = 524;

/// The most execution slots (Pollen's CPUs, DESIGN.md "Per-CPU semantics") a map accepts.
inline constexpr uint32_t kMaxSlots = 4096;

/// What a map is created from: Linux's BPF_MAP_CREATE attributes, as plain data.
struct MapDef {
  MapType type = MapType::Unspec;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t flags = 0;      ///< map_flags: kBpfF* creation flags
  uint64_t map_extra = 0;  ///< BLOOM_FILTER: low 4 bits = number of hash functions, 0 means 5
  /// Offset of the `struct bpf_spin_lock` in the value (from BTF), or -1 if the value has none.
  /// Updates never overwrite it, and BPF_F_LOCK copies hold it, as Linux does.
  int32_t spin_lock_off = -1;
  std::string name;
  /// ARRAY_OF_MAPS / HASH_OF_MAPS: the inner map template (Linux's inner_map_fd); every map
  /// stored must match it.
  std::shared_ptr<const MapDef> inner;
};

/// Rounds up to a multiple of 8, the stride of per-CPU values in syscall buffers.
constexpr uint32_t round_up8(uint32_t n) {
  return (n + 7u) & ~7u;
}

/// BPF_MAP_GET_NEXT_KEY of the array-like maps (Linux's array_map_get_next_key): the u32 index
/// after `key`, 0 for a null key or one past the end, -ENOENT after the last.
long array_next_key(uint32_t max_entries, const void* key, void* next_key);

/// A map callback for for_each: return 0 to continue, 1 to stop (bpf_for_each_map_elem).
using ForEachFn = long (*)(void* ctx, const void* key, void* value);

/// A map with Linux semantics. Program-side operations (lookup, update, erase, push, pop,
/// peek, for_each) must be called inside an EpochGuard, which the runtime holds around every
/// program run. Host-side operations (lookup_copy, update_host, ..., batches) take their own.
/// All are safe to call from any number of threads at once.
class Map {
 public:
  Map(const MapDef& def, uint32_t slots);
  virtual ~Map();
  Map(const Map&) = delete;
  Map& operator=(const Map&) = delete;

  const MapDef& def() const { return def_; }
  MapType type() const { return def_.type; }
  /// Number of execution slots; per-CPU maps keep one value per slot.
  uint32_t slots() const { return slots_; }
  bool percpu() const { return percpu_; }
  /// Bytes of one value in host buffers: value_size, or for per-CPU maps one value per slot,
  /// each rounded up to 8 bytes (Linux's bpf_map_lookup_elem layout).
  uint32_t host_value_size() const;

  // --- Program side (bpf_map_* helpers). Caller is inside an EpochGuard. ---

  /// bpf_map_lookup_elem: the value (this slot's, for per-CPU maps) or nullptr. The pointer
  /// stays valid until the caller's EpochGuard ends, even if the element is deleted.
  virtual void* lookup(const void* key, uint32_t slot);
  /// bpf_map_update_elem: 0 or -EINVAL/-EEXIST/-ENOENT/-E2BIG/-ENOMEM. Per-CPU maps write
  /// only this slot's value; a new per-CPU element starts zeroed in the other slots.
  virtual long update(const void* key, const void* value, uint64_t flags, uint32_t slot);
  /// bpf_map_delete_elem (also the host's BPF_MAP_DELETE_ELEM).
  virtual long erase(const void* key);
  /// bpf_map_push_elem / pop / peek (QUEUE, STACK; BLOOM_FILTER push and peek).
  virtual long push(const void* value, uint64_t flags);
  virtual long pop(void* value);
  virtual long peek(void* value);
  /// bpf_for_each_map_elem: calls fn for each element (this slot's value) until it returns
  /// nonzero; returns the number of elements visited, or a negative errno.
  virtual long for_each(ForEachFn fn, void* ctx, uint32_t slot);
  /// bpf_redirect_map's lookup (Linux's map_redirect callbacks): what the map holds for
  /// `key` as a redirect target, as a non-negative number (DEVMAP and DEVMAP_HASH: the
  /// ifindex; CPUMAP: the CPU, i.e. the key), -ENOENT when the key has no target, -EINVAL for
  /// map types that are no redirect targets.
  virtual long redirect_target(uint32_t key);

  // --- Host side (the bpf(2) syscall's map commands). ---

  /// BPF_MAP_LOOKUP_ELEM: copies the value (every slot's, for per-CPU maps) into `value`.
  /// flags: 0 or kBpfFLock. For BLOOM_FILTER, `value` is the input to test (Linux's peek).
  long lookup_copy(const void* key, void* value, uint64_t flags = 0);
  /// BPF_MAP_UPDATE_ELEM: `value` holds host_value_size() bytes.
  long update_host(const void* key, const void* value, uint64_t flags = kBpfAny);
  /// BPF_MAP_LOOKUP_AND_DELETE_ELEM (hash maps; QUEUE/STACK pop with a null key).
  long lookup_and_delete(const void* key, void* value, uint64_t flags = 0);
  /// BPF_MAP_GET_NEXT_KEY: the key after `key` (or the first if `key` is null); -ENOENT at
  /// the end.
  long get_next_key(const void* key, void* next_key);

  /// BPF_MAP_LOOKUP_BATCH: up to *count elements after the opaque `in_batch` (null: from the
  /// start) into keys/values; *count becomes the number copied and `out_batch` (key_size
  /// bytes) the position to pass as in_batch next. Returns -ENOENT once the map is exhausted.
  long lookup_batch(const void* in_batch, void* out_batch, void* keys, void* values,
                    uint32_t* count, uint64_t elem_flags = 0);
  /// BPF_MAP_LOOKUP_AND_DELETE_BATCH: as lookup_batch, deleting what it returns.
  long lookup_and_delete_batch(const void* in_batch, void* out_batch, void* keys, void* values,
                               uint32_t* count, uint64_t elem_flags = 0);
  /// BPF_MAP_UPDATE_BATCH: *count key/value pairs; stops at the first error, *count = done.
  long update_batch(const void* keys, const void* values, uint32_t* count,
                    uint64_t elem_flags = kBpfAny);
  /// BPF_MAP_DELETE_BATCH: *count keys; stops at the first error, *count = done.
  long delete_batch(const void* keys, uint32_t* count, uint64_t elem_flags = 0);

 protected:
  /// Which batch commands a map type has; Linux answers -ENOTSUPP for the others.
  enum class BatchOp : uint8_t { Lookup, LookupAndDelete, Update, Delete };
  virtual bool supports_batch(BatchOp op) const;

  // Host operations, called inside an EpochGuard with flags already checked where common.
  virtual long do_lookup_copy(const void* key, void* value, uint64_t flags);
  virtual long do_update_host(const void* key, const void* value, uint64_t flags);
  virtual long do_lookup_and_delete(const void* key, void* value, uint64_t flags);
  virtual long do_get_next_key(const void* key, void* next_key);

  /// Reads one value into a caller's buffer: value_size bytes, bpf_spin_lock field zeroed.
  void read_value(void* dst, const void* value) const;
  /// Writes one value from a caller's buffer, leaving the bpf_spin_lock field untouched.
  void write_value(void* value, const void* src) const;
  /// read_value/write_value while holding the value's bpf_spin_lock (BPF_F_LOCK).
  void read_value_locked(void* dst, void* value) const;
  void write_value_locked(void* value, const void* src) const;
  /// -EINVAL unless (flags & ~F_LOCK) <= BPF_EXIST and F_LOCK is only used with a spin lock:
  /// the first checks of every Linux update_elem.
  long check_update_flags(uint64_t flags) const;
  /// -EINVAL unless flags is 0 or BPF_F_LOCK on a value with a spin lock (lookups, batches).
  long check_lookup_flags(uint64_t flags) const;

  const MapDef def_;
  const uint32_t slots_;
  const bool percpu_;

 private:
  long run_lookup_batch(const void* in_batch, void* out_batch, void* keys, void* values,
                        uint32_t* count, uint64_t elem_flags, bool and_delete);
};

/// Checks a MapDef like Linux's map_alloc_check for its type; the message names the field.
Result<void> check_map_def(const MapDef& def);

/// Creates a map of def.type after check_map_def; `slots` is the number of execution slots
/// (the per-CPU count). Unsupported types fail with Errc::NotSupported naming the type.
Result<std::shared_ptr<Map>> create_map(const MapDef& def, uint32_t slots);

/// A per-map hash seed: random, or 0 with BPF_F_ZERO_SEED (Linux's testing aid).
uint64_t make_hash_seed(uint32_t map_flags);

}  // namespace pollen::maps

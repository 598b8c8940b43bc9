// SPDX-License-Identifier: MIT
// The keyless maps, used through push, pop and peek rather than keys. BPF_MAP_TYPE_QUEUE (FIFO)
// and BPF_MAP_TYPE_STACK (LIFO) hold up to max_entries values; values are copied in and out, so
// no pointer into the map escapes and a MapLock around each operation is all the concurrency
// needed (Linux uses a raw spinlock too). BPF_MAP_TYPE_BLOOM_FILTER is a probabilistic set:
// push adds a value, peek answers 0 if it may have been added and -ENOENT if it certainly was
// not; there are no false negatives and nothing can be removed. Its bits are set with atomic OR,
// so it takes no lock. From the host, lookup is peek, update is push and lookup_and_delete is
// pop, as in Linux's syscall.
#pragma once

#include <atomic>
#include <memory>

#include "maps/map.hpp"
#include "maps/map_lock.hpp"

namespace pollen::maps {

/// QUEUE (FIFO) and STACK (LIFO).
class QueueStackMap final : public Map {
 public:
  QueueStackMap(const MapDef& def, uint32_t slots);

  /// Adds a value; -E2BIG when full unless flags is BPF_EXIST, which drops the oldest value
  /// to make room. Flags other than BPF_ANY and BPF_EXIST give -EINVAL.
  long push(const void* value, uint64_t flags) override;
  /// Removes the oldest (queue) or newest (stack) value into `value`; -ENOENT when empty.
  long pop(void* value) override;
  /// Copies the value pop would return without removing it.
  long peek(void* value) override;

  /// Number of values held.
  uint32_t size();

 protected:
  long do_lookup_copy(const void* key, void* value, uint64_t flags) override;
  long do_update_host(const void* key, const void* value, uint64_t flags) override;
  long do_lookup_and_delete(const void* key, void* value, uint64_t flags) override;
  long do_get_next_key(const void* key, void* next_key) override;

 private:
  long take(void* value, bool remove);
  unsigned char* at(uint32_t index) { return storage_.get() + size_t{index} * def_.value_size; }

  const bool lifo_;
  std::unique_ptr<unsigned char[]> storage_;
  uint32_t oldest_ = 0;  // index of the oldest value
  uint32_t count_ = 0;
  MapLock lock_;
};

/// BLOOM_FILTER. The number of hash functions comes from map_extra (0 means 5) and the bit
/// array is sized from max_entries as Linux sizes it.
class BloomFilter final : public Map {
 public:
  BloomFilter(const MapDef& def, uint32_t slots);

  /// Adds `value`; flags must be BPF_ANY.
  long push(const void* value, uint64_t flags) override;
  /// 0 if `value` may be in the set, -ENOENT if it is not.
  long peek(void* value) override;
  /// Bloom filters cannot pop or delete (Linux: -EOPNOTSUPP).
  long pop(void* value) override;
  long erase(const void* key) override;

  uint32_t hash_count() const { return hash_count_; }
  /// Size of the bit array in bits.
  uint64_t bit_count() const { return mask_ + 1; }

 protected:
  long do_lookup_copy(const void* key, void* value, uint64_t flags) override;
  long do_update_host(const void* key, const void* value, uint64_t flags) override;
  long do_get_next_key(const void* key, void* next_key) override;

 private:
  uint64_t bit_index(const void* value, uint32_t i) const;

  const uint32_t hash_count_;
  const uint64_t mask_;
  const uint64_t seed_;
  std::unique_ptr<std::atomic<uint64_t>[]> bits_;
};

}  // namespace pollen::maps

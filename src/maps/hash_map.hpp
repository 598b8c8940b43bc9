// SPDX-License-Identifier: MIT
// BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH: a chained hash table whose
// lookups take no lock. Each element is one node holding key and value; writers link and unlink
// nodes under a lock and retire removed nodes to the epoch domain, so a value pointer a program
// got from lookup stays valid until its EpochGuard ends. As in Linux, replacing an element of a
// plain hash publishes a new node (a reader sees the old or the new value, never a mix), while
// per-CPU values are written in place. Plain and per-CPU hashes lock per bucket; LRU hashes use
// one table lock, which also guards the LRU list (Linux's common LRU list has one lock too).
#pragma once

#include <atomic>
#include <memory>

#include "maps/map.hpp"
#include "maps/map_lock.hpp"

namespace pollen::maps {

class HashMap : public Map {
 public:
  /// `stored_value_size` overrides the bytes kept per value (HashOfMaps keeps a pointer where
  /// the host sees a u32); 0 means def.value_size.
  HashMap(const MapDef& def, uint32_t slots, uint32_t stored_value_size = 0);
  ~HashMap() override;

  void* lookup(const void* key, uint32_t slot) override;
  long update(const void* key, const void* value, uint64_t flags, uint32_t slot) override;
  long erase(const void* key) override;
  long for_each(ForEachFn fn, void* ctx, uint32_t slot) override;

  /// Number of elements.
  uint32_t size() const { return count_.load(std::memory_order_relaxed); }

 protected:
  bool supports_batch(BatchOp op) const override;
  long do_lookup_copy(const void* key, void* value, uint64_t flags) override;
  long do_update_host(const void* key, const void* value, uint64_t flags) override;
  long do_lookup_and_delete(const void* key, void* value, uint64_t flags) override;
  long do_get_next_key(const void* key, void* next_key) override;

  /// Called under the table lock for each value leaving the table (erase, replacement,
  /// eviction). The value stays readable until the epoch reclaims its node.
  virtual void release_value(void* value);
  /// The stored value for `key`, without marking LRU use; nullptr if absent. Caller is inside
  /// an EpochGuard.
  void* find(const void* key) const;

 private:
  struct Node;
  struct Bucket;
  struct Found {
    std::atomic<Node*>* link;  // the pointer that points at node (or the chain's end)
    Node* node;
  };
  // Passed as `slot` when the host writes every slot's value at once.
  static constexpr uint32_t kAllSlots = ~0u;

  uint64_t hash_key(const void* key) const;
  Bucket& bucket_for(uint64_t hash) const;
  MapLock& lock_for(Bucket& bucket);
  unsigned char* key_of(Node* node) const;
  unsigned char* value_of(Node* node) const;
  Node* find_node(const void* key, uint64_t hash) const;
  Found find_locked(Bucket& bucket, const void* key, uint64_t hash) const;
  long upsert(const void* key, const void* value, uint64_t flags, uint32_t slot);
  long upsert_locked(Bucket& bucket, const void* key, uint64_t hash, const void* value,
                     uint64_t flags, uint32_t slot, Node** retired);
  Node* new_node(const void* key, uint64_t hash, const void* value, uint32_t slot) const;
  void write_slots(Node* node, const void* value, uint32_t slot) const;
  void read_slots(void* dst, Node* node, uint64_t flags) const;
  long make_room(Node** evicted);
  void unlink_locked(const Found& found);
  void lru_push_front(Node* node);
  void lru_remove(Node* node);
  Node* lru_evict();

  const bool lru_;
  const uint32_t stored_value_size_;
  const uint32_t slot_stride_;  // bytes between per-CPU values of one element
  const size_t value_off_;      // node start to value
  const size_t node_size_;
  const uint64_t seed_;
  const size_t mask_;  // bucket count - 1
  std::unique_ptr<Bucket[]> buckets_;
  std::atomic<uint32_t> count_{0};
  MapLock table_lock_;        // LRU maps: guards every bucket and the LRU list
  Node* lru_head_ = nullptr;  // most recently inserted
  Node* lru_tail_ = nullptr;  // eviction candidate
};

}  // namespace pollen::maps

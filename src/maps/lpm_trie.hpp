// SPDX-License-Identifier: MIT
// BPF_MAP_TYPE_LPM_TRIE: longest-prefix match over keys laid out as Linux's
// `struct bpf_lpm_trie_key_u8 { u32 prefixlen; u8 data[]; }`, data in network byte order (the
// first byte holds the most significant bits). Like Linux it is a binary patricia trie whose
// nodes are either entries or intermediate nodes that only join two subtrees. Lookups walk it
// without a lock; updates and deletes run under one lock and publish whole nodes, retiring the
// ones they replace to the epoch domain. get_next_key walks in Linux's documented order, a
// postorder traversal: more specific prefixes come before the prefixes that contain them.
#pragma once

#include <atomic>

#include "maps/map.hpp"
#include "maps/map_lock.hpp"

namespace pollen::maps {

class LpmTrie final : public Map {
 public:
  LpmTrie(const MapDef& def, uint32_t slots);
  ~LpmTrie() override;

  /// The value of the longest stored prefix matching the first key.prefixlen bits of the key.
  void* lookup(const void* key, uint32_t slot) override;
  /// Adds or replaces the exact prefix; -ENOSPC when full (Linux's answer for tries).
  long update(const void* key, const void* value, uint64_t flags, uint32_t slot) override;
  /// Removes the exact prefix; -ENOENT if it is not stored.
  long erase(const void* key) override;

  /// Number of entries (intermediate nodes not counted).
  uint32_t size() const { return count_.load(std::memory_order_relaxed); }

 protected:
  bool supports_batch(BatchOp op) const override;
  long do_lookup_copy(const void* key, void* value, uint64_t flags) override;
  long do_get_next_key(const void* key, void* next_key) override;

 private:
  struct Node;
  struct Key {
    uint32_t prefixlen;
    const unsigned char* data;
  };

  Key parse_key(const void* key) const;
  uint32_t match_len(const Node* node, Key key) const;
  Node* new_node(Key key, uint32_t prefixlen, const void* value) const;
  Node* find_longest(Key key) const;
  long insert_locked(Key key, const void* value, uint64_t flags, Node** retired);
  bool link_entry(std::atomic<Node*>* slot, Node* node, Node* entry, uint32_t matchlen);
  long erase_locked(Key key, Node** retired1, Node** retired2);
  long copy_key(const Node* node, void* next_key) const;
  long leftmost(const Node* root, void* next_key) const;
  unsigned char* value_of(Node* node) const;

  const uint32_t data_size_;      // key_size - 4
  const uint32_t max_prefixlen_;  // data_size_ * 8
  const size_t value_off_;
  const size_t node_size_;
  std::atomic<Node*> root_{nullptr};
  std::atomic<uint32_t> count_{0};
  MapLock lock_;
};

}  // namespace pollen::maps

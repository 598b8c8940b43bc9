// SPDX-License-Identifier: MIT
// The hash map family, following Linux's hashtab.c: the update flag checks (check_flags),
// -E2BIG when a new element would exceed max_entries, in-place BPF_F_LOCK updates, per-CPU
// values written in place and zeroed in the other slots of a new element, LRU maps evicting
// instead of failing, and get_next_key walking buckets in order and restarting from the first
// element when the given key is absent.
#include "maps/hash_map.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>

#include "maps/epoch.hpp"
#include "maps/hash.hpp"

namespace pollen::maps {
namespace {

// Linux sizes the bucket array to max_entries rounded up to a power of two; beyond a million
// buckets Pollen lets chains grow instead, so a huge max_entries costs no memory up front.
constexpr size_t kMaxBuckets = size_t{1} << 20;

size_t bucket_count(uint32_t max_entries) {
  return std::min(std::bit_ceil(size_t{max_entries}), kMaxBuckets);
}

// Nodes are raw allocations holding a header, the key and the value(s); the header is trivially
// destructible.
void free_node(void* node) {
  ::operator delete(node);
}

}  // namespace

struct HashMap::Node {
  std::atomic<Node*> next{nullptr};
  Node* lru_prev = nullptr;  // LRU list, guarded by table_lock_
  Node* lru_next = nullptr;
  uint64_t hash = 0;
  // Linux's LRU "ref" bit: set by program lookups, gives the element a second chance.
  std::atomic<bool> referenced{false};
};

struct HashMap::Bucket {
  std::atomic<Node*> head{nullptr};
  MapLock lock;
};

HashMap::HashMap(const MapDef& def, uint32_t slots, uint32_t stored_value_size)
    : Map(def, slots),
      lru_(def.type == MapType::LruHash || def.type == MapType::LruPercpuHash),
      stored_value_size_(stored_value_size != 0 ? stored_value_size : def.value_size),
      slot_stride_(round_up8(stored_value_size_)),
      // The key starts right after the header (a multiple of 8 bytes, as Node holds pointers).
      value_off_(sizeof(Node) + round_up8(def.key_size)),
      node_size_(value_off_ + size_t{slot_stride_} * (percpu_ ? slots : 1)),
      seed_(make_hash_seed(def.flags)),
      mask_(bucket_count(def.max_entries) - 1),
      buckets_(new Bucket[mask_ + 1]) {}

HashMap::~HashMap() {
  for (size_t i = 0; i <= mask_; ++i) {
    for (Node* n = buckets_[i].head.load(std::memory_order_relaxed); n != nullptr;) {
      Node* next = n->next.load(std::memory_order_relaxed);
      free_node(n);
      n = next;
    }
  }
}

uint64_t HashMap::hash_key(const void* key) const {
  return hash_bytes(key, def_.key_size, seed_);
}

HashMap::Bucket& HashMap::bucket_for(uint64_t hash) const {
  return buckets_[hash & mask_];
}

MapLock& HashMap::lock_for(Bucket& bucket) {
  return lru_ ? table_lock_ : bucket.lock;
}

unsigned char* HashMap::key_of(Node* node) const {
  return reinterpret_cast<unsigned char*>(node) + sizeof(Node);
}

unsigned char* HashMap::value_of(Node* node) const {
  return reinterpret_cast<unsigned char*>(node) + value_off_;
}

// Lock-free: nodes are fully written before they are published with a release store, and a
// node unlinked meanwhile is still readable until the caller's epoch section ends.
HashMap::Node* HashMap::find_node(const void* key, uint64_t hash) const {
  for (Node* n = bucket_for(hash).head.load(std::memory_order_acquire); n != nullptr;
       n = n->next.load(std::memory_order_acquire)) {
    if (n->hash == hash && bytes_equal(key_of(n), key, def_.key_size)) return n;
  }
  return nullptr;
}

HashMap::Found HashMap::find_locked(Bucket& bucket, const void* key, uint64_t hash) const {
  std::atomic<Node*>* link = &bucket.head;
  for (Node* n = link->load(std::memory_order_relaxed); n != nullptr;
       link = &n->next, n = link->load(std::memory_order_relaxed)) {
    if (n->hash == hash && bytes_equal(key_of(n), key, def_.key_size)) return {link, n};
  }
  return {link, nullptr};
}

void* HashMap::find(const void* key) const {
  Node* n = find_node(key, hash_key(key));
  return n != nullptr ? value_of(n) : nullptr;
}

void* HashMap::lookup(const void* key, uint32_t slot) {
  Node* n = find_node(key, hash_key(key));
  if (n == nullptr) return nullptr;
  // Only write the bit when it changes, so hot elements do not bounce their cache line.
  if (lru_ && !n->referenced.load(std::memory_order_relaxed)) {
    n->referenced.store(true, std::memory_order_relaxed);
  }
  return value_of(n) + (percpu_ ? size_t{slot} * slot_stride_ : 0);
}

long HashMap::update(const void* key, const void* value, uint64_t flags, uint32_t slot) {
  return upsert(key, value, flags, slot);
}

long HashMap::do_update_host(const void* key, const void* value, uint64_t flags) {
  return upsert(key, value, flags, kAllSlots);
}

long HashMap::upsert(const void* key, const void* value, uint64_t flags, uint32_t slot) {
  if (long err = check_update_flags(flags)) return err;
  const uint64_t hash = hash_key(key);
  if ((flags & kBpfFLock) != 0) {
    // Linux copies into an existing element in place under its bpf_spin_lock; only a missing
    // element takes the normal insertion path below.
    if (Node* old = find_node(key, hash)) {
      if ((flags & ~kBpfFLock) == kBpfNoExist) return -EEXIST;
      write_value_locked(value_of(old), value);
      return 0;
    }
  }
  Bucket& bucket = bucket_for(hash);
  Node* retired = nullptr;
  long rc;
  {
    std::lock_guard guard(lock_for(bucket));
    rc = upsert_locked(bucket, key, hash, value, flags, slot, &retired);
  }
  if (retired != nullptr) Epoch::retire(retired, &free_node);
  return rc;
}

long HashMap::upsert_locked(Bucket& bucket, const void* key, uint64_t hash, const void* value,
                            uint64_t flags, uint32_t slot, Node** retired) {
  Found found = find_locked(bucket, key, hash);
  const uint64_t mode = flags & ~kBpfFLock;
  if (found.node != nullptr && mode == kBpfNoExist) return -EEXIST;
  if (found.node == nullptr && mode == kBpfExist) return -ENOENT;
  if (found.node != nullptr && percpu_) {
    write_slots(found.node, value, slot);
    if (lru_) found.node->referenced.store(true, std::memory_order_relaxed);
    return 0;
  }
  if (found.node == nullptr) {
    if (long err = make_room(retired)) return err;
  }
  Node* node = new_node(key, hash, value, slot);
  if (node == nullptr) {
    if (found.node == nullptr) count_.fetch_sub(1, std::memory_order_relaxed);
    return -ENOMEM;
  }
  if (found.node != nullptr) {
    node->next.store(found.node->next.load(std::memory_order_relaxed), std::memory_order_relaxed);
    found.link->store(node, std::memory_order_release);
    lru_remove(found.node);
    release_value(value_of(found.node));
    *retired = found.node;
  } else {
    // Eviction may have changed this very chain, so insert at its head, read afresh.
    node->next.store(bucket.head.load(std::memory_order_relaxed), std::memory_order_relaxed);
    bucket.head.store(node, std::memory_order_release);
  }
  lru_push_front(node);
  return 0;
}

// Reserves room for one more element: -E2BIG when full, except that LRU maps evict.
long HashMap::make_room(Node** evicted) {
  if (!lru_) {
    if (count_.fetch_add(1, std::memory_order_relaxed) >= def_.max_entries) {
      count_.fetch_sub(1, std::memory_order_relaxed);
      return -E2BIG;
    }
    return 0;
  }
  // LRU maps hold the table lock here, so the count is exact.
  if (count_.load(std::memory_order_relaxed) >= def_.max_entries) *evicted = lru_evict();
  count_.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

HashMap::Node* HashMap::new_node(const void* key, uint64_t hash, const void* value,
                                 uint32_t slot) const {
  void* memory = ::operator new(node_size_, std::nothrow);
  if (memory == nullptr) return nullptr;
  Node* node = new (memory) Node;
  node->hash = hash;
  std::memcpy(key_of(node), key, def_.key_size);
  unsigned char* v = value_of(node);
  std::memset(v, 0, node_size_ - value_off_);
  if (!percpu_) {
    // A new element's bpf_spin_lock starts unlocked whatever the caller passed.
    std::memcpy(v, value, stored_value_size_);
    if (def_.spin_lock_off >= 0) std::memset(v + def_.spin_lock_off, 0, 4);
  } else if (slot == kAllSlots) {
    for (uint32_t s = 0; s < slots_; ++s) {
      std::memcpy(v + size_t{s} * slot_stride_,
                  static_cast<const unsigned char*>(value) + size_t{s} * slot_stride_,
                  stored_value_size_);
    }
  } else {
    // Linux zeroes the other CPUs' values of an element a program creates.
    std::memcpy(v + size_t{slot} * slot_stride_, value, stored_value_size_);
  }
  return node;
}

void HashMap::write_slots(Node* node, const void* value, uint32_t slot) const {
  unsigned char* v = value_of(node);
  if (slot != kAllSlots) {
    write_value(v + size_t{slot} * slot_stride_, value);
    return;
  }
  for (uint32_t s = 0; s < slots_; ++s) {
    write_value(v + size_t{s} * slot_stride_,
                static_cast<const unsigned char*>(value) + size_t{s} * slot_stride_);
  }
}

void HashMap::read_slots(void* dst, Node* node, uint64_t flags) const {
  unsigned char* v = value_of(node);
  if (!percpu_) {
    if ((flags & kBpfFLock) != 0) {
      read_value_locked(dst, v);
    } else {
      read_value(dst, v);
    }
    return;
  }
  for (uint32_t s = 0; s < slots_; ++s) {
    auto* out = static_cast<unsigned char*>(dst) + size_t{s} * slot_stride_;
    read_value(out, v + size_t{s} * slot_stride_);
    std::memset(out + def_.value_size, 0, slot_stride_ - def_.value_size);
  }
}

void HashMap::unlink_locked(const Found& found) {
  found.link->store(found.node->next.load(std::memory_order_relaxed), std::memory_order_release);
  lru_remove(found.node);
  release_value(value_of(found.node));
  count_.fetch_sub(1, std::memory_order_relaxed);
}

long HashMap::erase(const void* key) {
  const uint64_t hash = hash_key(key);
  Bucket& bucket = bucket_for(hash);
  Node* removed;
  {
    std::lock_guard guard(lock_for(bucket));
    Found found = find_locked(bucket, key, hash);
    if (found.node == nullptr) return -ENOENT;
    unlink_locked(found);
    removed = found.node;
  }
  Epoch::retire(removed, &free_node);
  return 0;
}

long HashMap::do_lookup_copy(const void* key, void* value, uint64_t flags) {
  Node* n = find_node(key, hash_key(key));
  if (n == nullptr) return -ENOENT;
  // The host's lookup does not count as a use for LRU (Linux's *_lookup_elem_sys).
  read_slots(value, n, flags);
  return 0;
}

long HashMap::do_lookup_and_delete(const void* key, void* value, uint64_t flags) {
  const uint64_t hash = hash_key(key);
  Bucket& bucket = bucket_for(hash);
  Node* removed;
  {
    std::lock_guard guard(lock_for(bucket));
    Found found = find_locked(bucket, key, hash);
    if (found.node == nullptr) return -ENOENT;
    read_slots(value, found.node, flags);
    unlink_locked(found);
    removed = found.node;
  }
  Epoch::retire(removed, &free_node);
  return 0;
}

long HashMap::do_get_next_key(const void* key, void* next_key) {
  size_t first_bucket = 0;
  if (key != nullptr) {
    const uint64_t hash = hash_key(key);
    if (Node* n = find_node(key, hash)) {
      if (Node* next = n->next.load(std::memory_order_acquire)) {
        std::memcpy(next_key, key_of(next), def_.key_size);
        return 0;
      }
      first_bucket = (hash & mask_) + 1;
    }
  }
  for (size_t i = first_bucket; i <= mask_; ++i) {
    if (Node* n = buckets_[i].head.load(std::memory_order_acquire)) {
      std::memcpy(next_key, key_of(n), def_.key_size);
      return 0;
    }
  }
  return -ENOENT;
}

long HashMap::for_each(ForEachFn fn, void* ctx, uint32_t slot) {
  long visited = 0;
  const size_t offset = percpu_ ? size_t{slot} * slot_stride_ : 0;
  for (size_t i = 0; i <= mask_; ++i) {
    for (Node* n = buckets_[i].head.load(std::memory_order_acquire); n != nullptr;
         n = n->next.load(std::memory_order_acquire)) {
      ++visited;
      if (fn(ctx, key_of(n), value_of(n) + offset) != 0) return visited;
    }
  }
  return visited;
}

bool HashMap::supports_batch(BatchOp) const {
  return true;
}

void HashMap::release_value(void*) {}

void HashMap::lru_push_front(Node* node) {
  if (!lru_) return;
  node->lru_prev = nullptr;
  node->lru_next = lru_head_;
  if (lru_head_ != nullptr) lru_head_->lru_prev = node;
  lru_head_ = node;
  if (lru_tail_ == nullptr) lru_tail_ = node;
}

void HashMap::lru_remove(Node* node) {
  if (!lru_) return;
  (node->lru_prev != nullptr ? node->lru_prev->lru_next : lru_head_) = node->lru_next;
  (node->lru_next != nullptr ? node->lru_next->lru_prev : lru_tail_) = node->lru_prev;
}

// Removes the least recently used element and returns its node for retirement. Elements a
// program looked up since they last reached the tail get a second chance at the head, which is
// how Linux's list rotation treats referenced nodes.
HashMap::Node* HashMap::lru_evict() {
  Node* victim = lru_tail_;
  for (uint32_t budget = count_.load(std::memory_order_relaxed);
       victim != nullptr && budget > 0 && victim->referenced.load(std::memory_order_relaxed);
       --budget) {
    victim->referenced.store(false, std::memory_order_relaxed);
    lru_remove(victim);
    lru_push_front(victim);
    victim = lru_tail_;
  }
  if (victim == nullptr) return nullptr;
  Bucket& bucket = bucket_for(victim->hash);
  std::atomic<Node*>* link = &bucket.head;
  while (link->load(std::memory_order_relaxed) != victim) {
    link = &link->load(std::memory_order_relaxed)->next;
  }
  unlink_locked({link, victim});
  return victim;
}

}  // namespace pollen::maps

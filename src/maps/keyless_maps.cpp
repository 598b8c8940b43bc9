// SPDX-License-Identifier: MIT
// QUEUE, STACK and BLOOM_FILTER as Linux's queue_stack_maps.c and bloom_filter.c behave. The
// queue and stack are a circular buffer where a push with BPF_EXIST on a full map overwrites the
// oldest value (for stacks too), and there are no keys to delete or walk (-EINVAL). The bloom
// filter has max_entries * hashes / ln 2 bits (Linux approximates 1/ln 2 as 7/5), rounded up to
// a power of two of at least 64 and capped at 2^32; each of its k hash functions is the map's
// hash with its own seed.
#include "maps/keyless_maps.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "maps/hash.hpp"

namespace pollen::maps {

QueueStackMap::QueueStackMap(const MapDef& def, uint32_t slots)
    : Map(def, slots),
      lifo_(def.type == MapType::Stack),
      storage_(new unsigned char[size_t{def.max_entries} * def.value_size]) {}

long QueueStackMap::push(const void* value, uint64_t flags) {
  if ((flags & kBpfNoExist) != 0 || flags > kBpfExist) return -EINVAL;
  std::lock_guard guard(lock_);
  if (count_ == def_.max_entries) {
    if (flags != kBpfExist) return -E2BIG;
    oldest_ = (oldest_ + 1) % def_.max_entries;
    --count_;
  }
  std::memcpy(at((oldest_ + count_) % def_.max_entries), value, def_.value_size);
  ++count_;
  return 0;
}

long QueueStackMap::take(void* value, bool remove) {
  std::lock_guard guard(lock_);
  if (count_ == 0) return -ENOENT;
  const uint32_t index = lifo_ ? (oldest_ + count_ - 1) % def_.max_entries : oldest_;
  std::memcpy(value, at(index), def_.value_size);
  if (remove) {
    if (!lifo_) oldest_ = (oldest_ + 1) % def_.max_entries;
    --count_;
  }
  return 0;
}

long QueueStackMap::pop(void* value) {
  return take(value, true);
}

long QueueStackMap::peek(void* value) {
  return take(value, false);
}

uint32_t QueueStackMap::size() {
  std::lock_guard guard(lock_);
  return count_;
}

long QueueStackMap::do_lookup_copy(const void*, void* value, uint64_t) {
  return peek(value);
}

long QueueStackMap::do_update_host(const void*, const void* value, uint64_t flags) {
  return push(value, flags);
}

long QueueStackMap::do_lookup_and_delete(const void*, void* value, uint64_t) {
  return pop(value);
}

long QueueStackMap::do_get_next_key(const void*, void*) {
  return -EINVAL;
}

namespace {

constexpr uint32_t kDefaultHashCount = 5;
constexpr uint64_t kMaxBits = uint64_t{1} << 32;

uint64_t bit_array_size(uint32_t max_entries, uint32_t hashes) {
  const uint64_t wanted = uint64_t{max_entries} * hashes / 5 * 7;
  if (wanted > kMaxBits / 2) return kMaxBits;
  return std::max<uint64_t>(64, std::bit_ceil(wanted));
}

}  // namespace

BloomFilter::BloomFilter(const MapDef& def, uint32_t slots)
    : Map(def, slots),
      hash_count_((def.map_extra & 0xf) != 0 ? static_cast<uint32_t>(def.map_extra & 0xf)
                                             : kDefaultHashCount),
      mask_(bit_array_size(def.max_entries, hash_count_) - 1),
      seed_(make_hash_seed(def.flags)),
      bits_(new std::atomic<uint64_t>[(mask_ + 1) / 64]) {
  for (uint64_t i = 0; i < (mask_ + 1) / 64; ++i) bits_[i].store(0, std::memory_order_relaxed);
}

uint64_t BloomFilter::bit_index(const void* value, uint32_t i) const {
  return hash_bytes(value, def_.value_size, seed_ + i) & mask_;
}

long BloomFilter::push(const void* value, uint64_t flags) {
  if (flags != kBpfAny) return -EINVAL;
  for (uint32_t i = 0; i < hash_count_; ++i) {
    const uint64_t bit = bit_index(value, i);
    bits_[bit / 64].fetch_or(uint64_t{1} << (bit % 64), std::memory_order_relaxed);
  }
  return 0;
}

long BloomFilter::peek(void* value) {
  for (uint32_t i = 0; i < hash_count_; ++i) {
    const uint64_t bit = bit_index(value, i);
    if ((bits_[bit / 64].load(std::memory_order_relaxed) & (uint64_t{1} << (bit % 64))) == 0) {
      return -ENOENT;
    }
  }
  return 0;
}

long BloomFilter::pop(void*) {
  return -EOPNOTSUPP;
}

long BloomFilter::erase(const void*) {
  return -EOPNOTSUPP;
}

// The syscall's lookup passes the value to test in the value buffer (Linux's peek).
long BloomFilter::do_lookup_copy(const void*, void* value, uint64_t) {
  return peek(value);
}

long BloomFilter::do_update_host(const void*, const void* value, uint64_t flags) {
  return push(value, flags);
}

long BloomFilter::do_get_next_key(const void*, void*) {
  return -EOPNOTSUPP;
}

}  // namespace pollen::maps

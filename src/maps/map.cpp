// SPDX-License-Identifier: MIT
// What all maps share: the defaults Linux gives map types that lack an operation, the host
// entry points (flag checks common to every type, then the type's own code inside an
// EpochGuard), batch operations built on get_next_key and single-element operations (Linux's
// generic_map_*_batch), value copies that are safe against concurrent atomic updates, and the
// hash function.
#include "maps/map.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "maps/epoch.hpp"
#include "maps/map_lock.hpp"

namespace pollen::maps {
namespace {

// Map values live in 8-byte aligned storage padded to a multiple of 8 bytes, so they are
// copied in whole words. Programs on other threads may update the same value with atomic
// instructions at any time (Linux allows it), so the words are accessed atomically (relaxed):
// a plain memcpy would be a data race in C++ terms.
uint64_t load_word(const unsigned char* p) {
  auto* word = reinterpret_cast<uint64_t*>(const_cast<unsigned char*>(p));
  return std::atomic_ref<uint64_t>(*word).load(std::memory_order_relaxed);
}

void store_word(unsigned char* p, uint64_t value) {
  std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(p))
      .store(value, std::memory_order_relaxed);
}

void store_half(unsigned char* p, uint32_t value) {
  std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(p))
      .store(value, std::memory_order_relaxed);
}

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace

Map::Map(const MapDef& def, uint32_t slots)
    : def_(def),
      slots_(slots),
      percpu_(def.type == MapType::PercpuArray || def.type == MapType::PercpuHash ||
              def.type == MapType::LruPercpuHash) {}

Map::~Map() = default;

uint32_t Map::host_value_size() const {
  return percpu_ ? round_up8(def_.value_size) * slots_ : def_.value_size;
}

// Defaults: the operation does not exist for this map type. Program-side calls are already
// refused by the verifier in Linux, so -EINVAL is what a bad call gets.
void* Map::lookup(const void*, uint32_t) {
  return nullptr;
}
long Map::update(const void*, const void*, uint64_t, uint32_t) {
  return -EINVAL;
}
long Map::erase(const void*) {
  return -EINVAL;
}
long Map::push(const void*, uint64_t) {
  return -EINVAL;
}
long Map::pop(void*) {
  return -EINVAL;
}
long Map::peek(void*) {
  return -EINVAL;
}
long Map::for_each(ForEachFn, void*, uint32_t) {
  return -EINVAL;
}
long Map::redirect_target(uint32_t) {
  return -EINVAL;
}
bool Map::supports_batch(BatchOp) const {
  return false;
}
long Map::do_lookup_copy(const void*, void*, uint64_t) {
  return -kEnotsupp;
}
long Map::do_update_host(const void* key, const void* value, uint64_t flags) {
  return update(key, value, flags, 0);
}
long Map::do_lookup_and_delete(const void*, void*, uint64_t) {
  return -kEnotsupp;
}
long array_next_key(uint32_t max_entries, const void* key, void* next_key) {
  uint32_t index = max_entries;
  if (key != nullptr) std::memcpy(&index, key, sizeof index);
  uint32_t next = 0;
  if (index < max_entries) {
    if (index == max_entries - 1) return -ENOENT;
    next = index + 1;
  }
  std::memcpy(next_key, &next, sizeof next);
  return 0;
}

long Map::do_get_next_key(const void*, void*) {
  return -kEnotsupp;
}

long Map::lookup_copy(const void* key, void* value, uint64_t flags) {
  if (long err = check_lookup_flags(flags)) return err;
  EpochGuard guard;
  return do_lookup_copy(key, value, flags);
}

long Map::update_host(const void* key, const void* value, uint64_t flags) {
  EpochGuard guard;
  return do_update_host(key, value, flags);
}

long Map::lookup_and_delete(const void* key, void* value, uint64_t flags) {
  if (long err = check_lookup_flags(flags)) return err;
  EpochGuard guard;
  return do_lookup_and_delete(key, value, flags);
}

long Map::get_next_key(const void* key, void* next_key) {
  EpochGuard guard;
  return do_get_next_key(key, next_key);
}

// Linux's map_lookup_elem: only BPF_F_LOCK, and only on values with a bpf_spin_lock.
long Map::check_lookup_flags(uint64_t flags) const {
  if ((flags & ~kBpfFLock) != 0) return -EINVAL;
  if ((flags & kBpfFLock) != 0 && def_.spin_lock_off < 0) return -EINVAL;
  return 0;
}

long Map::check_update_flags(uint64_t flags) const {
  if ((flags & ~kBpfFLock) > kBpfExist) return -EINVAL;
  if ((flags & kBpfFLock) != 0 && def_.spin_lock_off < 0) return -EINVAL;
  return 0;
}

void Map::read_value(void* dst, const void* value) const {
  auto* out = static_cast<unsigned char*>(dst);
  auto* in = static_cast<const unsigned char*>(value);
  const uint32_t size = def_.value_size;
  for (uint32_t off = 0; off < size; off += 8) {
    uint64_t word = load_word(in + off);
    std::memcpy(out + off, &word, std::min<uint32_t>(8, size - off));
  }
  // Linux hands out special fields zeroed (check_and_init_map_value).
  if (def_.spin_lock_off >= 0) std::memset(out + def_.spin_lock_off, 0, 4);
}

void Map::write_value(void* value, const void* src) const {
  auto* out = static_cast<unsigned char*>(value);
  auto* in = static_cast<const unsigned char*>(src);
  const uint32_t size = def_.value_size;
  const int32_t lock = def_.spin_lock_off;
  for (uint32_t off = 0; off < size; off += 8) {
    if (lock >= 0 && static_cast<uint32_t>(lock) / 8 == off / 8) {
      // Linux's copy_map_value skips the bpf_spin_lock: write only the other half-word.
      uint32_t other = static_cast<uint32_t>(lock) % 8 == 0 ? off + 4 : off;
      if (other >= size) continue;
      uint32_t half = 0;
      std::memcpy(&half, in + other, std::min<uint32_t>(4, size - other));
      store_half(out + other, half);
      continue;
    }
    uint64_t word = 0;
    std::memcpy(&word, in + off, std::min<uint32_t>(8, size - off));
    store_word(out + off, word);
  }
}

void Map::read_value_locked(void* dst, void* value) const {
  void* lock = static_cast<unsigned char*>(value) + def_.spin_lock_off;
  value_spin_lock(lock);
  read_value(dst, value);
  value_spin_unlock(lock);
}

void Map::write_value_locked(void* value, const void* src) const {
  void* lock = static_cast<unsigned char*>(value) + def_.spin_lock_off;
  value_spin_lock(lock);
  write_value(value, src);
  value_spin_unlock(lock);
}

long Map::lookup_batch(const void* in_batch, void* out_batch, void* keys, void* values,
                       uint32_t* count, uint64_t elem_flags) {
  return run_lookup_batch(in_batch, out_batch, keys, values, count, elem_flags, false);
}

long Map::lookup_and_delete_batch(const void* in_batch, void* out_batch, void* keys, void* values,
                                  uint32_t* count, uint64_t elem_flags) {
  return run_lookup_batch(in_batch, out_batch, keys, values, count, elem_flags, true);
}

// Linux's generic_map_lookup_batch: walk with get_next_key from in_batch, copy each element,
// skip keys that vanish between the two steps (or empty map-in-map slots) and report -ENOENT
// once the walk runs off the end.
long Map::run_lookup_batch(const void* in_batch, void* out_batch, void* keys, void* values,
                           uint32_t* count, uint64_t elem_flags, bool and_delete) {
  if (!supports_batch(and_delete ? BatchOp::LookupAndDelete : BatchOp::Lookup)) {
    return -kEnotsupp;
  }
  if (long err = check_lookup_flags(elem_flags)) return err;
  const uint32_t max = *count;
  *count = 0;
  if (max == 0) return 0;
  const uint32_t ks = def_.key_size;
  const uint32_t vs = host_value_size();
  std::vector<unsigned char> prev(ks);
  bool have_prev = in_batch != nullptr;
  if (have_prev) std::memcpy(prev.data(), in_batch, ks);
  bool moved = false;
  uint32_t done = 0;
  long err = 0;
  EpochGuard guard;
  while (done < max) {
    auto* key = static_cast<unsigned char*>(keys) + size_t{done} * ks;
    auto* value = static_cast<unsigned char*>(values) + size_t{done} * vs;
    err = do_get_next_key(have_prev ? prev.data() : nullptr, key);
    if (err != 0) break;
    std::memcpy(prev.data(), key, ks);
    have_prev = moved = true;
    long rc = and_delete ? do_lookup_and_delete(key, value, elem_flags)
                         : do_lookup_copy(key, value, elem_flags);
    if (rc == -ENOENT) continue;
    if (rc != 0) {
      err = rc;
      break;
    }
    ++done;
  }
  *count = done;
  if (moved) std::memcpy(out_batch, prev.data(), ks);
  return err;
}

long Map::update_batch(const void* keys, const void* values, uint32_t* count, uint64_t elem_flags) {
  if (!supports_batch(BatchOp::Update)) return -kEnotsupp;
  // Linux's generic_map_update_batch accepts BPF_F_LOCK only, not NOEXIST/EXIST.
  if ((elem_flags & ~kBpfFLock) != 0) return -EINVAL;
  const uint32_t max = *count;
  const uint32_t vs = host_value_size();
  EpochGuard guard;
  for (uint32_t i = 0; i < max; ++i) {
    long rc =
        do_update_host(static_cast<const unsigned char*>(keys) + size_t{i} * def_.key_size,
                       static_cast<const unsigned char*>(values) + size_t{i} * vs, elem_flags);
    if (rc != 0) {
      *count = i;
      return rc;
    }
  }
  return 0;
}

long Map::delete_batch(const void* keys, uint32_t* count, uint64_t elem_flags) {
  if (!supports_batch(BatchOp::Delete)) return -kEnotsupp;
  if ((elem_flags & ~kBpfFLock) != 0) return -EINVAL;
  const uint32_t max = *count;
  EpochGuard guard;
  for (uint32_t i = 0; i < max; ++i) {
    long rc = erase(static_cast<const unsigned char*>(keys) + size_t{i} * def_.key_size);
    if (rc != 0) {
      *count = i;
      return rc;
    }
  }
  return 0;
}

uint64_t make_hash_seed(uint32_t map_flags) {
  if ((map_flags & kBpfFZeroSeed) != 0) return 0;
  static std::atomic<uint64_t> counter{0};
  uint64_t now = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return mix(now ^ mix(counter.fetch_add(1, std::memory_order_relaxed) + 1));
}

}  // namespace pollen::maps

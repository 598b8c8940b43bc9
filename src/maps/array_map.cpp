// SPDX-License-Identifier: MIT
// ARRAY and PERCPU_ARRAY, following Linux's arraymap.c: index checks, the update flag rules,
// get_next_key order (0, 1, ... max_entries-1, and 0 for a missing or out-of-range key), and the
// per-CPU syscall layout (every slot's value, each rounded up to 8 bytes).
#include "maps/array_map.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

namespace pollen::maps {
namespace {

constexpr size_t kCacheLine = 64;

uint32_t read_index(const void* key) {
  uint32_t index;
  std::memcpy(&index, key, sizeof index);
  return index;
}

size_t slot_stride_for(const MapDef& def, uint32_t slots) {
  size_t bytes = size_t{def.max_entries} * round_up8(def.value_size);
  if (slots == 1 || def.type != MapType::PercpuArray) return bytes;
  return (bytes + kCacheLine - 1) / kCacheLine * kCacheLine;
}

}  // namespace

ArrayMap::ArrayMap(const MapDef& def, uint32_t slots)
    : Map(def, slots),
      elem_size_(round_up8(def.value_size)),
      slot_stride_(slot_stride_for(def, slots)) {
  // calloc hands out zeroed pages lazily, so a large array costs memory only where it is
  // used; the extra line lets the values start on a cache-line boundary.
  const size_t total = slot_stride_ * (percpu_ ? slots_ : 1);
  allocation_ = static_cast<unsigned char*>(std::calloc(total + kCacheLine, 1));
  if (allocation_ == nullptr) throw std::bad_alloc();
  const auto address = reinterpret_cast<uintptr_t>(allocation_);
  storage_ = allocation_ + (kCacheLine - address % kCacheLine) % kCacheLine;
}

ArrayMap::~ArrayMap() {
  std::free(allocation_);
}

void* ArrayMap::lookup(const void* key, uint32_t slot) {
  uint32_t index = read_index(key);
  if (index >= def_.max_entries) return nullptr;
  return element(index, percpu_ ? slot : 0);
}

// The order of Linux's array_map_update_elem checks.
long ArrayMap::check_update(const void* key, uint64_t flags, uint32_t* index) const {
  if ((flags & ~kBpfFLock) > kBpfExist) return -EINVAL;
  *index = read_index(key);
  if (*index >= def_.max_entries) return -E2BIG;
  if ((flags & kBpfNoExist) != 0) return -EEXIST;
  if ((flags & kBpfFLock) != 0 && def_.spin_lock_off < 0) return -EINVAL;
  return 0;
}

void ArrayMap::store(void* dst, const void* src, uint64_t flags) const {
  if ((flags & kBpfFLock) != 0) {
    write_value_locked(dst, src);
  } else {
    write_value(dst, src);
  }
}

long ArrayMap::update(const void* key, const void* value, uint64_t flags, uint32_t slot) {
  uint32_t index = 0;
  if (long err = check_update(key, flags, &index)) return err;
  store(element(index, percpu_ ? slot : 0), value, flags);
  return 0;
}

long ArrayMap::do_update_host(const void* key, const void* value, uint64_t flags) {
  uint32_t index = 0;
  if (long err = check_update(key, flags, &index)) return err;
  if (!percpu_) {
    store(element(index, 0), value, flags);
    return 0;
  }
  for (uint32_t slot = 0; slot < slots_; ++slot) {
    write_value(element(index, slot),
                static_cast<const unsigned char*>(value) + size_t{slot} * elem_size_);
  }
  return 0;
}

// Array elements cannot be deleted (Linux's array_map_delete_elem).
long ArrayMap::erase(const void*) {
  return -EINVAL;
}

long ArrayMap::do_lookup_copy(const void* key, void* value, uint64_t flags) {
  uint32_t index = read_index(key);
  if (index >= def_.max_entries) return -ENOENT;
  if (!percpu_) {
    if ((flags & kBpfFLock) != 0) {
      read_value_locked(value, element(index, 0));
    } else {
      read_value(value, element(index, 0));
    }
    return 0;
  }
  for (uint32_t slot = 0; slot < slots_; ++slot) {
    auto* out = static_cast<unsigned char*>(value) + size_t{slot} * elem_size_;
    read_value(out, element(index, slot));
    // The syscall buffer's padding is zeroed, not left as the caller had it.
    std::memset(out + def_.value_size, 0, elem_size_ - def_.value_size);
  }
  return 0;
}

long ArrayMap::do_get_next_key(const void* key, void* next_key) {
  return array_next_key(def_.max_entries, key, next_key);
}

long ArrayMap::for_each(ForEachFn fn, void* ctx, uint32_t slot) {
  long visited = 0;
  for (uint32_t index = 0; index < def_.max_entries; ++index) {
    ++visited;
    if (fn(ctx, &index, element(index, percpu_ ? slot : 0)) != 0) break;
  }
  return visited;
}

bool ArrayMap::supports_batch(BatchOp op) const {
  // Linux's array maps have lookup and update batches only.
  return op == BatchOp::Lookup || op == BatchOp::Update;
}

}  // namespace pollen::maps

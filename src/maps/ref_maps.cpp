// SPDX-License-Identifier: MIT
// PROG_ARRAY, ARRAY_OF_MAPS and HASH_OF_MAPS, following Linux's fd_array and map-in-map code:
// fd arrays take only BPF_ANY, answer -E2BIG for an index past max_entries and -ENOENT for an
// empty slot; a handle naming nothing is -EBADF and an inner map unlike the template -EINVAL.
#include "maps/ref_maps.hpp"

#include <cerrno>
#include <cstring>

#include "maps/epoch.hpp"

namespace pollen::maps {
namespace {

using detail::RefSlot;

void free_slot(void* slot) {
  delete static_cast<RefSlot*>(slot);
}

uint32_t read_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

RefSlot* load_slot_pointer(const void* value) {
  RefSlot* slot;
  std::memcpy(&slot, value, sizeof slot);
  return slot;
}

}  // namespace

bool matches_inner_template(const MapDef& tmpl, const Map& map) {
  const MapDef& d = map.def();
  if (d.type != tmpl.type || d.key_size != tmpl.key_size || d.value_size != tmpl.value_size ||
      d.flags != tmpl.flags || d.spin_lock_off != tmpl.spin_lock_off) {
    return false;
  }
  const bool array = d.type == MapType::Array || d.type == MapType::PercpuArray;
  return !array || (tmpl.flags & kBpfFInnerMap) != 0 || d.max_entries == tmpl.max_entries;
}

RefArrayMap::RefArrayMap(const MapDef& def, uint32_t slots)
    : Map(def, slots), entries_(new std::atomic<RefSlot*>[def.max_entries]) {
  for (uint32_t i = 0; i < def.max_entries; ++i) {
    entries_[i].store(nullptr, std::memory_order_relaxed);
  }
}

RefArrayMap::~RefArrayMap() {
  for (uint32_t i = 0; i < def_.max_entries; ++i) {
    delete entries_[i].load(std::memory_order_relaxed);
  }
}

void* RefArrayMap::lookup(const void* key, uint32_t) {
  uint32_t index = read_u32(key);
  if (index >= def_.max_entries) return nullptr;
  RefSlot* slot = entries_[index].load(std::memory_order_acquire);
  return slot != nullptr ? slot->object.get() : nullptr;
}

// Publishes `slot` (or clears with nullptr) and retires what was there, since a running
// program may still be using the old program or inner map.
long RefArrayMap::store(uint32_t index, RefSlot* slot) {
  if (index >= def_.max_entries) {
    delete slot;
    return -E2BIG;
  }
  RefSlot* old = entries_[index].exchange(slot, std::memory_order_acq_rel);
  if (old == nullptr) return slot != nullptr ? 0 : -ENOENT;
  Epoch::retire(old, &free_slot);
  return 0;
}

long RefArrayMap::set_prog(uint32_t index, std::shared_ptr<void> prog, uint32_t id) {
  if (def_.type != MapType::ProgArray || !prog) return -EINVAL;
  return store(index, new RefSlot{std::move(prog), id});
}

long RefArrayMap::set_map(uint32_t index, std::shared_ptr<Map> map, uint32_t id) {
  if (def_.type != MapType::ArrayOfMaps || !map) return -EINVAL;
  if (!matches_inner_template(*def_.inner, *map)) return -EINVAL;
  return store(index, new RefSlot{std::move(map), id});
}

long RefArrayMap::erase(const void* key) {
  return store(read_u32(key), nullptr);
}

long RefArrayMap::do_update_host(const void* key, const void* value, uint64_t flags) {
  // Linux's bpf_fd_array_map_update_elem: BPF_ANY only, then the index, then the handle.
  if (flags != kBpfAny) return -EINVAL;
  const uint32_t index = read_u32(key);
  if (index >= def_.max_entries) return -E2BIG;
  const uint32_t handle = read_u32(value);
  if (def_.type == MapType::ProgArray) {
    std::shared_ptr<void> prog = prog_resolver_ ? prog_resolver_(handle) : nullptr;
    if (!prog) return -EBADF;
    return set_prog(index, std::move(prog), handle);
  }
  std::shared_ptr<Map> map = map_resolver_ ? map_resolver_(handle) : nullptr;
  if (!map) return -EBADF;
  return set_map(index, std::move(map), handle);
}

long RefArrayMap::do_lookup_copy(const void* key, void* value, uint64_t) {
  const uint32_t index = read_u32(key);
  if (index >= def_.max_entries) return -ENOENT;
  RefSlot* slot = entries_[index].load(std::memory_order_acquire);
  if (slot == nullptr) return -ENOENT;
  std::memcpy(value, &slot->id, sizeof slot->id);
  return 0;
}

// Array order, empty slots included, as Linux's array_map_get_next_key.
long RefArrayMap::do_get_next_key(const void* key, void* next_key) {
  return array_next_key(def_.max_entries, key, next_key);
}

bool RefArrayMap::supports_batch(BatchOp op) const {
  // Linux has no batch commands for program arrays.
  return def_.type == MapType::ArrayOfMaps && op != BatchOp::LookupAndDelete;
}

HashOfMaps::HashOfMaps(const MapDef& def, uint32_t slots) : HashMap(def, slots, sizeof(RefSlot*)) {}

HashOfMaps::~HashOfMaps() {
  HashMap::for_each(
      [](void*, const void*, void* value) -> long {
        delete load_slot_pointer(value);
        return 0;
      },
      nullptr, 0);
}

void* HashOfMaps::lookup(const void* key, uint32_t) {
  void* value = find(key);
  return value != nullptr ? load_slot_pointer(value)->object.get() : nullptr;
}

long HashOfMaps::update(const void*, const void*, uint64_t, uint32_t) {
  return -EINVAL;
}

// Linux's bpf_for_each_map_elem does not take map-in-maps.
long HashOfMaps::for_each(ForEachFn, void*, uint32_t) {
  return -EINVAL;
}

long HashOfMaps::set_map(const void* key, std::shared_ptr<Map> map, uint32_t id, uint64_t flags) {
  if (!map || !matches_inner_template(*def_.inner, *map)) return -EINVAL;
  auto* slot = new RefSlot{std::move(map), id};
  long rc = HashMap::do_update_host(key, &slot, flags);
  if (rc != 0) delete slot;
  return rc;
}

long HashOfMaps::do_update_host(const void* key, const void* value, uint64_t flags) {
  std::shared_ptr<Map> map = map_resolver_ ? map_resolver_(read_u32(value)) : nullptr;
  if (!map) return -EBADF;
  return set_map(key, std::move(map), read_u32(value), flags);
}

long HashOfMaps::do_lookup_copy(const void* key, void* value, uint64_t) {
  void* stored = find(key);
  if (stored == nullptr) return -ENOENT;
  std::memcpy(value, &load_slot_pointer(stored)->id, sizeof(uint32_t));
  return 0;
}

long HashOfMaps::do_lookup_and_delete(const void*, void*, uint64_t) {
  return -kEnotsupp;
}

bool HashOfMaps::supports_batch(BatchOp op) const {
  return op != BatchOp::LookupAndDelete;
}

void HashOfMaps::release_value(void* value) {
  Epoch::retire(load_slot_pointer(value), &free_slot);
}

}  // namespace pollen::maps

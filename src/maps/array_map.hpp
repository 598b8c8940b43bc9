// SPDX-License-Identifier: MIT
// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY: max_entries zero-initialised values indexed
// by a u32 key, allocated once, so a value's address never changes and never goes away while
// the map lives. Elements always exist: they cannot be deleted (-EINVAL) or created
// (BPF_NOEXIST gives -EEXIST), as in Linux. A per-CPU array keeps one array per execution slot,
// each slot's on its own cache lines so programs on different slots never share a line.
#pragma once

#include "maps/map.hpp"

namespace pollen::maps {

class ArrayMap final : public Map {
 public:
  ArrayMap(const MapDef& def, uint32_t slots);
  ~ArrayMap() override;

  void* lookup(const void* key, uint32_t slot) override;
  long update(const void* key, const void* value, uint64_t flags, uint32_t slot) override;
  long erase(const void* key) override;
  long for_each(ForEachFn fn, void* ctx, uint32_t slot) override;

  /// Value `index` of `slot` without bounds checks: global data (.data, .bss, .rodata are
  /// one-element arrays) lets programs address it directly.
  void* element(uint32_t index, uint32_t slot) {
    return storage_ + slot * slot_stride_ + size_t{index} * elem_size_;
  }

 protected:
  bool supports_batch(BatchOp op) const override;
  long do_lookup_copy(const void* key, void* value, uint64_t flags) override;
  long do_update_host(const void* key, const void* value, uint64_t flags) override;
  long do_get_next_key(const void* key, void* next_key) override;

 private:
  long check_update(const void* key, uint64_t flags, uint32_t* index) const;
  void store(void* dst, const void* src, uint64_t flags) const;

  const uint32_t elem_size_;  // value_size rounded up to 8, as Linux's elem_size
  const size_t slot_stride_;  // bytes per slot's array, a multiple of the cache line
  unsigned char* allocation_;  // what calloc returned
  unsigned char* storage_;     // the values, cache-line aligned
};

}  // namespace pollen::maps

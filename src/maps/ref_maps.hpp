// SPDX-License-Identifier: MIT
// Maps whose elements refer to other objects: BPF_MAP_TYPE_PROG_ARRAY (programs, for tail
// calls), ARRAY_OF_MAPS and HASH_OF_MAPS (inner maps). The maps module knows nothing of
// programs, so an element holds an opaque shared_ptr that keeps its object alive, plus the u32
// id the host reads back (Linux returns the prog or map id from a syscall lookup). The host
// writes a u32 handle (Linux: an fd) which a resolver set by the runtime turns into the object;
// the runtime may also store objects directly with set_prog/set_map. A program's lookup of a
// map-in-map yields the inner Map*. Replaced or deleted references are retired to the epoch
// domain, so an inner map a running program got from lookup outlives the program's section.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "maps/hash_map.hpp"
#include "maps/map.hpp"

namespace pollen::maps {

/// Turns the u32 the host writes into a PROG_ARRAY (a program fd in Linux) into the program
/// it names, or nullptr if it names none.
using ProgResolver = std::function<std::shared_ptr<void>(uint32_t handle)>;
/// Turns the u32 the host writes into a map-in-map (a map fd in Linux) into that map, or
/// nullptr.
using MapResolver = std::function<std::shared_ptr<Map>(uint32_t handle)>;

/// True if `map` may be stored in a map-in-map whose inner template is `tmpl`: Linux's
/// bpf_map_meta_equal (type, key and value size, flags, spin lock) and, for arrays without
/// BPF_F_INNER_MAP, the same max_entries.
bool matches_inner_template(const MapDef& tmpl, const Map& map);

namespace detail {
/// One stored reference; immutable once published, replaced as a whole.
struct RefSlot {
  std::shared_ptr<void> object;
  uint32_t id = 0;
};
}  // namespace detail

/// PROG_ARRAY and ARRAY_OF_MAPS: max_entries reference slots indexed by a u32 key.
class RefArrayMap final : public Map {
 public:
  RefArrayMap(const MapDef& def, uint32_t slots);
  ~RefArrayMap() override;

  /// The object at the u32 index `key`, or nullptr: the inner Map* for ARRAY_OF_MAPS, the
  /// program for PROG_ARRAY (what bpf_tail_call jumps to).
  void* lookup(const void* key, uint32_t slot) override;
  long erase(const void* key) override;

  /// Set before the map is shared between threads.
  void set_prog_resolver(ProgResolver resolver) { prog_resolver_ = std::move(resolver); }
  void set_map_resolver(MapResolver resolver) { map_resolver_ = std::move(resolver); }
  /// Stores a program (PROG_ARRAY only); 0, -E2BIG for a bad index or -EINVAL.
  long set_prog(uint32_t index, std::shared_ptr<void> prog, uint32_t id);
  /// Stores an inner map (ARRAY_OF_MAPS only); -EINVAL if it does not match the template.
  long set_map(uint32_t index, std::shared_ptr<Map> map, uint32_t id);

 protected:
  bool supports_batch(BatchOp op) const override;
  long do_lookup_copy(const void* key, void* value, uint64_t flags) override;
  long do_update_host(const void* key, const void* value, uint64_t flags) override;
  long do_get_next_key(const void* key, void* next_key) override;

 private:
  long store(uint32_t index, detail::RefSlot* slot);

  std::unique_ptr<std::atomic<detail::RefSlot*>[]> entries_;
  ProgResolver prog_resolver_;
  MapResolver map_resolver_;
};

/// HASH_OF_MAPS: a hash map whose stored value is a pointer to a reference slot.
class HashOfMaps final : public HashMap {
 public:
  HashOfMaps(const MapDef& def, uint32_t slots);
  ~HashOfMaps() override;

  /// The inner Map* stored under `key`, or nullptr.
  void* lookup(const void* key, uint32_t slot) override;
  /// Programs cannot store maps (the Linux verifier refuses the call): -EINVAL.
  long update(const void* key, const void* value, uint64_t flags, uint32_t slot) override;
  long for_each(ForEachFn fn, void* ctx, uint32_t slot) override;

  /// Set before the map is shared between threads.
  void set_map_resolver(MapResolver resolver) { map_resolver_ = std::move(resolver); }
  /// Stores an inner map under `key` with the hash update flags; -EINVAL if it does not
  /// match the template.
  long set_map(const void* key, std::shared_ptr<Map> map, uint32_t id, uint64_t flags);

 protected:
  bool supports_batch(BatchOp op) const override;
  long do_lookup_copy(const void* key, void* value, uint64_t flags) override;
  long do_update_host(const void* key, const void* value, uint64_t flags) override;
  long do_lookup_and_delete(const void* key, void* value, uint64_t flags) override;
  void release_value(void* value) override;

 private:
  MapResolver map_resolver_;
};

}  // namespace pollen::maps

// SPDX-License-Identifier: MIT
// The verifier's view of its environment, in one interface (after PREVAIL's platform.hpp): the
// helpers that exist, with their prototypes as data, and the maps an lddw may name, described
// by what the checks need (type, key and value size, entries, whether values may be written or
// addressed directly). The runtime implements it over its live maps; tests describe maps that
// do not exist; the default knows Pollen's helpers and no maps.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "helpers/helpers.hpp"
#include "isa/isa.hpp"

namespace pollen::verifier {

/// What the verifier knows of a map (Linux's struct bpf_map fields it reads).
struct MapInfo {
  uint32_t type = 0;  ///< Linux's enum bpf_map_type
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  bool read_only = false;     ///< BPF_F_RDONLY_PROG: programs may not write values
  bool direct_value = false;  ///< lddw src=2/6 may address its value (array maps, global data)
  /// ARRAY_OF_MAPS, HASH_OF_MAPS: the number (for map_info) of the description of the maps it
  /// holds; a lookup gives a pointer to such a map, or null.
  std::optional<uint32_t> inner = std::nullopt;
  /// The offset of the struct bpf_spin_lock in its value, when the value has one (from BTF).
  std::optional<uint32_t> spin_lock_off = std::nullopt;
  /// Read-only maps: the value's bytes, for constant strings (bpf_snprintf's format).
  std::vector<uint8_t> data = {};
};

class Platform {
 public:
  virtual ~Platform() = default;
  /// The prototype of helper `id`, or null when no helper has that id.
  virtual const helpers::HelperProto* helper(uint32_t id) const { return helpers::find_helper(id); }
  /// The map an lddw names: `src` is MapFd or MapValue (imm is a descriptor) or MapIdx or
  /// MapIdxValue (imm is an index). Returns the map's number, or nothing when there is none.
  virtual std::optional<uint32_t> map_of(isa::LddwSrc src, int32_t imm) const { return {}; }
  /// The facts of map number `map` (one that map_of returned).
  virtual const MapInfo* map_info(uint32_t map) const { return nullptr; }
};

/// Pollen's helpers (helpers::helper_protos()), no maps.
inline const Platform& default_platform() {
  static const Platform platform;
  return platform;
}

}  // namespace pollen::verifier

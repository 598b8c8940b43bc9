// SPDX-License-Identifier: MIT
// JitOptions::arrays from the maps a program is linked with: the layout of each ARRAY map (not
// per-CPU), so that the JIT can inline bpf_map_lookup_elem on it. Header-only, so that pollen_jit
// itself does not depend on src/maps; whoever calls it links pollen_maps.
#pragma once

#include <cstdint>
#include <optional>

#include "jit/jit.hpp"
#include "maps/array_map.hpp"
#include "maps/map.hpp"

namespace pollen::jit {

/// The layout of `map` for an inlined lookup, or nothing when it is not a plain ARRAY map.
inline std::optional<ArrayLayout> array_layout(maps::Map& map) {
  auto* array = dynamic_cast<maps::ArrayMap*>(&map);
  if (array == nullptr || map.type() != maps::MapType::Array || map.def().max_entries == 0)
    return std::nullopt;
  ArrayLayout layout;
  layout.map = reinterpret_cast<uint64_t>(&map);
  layout.values = reinterpret_cast<uint64_t>(array->element(0, 0));
  layout.max_entries = map.def().max_entries;
  // The distance between neighbours, as the map lays them out (value_size rounded up to 8).
  layout.elem_size =
      layout.max_entries > 1
          ? static_cast<uint32_t>(reinterpret_cast<uint64_t>(array->element(1, 0)) - layout.values)
          : 0;
  return layout;
}

}  // namespace pollen::jit

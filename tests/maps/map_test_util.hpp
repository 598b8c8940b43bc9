// SPDX-License-Identifier: MIT
// Shared helpers for the map tests: building a MapDef in one line, creating a map that must
// succeed, and typed key/value access on top of the byte-oriented Map interface.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "maps/map.hpp"

namespace pollen::maps::test {

inline MapDef make_def(MapType type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                       uint32_t flags = 0) {
  MapDef def;
  def.type = type;
  def.key_size = key_size;
  def.value_size = value_size;
  def.max_entries = max_entries;
  def.flags = flags;
  def.name = "test";
  return def;
}

/// Creates a map of type T that the test requires to exist.
template <class T = Map>
std::shared_ptr<T> make_map(const MapDef& def, uint32_t slots = 1) {
  auto created = create_map(def, slots);
  if (!created) {
    ADD_FAILURE() << created.error().str();
    return nullptr;
  }
  auto typed = std::dynamic_pointer_cast<T>(*created);
  EXPECT_NE(typed, nullptr) << "map has an unexpected class";
  return typed;
}

/// The u64 a lookup pointer points at.
inline uint64_t u64_at(const void* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// All keys in get_next_key order, each as a vector of key_size bytes.
inline std::vector<std::vector<unsigned char>> walk_keys(Map& map) {
  std::vector<std::vector<unsigned char>> keys;
  std::vector<unsigned char> prev(map.def().key_size);
  std::vector<unsigned char> next(map.def().key_size);
  bool first = true;
  while (map.get_next_key(first ? nullptr : prev.data(), next.data()) == 0) {
    keys.push_back(next);
    prev = next;
    first = false;
    if (keys.size() > 100000) break;  // a cycle would be a bug; do not hang the test
  }
  return keys;
}

}  // namespace pollen::maps::test

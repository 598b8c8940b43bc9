// SPDX-License-Identifier: MIT
// PROG_ARRAY, ARRAY_OF_MAPS and HASH_OF_MAPS: what programs and the host see (the object vs.
// its id), Linux's errors, the inner map template check, resolvers for host updates, and a
// replaced program or inner map staying alive until the epoch section that saw it ends.
#include <gtest/gtest.h>

#include <cerrno>
#include <map>

#include "map_test_util.hpp"
#include "maps/epoch.hpp"
#include "maps/ref_maps.hpp"

namespace pollen::maps {
namespace {

using test::make_def;
using test::make_map;

struct FakeProgram {
  int tag;
};

MapDef inner_template() {
  return make_def(MapType::Array, 4, 8, 4);
}

MapDef outer(MapType type, MapDef inner, uint32_t key_size = 4) {
  MapDef def = make_def(type, key_size, 4, 4);
  def.inner = std::make_shared<const MapDef>(std::move(inner));
  return def;
}

TEST(ProgArray, StoresProgramsForTailCallsAndIdsForTheHost) {
  auto map = make_map<RefArrayMap>(make_def(MapType::ProgArray, 4, 4, 2));
  ASSERT_NE(map, nullptr);
  auto prog = std::make_shared<FakeProgram>(FakeProgram{7});
  EXPECT_EQ(map->set_prog(2, prog, 70), -E2BIG);
  ASSERT_EQ(map->set_prog(1, prog, 70), 0);
  uint32_t key = 1;
  {
    EpochGuard guard;
    EXPECT_EQ(map->lookup(&key, 0), prog.get());
    uint32_t empty = 0;
    EXPECT_EQ(map->lookup(&empty, 0), nullptr);
  }
  uint32_t id = 0;
  ASSERT_EQ(map->lookup_copy(&key, &id), 0);
  EXPECT_EQ(id, 70u);
  uint32_t empty = 0;
  EXPECT_EQ(map->lookup_copy(&empty, &id), -ENOENT);
  EXPECT_EQ(map->set_map(0, make_map(inner_template()), 1), -EINVAL);
  uint32_t count = 1, batch;
  EXPECT_EQ(map->lookup_batch(nullptr, &batch, &key, &id, &count), -kEnotsupp);
  ASSERT_EQ(map->erase(&key), 0);
  EXPECT_EQ(map->erase(&key), -ENOENT);
  uint32_t past_end = 5;
  EXPECT_EQ(map->erase(&past_end), -E2BIG);
}

TEST(ProgArray, HostUpdatesGoThroughTheResolver) {
  auto map = make_map<RefArrayMap>(make_def(MapType::ProgArray, 4, 4, 2));
  ASSERT_NE(map, nullptr);
  uint32_t key = 0, handle = 3;
  EXPECT_EQ(map->update_host(&key, &handle), -EBADF) << "no resolver, no program";
  auto prog = std::make_shared<FakeProgram>(FakeProgram{3});
  map->set_prog_resolver([&](uint32_t h) { return h == 3 ? prog : nullptr; });
  EXPECT_EQ(map->update_host(&key, &handle, kBpfNoExist), -EINVAL) << "fd arrays take BPF_ANY";
  ASSERT_EQ(map->update_host(&key, &handle), 0);
  uint32_t unknown = 4;
  EXPECT_EQ(map->update_host(&key, &unknown), -EBADF);
  uint32_t bad_index = 2;
  EXPECT_EQ(map->update_host(&bad_index, &handle), -E2BIG);
  EpochGuard guard;
  EXPECT_EQ(map->lookup(&key, 0), prog.get());
}

TEST(ArrayOfMaps, ChecksInnerMapsAgainstTheTemplate) {
  auto outer_map = make_map<RefArrayMap>(outer(MapType::ArrayOfMaps, inner_template()));
  ASSERT_NE(outer_map, nullptr);
  EXPECT_EQ(outer_map->set_map(0, make_map(make_def(MapType::Array, 4, 8, 5)), 1), -EINVAL)
      << "arrays must have the template's max_entries";
  EXPECT_EQ(outer_map->set_map(0, make_map(make_def(MapType::Hash, 4, 8, 4)), 1), -EINVAL);
  auto inner = make_map(inner_template());
  ASSERT_EQ(outer_map->set_map(0, inner, 11), 0);
  uint32_t key = 0;
  {
    EpochGuard guard;
    auto* found = static_cast<Map*>(outer_map->lookup(&key, 0));
    ASSERT_EQ(found, inner.get());
    const uint32_t inner_key = 3;
    const uint64_t value = 99;
    EXPECT_EQ(found->update(&inner_key, &value, kBpfAny, 0), 0);
  }
  uint32_t id = 0;
  ASSERT_EQ(outer_map->lookup_copy(&key, &id), 0);
  EXPECT_EQ(id, 11u);

  MapDef flexible = inner_template();
  flexible.flags = kBpfFInnerMap;
  auto flexible_outer = make_map<RefArrayMap>(outer(MapType::ArrayOfMaps, flexible));
  ASSERT_NE(flexible_outer, nullptr);
  MapDef bigger = make_def(MapType::Array, 4, 8, 64, kBpfFInnerMap);
  EXPECT_EQ(flexible_outer->set_map(0, make_map(bigger), 2), 0)
      << "BPF_F_INNER_MAP lets max_entries differ";
}

TEST(ArrayOfMaps, ReplacedInnerMapLivesUntilTheEpochEnds) {
  auto outer_map = make_map<RefArrayMap>(outer(MapType::ArrayOfMaps, inner_template()));
  ASSERT_NE(outer_map, nullptr);
  std::weak_ptr<Map> watch;
  uint32_t key = 1;
  {
    auto inner = make_map(inner_template());
    watch = inner;
    ASSERT_EQ(outer_map->set_map(1, std::move(inner), 1), 0);
  }
  {
    EpochGuard guard;
    auto* held = static_cast<Map*>(outer_map->lookup(&key, 0));
    ASSERT_NE(held, nullptr);
    ASSERT_EQ(outer_map->set_map(1, make_map(inner_template()), 2), 0);
    Epoch::collect();
    EXPECT_FALSE(watch.expired()) << "a program may still use the old inner map";
    const uint32_t inner_key = 0;
    EXPECT_NE(held->lookup(&inner_key, 0), nullptr);
  }
  Epoch::collect();
  EXPECT_TRUE(watch.expired());
}

TEST(HashOfMaps, StoresInnerMapsUnderArbitraryKeys) {
  auto map = make_map<HashOfMaps>(outer(MapType::HashOfMaps, inner_template(), 8));
  ASSERT_NE(map, nullptr);
  std::map<uint32_t, std::shared_ptr<Map>> registry = {{5, make_map(inner_template())},
                                                       {6, make_map(inner_template())}};
  map->set_map_resolver([&](uint32_t handle) {
    auto it = registry.find(handle);
    return it == registry.end() ? nullptr : it->second;
  });
  const uint64_t key_a = 0xaaaa, key_b = 0xbbbb;
  uint32_t handle = 5;
  ASSERT_EQ(map->update_host(&key_a, &handle), 0);
  EXPECT_EQ(map->update_host(&key_a, &handle, kBpfNoExist), -EEXIST);
  handle = 6;
  ASSERT_EQ(map->update_host(&key_b, &handle), 0);
  handle = 9;
  EXPECT_EQ(map->update_host(&key_b, &handle), -EBADF);
  EXPECT_EQ(map->set_map(&key_b, make_map(make_def(MapType::Array, 4, 4, 4)), 1, kBpfAny), -EINVAL);
  {
    EpochGuard guard;
    EXPECT_EQ(map->lookup(&key_a, 0), registry[5].get());
    EXPECT_EQ(map->lookup(&key_b, 0), registry[6].get());
    const uint32_t value = 1;
    EXPECT_EQ(map->update(&key_a, &value, kBpfAny, 0), -EINVAL) << "programs cannot store maps";
  }
  uint32_t id = 0;
  ASSERT_EQ(map->lookup_copy(&key_b, &id), 0);
  EXPECT_EQ(id, 6u);
  EXPECT_EQ(map->lookup_and_delete(&key_b, &id), -kEnotsupp);
  uint64_t keys[4];
  uint32_t ids[4];
  uint64_t batch;
  uint32_t count = 4;
  EXPECT_EQ(map->lookup_batch(nullptr, &batch, keys, ids, &count), -ENOENT);
  ASSERT_EQ(count, 2u);
  EXPECT_EQ(ids[0] + ids[1], 11u);
  ASSERT_EQ(map->erase(&key_a), 0);
  std::weak_ptr<Map> watch = registry[5];
  registry.erase(5);
  Epoch::collect();
  EXPECT_TRUE(watch.expired()) << "the deleted reference was released";
}

}  // namespace
}  // namespace pollen::maps

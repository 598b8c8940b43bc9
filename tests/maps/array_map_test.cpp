// SPDX-License-Identifier: MIT
// ARRAY and PERCPU_ARRAY: Linux's update flag rules and errors, get_next_key order, per-slot
// independence and the host's per-CPU layout, BPF_F_LOCK, for_each, batches, and values that
// keep their address.
#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "map_test_util.hpp"
#include "maps/array_map.hpp"
#include "maps/epoch.hpp"

namespace pollen::maps {
namespace {

using test::make_def;
using test::make_map;
using test::u64_at;

struct FlagCase {
  const char* name;
  uint32_t index;
  uint64_t flags;
  long expected;
};

class ArrayUpdateFlags : public ::testing::TestWithParam<FlagCase> {};

TEST_P(ArrayUpdateFlags, ReturnsLinuxErrno) {
  const FlagCase& c = GetParam();
  auto map = make_map(make_def(MapType::Array, 4, 8, 4));
  ASSERT_NE(map, nullptr);
  const uint64_t value = 42;
  EpochGuard guard;
  EXPECT_EQ(map->update(&c.index, &value, c.flags, 0), c.expected);
  EXPECT_EQ(map->update_host(&c.index, &value, c.flags), c.expected);
  if (c.expected == 0) {
    EXPECT_EQ(u64_at(map->lookup(&c.index, 0)), 42u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Maps, ArrayUpdateFlags,
    ::testing::Values(FlagCase{"any", 1, kBpfAny, 0}, FlagCase{"exist", 3, kBpfExist, 0},
                      FlagCase{"noexist_is_eexist", 1, kBpfNoExist, -EEXIST},
                      FlagCase{"index_past_end_is_e2big", 4, kBpfAny, -E2BIG},
                      FlagCase{"unknown_flag_is_einval", 1, 8, -EINVAL},
                      FlagCase{"noexist_and_exist_is_einval", 1, 3, -EINVAL},
                      FlagCase{"lock_without_spin_lock_is_einval", 1, kBpfFLock, -EINVAL}),
    [](const ::testing::TestParamInfo<FlagCase>& info) { return std::string(info.param.name); });

TEST(ArrayMap, StartsZeroedAndCannotDelete) {
  auto map = make_map(make_def(MapType::Array, 4, 12, 3));
  ASSERT_NE(map, nullptr);
  unsigned char value[12];
  std::memset(value, 0xff, sizeof value);
  uint32_t key = 2;
  ASSERT_EQ(map->lookup_copy(&key, value), 0);
  for (unsigned char b : value) EXPECT_EQ(b, 0);
  EXPECT_EQ(map->erase(&key), -EINVAL);
  key = 3;
  EXPECT_EQ(map->lookup_copy(&key, value), -ENOENT);
  EpochGuard guard;
  EXPECT_EQ(map->lookup(&key, 0), nullptr);
}

TEST(ArrayMap, GetNextKeyWalksIndicesAndRestartsOnBadKey) {
  auto map = make_map(make_def(MapType::Array, 4, 4, 3));
  ASSERT_NE(map, nullptr);
  uint32_t next = 99;
  ASSERT_EQ(map->get_next_key(nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  uint32_t key = 1;
  ASSERT_EQ(map->get_next_key(&key, &next), 0);
  EXPECT_EQ(next, 2u);
  key = 2;
  EXPECT_EQ(map->get_next_key(&key, &next), -ENOENT);
  key = 77;  // out of range: Linux starts over at 0
  ASSERT_EQ(map->get_next_key(&key, &next), 0);
  EXPECT_EQ(next, 0u);
}

TEST(ArrayMap, PercpuSlotsAreIndependentAndHostSeesEverySlot) {
  auto map = make_map(make_def(MapType::PercpuArray, 4, 4, 2), 3);
  ASSERT_NE(map, nullptr);
  uint32_t key = 1;
  {
    EpochGuard guard;
    for (uint32_t slot = 0; slot < 3; ++slot) {
      const uint32_t v = 10 + slot;
      ASSERT_EQ(map->update(&key, &v, kBpfAny, slot), 0);
    }
    EXPECT_NE(map->lookup(&key, 0), map->lookup(&key, 1));
    uint32_t v1;
    std::memcpy(&v1, map->lookup(&key, 1), 4);
    EXPECT_EQ(v1, 11u);
  }
  // Host layout: one value per slot, each rounded up to 8 bytes, padding zeroed.
  std::vector<unsigned char> all(map->host_value_size(), 0xee);
  ASSERT_EQ(all.size(), 24u);
  ASSERT_EQ(map->lookup_copy(&key, all.data()), 0);
  for (uint32_t slot = 0; slot < 3; ++slot) {
    uint32_t v, pad;
    std::memcpy(&v, &all[slot * 8], 4);
    std::memcpy(&pad, &all[slot * 8 + 4], 4);
    EXPECT_EQ(v, 10 + slot);
    EXPECT_EQ(pad, 0u);
  }
  const uint64_t fresh[3] = {7, 8, 9};
  ASSERT_EQ(map->update_host(&key, fresh), 0);
  EpochGuard guard;
  for (uint32_t slot = 0; slot < 3; ++slot) {
    uint32_t v;
    std::memcpy(&v, map->lookup(&key, slot), 4);
    EXPECT_EQ(v, 7 + slot);
  }
}

TEST(ArrayMap, FLockCopiesWithoutTouchingTheMapLock) {
  MapDef def = make_def(MapType::Array, 4, 16, 1);
  def.spin_lock_off = 0;  // struct { struct bpf_spin_lock l; u32 a; u64 b; }
  auto map = make_map(def);
  ASSERT_NE(map, nullptr);
  uint32_t key = 0;
  const uint32_t in[4] = {0xdead, 5, 6, 7};
  ASSERT_EQ(map->update_host(&key, in, kBpfFLock), 0);
  uint32_t out[4] = {1, 1, 1, 1};
  ASSERT_EQ(map->lookup_copy(&key, out, kBpfFLock), 0);
  EXPECT_EQ(out[0], 0u) << "the lock field is handed out zeroed";
  EXPECT_EQ(out[1], 5u);
  EXPECT_EQ(out[3], 7u);
  EpochGuard guard;
  uint32_t lock;
  std::memcpy(&lock, map->lookup(&key, 0), 4);
  EXPECT_EQ(lock, 0u) << "updates never overwrite the lock";
  EXPECT_EQ(map->lookup_copy(&key, out, kBpfNoExist), -EINVAL);
}

TEST(ArrayMap, ForEachVisitsInOrderAndStopsOnOne) {
  auto map = make_map(make_def(MapType::Array, 4, 8, 5));
  ASSERT_NE(map, nullptr);
  std::vector<uint32_t> seen;
  EpochGuard guard;
  long visited = map->for_each(
      [](void* ctx, const void* key, void*) -> long {
        uint32_t k;
        std::memcpy(&k, key, 4);
        static_cast<std::vector<uint32_t>*>(ctx)->push_back(k);
        return k == 2 ? 1 : 0;
      },
      &seen, 0);
  EXPECT_EQ(visited, 3);
  EXPECT_EQ(seen, (std::vector<uint32_t>{0, 1, 2}));
}

TEST(ArrayMap, BatchLookupAndUpdateButNoDelete) {
  auto map = make_map(make_def(MapType::Array, 4, 8, 5));
  ASSERT_NE(map, nullptr);
  const uint32_t keys[3] = {0, 2, 4};
  const uint64_t values[3] = {100, 102, 104};
  uint32_t count = 3;
  ASSERT_EQ(map->update_batch(keys, values, &count), 0);
  uint32_t out_keys[5];
  uint64_t out_values[5];
  uint32_t batch = 0;
  count = 3;
  ASSERT_EQ(map->lookup_batch(nullptr, &batch, out_keys, out_values, &count), 0);
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(out_values[2], 102u);
  count = 3;
  EXPECT_EQ(map->lookup_batch(&batch, &batch, out_keys, out_values, &count), -ENOENT);
  ASSERT_EQ(count, 2u) << "the walk ends after the last two elements";
  EXPECT_EQ(out_keys[1], 4u);
  EXPECT_EQ(out_values[1], 104u);
  count = 1;
  EXPECT_EQ(map->delete_batch(keys, &count), -kEnotsupp);
  const uint32_t bad_keys[2] = {1, 9};
  count = 2;
  EXPECT_EQ(map->update_batch(bad_keys, values, &count), -E2BIG);
  EXPECT_EQ(count, 1u);
}

TEST(ArrayMap, ValueAddressNeverChanges) {
  auto map = make_map<ArrayMap>(make_def(MapType::Array, 4, 8, 2));
  ASSERT_NE(map, nullptr);
  uint32_t key = 1;
  EpochGuard guard;
  void* before = map->lookup(&key, 0);
  const uint64_t v = 5;
  ASSERT_EQ(map->update(&key, &v, kBpfAny, 0), 0);
  EXPECT_EQ(map->lookup(&key, 0), before);
  EXPECT_EQ(map->element(1, 0), before);
  EXPECT_EQ(u64_at(before), 5u);
}

}  // namespace
}  // namespace pollen::maps

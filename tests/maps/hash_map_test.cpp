// SPDX-License-Identifier: MIT
// The hash map family: update flags against present and absent keys for every hash type,
// max_entries, LRU eviction order, per-CPU slots, get_next_key, batches, BPF_F_LOCK, for_each,
// value pointers that stay valid (and unchanged) inside an epoch section after the element
// is deleted or replaced; the key hash and comparison at every key length.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "map_test_util.hpp"
#include "maps/epoch.hpp"
#include "maps/hash.hpp"
#include "maps/hash_map.hpp"

namespace pollen::maps {
namespace {

using test::make_def;
using test::make_map;
using test::u64_at;

// Every length from 0 to 40 bytes (the short paths read overlapping words): a key hashes as
// itself, any one flipped bit or a different length or seed changes the hash, and
// bytes_equal agrees with memcmp.
TEST(KeyHash, DependsOnEveryByteTheLengthAndTheSeed) {
  std::vector<unsigned char> key(48), other(48);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(i * 37 + 11);
  for (size_t size = 0; size <= 40; ++size) {
    SCOPED_TRACE(size);
    const uint64_t h = hash_bytes(key.data(), size, 7);
    other = key;
    EXPECT_EQ(hash_bytes(other.data(), size, 7), h);
    EXPECT_TRUE(bytes_equal(key.data(), other.data(), size));
    EXPECT_NE(hash_bytes(key.data(), size, 8), h);
    if (size < 40) EXPECT_NE(hash_bytes(key.data(), size + 1, 7), h);
    for (size_t byte = 0; byte < size; ++byte) {
      for (int bit = 0; bit < 8; bit += 7) {
        other = key;
        other[byte] ^= static_cast<unsigned char>(1u << bit);
        EXPECT_NE(hash_bytes(other.data(), size, 7), h) << "byte " << byte << " bit " << bit;
        EXPECT_FALSE(bytes_equal(key.data(), other.data(), size)) << "byte " << byte;
      }
    }
  }
}

// Sequential keys, as counters keyed by index or address use them, spread over the buckets:
// 65,536 four-byte keys in 65,536 buckets leave no bucket with more than a handful.
TEST(KeyHash, SpreadsSequentialKeysOverBuckets) {
  for (size_t size : {4u, 8u, 13u, 16u, 20u}) {
    SCOPED_TRACE(size);
    std::vector<uint32_t> per_bucket(1 << 16, 0);
    std::vector<unsigned char> key(size, 0);
    for (uint32_t i = 0; i < (1u << 16); ++i) {
      std::memcpy(key.data() + size - 4, &i, 4);
      ++per_bucket[hash_bytes(key.data(), size, 0) & 0xffff];
    }
    EXPECT_LE(*std::max_element(per_bucket.begin(), per_bucket.end()), 12u);
    const auto empty = std::count(per_bucket.begin(), per_bucket.end(), 0u);
    // A random function leaves 1/e of the buckets empty (36.8%).
    EXPECT_NEAR(static_cast<double>(empty) / per_bucket.size(), 0.368, 0.02);
  }
}

struct FlagCase {
  const char* name;
  bool present;
  uint64_t flags;
  long expected;
};

class HashUpdateFlags : public ::testing::TestWithParam<std::tuple<MapType, FlagCase>> {};

TEST_P(HashUpdateFlags, ReturnsLinuxErrno) {
  const auto& [type, c] = GetParam();
  auto map = make_map(make_def(type, 8, 8, 16), 2);
  ASSERT_NE(map, nullptr);
  const uint64_t key = 7;
  std::vector<uint64_t> host_value(map->host_value_size() / 8, 1);
  if (c.present) {
    ASSERT_EQ(map->update_host(&key, host_value.data()), 0);
  }
  const uint64_t value = 42;
  EpochGuard guard;
  EXPECT_EQ(map->update(&key, &value, c.flags, 1), c.expected);
  void* found = map->lookup(&key, 1);
  if (c.expected == 0) {
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(u64_at(found), 42u);
  } else if (!c.present) {
    EXPECT_EQ(found, nullptr);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Maps, HashUpdateFlags,
    ::testing::Combine(::testing::Values(MapType::Hash, MapType::PercpuHash, MapType::LruHash,
                                         MapType::LruPercpuHash),
                       ::testing::Values(FlagCase{"present_any", true, kBpfAny, 0},
                                         FlagCase{"present_noexist", true, kBpfNoExist, -EEXIST},
                                         FlagCase{"present_exist", true, kBpfExist, 0},
                                         FlagCase{"absent_any", false, kBpfAny, 0},
                                         FlagCase{"absent_noexist", false, kBpfNoExist, 0},
                                         FlagCase{"absent_exist", false, kBpfExist, -ENOENT},
                                         FlagCase{"both_flags", false, 3, -EINVAL},
                                         FlagCase{"unknown_flag", true, 16, -EINVAL},
                                         FlagCase{"lock_without_spin_lock", true, kBpfFLock,
                                                  -EINVAL})),
    [](const ::testing::TestParamInfo<std::tuple<MapType, FlagCase>>& info) {
      return std::string(map_type_name(std::get<0>(info.param))) + "_" +
             std::get<1>(info.param).name;
    });

class HashCapacity : public ::testing::TestWithParam<MapType> {};

TEST_P(HashCapacity, FullMapRefusesNewKeysButReplacesExisting) {
  auto map = make_map<HashMap>(make_def(GetParam(), 4, 8, 3), 2);
  ASSERT_NE(map, nullptr);
  std::vector<uint64_t> value(map->host_value_size() / 8, 9);
  for (uint32_t k = 0; k < 3; ++k) ASSERT_EQ(map->update_host(&k, value.data()), 0);
  uint32_t extra = 3;
  EXPECT_EQ(map->update_host(&extra, value.data()), -E2BIG);
  uint32_t existing = 1;
  EXPECT_EQ(map->update_host(&existing, value.data(), kBpfExist), 0);
  EXPECT_EQ(map->erase(&existing), 0);
  EXPECT_EQ(map->erase(&existing), -ENOENT);
  EXPECT_EQ(map->update_host(&extra, value.data()), 0);
  EXPECT_EQ(map->size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Maps, HashCapacity, ::testing::Values(MapType::Hash, MapType::PercpuHash),
                         [](const ::testing::TestParamInfo<MapType>& info) {
                           return std::string(map_type_name(info.param));
                         });

class LruEviction : public ::testing::TestWithParam<MapType> {};

TEST_P(LruEviction, EvictsLeastRecentlyUsedAndHostReadsDoNotCount) {
  auto map = make_map<HashMap>(make_def(GetParam(), 4, 8, 4), 1);
  ASSERT_NE(map, nullptr);
  const uint64_t value = 1;
  auto insert = [&](uint32_t k) { return map->update_host(&k, &value); };
  auto present = [&](uint32_t k) {
    uint64_t out;
    return map->lookup_copy(&k, &out) == 0;
  };
  for (uint32_t k = 1; k <= 4; ++k) ASSERT_EQ(insert(k), 0);
  {
    EpochGuard guard;
    uint32_t used = 1;
    ASSERT_NE(map->lookup(&used, 0), nullptr);  // a program's lookup marks key 1 as used
  }
  ASSERT_EQ(insert(5), 0) << "LRU maps evict instead of failing with -E2BIG";
  EXPECT_FALSE(present(2));
  EXPECT_TRUE(present(1));
  ASSERT_EQ(insert(6), 0);
  EXPECT_FALSE(present(3));
  EXPECT_TRUE(present(4));  // only a host read: no second chance
  ASSERT_EQ(insert(7), 0);
  EXPECT_FALSE(present(4));
  for (uint32_t k : {1u, 5u, 6u, 7u}) EXPECT_TRUE(present(k)) << k;
  EXPECT_EQ(map->size(), 4u);
}

INSTANTIATE_TEST_SUITE_P(Maps, LruEviction,
                         ::testing::Values(MapType::LruHash, MapType::LruPercpuHash),
                         [](const ::testing::TestParamInfo<MapType>& info) {
                           return std::string(map_type_name(info.param));
                         });

TEST(PercpuHash, ProgramCreatesElementWithOtherSlotsZeroed) {
  auto map = make_map(make_def(MapType::PercpuHash, 4, 4, 8), 3);
  ASSERT_NE(map, nullptr);
  const uint32_t key = 5;
  const uint32_t value = 77;
  {
    EpochGuard guard;
    ASSERT_EQ(map->update(&key, &value, kBpfAny, 2), 0);
    const uint32_t other = 66;
    ASSERT_EQ(map->update(&key, &other, kBpfExist, 0), 0);
  }
  std::vector<uint32_t> all(map->host_value_size() / 4, 0xffffffff);
  ASSERT_EQ(map->lookup_copy(&key, all.data()), 0);
  EXPECT_EQ(all, (std::vector<uint32_t>{66, 0, 0, 0, 77, 0}));
}

TEST(HashMap, GetNextKeyVisitsEachKeyOnceAndRestartsOnMissingKey) {
  auto map = make_map(make_def(MapType::Hash, 4, 4, 64));
  ASSERT_NE(map, nullptr);
  uint32_t next;
  EXPECT_EQ(map->get_next_key(nullptr, &next), -ENOENT);
  const uint32_t value = 0;
  for (uint32_t k = 100; k < 140; ++k) ASSERT_EQ(map->update_host(&k, &value), 0);
  auto keys = test::walk_keys(*map);
  std::set<uint32_t> seen;
  for (auto& bytes : keys) seen.insert(bytes[0] | bytes[1] << 8);
  EXPECT_EQ(keys.size(), 40u);
  EXPECT_EQ(seen.size(), 40u);
  EXPECT_EQ(*seen.begin(), 100u);
  uint32_t first;
  ASSERT_EQ(map->get_next_key(nullptr, &first), 0);
  const uint32_t missing = 5;
  ASSERT_EQ(map->get_next_key(&missing, &next), 0);
  EXPECT_EQ(next, first);
}

TEST(HashMap, BatchesWalkEveryElementAndReportTheEnd) {
  auto map = make_map<HashMap>(make_def(MapType::Hash, 4, 8, 32));
  ASSERT_NE(map, nullptr);
  std::vector<uint32_t> keys(10);
  std::vector<uint64_t> values(10);
  for (uint32_t i = 0; i < 10; ++i) {
    keys[i] = i;
    values[i] = 1000 + i;
  }
  uint32_t count = 10;
  ASSERT_EQ(map->update_batch(keys.data(), values.data(), &count), 0);
  std::set<uint32_t> seen;
  uint32_t batch = 0;
  bool first = true;
  long rc = 0;
  while (rc == 0) {
    uint32_t out_keys[3];
    uint64_t out_values[3];
    count = 3;
    rc = map->lookup_batch(first ? nullptr : &batch, &batch, out_keys, out_values, &count);
    first = false;
    for (uint32_t i = 0; i < count; ++i) {
      EXPECT_EQ(out_values[i], 1000u + out_keys[i]);
      EXPECT_TRUE(seen.insert(out_keys[i]).second) << "duplicate key " << out_keys[i];
    }
  }
  EXPECT_EQ(rc, -ENOENT);
  EXPECT_EQ(seen.size(), 10u);
  const uint32_t doomed[3] = {1, 2, 99};
  count = 3;
  EXPECT_EQ(map->delete_batch(doomed, &count), -ENOENT);
  EXPECT_EQ(count, 2u);
  uint32_t out_keys[16];
  uint64_t out_values[16];
  count = 16;
  EXPECT_EQ(map->lookup_and_delete_batch(nullptr, &batch, out_keys, out_values, &count), -ENOENT);
  EXPECT_EQ(count, 8u);
  EXPECT_EQ(map->size(), 0u);
}

TEST(HashMap, LookupAndDeleteReturnsTheValueOnce) {
  auto map = make_map(make_def(MapType::Hash, 4, 8, 4));
  ASSERT_NE(map, nullptr);
  const uint32_t key = 3;
  const uint64_t value = 33;
  ASSERT_EQ(map->update_host(&key, &value), 0);
  uint64_t out = 0;
  ASSERT_EQ(map->lookup_and_delete(&key, &out), 0);
  EXPECT_EQ(out, 33u);
  EXPECT_EQ(map->lookup_and_delete(&key, &out), -ENOENT);
}

TEST(HashMap, ValueStaysValidInsideEpochAfterEraseAndReplace) {
  auto map = make_map(make_def(MapType::Hash, 4, 8, 1024));
  ASSERT_NE(map, nullptr);
  const uint32_t key = 1;
  const uint64_t old_value = 0x1111;
  ASSERT_EQ(map->update_host(&key, &old_value), 0);
  const size_t pending_before = Epoch::pending();
  {
    EpochGuard guard;
    void* held = map->lookup(&key, 0);
    ASSERT_NE(held, nullptr);
    const uint64_t new_value = 0x2222;
    ASSERT_EQ(map->update(&key, &new_value, kBpfAny, 0), 0);
    void* replaced = map->lookup(&key, 0);
    EXPECT_NE(replaced, held) << "a replaced element is a new node";
    EXPECT_EQ(u64_at(replaced), 0x2222u);
    ASSERT_EQ(map->erase(&key), 0);
    // Churn the allocator: freed nodes would be reused here.
    for (uint32_t k = 100; k < 400; ++k) {
      ASSERT_EQ(map->update(&k, &new_value, kBpfAny, 0), 0);
      ASSERT_EQ(map->erase(&k), 0);
    }
    Epoch::collect();
    EXPECT_EQ(u64_at(held), 0x1111u);
    EXPECT_EQ(u64_at(replaced), 0x2222u);
    EXPECT_GE(Epoch::pending(), 2u);
  }
  Epoch::collect();
  EXPECT_LE(Epoch::pending(), pending_before) << "retired nodes are freed once readers leave";
}

TEST(HashMap, FLockUpdatesInPlace) {
  MapDef def = make_def(MapType::Hash, 4, 16, 4);
  def.spin_lock_off = 8;
  auto map = make_map(def);
  ASSERT_NE(map, nullptr);
  const uint32_t key = 9;
  const uint64_t first[2] = {1, 0};
  ASSERT_EQ(map->update_host(&key, first), 0);
  EpochGuard guard;
  void* before = map->lookup(&key, 0);
  const uint64_t second[2] = {2, 0xffffffffffffffff};
  ASSERT_EQ(map->update_host(&key, second, kBpfFLock), 0);
  EXPECT_EQ(map->lookup(&key, 0), before) << "BPF_F_LOCK writes into the existing element";
  uint64_t out[2];
  ASSERT_EQ(map->lookup_copy(&key, out, kBpfFLock), 0);
  EXPECT_EQ(out[0], 2u);
  EXPECT_EQ(out[1], 0xffffffff00000000u) << "lock word zeroed, the other half copied";
  EXPECT_EQ(map->update_host(&key, second, kBpfFLock | kBpfNoExist), -EEXIST);
}

TEST(HashMap, ForEachSeesEveryElementOfTheSlot) {
  auto map = make_map(make_def(MapType::PercpuHash, 4, 8, 16), 2);
  ASSERT_NE(map, nullptr);
  EpochGuard guard;
  for (uint32_t k = 0; k < 5; ++k) {
    const uint64_t v = k * 10;
    ASSERT_EQ(map->update(&k, &v, kBpfAny, 1), 0);
  }
  uint64_t sum = 0;
  long visited = map->for_each(
      [](void* ctx, const void*, void* value) -> long {
        *static_cast<uint64_t*>(ctx) += u64_at(value);
        return 0;
      },
      &sum, 1);
  EXPECT_EQ(visited, 5);
  EXPECT_EQ(sum, 100u);
}

}  // namespace
}  // namespace pollen::maps

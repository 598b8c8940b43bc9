// SPDX-License-Identifier: MIT
// The keyless maps: QUEUE and STACK order, empty and full behaviour, BPF_EXIST overwriting the
// oldest value and the syscall mapping (lookup = peek, update = push, lookup_and_delete = pop);
// BLOOM_FILTER with no false negatives, few false positives, and Linux's flags and errors.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "map_test_util.hpp"
#include "maps/keyless_maps.hpp"

namespace pollen::maps {
namespace {

using test::make_def;
using test::make_map;

struct OrderCase {
  const char* name;
  MapType type;
  uint64_t overflow_flags;
  long overflow_result;
  std::vector<uint32_t> popped;  // after pushing 1, 2, 3, then 4 with overflow_flags
};

class QueueStackOrder : public ::testing::TestWithParam<OrderCase> {};

TEST_P(QueueStackOrder, PopsInOrderAndHandlesFullAndEmpty) {
  const OrderCase& c = GetParam();
  auto map = make_map<QueueStackMap>(make_def(c.type, 0, 4, 3));
  ASSERT_NE(map, nullptr);
  uint32_t out = 0;
  EXPECT_EQ(map->pop(&out), -ENOENT);
  EXPECT_EQ(map->peek(&out), -ENOENT);
  for (uint32_t v = 1; v <= 3; ++v) ASSERT_EQ(map->push(&v, kBpfAny), 0);
  const uint32_t four = 4;
  EXPECT_EQ(map->push(&four, c.overflow_flags), c.overflow_result);
  ASSERT_EQ(map->peek(&out), 0);
  EXPECT_EQ(out, c.popped.front());
  std::vector<uint32_t> popped;
  while (map->pop(&out) == 0) popped.push_back(out);
  EXPECT_EQ(popped, c.popped);
  EXPECT_EQ(map->size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Maps, QueueStackOrder,
    ::testing::Values(
        OrderCase{"queue_full_e2big", MapType::Queue, kBpfAny, -E2BIG, {1, 2, 3}},
        OrderCase{"queue_exist_drops_oldest", MapType::Queue, kBpfExist, 0, {2, 3, 4}},
        OrderCase{"stack_full_e2big", MapType::Stack, kBpfAny, -E2BIG, {3, 2, 1}},
        OrderCase{"stack_exist_drops_oldest", MapType::Stack, kBpfExist, 0, {4, 3, 2}}),
    [](const ::testing::TestParamInfo<OrderCase>& info) { return std::string(info.param.name); });

TEST(QueueStackMap, WrapsAroundManyTimes) {
  auto map = make_map(make_def(MapType::Queue, 0, 8, 5));
  ASSERT_NE(map, nullptr);
  uint64_t next_in = 0, next_out = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 3; ++i, ++next_in) ASSERT_EQ(map->push(&next_in, kBpfAny), 0);
    for (int i = 0; i < 3; ++i, ++next_out) {
      uint64_t out;
      ASSERT_EQ(map->pop(&out), 0);
      ASSERT_EQ(out, next_out);
    }
  }
}

TEST(QueueStackMap, SyscallOperationsMapToPushPopPeek) {
  auto map = make_map(make_def(MapType::Queue, 0, 4, 2));
  ASSERT_NE(map, nullptr);
  const uint32_t v = 9;
  EXPECT_EQ(map->update_host(nullptr, &v, kBpfNoExist), -EINVAL) << "NOEXIST is not accepted";
  EXPECT_EQ(map->push(&v, 8), -EINVAL);
  ASSERT_EQ(map->update_host(nullptr, &v), 0);
  uint32_t out = 0;
  ASSERT_EQ(map->lookup_copy(nullptr, &out), 0);
  EXPECT_EQ(out, 9u);
  ASSERT_EQ(map->lookup_and_delete(nullptr, &out), 0);
  EXPECT_EQ(map->lookup_copy(nullptr, &out), -ENOENT);
  EXPECT_EQ(map->erase(nullptr), -EINVAL);
  EXPECT_EQ(map->get_next_key(nullptr, &out), -EINVAL);
}

std::shared_ptr<BloomFilter> make_bloom(uint32_t max_entries, uint64_t hashes) {
  MapDef def = make_def(MapType::BloomFilter, 0, 8, max_entries, kBpfFZeroSeed);
  def.map_extra = hashes;
  return make_map<BloomFilter>(def);
}

TEST(BloomFilter, HasNoFalseNegativesAndFewFalsePositives) {
  auto bloom = make_bloom(1000, 0);
  ASSERT_NE(bloom, nullptr);
  EXPECT_EQ(bloom->hash_count(), 5u) << "map_extra 0 means Linux's default of 5";
  EXPECT_EQ(bloom->bit_count(), 8192u) << "1000 * 5 * 7/5 rounded up to a power of two";
  for (uint64_t v = 0; v < 1000; ++v) {
    uint64_t value = v * 7919;
    ASSERT_EQ(bloom->push(&value, kBpfAny), 0);
  }
  for (uint64_t v = 0; v < 1000; ++v) {
    uint64_t value = v * 7919;
    EXPECT_EQ(bloom->peek(&value), 0) << v;
  }
  int false_positives = 0;
  for (uint64_t v = 0; v < 10000; ++v) {
    uint64_t value = v * 7919 + 1;
    if (bloom->peek(&value) == 0) ++false_positives;
  }
  // About 2.5% expected at this fill; a broken hash would be far above 10%.
  EXPECT_LT(false_positives, 1000);
}

TEST(BloomFilter, FlagsAndUnsupportedOperationsMatchLinux) {
  auto bloom = make_bloom(16, 3);
  ASSERT_NE(bloom, nullptr);
  EXPECT_EQ(bloom->hash_count(), 3u);
  EXPECT_EQ(bloom->bit_count(), 64u) << "never fewer than 64 bits";
  uint64_t value = 5;
  EXPECT_EQ(bloom->lookup_copy(nullptr, &value), -ENOENT);
  EXPECT_EQ(bloom->push(&value, kBpfExist), -EINVAL);
  ASSERT_EQ(bloom->update_host(nullptr, &value), 0);
  EXPECT_EQ(bloom->lookup_copy(nullptr, &value), 0);
  EXPECT_EQ(bloom->pop(&value), -EOPNOTSUPP);
  EXPECT_EQ(bloom->erase(&value), -EOPNOTSUPP);
  EXPECT_EQ(bloom->get_next_key(nullptr, &value), -EOPNOTSUPP);
}

}  // namespace
}  // namespace pollen::maps

// SPDX-License-Identifier: MIT
// BPF_MAP_TYPE_PERF_EVENT_ARRAY: the samples bpf_perf_event_output writes, kept in order with
// the index each went to, lost with -ENOSPC once kPerfSampleBytes are held, handed over (and
// forgotten) by consume(); the entries themselves are no values for programs or the host.
#include <cerrno>
#include <cstdint>
#include <vector>

#include "map_test_util.hpp"
#include "maps/perf_event_array.hpp"

namespace pollen::maps::test {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(PerfEventArray, KeepsSamplesInOrderWithTheirIndex) {
  auto map = make_map<PerfEventArray>(make_def(MapType::PerfEventArray, 4, 4, 2));
  ASSERT_NE(map, nullptr);
  const Bytes head = {1, 2, 3}, tail = {9, 8};
  EXPECT_EQ(map->output(1, head.data(), head.size(), tail.data(), tail.size()), 0);
  EXPECT_EQ(map->output(0, tail.data(), tail.size(), nullptr, 0), 0);
  EXPECT_EQ(map->output(0, nullptr, 0, nullptr, 0), 0);  // an empty sample is one too
  EXPECT_EQ(map->output(2, head.data(), head.size(), nullptr, 0), -E2BIG);
  std::vector<PerfEventArray::Sample> samples = map->consume();
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].index, 1u);
  EXPECT_EQ(samples[0].bytes, (Bytes{1, 2, 3, 9, 8}));
  EXPECT_EQ(samples[1].index, 0u);
  EXPECT_EQ(samples[1].bytes, tail);
  EXPECT_TRUE(samples[2].bytes.empty());
  EXPECT_TRUE(map->consume().empty());
}

TEST(PerfEventArray, LosesSamplesPastItsBytesUntilConsumed) {
  auto map = make_map<PerfEventArray>(make_def(MapType::PerfEventArray, 4, 4, 1));
  ASSERT_NE(map, nullptr);
  const Bytes sample(1016);  // 1 KiB with the 8-byte header
  uint64_t kept = 0;
  while (map->output(0, sample.data(), sample.size(), nullptr, 0) == 0) ++kept;
  EXPECT_EQ(kept, kPerfSampleBytes / 1024);
  EXPECT_EQ(map->output(0, sample.data(), sample.size(), nullptr, 0), -ENOSPC);
  EXPECT_EQ(map->consume().size(), kept);
  EXPECT_EQ(map->output(0, sample.data(), sample.size(), nullptr, 0), 0);
}

TEST(PerfEventArray, EntriesAreNoValues) {
  auto map = make_map<PerfEventArray>(make_def(MapType::PerfEventArray, 4, 4, 2));
  ASSERT_NE(map, nullptr);
  const uint32_t key = 1, past = 2, fd = 3;
  uint32_t value = 0;
  EXPECT_EQ(map->lookup(&key, 0), nullptr);
  EXPECT_EQ(map->update(&key, &fd, kBpfAny, 0), -EINVAL);
  EXPECT_EQ(map->lookup_copy(&key, &value), -EOPNOTSUPP);
  EXPECT_EQ(map->update_host(&key, &fd), -EOPNOTSUPP);
  EXPECT_EQ(map->erase(&key), -ENOENT);
  EXPECT_EQ(map->erase(&past), -E2BIG);
  EXPECT_EQ(walk_keys(*map).size(), 2u);
}

TEST(PerfEventArray, KeysAndValuesAreU32) {
  EXPECT_FALSE(create_map(make_def(MapType::PerfEventArray, 8, 4, 1), 1));
  EXPECT_FALSE(create_map(make_def(MapType::PerfEventArray, 4, 8, 1), 1));
  EXPECT_FALSE(create_map(make_def(MapType::PerfEventArray, 4, 4, 1, kBpfFNoPrealloc), 1));
}

}  // namespace
}  // namespace pollen::maps::test

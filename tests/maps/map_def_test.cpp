// SPDX-License-Identifier: MIT
// Map creation: Pollen's constants are Linux's, and create_map accepts exactly the MapDefs
// Linux's map_alloc_check accepts, rejecting the others with a message that names the field.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "map_test_util.hpp"
#include "maps/ringbuf.hpp"

#if __has_include(<linux/bpf.h>)
#include <linux/bpf.h>
#define POLLEN_HAVE_LINUX_BPF_H 1
#endif

namespace pollen::maps {
namespace {

using test::make_def;

#ifdef POLLEN_HAVE_LINUX_BPF_H
TEST(MapConstants, MatchLinuxUapi) {
  EXPECT_EQ(static_cast<uint32_t>(MapType::Hash), BPF_MAP_TYPE_HASH);
  EXPECT_EQ(static_cast<uint32_t>(MapType::LruPercpuHash), BPF_MAP_TYPE_LRU_PERCPU_HASH);
  EXPECT_EQ(static_cast<uint32_t>(MapType::LpmTrie), BPF_MAP_TYPE_LPM_TRIE);
  EXPECT_EQ(static_cast<uint32_t>(MapType::HashOfMaps), BPF_MAP_TYPE_HASH_OF_MAPS);
  EXPECT_EQ(static_cast<uint32_t>(MapType::Queue), BPF_MAP_TYPE_QUEUE);
  EXPECT_EQ(static_cast<uint32_t>(MapType::Ringbuf), BPF_MAP_TYPE_RINGBUF);
  EXPECT_EQ(static_cast<uint32_t>(MapType::BloomFilter), BPF_MAP_TYPE_BLOOM_FILTER);
  EXPECT_EQ(static_cast<uint32_t>(MapType::UserRingbuf), BPF_MAP_TYPE_USER_RINGBUF);
  EXPECT_EQ(kBpfAny, uint64_t{BPF_ANY});
  EXPECT_EQ(kBpfNoExist, uint64_t{BPF_NOEXIST});
  EXPECT_EQ(kBpfExist, uint64_t{BPF_EXIST});
  EXPECT_EQ(kBpfFLock, uint64_t{BPF_F_LOCK});
  EXPECT_EQ(kBpfFNoPrealloc, uint32_t{BPF_F_NO_PREALLOC});
  EXPECT_EQ(kBpfFNoCommonLru, uint32_t{BPF_F_NO_COMMON_LRU});
  EXPECT_EQ(kBpfFZeroSeed, uint32_t{BPF_F_ZERO_SEED});
  EXPECT_EQ(kBpfFMmapable, uint32_t{BPF_F_MMAPABLE});
  EXPECT_EQ(kBpfFInnerMap, uint32_t{BPF_F_INNER_MAP});
  EXPECT_EQ(kBpfFAccessMask,
            uint32_t{BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG});
  EXPECT_EQ(kRingbufBusyBit, uint32_t{BPF_RINGBUF_BUSY_BIT});
  EXPECT_EQ(kRingbufDiscardBit, uint32_t{BPF_RINGBUF_DISCARD_BIT});
  EXPECT_EQ(kRingbufHdrSize, uint32_t{BPF_RINGBUF_HDR_SZ});
  EXPECT_EQ(kRbNoWakeup, uint64_t{BPF_RB_NO_WAKEUP});
  EXPECT_EQ(kRbForceWakeup, uint64_t{BPF_RB_FORCE_WAKEUP});
  EXPECT_EQ(kRbAvailData, uint64_t{BPF_RB_AVAIL_DATA});
  EXPECT_EQ(kRbRingSize, uint64_t{BPF_RB_RING_SIZE});
  EXPECT_EQ(kRbConsPos, uint64_t{BPF_RB_CONS_POS});
  EXPECT_EQ(kRbProdPos, uint64_t{BPF_RB_PROD_POS});
}
#endif

MapDef with_extra(MapDef def, uint64_t extra) {
  def.map_extra = extra;
  return def;
}

MapDef with_lock(MapDef def, int32_t off) {
  def.spin_lock_off = off;
  return def;
}

MapDef with_inner(MapDef def, MapDef inner) {
  def.inner = std::make_shared<const MapDef>(std::move(inner));
  return def;
}

struct DefCase {
  const char* name;
  MapDef def;
  const char* error;  // nullptr: accepted; else a substring of the message
};

// GoogleTest prints parameters in test listings; the case name says what the bytes would not.
void PrintTo(const DefCase& c, std::ostream* os) { *os << c.name; }

class MapDefCheck : public ::testing::TestWithParam<DefCase> {};

TEST_P(MapDefCheck, AcceptsOrRejectsLikeLinux) {
  const DefCase& c = GetParam();
  auto created = create_map(c.def, 2);
  if (c.error == nullptr) {
    EXPECT_TRUE(created.ok()) << created.error().str();
    return;
  }
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, Errc::InvalidArgument);
  EXPECT_NE(created.error().str().find(c.error), std::string::npos) << created.error().str();
  EXPECT_EQ(created.error().str().rfind("map test: ", 0), 0u) << created.error().str();
}

const MapDef kArray = make_def(MapType::Array, 4, 8, 4);
const MapDef kHash = make_def(MapType::Hash, 8, 8, 4);
const MapDef kLpm = make_def(MapType::LpmTrie, 8, 8, 4, kBpfFNoPrealloc);

INSTANTIATE_TEST_SUITE_P(
    Maps, MapDefCheck,
    ::testing::Values(
        DefCase{"array_ok", kArray, nullptr},
        DefCase{"array_key_8", make_def(MapType::Array, 8, 8, 4), "key_size must be 4 for array"},
        DefCase{"array_value_0", make_def(MapType::Array, 4, 0, 4), "value_size must be in"},
        DefCase{"array_max_0", make_def(MapType::Array, 4, 8, 0), "max_entries must not be 0"},
        DefCase{"array_no_prealloc", make_def(MapType::Array, 4, 8, 4, kBpfFNoPrealloc),
                "map_flags 0x1 not accepted for array"},
        DefCase{"percpu_array_mmapable", make_def(MapType::PercpuArray, 4, 8, 4, kBpfFMmapable),
                "BPF_F_MMAPABLE"},
        DefCase{"percpu_array_value_too_big", make_def(MapType::PercpuArray, 4, 40000, 4),
                "value_size must be in [1, 32768]"},
        DefCase{"hash_ok", kHash, nullptr},
        DefCase{"hash_key_0", make_def(MapType::Hash, 0, 8, 4), "key_size must be in [1, 512]"},
        DefCase{"hash_key_too_big", make_def(MapType::Hash, 513, 8, 4), "key_size: 513"},
        DefCase{"hash_no_common_lru", make_def(MapType::Hash, 4, 8, 4, kBpfFNoCommonLru),
                "BPF_F_NO_COMMON_LRU needs an LRU map"},
        DefCase{"lru_no_prealloc", make_def(MapType::LruHash, 4, 8, 4, kBpfFNoPrealloc),
                "BPF_F_NO_PREALLOC is not accepted for lru_hash"},
        DefCase{"lru_common_ok", make_def(MapType::LruHash, 4, 8, 4, kBpfFNoCommonLru), nullptr},
        DefCase{"hash_map_extra", with_extra(kHash, 3), "map_extra must be 0 for hash"},
        DefCase{"lpm_ok", kLpm, nullptr},
        DefCase{"lpm_needs_no_prealloc", make_def(MapType::LpmTrie, 8, 8, 4),
                "lpm_trie needs BPF_F_NO_PREALLOC"},
        DefCase{"lpm_key_4", make_def(MapType::LpmTrie, 4, 8, 4, kBpfFNoPrealloc),
                "key_size must be in [5, 260]"},
        DefCase{"queue_ok", make_def(MapType::Queue, 0, 8, 4), nullptr},
        DefCase{"queue_key_4", make_def(MapType::Queue, 4, 8, 4), "key_size must be 0 for queue"},
        DefCase{"stack_value_0", make_def(MapType::Stack, 0, 0, 4), "value_size must be in"},
        DefCase{"ringbuf_ok", make_def(MapType::Ringbuf, 0, 0, 4096), nullptr},
        DefCase{"ringbuf_not_pow2", make_def(MapType::Ringbuf, 0, 0, 3 * 4096),
                "power of 2 and a multiple of the page size"},
        DefCase{"ringbuf_below_page", make_def(MapType::Ringbuf, 0, 0, 1024), "max_entries: 1024"},
        DefCase{"ringbuf_value", make_def(MapType::Ringbuf, 0, 4, 4096), "value_size must be 0"},
        DefCase{"bloom_ok", with_extra(make_def(MapType::BloomFilter, 0, 4, 100), 3), nullptr},
        DefCase{"bloom_extra", with_extra(make_def(MapType::BloomFilter, 0, 4, 100), 0x10),
                "map_extra must hold only the number of hash functions"},
        DefCase{"bloom_key", make_def(MapType::BloomFilter, 4, 4, 100), "key_size must be 0"},
        DefCase{"prog_array_ok", make_def(MapType::ProgArray, 4, 4, 8), nullptr},
        DefCase{"prog_array_value_8", make_def(MapType::ProgArray, 4, 8, 8),
                "value_size must be 4 for prog_array"},
        DefCase{"array_of_maps_no_inner", make_def(MapType::ArrayOfMaps, 4, 4, 8),
                "needs an inner map template"},
        DefCase{"array_of_maps_ok", with_inner(make_def(MapType::ArrayOfMaps, 4, 4, 8), kArray),
                nullptr},
        DefCase{"hash_of_maps_nested",
                with_inner(make_def(MapType::HashOfMaps, 4, 4, 8),
                           with_inner(make_def(MapType::ArrayOfMaps, 4, 4, 8), kArray)),
                "cannot be a array_of_maps"},
        DefCase{
            "inner_invalid",
            with_inner(make_def(MapType::HashOfMaps, 4, 4, 8), make_def(MapType::Array, 8, 8, 4)),
            "key_size must be 4 for array"},
        DefCase{"spin_lock_ok", with_lock(make_def(MapType::Hash, 4, 16, 4), 8), nullptr},
        DefCase{"spin_lock_unaligned", with_lock(make_def(MapType::Hash, 4, 16, 4), 6),
                "spin_lock_off must be 4-byte aligned"},
        DefCase{"spin_lock_outside", with_lock(make_def(MapType::Array, 4, 16, 4), 16),
                "inside the value"},
        DefCase{"spin_lock_percpu", with_lock(make_def(MapType::PercpuHash, 4, 16, 4), 0),
                "only accepted for hash and array maps"}),
    [](const ::testing::TestParamInfo<DefCase>& info) { return std::string(info.param.name); });

TEST(CreateMap, UnsupportedTypeIsNotSupportedAndNamed) {
  auto created = create_map(make_def(MapType::StackTrace, 4, 8, 4), 1);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, Errc::NotSupported);
  EXPECT_NE(created.error().message.find("stack_trace (7) is not supported"),
            std::string::npos)
      << created.error().message;
}

TEST(CreateMap, RejectsZeroSlots) {
  auto created = create_map(kArray, 0);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().message.find("(slots: 0)"), std::string::npos);
}

TEST(CreateMap, NamesEveryTypeLikeBpftool) {
  EXPECT_STREQ(map_type_name(MapType::LruPercpuHash), "lru_percpu_hash");
  EXPECT_STREQ(map_type_name(MapType::BloomFilter), "bloom_filter");
  EXPECT_STREQ(map_type_name(static_cast<MapType>(999)), "unknown");
}

TEST(CreateMap, HostValueSizeIsPerSlotRoundedForPercpuMaps) {
  auto map = test::make_map(make_def(MapType::PercpuHash, 4, 12, 4), 3);
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->host_value_size(), 3u * 16u);
  auto plain = test::make_map(make_def(MapType::Hash, 4, 12, 4), 3);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->host_value_size(), 12u);
}

}  // namespace
}  // namespace pollen::maps

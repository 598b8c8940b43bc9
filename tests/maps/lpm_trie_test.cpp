// SPDX-License-Identifier: MIT
// LPM_TRIE: longest-prefix match with /0, /32 and nested or diverging prefixes, the update
// flags and errors, capacity (-ENOSPC), deletion rejoining the trie, IPv6-sized keys, Linux's
// postorder get_next_key order, batches and value stability.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cerrno>
#include <string>
#include <vector>

#include "map_test_util.hpp"
#include "maps/epoch.hpp"
#include "maps/lpm_trie.hpp"

namespace pollen::maps {
namespace {

using test::make_def;
using test::make_map;

struct Ipv4Key {
  uint32_t prefixlen;
  unsigned char data[4];
};

Ipv4Key v4(const char* addr, uint32_t prefixlen) {
  Ipv4Key key{prefixlen, {}};
  EXPECT_EQ(inet_pton(AF_INET, addr, key.data), 1) << addr;
  return key;
}

std::string to_string(const Ipv4Key& key) {
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, key.data, text, sizeof text);
  return std::string(text) + "/" + std::to_string(key.prefixlen);
}

std::shared_ptr<LpmTrie> make_trie(uint32_t max_entries = 64) {
  return make_map<LpmTrie>(make_def(MapType::LpmTrie, 8, 8, max_entries, kBpfFNoPrealloc));
}

// Looks up `addr` with the given prefix length: the stored value, or 0 when nothing matches.
uint64_t match(LpmTrie& trie, const char* addr, uint32_t prefixlen = 32) {
  Ipv4Key key = v4(addr, prefixlen);
  uint64_t value = 0;
  long rc = trie.lookup_copy(&key, &value);
  EpochGuard guard;
  void* pointer = trie.lookup(&key, 0);
  EXPECT_EQ(rc == 0, pointer != nullptr) << "host and program lookups disagree";
  return rc == 0 ? value : 0;
}

long insert(LpmTrie& trie, const char* addr, uint32_t prefixlen, uint64_t value,
            uint64_t flags = kBpfAny) {
  Ipv4Key key = v4(addr, prefixlen);
  return trie.update_host(&key, &value, flags);
}

long remove(LpmTrie& trie, const char* addr, uint32_t prefixlen) {
  Ipv4Key key = v4(addr, prefixlen);
  return trie.erase(&key);
}

struct MatchCase {
  const char* addr;
  uint32_t prefixlen;
  uint64_t expected;
};

TEST(LpmTrie, FindsTheLongestMatchingPrefix) {
  auto trie = make_trie();
  ASSERT_NE(trie, nullptr);
  ASSERT_EQ(insert(*trie, "10.0.0.0", 8, 1), 0);
  ASSERT_EQ(insert(*trie, "10.1.0.0", 16, 2), 0);
  ASSERT_EQ(insert(*trie, "10.1.1.0", 24, 3), 0);
  ASSERT_EQ(insert(*trie, "10.1.1.1", 32, 4), 0);
  ASSERT_EQ(insert(*trie, "0.0.0.0", 0, 5), 0);
  ASSERT_EQ(insert(*trie, "10.128.0.0", 9, 6), 0);
  const MatchCase cases[] = {
      {"10.1.1.1", 32, 4},       {"10.1.1.2", 32, 3},        {"10.1.2.3", 32, 2},
      {"10.2.0.0", 32, 1},       {"11.0.0.0", 32, 5},        {"10.1.1.1", 24, 3},
      {"10.1.1.1", 16, 2},       {"10.1.1.1", 0, 5},         {"10.200.1.1", 32, 6},
      {"10.127.255.255", 32, 1}, {"255.255.255.255", 32, 5},
  };
  for (const MatchCase& c : cases) {
    EXPECT_EQ(match(*trie, c.addr, c.prefixlen), c.expected) << c.addr << "/" << c.prefixlen;
  }
  EXPECT_EQ(trie->size(), 6u);
  ASSERT_EQ(remove(*trie, "0.0.0.0", 0), 0);
  EXPECT_EQ(match(*trie, "11.0.0.0"), 0u);
  ASSERT_EQ(remove(*trie, "10.1.1.0", 24), 0);
  EXPECT_EQ(match(*trie, "10.1.1.2"), 2u);
  EXPECT_EQ(match(*trie, "10.1.1.1"), 4u);
}

TEST(LpmTrie, DivergingPrefixesShareAnIntermediateNode) {
  auto trie = make_trie();
  ASSERT_NE(trie, nullptr);
  ASSERT_EQ(insert(*trie, "192.168.0.0", 16, 1), 0);
  ASSERT_EQ(insert(*trie, "192.169.0.0", 16, 2), 0);
  EXPECT_EQ(match(*trie, "192.168.3.4"), 1u);
  EXPECT_EQ(match(*trie, "192.169.3.4"), 2u);
  EXPECT_EQ(match(*trie, "192.170.0.0"), 0u) << "the intermediate node is not an entry";
  uint64_t value = 7;
  Ipv4Key joint = v4("192.168.0.0", 15);
  EXPECT_EQ(trie->update_host(&joint, &value, kBpfExist), -ENOENT);
  ASSERT_EQ(trie->update_host(&joint, &value, kBpfNoExist), 0) << "takes the joint's place";
  EXPECT_EQ(match(*trie, "192.169.255.0"), 2u);
  EXPECT_EQ(match(*trie, "192.168.255.0"), 1u);
  ASSERT_EQ(remove(*trie, "192.168.0.0", 16), 0);
  EXPECT_EQ(match(*trie, "192.168.3.4"), 7u);
  ASSERT_EQ(remove(*trie, "192.168.0.0", 15), 0);
  ASSERT_EQ(remove(*trie, "192.169.0.0", 16), 0);
  EXPECT_EQ(trie->size(), 0u);
  EXPECT_EQ(match(*trie, "192.169.3.4"), 0u);
}

TEST(LpmTrie, DeletingAnEntryWithTwoChildrenKeepsTheChildren) {
  auto trie = make_trie();
  ASSERT_NE(trie, nullptr);
  ASSERT_EQ(insert(*trie, "10.0.0.0", 8, 1), 0);
  ASSERT_EQ(insert(*trie, "10.0.0.0", 9, 2), 0);
  ASSERT_EQ(insert(*trie, "10.128.0.0", 9, 3), 0);
  ASSERT_EQ(remove(*trie, "10.0.0.0", 8), 0);
  EXPECT_EQ(remove(*trie, "10.0.0.0", 8), -ENOENT);
  EXPECT_EQ(match(*trie, "10.1.0.0"), 2u);
  EXPECT_EQ(match(*trie, "10.129.0.0"), 3u);
  ASSERT_EQ(remove(*trie, "10.0.0.0", 9), 0);
  EXPECT_EQ(match(*trie, "10.129.0.0"), 3u);
  EXPECT_EQ(match(*trie, "10.1.0.0"), 0u);
  ASSERT_EQ(insert(*trie, "10.0.0.0", 8, 4), 0);
  EXPECT_EQ(match(*trie, "10.1.0.0"), 4u);
  EXPECT_EQ(trie->size(), 2u);
}

TEST(LpmTrie, UpdateFlagsAndErrorsMatchLinux) {
  auto trie = make_trie(2);
  ASSERT_NE(trie, nullptr);
  EXPECT_EQ(insert(*trie, "1.0.0.0", 8, 1, kBpfExist), -ENOENT);
  EXPECT_EQ(insert(*trie, "1.0.0.0", 8, 1, kBpfNoExist), 0);
  EXPECT_EQ(insert(*trie, "1.0.0.0", 8, 2, kBpfNoExist), -EEXIST);
  EXPECT_EQ(insert(*trie, "1.0.0.0", 8, 3, kBpfExist), 0);
  EXPECT_EQ(match(*trie, "1.2.3.4"), 3u);
  EXPECT_EQ(insert(*trie, "1.0.0.0", 8, 3, kBpfFLock), -EINVAL);
  EXPECT_EQ(insert(*trie, "1.0.0.0", 33, 3), -EINVAL);
  EXPECT_EQ(remove(*trie, "1.0.0.0", 33), -EINVAL);
  EXPECT_EQ(insert(*trie, "2.0.0.0", 8, 4), 0);
  EXPECT_EQ(insert(*trie, "3.0.0.0", 8, 5), -ENOSPC) << "a full trie answers -ENOSPC";
  EXPECT_EQ(insert(*trie, "2.0.0.0", 8, 6), 0) << "replacing needs no room";
  EXPECT_EQ(remove(*trie, "3.0.0.0", 8), -ENOENT);
  EXPECT_EQ(remove(*trie, "2.0.0.0", 7), -ENOENT);
}

TEST(LpmTrie, MatchesIpv6SizedKeys) {
  auto trie = make_map<LpmTrie>(make_def(MapType::LpmTrie, 20, 4, 8, kBpfFNoPrealloc));
  ASSERT_NE(trie, nullptr);
  struct Key {
    uint32_t prefixlen;
    unsigned char data[16];
  };
  Key net{64, {}};
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8:1:2::", net.data), 1);
  Key host{128, {}};
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8:1:2::42", host.data), 1);
  const uint32_t a = 64, b = 128;
  ASSERT_EQ(trie->update_host(&net, &a), 0);
  ASSERT_EQ(trie->update_host(&host, &b), 0);
  Key probe{128, {}};
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8:1:2::43", probe.data), 1);
  uint32_t out = 0;
  ASSERT_EQ(trie->lookup_copy(&probe, &out), 0);
  EXPECT_EQ(out, 64u);
  ASSERT_EQ(trie->lookup_copy(&host, &out), 0);
  EXPECT_EQ(out, 128u);
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8:1:3::", probe.data), 1);
  EXPECT_EQ(trie->lookup_copy(&probe, &out), -ENOENT);
}

std::vector<std::string> walk(LpmTrie& trie) {
  std::vector<std::string> order;
  for (auto& bytes : test::walk_keys(trie)) {
    Ipv4Key key;
    std::memcpy(&key, bytes.data(), sizeof key);
    order.push_back(to_string(key));
  }
  return order;
}

TEST(LpmTrie, GetNextKeyWalksInPostorderMostSpecificFirst) {
  auto trie = make_trie();
  ASSERT_NE(trie, nullptr);
  EXPECT_TRUE(walk(*trie).empty());
  for (auto [addr, len] : {std::pair{"192.168.0.0", 16},
                           {"192.168.0.0", 24},
                           {"192.168.128.0", 24},
                           {"192.168.1.0", 24},
                           {"10.0.0.0", 8},
                           {"0.0.0.0", 0}}) {
    ASSERT_EQ(insert(*trie, addr, len, 1), 0);
  }
  const std::vector<std::string> expected = {"10.0.0.0/8",       "192.168.0.0/24", "192.168.1.0/24",
                                             "192.168.128.0/24", "192.168.0.0/16", "0.0.0.0/0"};
  EXPECT_EQ(walk(*trie), expected);
  Ipv4Key missing = v4("172.16.0.0", 12);
  Ipv4Key next{};
  ASSERT_EQ(trie->get_next_key(&missing, &next), 0);
  EXPECT_EQ(to_string(next), "10.0.0.0/8") << "a key not stored restarts the walk";
  ASSERT_EQ(remove(*trie, "192.168.1.0", 24), 0);
  Ipv4Key from = v4("192.168.0.0", 24);
  ASSERT_EQ(trie->get_next_key(&from, &next), 0);
  EXPECT_EQ(to_string(next), "192.168.128.0/24");
  Ipv4Key last = v4("0.0.0.0", 0);
  EXPECT_EQ(trie->get_next_key(&last, &next), -ENOENT);
}

TEST(LpmTrie, BatchLookupReturnsEveryEntry) {
  auto trie = make_trie();
  ASSERT_NE(trie, nullptr);
  ASSERT_EQ(insert(*trie, "10.0.0.0", 8, 8), 0);
  ASSERT_EQ(insert(*trie, "10.10.0.0", 16, 16), 0);
  ASSERT_EQ(insert(*trie, "10.10.10.10", 32, 32), 0);
  Ipv4Key keys[4];
  uint64_t values[4];
  Ipv4Key batch;
  uint32_t count = 4;
  EXPECT_EQ(trie->lookup_batch(nullptr, &batch, keys, values, &count), -ENOENT);
  ASSERT_EQ(count, 3u);
  for (uint32_t i = 0; i < count; ++i) EXPECT_EQ(values[i], keys[i].prefixlen);
  count = 1;
  EXPECT_EQ(trie->lookup_and_delete_batch(nullptr, &batch, keys, values, &count), -kEnotsupp);
}

TEST(LpmTrie, ValueStaysValidInsideEpochAfterDelete) {
  auto trie = make_trie();
  ASSERT_NE(trie, nullptr);
  ASSERT_EQ(insert(*trie, "10.0.0.0", 8, 0xabc), 0);
  EpochGuard guard;
  Ipv4Key key = v4("10.9.9.9", 32);
  void* held = trie->lookup(&key, 0);
  ASSERT_NE(held, nullptr);
  ASSERT_EQ(remove(*trie, "10.0.0.0", 8), 0);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(insert(*trie, "10.0.0.0", 8, i), 0);
    ASSERT_EQ(remove(*trie, "10.0.0.0", 8), 0);
  }
  Epoch::collect();
  EXPECT_EQ(trie->lookup(&key, 0), nullptr);
  EXPECT_EQ(test::u64_at(held), 0xabcu);
}

}  // namespace
}  // namespace pollen::maps

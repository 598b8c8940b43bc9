// SPDX-License-Identifier: MIT
// DEVMAP, DEVMAP_HASH, CPUMAP and XSKMAP against what Linux 6.18 answered to the same bpf(2)
// calls: a C probe created each map with key_size 4, value_size 8 (4 for XSKMAP) and
// max_entries 4 on a 2-CPU host, then made the calls below one by one and printed each
// result; every expectation here quotes one line of that output. The interface is lo
// (ifindex 1); "no interface" is an ifindex the host does not have.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "map_test_util.hpp"
#include "maps/epoch.hpp"
#include "maps/xdp_maps.hpp"

namespace pollen::maps::test {
namespace {

constexpr uint32_t kLo = 1;

// An ifindex no interface of this host has (Linux's probe used 9999).
uint32_t missing_ifindex() {
  char name[IF_NAMESIZE];
  uint32_t ifindex = 9999;
  while (if_indextoname(ifindex, name) != nullptr) ++ifindex;
  return ifindex;
}

struct Value {
  uint32_t first = 0;  ///< ifindex, qsize or socket fd
  int32_t prog = 0;    ///< program fd written, program id read
};

long update(Map& map, uint32_t key, uint32_t first, int32_t prog = 0, uint64_t flags = kBpfAny) {
  const Value v{first, prog};
  return map.update_host(&key, &v, flags);
}

// {result, value} of a host lookup; the value is {99, 99} when nothing was copied.
std::pair<long, Value> lookup(Map& map, uint32_t key) {
  Value v{99, 99};
  const long rc = map.lookup_copy(&key, &v);
  return {rc, v};
}

long erase(Map& map, uint32_t key) {
  return map.erase(&key);
}

std::pair<long, uint32_t> next_key(Map& map, const uint32_t* key) {
  uint32_t next = 77;
  const long rc = map.get_next_key(key, &next);
  return {rc, next};
}

TEST(RedirectMapDefs, AcceptWhatLinuxAccepts) {
  // Linux 6.18: value_size 4 and 8 accepted for devmap, devmap_hash and cpumap, 4 only for
  // xskmap; value_size 12 or 0, key_size 8 and max_entries 0 are EINVAL; map_flags bits 2-4
  // (NUMA_NODE, RDONLY, WRONLY) accepted, cpumap bit 2 only.
  for (MapType type : {MapType::Devmap, MapType::DevmapHash, MapType::Cpumap, MapType::Xskmap}) {
    SCOPED_TRACE(map_type_name(type));
    EXPECT_TRUE(check_map_def(make_def(type, 4, 4, 4)).ok());
    EXPECT_EQ(check_map_def(make_def(type, 4, 8, 4)).ok(), type != MapType::Xskmap);
    EXPECT_FALSE(check_map_def(make_def(type, 4, 12, 4)).ok());
    EXPECT_FALSE(check_map_def(make_def(type, 4, 0, 4)).ok());
    EXPECT_FALSE(check_map_def(make_def(type, 8, 4, 4)).ok());
    EXPECT_FALSE(check_map_def(make_def(type, 4, 4, 0)).ok());
    for (uint32_t bit = 0; bit < 14; ++bit) {
      const bool accepted = type == MapType::Cpumap ? bit == 2 : bit >= 2 && bit <= 4;
      EXPECT_EQ(check_map_def(make_def(type, 4, 4, 4, 1u << bit)).ok(), accepted) << bit;
    }
  }
  const Result<void> r = check_map_def(make_def(MapType::Devmap, 4, 12, 4));
  EXPECT_EQ(r.error().message, "value_size must be 4 or 8 for devmap (value_size: 12)");
}

TEST(RedirectMapDefs, DeviceMapsAreReadOnlyToPrograms) {
  // Linux 6.18: bpftool shows map_flags 0x80 (BPF_F_RDONLY_PROG) on a devmap and a
  // devmap_hash created with 0, 0 on xskmap and cpumap.
  EXPECT_EQ(make_map(make_def(MapType::Devmap, 4, 4, 4))->def().flags, kBpfFRdonlyProg);
  EXPECT_EQ(make_map(make_def(MapType::DevmapHash, 4, 4, 4))->def().flags, kBpfFRdonlyProg);
  EXPECT_EQ(make_map(make_def(MapType::Xskmap, 4, 4, 4))->def().flags, 0u);
  EXPECT_EQ(make_map(make_def(MapType::Cpumap, 4, 4, 4))->def().flags, 0u);
}

TEST(Devmap, HostOperationsMatchLinux) {
  auto map = make_map<RedirectArrayMap>(make_def(MapType::Devmap, 4, 8, 4));
  const uint32_t nowhere = missing_ifindex();
  EXPECT_EQ(lookup(*map, 0).first, -ENOENT);     // lookup k=0 -> -2
  EXPECT_EQ(erase(*map, 0), 0);                  // delete k=0 -> 0
  EXPECT_EQ(update(*map, 0, kLo), 0);            // update first -> 0
  EXPECT_EQ(lookup(*map, 0).second.first, kLo);  // lookup k=0 -> 0 {1,0}
  EXPECT_EQ(lookup(*map, 0).second.prog, 0);
  EXPECT_EQ(update(*map, 0, kLo, 0, kBpfNoExist), -EEXIST);  // noexist present -> -17
  EXPECT_EQ(update(*map, 0, kLo, 0, kBpfExist), 0);          // exist present -> 0
  EXPECT_EQ(update(*map, 1, kLo, 0, kBpfExist), 0);          // exist absent -> 0
  EXPECT_EQ(lookup(*map, 1).first, 0);
  EXPECT_EQ(update(*map, 2, kLo, 0, kBpfNoExist), -EEXIST);  // noexist absent -> -17
  EXPECT_EQ(lookup(*map, 2).first, -ENOENT);
  EXPECT_EQ(update(*map, 3, nowhere), -EINVAL);  // bad ifindex -> -22
  EXPECT_EQ(update(*map, 3, 0), 0);              // ifindex 0 -> 0, nothing stored
  EXPECT_EQ(lookup(*map, 3).first, -ENOENT);
  EXPECT_EQ(update(*map, 1, 0), 0);  // ifindex 0 over a present entry empties it
  EXPECT_EQ(lookup(*map, 1).first, -ENOENT);
  EXPECT_EQ(update(*map, 3, kLo, 9999), -EINVAL);  // prog fd 9999 -> -22
  EXPECT_EQ(update(*map, 3, 0, 5), -EINVAL);       // ifindex 0 with prog fd 5 -> -22
  EXPECT_EQ(update(*map, 3, kLo, -1), 0);          // prog fd -1 -> 0 (no program)
  EXPECT_EQ(lookup(*map, 3).second.prog, 0);
  EXPECT_EQ(update(*map, 4, kLo), -E2BIG);                 // key 4 -> -7
  EXPECT_EQ(update(*map, 3, kLo, 0, 3), -EINVAL);          // flags 3 -> -22
  EXPECT_EQ(update(*map, 4, kLo, 0, kBpfFLock), -EINVAL);  // flags 4 -> -22, before the key
  EXPECT_EQ(erase(*map, 4), -EINVAL);                      // delete k=4 -> -22
  EXPECT_EQ(erase(*map, 100), -EINVAL);
  EXPECT_EQ(erase(*map, 0), 0);
  EXPECT_EQ(erase(*map, 0), 0);  // delete k=0 twice -> 0, 0
}

TEST(Devmap, GetNextKeyWalksEverySlot) {
  // Linux 6.18: next(NULL) -> 0, next(0) -> 1, next(1) -> 2, next(3) -> -ENOENT, next(100)
  // -> 0, with only slots 0 and 3 set.
  auto map = make_map(make_def(MapType::Devmap, 4, 4, 4));
  ASSERT_EQ(update(*map, 0, kLo), 0);
  ASSERT_EQ(update(*map, 3, kLo), 0);
  const uint32_t k0 = 0, k1 = 1, k3 = 3, k100 = 100;
  EXPECT_EQ(next_key(*map, nullptr), std::make_pair(0L, 0u));
  EXPECT_EQ(next_key(*map, &k0), std::make_pair(0L, 1u));
  EXPECT_EQ(next_key(*map, &k1), std::make_pair(0L, 2u));
  EXPECT_EQ(next_key(*map, &k3).first, -ENOENT);
  EXPECT_EQ(next_key(*map, &k100), std::make_pair(0L, 0u));
  EXPECT_EQ(walk_keys(*map).size(), 4u);
}

TEST(Devmap, ProgramsSeeTheEntryAndRedirectToItsInterface) {
  // A 4-byte value: the program's lookup returns the ifindex (read-only, see above).
  auto map = make_map(make_def(MapType::Devmap, 4, 4, 4));
  ASSERT_EQ(update(*map, 2, kLo), 0);
  EpochGuard guard;
  const uint32_t k2 = 2, k1 = 1, k9 = 9;
  const void* value = map->lookup(&k2, 0);
  ASSERT_NE(value, nullptr);
  uint32_t ifindex;
  std::memcpy(&ifindex, value, sizeof ifindex);
  EXPECT_EQ(ifindex, kLo);
  EXPECT_EQ(map->lookup(&k1, 0), nullptr);
  EXPECT_EQ(map->lookup(&k9, 0), nullptr);
  EXPECT_EQ(map->redirect_target(2), long{kLo});
  EXPECT_EQ(map->redirect_target(1), -ENOENT);
  EXPECT_EQ(map->redirect_target(9), -ENOENT);
  // Programs cannot write device maps (Linux's verifier refuses the call).
  EXPECT_EQ(map->update(&k1, &ifindex, kBpfAny, 0), -EINVAL);
  // Linux 6.18: update_batch -> -524 (ENOTSUPP).
  uint32_t count = 1;
  EXPECT_EQ(map->update_batch(&k1, &ifindex, &count), -kEnotsupp);
}

TEST(DevmapHash, HostOperationsMatchLinux) {
  auto map = make_map<DevMapHash>(make_def(MapType::DevmapHash, 4, 8, 4));
  const uint32_t nowhere = missing_ifindex();
  EXPECT_EQ(lookup(*map, 0).first, -ENOENT);                 // lookup k=0 -> -2
  EXPECT_EQ(erase(*map, 0), -ENOENT);                        // delete k=0 -> -2
  EXPECT_EQ(update(*map, 0, kLo), 0);                        // update first -> 0
  EXPECT_EQ(lookup(*map, 0).second.first, kLo);              // lookup k=0 -> 0 {1,0}
  EXPECT_EQ(update(*map, 0, kLo, 0, kBpfNoExist), -EEXIST);  // noexist present -> -17
  EXPECT_EQ(update(*map, 0, kLo, 0, kBpfExist), 0);          // exist present -> 0
  EXPECT_EQ(update(*map, 1, kLo, 0, kBpfExist), 0);          // exist absent -> 0 (created)
  EXPECT_EQ(lookup(*map, 1).first, 0);
  EXPECT_EQ(update(*map, 2, kLo, 0, kBpfNoExist), 0);  // noexist absent -> 0
  EXPECT_EQ(update(*map, 3, nowhere), -EINVAL);        // bad ifindex -> -22
  EXPECT_EQ(update(*map, 3, 0), -EINVAL);              // ifindex 0 -> -22
  EXPECT_EQ(update(*map, 2, 0), -EINVAL);              // ... also over a present key
  EXPECT_EQ(lookup(*map, 2).first, 0);
  EXPECT_EQ(update(*map, 3, kLo, 9999), -EINVAL);  // prog fd 9999 -> -22
  EXPECT_EQ(update(*map, 3, kLo, 0), 0);           // prog fd 0 -> 0
  EXPECT_EQ(update(*map, 4, kLo), -E2BIG);         // key 4 (a fifth key) -> -7
  EXPECT_EQ(update(*map, 3, kLo, 0, 3), -EINVAL);  // flags 3 -> -22
  EXPECT_EQ(erase(*map, 0), 0);
  EXPECT_EQ(erase(*map, 0), -ENOENT);  // delete k=0 -> 0, then -2
  EXPECT_EQ(erase(*map, 4), -ENOENT);
  EXPECT_EQ(update(*map, 10, kLo), 0);  // fill: k=10 -> 0 (keys 1, 2, 3, 10), k=11 -> -7
  EXPECT_EQ(update(*map, 11, kLo), -E2BIG);
  // Linux 6.18: lookup_and_delete, delete_batch and update_batch -> -524 (ENOTSUPP).
  const uint32_t k1 = 1;
  Value v;
  EXPECT_EQ(map->lookup_and_delete(&k1, &v), -kEnotsupp);
  uint32_t count = 1;
  EXPECT_EQ(map->delete_batch(&k1, &count), -kEnotsupp);
}

TEST(DevmapHash, GetNextKeyVisitsEachKeyOnce) {
  // Linux walks its hash order; an absent key restarts from the first (next(100) -> the
  // first key, as next(NULL)).
  auto map = make_map(make_def(MapType::DevmapHash, 4, 4, 4));
  for (uint32_t key : {5u, 1000u, 7u}) ASSERT_EQ(update(*map, key, kLo), 0);
  auto keys = walk_keys(*map);
  EXPECT_EQ(keys.size(), 3u);
  const uint32_t absent = 100;
  EXPECT_EQ(next_key(*map, &absent), next_key(*map, nullptr));
  EpochGuard guard;
  EXPECT_EQ(map->redirect_target(1000), long{kLo});
  EXPECT_EQ(map->redirect_target(6), -ENOENT);
  const uint32_t k7 = 7;
  EXPECT_NE(map->lookup(&k7, 0), nullptr);
  EXPECT_EQ(map->update(&k7, &kLo, kBpfAny, 0), -EINVAL);
}

TEST(Xskmap, HostOperationsMatchLinux) {
  auto map = make_map<RedirectArrayMap>(make_def(MapType::Xskmap, 4, 4, 4));
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  const int null_fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(udp, 0);
  ASSERT_GE(null_fd, 0);
  const int closed = dup(null_fd);
  ASSERT_EQ(close(closed), 0);
  EXPECT_EQ(lookup(*map, 0).first, -EOPNOTSUPP);  // lookup k=0 -> -95 (always)
  EXPECT_EQ(erase(*map, 0), 0);                   // delete k=0 -> 0
  EXPECT_EQ(erase(*map, 4), -EINVAL);             // delete k=4 -> -22
  EXPECT_EQ(update(*map, 0, static_cast<uint32_t>(udp)), -EOPNOTSUPP);    // udp socket -95
  EXPECT_EQ(update(*map, 0, static_cast<uint32_t>(null_fd)), -ENOTSOCK);  // fd 0, map fd -88
  EXPECT_EQ(update(*map, 0, static_cast<uint32_t>(closed)), -EBADF);      // fd 9999 -> -9
  EXPECT_EQ(update(*map, 0, static_cast<uint32_t>(-1)), -EBADF);
  EXPECT_EQ(update(*map, 4, static_cast<uint32_t>(udp)), -E2BIG);            // k=4 -> -7
  EXPECT_EQ(update(*map, 4, static_cast<uint32_t>(closed)), -E2BIG);         // bad fd k=4 -> -7
  EXPECT_EQ(update(*map, 0, static_cast<uint32_t>(closed), 0, 3), -EINVAL);  // flags 3 -> -22
  // BPF_NOEXIST is no answer of its own: the fd decides (noexist with fd 1 -> -88).
  EXPECT_EQ(update(*map, 0, static_cast<uint32_t>(null_fd), 0, kBpfNoExist), -ENOTSOCK);
  const uint32_t k0 = 0, k3 = 3;
  EXPECT_EQ(next_key(*map, nullptr), std::make_pair(0L, 0u));
  EXPECT_EQ(next_key(*map, &k0), std::make_pair(0L, 1u));
  EXPECT_EQ(next_key(*map, &k3).first, -ENOENT);
  EpochGuard guard;
  EXPECT_EQ(map->lookup(&k0, 0), nullptr);
  EXPECT_EQ(map->redirect_target(0), -ENOENT);
  close(udp);
  close(null_fd);
}

TEST(Cpumap, HostOperationsMatchLinux) {
  // The probe's host had 2 CPUs; this map gets 2 execution slots.
  auto map = make_map<RedirectArrayMap>(make_def(MapType::Cpumap, 4, 8, 4), 2);
  EXPECT_EQ(lookup(*map, 0).first, -ENOENT);                    // lookup k=0 -> -2
  EXPECT_EQ(erase(*map, 0), 0);                                 // delete k=0 -> 0
  EXPECT_EQ(update(*map, 0, 128), 0);                           // qsize 128 -> 0
  EXPECT_EQ(lookup(*map, 0).second.first, 128u);                // lookup -> {128,0}
  EXPECT_EQ(update(*map, 0, 128, 0, kBpfNoExist), -EEXIST);     // noexist present -> -17
  EXPECT_EQ(update(*map, 1, 128, 0, kBpfExist), 0);             // exist absent -> 0
  EXPECT_EQ(update(*map, 2, 128, 0, kBpfNoExist), -EEXIST);     // noexist absent -> -17
  EXPECT_EQ(update(*map, 3, 128), -ENODEV);                     // CPU 3 of 2 -> -19
  EXPECT_EQ(update(*map, 3, 0), -ENODEV);                       // qsize 0 there too -> -19
  EXPECT_EQ(update(*map, 4, 128), -E2BIG);                      // key 4 -> -7
  EXPECT_EQ(update(*map, 3, 128, 0, 3), -EINVAL);               // flags 3 -> -22
  EXPECT_EQ(update(*map, 1, kCpumapMaxQsize), 0);               // qsize 16384 -> 0
  EXPECT_EQ(update(*map, 1, kCpumapMaxQsize + 1), -EOVERFLOW);  // 16385 -> -75
  EXPECT_EQ(update(*map, 1, 64, 9999), -ENOMEM);                // prog fd 9999 -> -12
  EXPECT_EQ(update(*map, 1, 0), 0);                             // qsize 0 empties the slot
  EXPECT_EQ(lookup(*map, 1).first, -ENOENT);
  EXPECT_EQ(erase(*map, 4), -EINVAL);  // delete k=4 -> -22
  EpochGuard guard;
  EXPECT_EQ(map->redirect_target(0), 0);  // the CPU
  EXPECT_EQ(map->redirect_target(1), -ENOENT);
  const uint32_t k0 = 0;
  EXPECT_EQ(map->lookup(&k0, 0), nullptr) << "Linux's verifier refuses cpumap lookups";
}

TEST(RedirectMaps, OtherMapsAreNoRedirectTargets) {
  auto array = make_map(make_def(MapType::Array, 4, 4, 4));
  EXPECT_EQ(array->redirect_target(0), -EINVAL);
}

}  // namespace
}  // namespace pollen::maps::test

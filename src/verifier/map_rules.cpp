// SPDX-License-Identifier: MIT
// The map/helper compatibility table (see map_rules.hpp). Linux numbers: helper ids from
// enum bpf_func_id, map types from enum bpf_map_type. A helper that takes a map but is not
// listed is refused: the verifier would not know what its result points to.
#include "verifier/map_rules.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <span>

#include <fmt/format.h>

#include "maps/map.hpp"

namespace pollen::verifier {
namespace {

// enum bpf_map_type
enum MapType : uint32_t {
  kHash = 1, kArray = 2, kProgArray = 3, kPerfEventArray = 4, kPercpuHash = 5,
  kPercpuArray = 6, kLruHash = 9, kLruPercpuHash = 10, kLpmTrie = 11, kArrayOfMaps = 12,
  kHashOfMaps = 13, kDevmap = 14, kCpumap = 16, kXskmap = 17, kQueue = 22, kStack = 23,
  kSkStorage = 24, kDevmapHash = 25, kRingbuf = 27, kInodeStorage = 28, kTaskStorage = 29,
  kBloomFilter = 30, kUserRingbuf = 31, kCgrpStorage = 32, kArena = 33,
};

// Linux 6.18's check_map_prog_compatibility: what sleepable programs may use.
constexpr std::array<uint32_t, 17> kSleepable = {
    kHash,        kLruHash,     kArray,        kPercpuHash,  kPercpuArray, kLruPercpuHash,
    kArrayOfMaps, kHashOfMaps,  kRingbuf,      kUserRingbuf, kInodeStorage, kSkStorage,
    kTaskStorage, kCgrpStorage, kQueue,        kStack,       kArena,
};

// Maps whose values are plain memory: what the generic map helpers work on.
constexpr std::array<uint32_t, 7> kKeyValue = {kHash,    kArray,         kPercpuHash, kPercpuArray,
                                               kLruHash, kLruPercpuHash, kLpmTrie};

struct Rule {
  uint32_t helper;
  std::initializer_list<uint32_t> maps;  ///< empty: kKeyValue
};

const Rule kRules[] = {
    {1, {kHash, kArray, kPercpuHash, kPercpuArray, kLruHash, kLruPercpuHash, kLpmTrie,
         kArrayOfMaps, kHashOfMaps, kDevmap, kDevmapHash, kXskmap}},  // map_lookup_elem
    {2, {}},                                       // map_update_elem
    {3, {}},                                       // map_delete_elem
    {12, {kProgArray}},                            // tail_call
    {25, {kPerfEventArray}},                       // perf_event_output
    {51, {kDevmap, kDevmapHash, kCpumap, kXskmap}},  // redirect_map
    {87, {kQueue, kStack, kBloomFilter}},          // map_push_elem
    {88, {kQueue, kStack}},                        // map_pop_elem
    {89, {kQueue, kStack, kBloomFilter}},          // map_peek_elem
    {130, {kRingbuf}},                             // ringbuf_output
    {131, {kRingbuf}},                             // ringbuf_reserve
    {134, {kRingbuf}},                             // ringbuf_query
    {164, {kHash, kArray, kPercpuHash, kPercpuArray, kLruHash, kLruPercpuHash}},  // for_each
    {195, {kPercpuHash, kPercpuArray, kLruPercpuHash}},  // map_lookup_percpu_elem
};

bool contains(std::span<const uint32_t> types, uint32_t t) {
  return std::find(types.begin(), types.end(), t) != types.end();
}

}  // namespace

std::string map_helper_refusal(uint32_t helper, uint32_t map_type) {
  auto rule = std::find_if(std::begin(kRules), std::end(kRules),
                           [&](const Rule& r) { return r.helper == helper; });
  if (rule == std::end(kRules))
    return fmt::format("the verifier does not know which maps helper #{} accepts", helper);
  std::span<const uint32_t> allowed = rule->maps.size() == 0
                                          ? std::span<const uint32_t>(kKeyValue)
                                          : std::span<const uint32_t>(rule->maps.begin(), rule->maps.size());
  if (contains(allowed, map_type)) return {};
  if (map_type == kArrayOfMaps || map_type == kHashOfMaps)
    return fmt::format("cannot pass map_type {} into func #{}: programs may only look up "
                       "a map of maps",
                       map_type, helper);
  return fmt::format("a map of type {} ({}) cannot be passed to helper #{}",
                     maps::map_type_name(static_cast<maps::MapType>(map_type)), map_type, helper);
}

std::string map_program_refusal(const MapInfo& map, const ProgramTypeInfo& type, bool sleepable) {
  if (sleepable && !contains(kSleepable, map.type))
    return fmt::format(
        "Sleepable programs can only use array, hash, ringbuf and local storage maps (map type "
        "{} in a sleepable {} program)",
        map.type, type.name);
  if (map.spin_lock_off && type.linux_type == 1u)
    return "socket filter progs cannot use bpf_spin_lock yet";
  return {};
}

}  // namespace pollen::verifier

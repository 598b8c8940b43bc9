// SPDX-License-Identifier: MIT
// Turning a MapDef into a map: the per-type checks Linux makes before allocating a map (its
// map_alloc_check callbacks: key and value sizes, max_entries, the creation flags each type
// accepts), then construction. A rejected MapDef gets an Error naming the field, the value
// seen and what Linux requires, e.g. "map counters: key_size must be 4 for array (key_size: 8)".
#include <cerrno>
#include <new>

#include <fmt/format.h>

#include "maps/array_map.hpp"
#include "maps/hash_map.hpp"
#include "maps/keyless_maps.hpp"
#include "maps/lpm_trie.hpp"
#include "maps/map.hpp"
#include "maps/perf_event_array.hpp"
#include "maps/ref_maps.hpp"
#include "maps/ringbuf.hpp"
#include "maps/xdp_maps.hpp"

namespace pollen::maps {
namespace {

// Linux's limits: KMALLOC_MAX_SIZE (x86-64), PCPU_MIN_UNIT_SIZE, MAX_BPF_STACK, PAGE_SIZE.
constexpr uint32_t kKmallocMaxSize = 1u << 22;
constexpr uint32_t kPercpuMaxValueSize = 32768;
constexpr uint32_t kMaxKeySize = 512;
constexpr uint32_t kPageSize = 4096;
// struct bpf_lpm_trie_key: a u32 prefixlen, then 1 to 256 bytes of data.
constexpr uint32_t kLpmMinKeySize = 4 + 1;
constexpr uint32_t kLpmMaxKeySize = 4 + 256;

Error invalid(const MapDef& def, const std::string& what) {
  std::string where = def.name.empty() ? "map" : "map " + def.name;
  return make_error(Errc::InvalidArgument, Location{Location::Kind::None, 0, where}, what);
}

const char* type_name(const MapDef& def) {
  return map_type_name(def.type);
}

Result<void> require_size(const MapDef& def, const char* field, uint32_t seen, uint32_t want) {
  if (seen == want) return {};
  return invalid(
      def, fmt::format("{} must be {} for {} ({}: {})", field, want, type_name(def), field, seen));
}

Result<void> require_range(const MapDef& def, const char* field, uint32_t seen, uint32_t lo,
                           uint32_t hi) {
  if (seen >= lo && seen <= hi) return {};
  return invalid(def, fmt::format("{} must be in [{}, {}] for {} ({}: {})", field, lo, hi,
                                  type_name(def), field, seen));
}

Result<void> require_flags(const MapDef& def, uint32_t allowed) {
  if ((def.flags & ~allowed) == 0) return {};
  return invalid(def, fmt::format("map_flags 0x{:x} not accepted for {} (allowed: 0x{:x})",
                                  def.flags, type_name(def), allowed));
}

Result<void> check_array(const MapDef& def) {
  POLLEN_CHECK(require_size(def, "key_size", def.key_size, 4));
  POLLEN_CHECK(require_range(def, "value_size", def.value_size, 1, kKmallocMaxSize));
  POLLEN_CHECK(require_flags(def, kBpfFNumaNode | kBpfFMmapable | kBpfFAccessMask | kBpfFInnerMap));
  if (def.type == MapType::PercpuArray) {
    if ((def.flags & kBpfFMmapable) != 0) {
      return invalid(def, "BPF_F_MMAPABLE is not accepted for percpu_array");
    }
    POLLEN_CHECK(
        require_range(def, "value_size", round_up8(def.value_size), 1, kPercpuMaxValueSize));
  }
  return {};
}

Result<void> check_hash(const MapDef& def) {
  const bool lru = def.type == MapType::LruHash || def.type == MapType::LruPercpuHash;
  POLLEN_CHECK(require_range(def, "key_size", def.key_size, 1, kMaxKeySize));
  POLLEN_CHECK(
      require_range(def, "value_size", def.value_size, 1, kKmallocMaxSize - kMaxKeySize - 64));
  POLLEN_CHECK(require_flags(
      def, kBpfFNoPrealloc | kBpfFNoCommonLru | kBpfFNumaNode | kBpfFAccessMask | kBpfFZeroSeed));
  if (!lru && (def.flags & kBpfFNoCommonLru) != 0) {
    return invalid(def, fmt::format("BPF_F_NO_COMMON_LRU needs an LRU map ({})", type_name(def)));
  }
  if (lru && (def.flags & kBpfFNoPrealloc) != 0) {
    // Linux answers -ENOTSUPP: LRU maps are always preallocated.
    return invalid(def, fmt::format("BPF_F_NO_PREALLOC is not accepted for {}", type_name(def)));
  }
  if (def.type == MapType::PercpuHash || def.type == MapType::LruPercpuHash) {
    POLLEN_CHECK(
        require_range(def, "value_size", round_up8(def.value_size), 1, kPercpuMaxValueSize));
  }
  return {};
}

Result<void> check_lpm_trie(const MapDef& def) {
  POLLEN_CHECK(require_range(def, "key_size", def.key_size, kLpmMinKeySize, kLpmMaxKeySize));
  POLLEN_CHECK(
      require_range(def, "value_size", def.value_size, 1, kKmallocMaxSize - kLpmMaxKeySize - 64));
  if ((def.flags & kBpfFNoPrealloc) == 0) {
    return invalid(def,
                   fmt::format("lpm_trie needs BPF_F_NO_PREALLOC (map_flags: 0x{:x})", def.flags));
  }
  return require_flags(def, kBpfFNoPrealloc | kBpfFNumaNode | kBpfFAccessMask);
}

Result<void> check_queue_stack(const MapDef& def) {
  POLLEN_CHECK(require_size(def, "key_size", def.key_size, 0));
  POLLEN_CHECK(require_range(def, "value_size", def.value_size, 1, kKmallocMaxSize));
  return require_flags(def, kBpfFNumaNode | kBpfFAccessMask);
}

Result<void> check_ringbuf(const MapDef& def) {
  POLLEN_CHECK(require_size(def, "key_size", def.key_size, 0));
  POLLEN_CHECK(require_size(def, "value_size", def.value_size, 0));
  const uint32_t n = def.max_entries;
  if ((n & (n - 1)) != 0 || n % kPageSize != 0) {
    return invalid(def, fmt::format("max_entries must be a power of 2 and a multiple of the "
                                    "page size {} for ringbuf (max_entries: {})",
                                    kPageSize, n));
  }
  return require_flags(def, kBpfFNumaNode);
}

Result<void> check_bloom_filter(const MapDef& def) {
  POLLEN_CHECK(require_size(def, "key_size", def.key_size, 0));
  POLLEN_CHECK(require_range(def, "value_size", def.value_size, 1, kKmallocMaxSize));
  if ((def.map_extra & ~uint64_t{0xf}) != 0) {
    return invalid(def, fmt::format("map_extra must hold only the number of hash functions "
                                    "(bits 0-3) for bloom_filter (map_extra: 0x{:x})",
                                    def.map_extra));
  }
  return require_flags(def, kBpfFNumaNode | kBpfFZeroSeed | kBpfFAccessMask);
}

Result<void> check_inner(const MapDef& def) {
  if (!def.inner) {
    return invalid(def,
                   fmt::format("{} needs an inner map template (inner: none)", type_name(def)));
  }
  const MapType inner = def.inner->type;
  if (inner == MapType::ProgArray || inner == MapType::ArrayOfMaps ||
      inner == MapType::HashOfMaps) {
    return invalid(def, fmt::format("the inner map of {} cannot be a {} (only one level of "
                                    "map-in-map, no program arrays)",
                                    type_name(def), map_type_name(inner)));
  }
  return check_map_def(*def.inner);
}

Result<void> check_ref_map(const MapDef& def) {
  POLLEN_CHECK(require_size(def, "value_size", def.value_size, 4));
  if (def.type == MapType::HashOfMaps) {
    POLLEN_CHECK(require_range(def, "key_size", def.key_size, 1, kMaxKeySize));
    POLLEN_CHECK(require_flags(
        def, kBpfFNoPrealloc | kBpfFNumaNode | kBpfFRdonly | kBpfFWronly | kBpfFZeroSeed));
  } else {
    POLLEN_CHECK(require_size(def, "key_size", def.key_size, 4));
    POLLEN_CHECK(require_flags(def, kBpfFNumaNode | kBpfFRdonly | kBpfFWronly));
  }
  if (def.type == MapType::ProgArray) return {};
  return check_inner(def);
}

// dev_map_init_map, cpu_map_alloc, xsk_map_alloc: a u32 key; DEVMAP, DEVMAP_HASH and CPUMAP
// values are a u32 or a u32 and a program fd, XSKMAP values a socket fd.
Result<void> check_redirect_map(const MapDef& def) {
  POLLEN_CHECK(require_size(def, "key_size", def.key_size, 4));
  if (def.type == MapType::Xskmap) {
    POLLEN_CHECK(require_size(def, "value_size", def.value_size, 4));
  } else if (def.value_size != 4 && def.value_size != 8) {
    return invalid(def, fmt::format("value_size must be 4 or 8 for {} ({}: {})", type_name(def),
                                    "value_size", def.value_size));
  }
  // Measured: DEVMAP, DEVMAP_HASH and XSKMAP take NUMA_NODE, RDONLY and WRONLY; CPUMAP only
  // NUMA_NODE.
  if (def.type == MapType::Cpumap) return require_flags(def, kBpfFNumaNode);
  return require_flags(def, kBpfFNumaNode | kBpfFRdonly | kBpfFWronly);
}

// perf_event_array_map_ops (an fd array): u32 keys, u32 values (a perf event's fd).
Result<void> check_perf_event_array(const MapDef& def) {
  POLLEN_CHECK(require_size(def, "key_size", def.key_size, 4));
  POLLEN_CHECK(require_size(def, "value_size", def.value_size, 4));
  return require_flags(def, kBpfFNumaNode | kBpfFAccessMask | kBpfFPreserveElems);
}

Result<void> check_spin_lock(const MapDef& def) {
  if (def.spin_lock_off < 0) return {};
  if (def.type != MapType::Hash && def.type != MapType::Array) {
    return invalid(def, fmt::format("a bpf_spin_lock in the value is only accepted for hash and "
                                    "array maps, not {}",
                                    type_name(def)));
  }
  const auto off = static_cast<uint32_t>(def.spin_lock_off);
  if (off % 4 != 0 || off + 4 > def.value_size) {
    return invalid(def, fmt::format("spin_lock_off must be 4-byte aligned and inside the value "
                                    "(spin_lock_off: {}, value_size: {})",
                                    off, def.value_size));
  }
  return {};
}

Result<void> check_common(const MapDef& def) {
  if (def.max_entries == 0) return invalid(def, "max_entries must not be 0 (max_entries: 0)");
  if (def.map_extra != 0 && def.type != MapType::BloomFilter) {
    return invalid(def, fmt::format("map_extra must be 0 for {} (map_extra: 0x{:x})",
                                    type_name(def), def.map_extra));
  }
  return check_spin_lock(def);
}

std::shared_ptr<Map> construct(const MapDef& def, uint32_t slots) {
  switch (def.type) {
    case MapType::Array:
    case MapType::PercpuArray: return std::make_shared<ArrayMap>(def, slots);
    case MapType::Hash:
    case MapType::PercpuHash:
    case MapType::LruHash:
    case MapType::LruPercpuHash: return std::make_shared<HashMap>(def, slots);
    case MapType::LpmTrie: return std::make_shared<LpmTrie>(def, slots);
    case MapType::Queue:
    case MapType::Stack: return std::make_shared<QueueStackMap>(def, slots);
    case MapType::Ringbuf: return std::make_shared<RingBuf>(def, slots);
    case MapType::BloomFilter: return std::make_shared<BloomFilter>(def, slots);
    case MapType::ProgArray:
    case MapType::ArrayOfMaps: return std::make_shared<RefArrayMap>(def, slots);
    case MapType::HashOfMaps: return std::make_shared<HashOfMaps>(def, slots);
    case MapType::Devmap:
    case MapType::Cpumap:
    case MapType::Xskmap: return std::make_shared<RedirectArrayMap>(def, slots);
    case MapType::DevmapHash: return std::make_shared<DevMapHash>(def, slots);
    case MapType::PerfEventArray: return std::make_shared<PerfEventArray>(def, slots);
    default: return nullptr;
  }
}

}  // namespace

const char* map_type_name(MapType type) {
  static constexpr const char* kNames[] = {"unspec",
                                           "hash",
                                           "array",
                                           "prog_array",
                                           "perf_event_array",
                                           "percpu_hash",
                                           "percpu_array",
                                           "stack_trace",
                                           "cgroup_array",
                                           "lru_hash",
                                           "lru_percpu_hash",
                                           "lpm_trie",
                                           "array_of_maps",
                                           "hash_of_maps",
                                           "devmap",
                                           "sockmap",
                                           "cpumap",
                                           "xskmap",
                                           "sockhash",
                                           "cgroup_storage",
                                           "reuseport_sockarray",
                                           "percpu_cgroup_storage",
                                           "queue",
                                           "stack",
                                           "sk_storage",
                                           "devmap_hash",
                                           "struct_ops",
                                           "ringbuf",
                                           "inode_storage",
                                           "task_storage",
                                           "bloom_filter",
                                           "user_ringbuf"};
  auto index = static_cast<uint32_t>(type);
  return index < std::size(kNames) ? kNames[index] : "unknown";
}

Result<void> check_map_def(const MapDef& def) {
  switch (def.type) {
    case MapType::Array:
    case MapType::PercpuArray: POLLEN_CHECK(check_array(def)); break;
    case MapType::Hash:
    case MapType::PercpuHash:
    case MapType::LruHash:
    case MapType::LruPercpuHash: POLLEN_CHECK(check_hash(def)); break;
    case MapType::LpmTrie: POLLEN_CHECK(check_lpm_trie(def)); break;
    case MapType::Queue:
    case MapType::Stack: POLLEN_CHECK(check_queue_stack(def)); break;
    case MapType::Ringbuf: POLLEN_CHECK(check_ringbuf(def)); break;
    case MapType::BloomFilter: POLLEN_CHECK(check_bloom_filter(def)); break;
    case MapType::ProgArray:
    case MapType::ArrayOfMaps:
    case MapType::HashOfMaps: POLLEN_CHECK(check_ref_map(def)); break;
    case MapType::Devmap:
    case MapType::DevmapHash:
    case MapType::Cpumap:
    case MapType::Xskmap: POLLEN_CHECK(check_redirect_map(def)); break;
    case MapType::PerfEventArray: POLLEN_CHECK(check_perf_event_array(def)); break;
    default:
      return make_error(Errc::NotSupported, Location{Location::Kind::None, 0, def.name},
                        fmt::format("map type {} ({}) is not supported", map_type_name(def.type),
                                    static_cast<uint32_t>(def.type)));
  }
  return check_common(def);
}

Result<std::shared_ptr<Map>> create_map(const MapDef& def, uint32_t slots) {
  POLLEN_CHECK(check_map_def(def));
  if (slots == 0 || slots > kMaxSlots) {
    return invalid(def, fmt::format("the number of execution slots must be in [1, {}] "
                                    "(slots: {})",
                                    kMaxSlots, slots));
  }
  try {
    return construct(def, slots);
  } catch (const std::bad_alloc&) {
    return invalid(def, fmt::format("not enough memory for {} entries of {} bytes (Linux: "
                                    "ENOMEM)",
                                    def.max_entries, def.value_size));
  }
}

}  // namespace pollen::maps

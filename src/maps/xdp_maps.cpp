// SPDX-License-Identifier: MIT
// DEVMAP, DEVMAP_HASH, CPUMAP and XSKMAP with the host semantics measured on Linux 6.18
// (tests/maps/xdp_maps_test.cpp lists the measurements): update flags above BPF_EXIST are
// EINVAL, then a key past max_entries E2BIG (array types); array types refuse BPF_NOEXIST with
// EEXIST and accept BPF_EXIST on an empty slot; DEVMAP_HASH ignores BPF_EXIST. A DEVMAP
// ifindex of 0 empties the slot, a DEVMAP_HASH one is EINVAL, an ifindex naming no interface is
// EINVAL. Deleting an empty array slot is 0, one past max_entries EINVAL.
#include "maps/xdp_maps.hpp"

#include <net/if.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace pollen::maps {
namespace {

// struct bpf_devmap_val and struct bpf_cpumap_val as the host writes them.
struct EntryValue {
  uint32_t first = 0;  ///< ifindex (DEVMAP), qsize (CPUMAP)
  int32_t prog_fd = 0;
};

EntryValue read_entry(const MapDef& def, const void* value) {
  EntryValue v;
  std::memcpy(&v, value, def.value_size >= sizeof v ? sizeof v : sizeof v.first);
  return v;
}

uint32_t read_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Whether `ifindex` names an interface of the host (Linux: dev_get_by_index in the caller's
// network namespace).
bool interface_exists(uint32_t ifindex) {
  char name[IF_NAMESIZE];
  return ifindex != 0 && if_indextoname(ifindex, name) != nullptr;
}

// Linux's DEVMAP and DEVMAP_HASH lookups hand programs a read-only value: dev_map_init_map
// sets BPF_F_RDONLY_PROG (measured: map_flags 0x80 on both, created with 0).
MapDef with_flags(MapDef def, uint32_t flags) {
  def.flags |= flags;
  return def;
}

uint32_t added_flags(MapType type) {
  return type == MapType::Devmap || type == MapType::DevmapHash ? kBpfFRdonlyProg : 0;
}

// Linux's bpf_devmap_val.bpf_prog.fd: a positive fd must name an XDP program made for devmap
// entries (BPF_XDP_DEVMAP), else EINVAL. Pollen attaches no programs to entries, so any
// positive fd gets Linux's answer for an fd that names no such program.
long check_devmap_value(const EntryValue& v) {
  if (v.prog_fd > 0) return -EINVAL;
  if (v.first != 0 && !interface_exists(v.first)) return -EINVAL;
  return 0;
}

}  // namespace

RedirectArrayMap::RedirectArrayMap(const MapDef& def, uint32_t slots)
    : Map(with_flags(def, added_flags(def.type)), slots),
      entries_(new uint64_t[def.max_entries]()) {}

RedirectArrayMap::~RedirectArrayMap() = default;

uint64_t RedirectArrayMap::load(uint32_t index) const {
  return std::atomic_ref<uint64_t>(entries_[index]).load(std::memory_order_acquire);
}

// The entry as the host reads it back: the first field, then a program id of 0.
void RedirectArrayMap::store(uint32_t index, uint32_t first) {
  const uint32_t words[2] = {first, 0};
  uint64_t entry;
  std::memcpy(&entry, words, sizeof entry);
  std::atomic_ref<uint64_t>(entries_[index]).store(entry, std::memory_order_release);
}

void* RedirectArrayMap::lookup(const void* key, uint32_t) {
  const uint32_t index = read_u32(key);
  if (def_.type != MapType::Devmap || index >= def_.max_entries) return nullptr;
  return static_cast<uint32_t>(load(index)) != 0 ? &entries_[index] : nullptr;
}

long RedirectArrayMap::update(const void*, const void*, uint64_t, uint32_t) {
  return -EINVAL;
}

long RedirectArrayMap::erase(const void* key) {
  const uint32_t index = read_u32(key);
  if (index >= def_.max_entries) return -EINVAL;
  store(index, 0);
  return 0;
}

long RedirectArrayMap::redirect_target(uint32_t key) {
  if (key >= def_.max_entries) return -ENOENT;
  const auto first = static_cast<uint32_t>(load(key));
  if (first == 0) return -ENOENT;
  // DEVMAP redirects to the entry's interface, CPUMAP to the CPU the key names.
  return def_.type == MapType::Devmap ? long{first} : long{key};
}

long RedirectArrayMap::do_lookup_copy(const void* key, void* value, uint64_t) {
  // xsk_map_lookup_elem_sys: the host cannot read sockets back.
  if (def_.type == MapType::Xskmap) return -EOPNOTSUPP;
  const uint32_t index = read_u32(key);
  if (index >= def_.max_entries) return -ENOENT;
  const uint64_t entry = load(index);
  if (static_cast<uint32_t>(entry) == 0) return -ENOENT;
  std::memcpy(value, &entry, def_.value_size);
  return 0;
}

long RedirectArrayMap::do_update_host(const void* key, const void* value, uint64_t flags) {
  if (flags > kBpfExist) return -EINVAL;
  const uint32_t index = read_u32(key);
  if (index >= def_.max_entries) return -E2BIG;
  // Every slot of DEVMAP and CPUMAP exists: BPF_NOEXIST always fails, BPF_EXIST never does.
  // XSKMAP goes on to the socket fd.
  if (def_.type != MapType::Xskmap && flags == kBpfNoExist) return -EEXIST;
  switch (def_.type) {
    case MapType::Devmap: return update_devmap(index, value);
    case MapType::Cpumap: return update_cpumap(index, value);
    default: return update_xskmap(value);
  }
}

// dev_map_update_elem: ifindex 0 empties the slot (with no program fd).
long RedirectArrayMap::update_devmap(uint32_t index, const void* value) {
  const EntryValue v = read_entry(def_, value);
  if (long err = check_devmap_value(v)) return err;
  store(index, v.first);
  return 0;
}

// cpu_map_update_elem: the queue size is checked before the CPU, a size of 0 empties the slot;
// the CPUs are the map's execution slots (Linux: the possible CPUs).
long RedirectArrayMap::update_cpumap(uint32_t index, const void* value) {
  const EntryValue v = read_entry(def_, value);
  if (v.first > kCpumapMaxQsize) return -EOVERFLOW;
  if (index >= slots_) return -ENODEV;
  // __cpu_map_entry_alloc fails with ENOMEM when the fd names no XDP program for cpumap
  // entries; Pollen attaches none.
  if (v.first != 0 && v.prog_fd > 0) return -ENOMEM;
  store(index, v.first);
  return 0;
}

// xsk_map_update_elem: the value is a socket fd. Linux answers EBADF for an fd that is not
// open, ENOTSOCK for one that is no socket and EOPNOTSUPP for a socket that is not AF_XDP;
// Pollen cannot use AF_XDP sockets either, so every fd ends in one of these.
long RedirectArrayMap::update_xskmap(const void* value) const {
  const int fd = static_cast<int>(read_u32(value));
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) return -EBADF;
  if (!S_ISSOCK(st.st_mode)) return -ENOTSOCK;
  return -EOPNOTSUPP;
}

// Array order, empty slots included, as Linux's dev_map_get_next_key and its cpumap and
// xskmap twins.
long RedirectArrayMap::do_get_next_key(const void* key, void* next_key) {
  return array_next_key(def_.max_entries, key, next_key);
}

DevMapHash::DevMapHash(const MapDef& def, uint32_t slots)
    : HashMap(with_flags(def, kBpfFRdonlyProg), slots) {}

long DevMapHash::update(const void*, const void*, uint64_t, uint32_t) {
  return -EINVAL;
}

long DevMapHash::redirect_target(uint32_t key) {
  const void* value = find(&key);
  return value != nullptr ? long{read_u32(value)} : -ENOENT;
}

bool DevMapHash::supports_batch(BatchOp) const {
  return false;
}

long DevMapHash::do_lookup_and_delete(const void*, void*, uint64_t) {
  return -kEnotsupp;
}

// __dev_map_hash_update_elem: flags and ifindex 0 first, then BPF_NOEXIST on a present key,
// then the interface; BPF_EXIST on an absent key creates it. A full map is E2BIG.
long DevMapHash::do_update_host(const void* key, const void* value, uint64_t flags) {
  const EntryValue v = read_entry(def_, value);
  if (flags > kBpfExist || v.first == 0) return -EINVAL;
  if (flags == kBpfNoExist && find(key) != nullptr) return -EEXIST;
  if (long err = check_devmap_value(v)) return err;
  const uint32_t stored[2] = {v.first, 0};
  return HashMap::do_update_host(key, stored, kBpfAny);
}

}  // namespace pollen::maps

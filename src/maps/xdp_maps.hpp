// SPDX-License-Identifier: MIT
// The maps bpf_redirect_map sends XDP frames through, after Linux's kernel/bpf/devmap.c,
// kernel/bpf/cpumap.c and net/xdp/xskmap.c: DEVMAP (interfaces by index), DEVMAP_HASH
// (interfaces by any u32 key), CPUMAP (CPUs) and XSKMAP (AF_XDP sockets). The host writes
// struct bpf_devmap_val / bpf_cpumap_val: a u32 (the ifindex, the CPU's queue size) and, with
// value_size 8, a program fd that Linux would run on the entry; Pollen attaches no programs to
// entries and answers such an fd as Linux answers one that names no suitable program. An
// interface must exist on the host (if_indextoname), as Linux requires it in the caller's
// network namespace. Pollen has no AF_XDP sockets, so an XSKMAP stays empty: its updates fail
// with the errno Linux gives for the fd written, and a redirect to it takes the default action.
#pragma once

#include <memory>

#include "maps/hash_map.hpp"
#include "maps/map.hpp"

namespace pollen::maps {

/// CPUMAP: the largest queue size an entry may ask for (Linux's sanity limit; above: EOVERFLOW).
inline constexpr uint32_t kCpumapMaxQsize = 16384;

/// DEVMAP, CPUMAP and XSKMAP: max_entries slots indexed by a u32 key. A slot holds the 4 or
/// 8 bytes the host reads back ({ifindex or qsize, program id}, the id always 0) as one atomic
/// word, so that a program's lookup reads a whole entry and its pointer stays valid; a first
/// field of 0 marks an empty slot (Linux stores no entry for ifindex 0 or qsize 0).
class RedirectArrayMap final : public Map {
 public:
  RedirectArrayMap(const MapDef& def, uint32_t slots);
  ~RedirectArrayMap() override;

  /// DEVMAP: the entry ({ifindex, prog id}, read-only to programs), or null when empty. CPUMAP
  /// and XSKMAP: null (Linux's verifier refuses CPUMAP lookups; an XSKMAP slot is never set).
  void* lookup(const void* key, uint32_t slot) override;
  /// Programs cannot update these maps (Linux's verifier refuses it): -EINVAL.
  long update(const void* key, const void* value, uint64_t flags, uint32_t slot) override;
  /// 0 (an empty slot too), -EINVAL for a key past max_entries.
  long erase(const void* key) override;
  long redirect_target(uint32_t key) override;

 protected:
  long do_lookup_copy(const void* key, void* value, uint64_t flags) override;
  long do_update_host(const void* key, const void* value, uint64_t flags) override;
  long do_get_next_key(const void* key, void* next_key) override;

 private:
  long update_devmap(uint32_t index, const void* value);
  long update_cpumap(uint32_t index, const void* value);
  long update_xskmap(const void* value) const;
  uint64_t load(uint32_t index) const;
  void store(uint32_t index, uint32_t first);

  std::unique_ptr<uint64_t[]> entries_;
};

/// DEVMAP_HASH: entries under any u32 key, at most max_entries of them.
class DevMapHash final : public HashMap {
 public:
  DevMapHash(const MapDef& def, uint32_t slots);

  long update(const void* key, const void* value, uint64_t flags, uint32_t slot) override;
  long redirect_target(uint32_t key) override;

 protected:
  bool supports_batch(BatchOp op) const override;
  long do_update_host(const void* key, const void* value, uint64_t flags) override;
  /// Linux's BPF_MAP_LOOKUP_AND_DELETE_ELEM takes only hash, queue and stack maps: ENOTSUPP.
  long do_lookup_and_delete(const void* key, void* value, uint64_t flags) override;
};

}  // namespace pollen::maps

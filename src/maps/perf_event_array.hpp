// SPDX-License-Identifier: MIT
// BPF_MAP_TYPE_PERF_EVENT_ARRAY: in Linux an array of perf events, one per CPU, which user
// space opens and reads (libbpf's perf_buffer opens one on every CPU); bpf_perf_event_output
// writes a sample to the event at an index (BPF_F_CURRENT_CPU: the running CPU's). Pollen has no
// perf events: the map itself keeps the samples, as if a reader had opened one at every index,
// in order and up to a fixed number of bytes, and the host takes them with consume(). A sample
// that does not fit is lost and the helper says -ENOSPC, as Linux's does when a perf ring is
// full. Programs cannot look up, update or delete entries (Linux's verifier refuses it); the
// host cannot store perf events either: lookups and updates are -EOPNOTSUPP.
#pragma once

#include <cstdint>
#include <vector>

#include "maps/map.hpp"
#include "maps/map_lock.hpp"

namespace pollen::maps {

/// Bytes of samples (each with its 8-byte header) a perf event array keeps before it loses
/// new ones: Linux's default perf buffer of 8 pages per CPU, for every index together.
inline constexpr uint64_t kPerfSampleBytes = 8 * 4096 * 8;

class PerfEventArray final : public Map {
 public:
  PerfEventArray(const MapDef& def, uint32_t slots);

  /// bpf_perf_event_output's write: `size` bytes from `data` then `extra_size` from `extra`
  /// (the packet bytes of BPF_F_CTXLEN_MASK) as one sample of the event at `index`. -E2BIG for
  /// an index past max_entries, -ENOSPC when the samples kept would pass kPerfSampleBytes.
  long output(uint32_t index, const void* data, uint64_t size, const void* extra,
              uint64_t extra_size);

  /// Receives one sample and the index it was written to.
  struct Sample {
    uint32_t index;
    std::vector<uint8_t> bytes;
  };
  /// Takes every sample kept, oldest first.
  std::vector<Sample> consume();

  void* lookup(const void* key, uint32_t slot) override;
  long update(const void* key, const void* value, uint64_t flags, uint32_t slot) override;
  /// -E2BIG past max_entries, else -ENOENT: no entry holds a perf event.
  long erase(const void* key) override;

 protected:
  long do_lookup_copy(const void* key, void* value, uint64_t flags) override;
  long do_update_host(const void* key, const void* value, uint64_t flags) override;
  long do_get_next_key(const void* key, void* next_key) override;

 private:
  std::vector<Sample> samples_;
  uint64_t bytes_ = 0;
  MapLock lock_;
};

}  // namespace pollen::maps

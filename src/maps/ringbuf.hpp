// SPDX-License-Identifier: MIT
// BPF_MAP_TYPE_RINGBUF: a multi-producer, single-consumer ring of variable-length records with
// Linux's record format. Each record starts with an 8-byte header, a u32 length carrying
// BPF_RINGBUF_BUSY_BIT while reserved and BPF_RINGBUF_DISCARD_BIT once discarded, and a u32
// page offset leading back to the ring (from_sample); records are 8-byte aligned and positions grow
// forever, wrapping around the power-of-two data area. Producers (bpf_ringbuf_reserve/output)
// serialise on a lock, as on Linux's spinlock; submit and discard take no lock; the host consumes
// records in order with consume(), skipping discarded ones and stopping at one still reserved.
// Linux maps the data area twice so that a record crossing the end is contiguous; Pollen gets
// the same by allocating the data area twice over and writing each record contiguously from
// its wrapped start.
#pragma once

#include <atomic>
#include <mutex>
#include <type_traits>

#include "maps/map.hpp"
#include "maps/map_lock.hpp"

namespace pollen::maps {

// The record header bits and sizes, BPF_RB_* flags and bpf_ringbuf_query keys (Linux's values).
inline constexpr uint32_t kRingbufBusyBit = 1u << 31;
inline constexpr uint32_t kRingbufDiscardBit = 1u << 30;
inline constexpr uint32_t kRingbufHdrSize = 8;
inline constexpr uint64_t kRbNoWakeup = 1;
inline constexpr uint64_t kRbForceWakeup = 2;
inline constexpr uint64_t kRbAvailData = 0;
inline constexpr uint64_t kRbRingSize = 1;
inline constexpr uint64_t kRbConsPos = 2;
inline constexpr uint64_t kRbProdPos = 3;

class RingBuf final : public Map {
 public:
  RingBuf(const MapDef& def, uint32_t slots);
  ~RingBuf() override;

  /// bpf_ringbuf_reserve: room for a `size`-byte sample, or nullptr when flags is not 0, the
  /// record would not fit the ring, or the consumer has not freed enough space.
  void* reserve(uint64_t size, uint64_t flags);
  /// bpf_ringbuf_submit: makes a reserved sample visible to the consumer. Static because, as
  /// in Linux, a sample alone identifies its ring.
  static void submit(void* sample, uint64_t flags);
  /// bpf_ringbuf_discard: releases a reserved sample; the consumer skips it.
  static void discard(void* sample, uint64_t flags);
  /// The ring a reserved sample belongs to, found through the header's page offset.
  static RingBuf* from_sample(const void* sample);
  /// bpf_ringbuf_output: copies `size` bytes as one record; -EINVAL for unknown flags,
  /// -EAGAIN when there is no room.
  long output(const void* data, uint64_t size, uint64_t flags);
  /// bpf_ringbuf_query: kRbAvailData, kRbRingSize, kRbConsPos or kRbProdPos; 0 otherwise.
  uint64_t query(uint64_t flags) const;

  /// Receives one record; a negative return stops consume() and is returned by it.
  using ConsumeFn = int (*)(void* ctx, const void* data, uint32_t size);
  /// Hands every submitted record to fn in order, skipping discarded ones, up to the first
  /// record still reserved; returns the number handed over, or fn's negative return. The
  /// consumer position advances past each record once fn returns (libbpf's ring_buffer
  /// semantics). Consumers are serialised.
  long consume(ConsumeFn fn, void* ctx);
  template <class F>
  long consume(F&& fn) {
    return consume(
        [](void* ctx, const void* data, uint32_t size) -> int {
          return (*static_cast<std::remove_reference_t<F>*>(ctx))(data, size);
        },
        &fn);
  }

  long erase(const void* key) override;

 protected:
  long do_update_host(const void* key, const void* value, uint64_t flags) override;

 private:
  static void commit(void* sample, bool discard);

  const uint64_t mask_;  // data area size - 1
  unsigned char* base_;  // page 0 holds the owner pointer; the data area starts at page 1
  unsigned char* data_;
  alignas(64) std::atomic<uint64_t> consumer_pos_{0};
  alignas(64) std::atomic<uint64_t> producer_pos_{0};
  MapLock producer_lock_;
  std::mutex consumer_mutex_;
};

}  // namespace pollen::maps

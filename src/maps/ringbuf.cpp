// SPDX-License-Identifier: MIT
// The ring buffer, after Linux's ringbuf.c: reserve rounds the record up to 8 bytes with its
// header, refuses records over UINT_MAX/4 or larger than the ring, and keeps the producer
// position less than the ring size ahead of the consumer; commit clears the busy bit with a
// release store that publishes the payload. The header's page offset counts 4 KiB pages from
// the start of the allocation, whose first page points back at the RingBuf.
#include "maps/ringbuf.hpp"

#include <cerrno>
#include <cstring>
#include <new>

namespace pollen::maps {
namespace {

constexpr size_t kPageSize = 4096;
constexpr uint32_t kPageShift = 12;
constexpr uint64_t kMaxRecordSize = 0xffffffffu / 4;

std::atomic_ref<uint32_t> header_len(unsigned char* header) {
  return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(header));
}

}  // namespace

RingBuf::RingBuf(const MapDef& def, uint32_t slots)
    : Map(def, slots),
      mask_(uint64_t{def.max_entries} - 1),
      base_(static_cast<unsigned char*>(
          ::operator new (kPageSize + 2 * size_t{def.max_entries}, std::align_val_t{kPageSize}))),
      data_(base_ + kPageSize) {
  RingBuf* self = this;
  std::memcpy(base_, &self, sizeof self);
}

RingBuf::~RingBuf() {
  ::operator delete (base_, std::align_val_t{kPageSize});
}

void* RingBuf::reserve(uint64_t size, uint64_t flags) {
  if (flags != 0 || size > kMaxRecordSize) return nullptr;
  const uint64_t len = (size + kRingbufHdrSize + 7) & ~uint64_t{7};
  if (len > mask_ + 1) return nullptr;
  const uint64_t cons = consumer_pos_.load(std::memory_order_acquire);
  std::lock_guard guard(producer_lock_);
  const uint64_t prod = producer_pos_.load(std::memory_order_relaxed);
  if (prod + len - cons > mask_) return nullptr;
  unsigned char* header = data_ + (prod & mask_);
  const auto pgoff = static_cast<uint32_t>((header - base_) >> kPageShift);
  std::memcpy(header + 4, &pgoff, sizeof pgoff);
  header_len(header).store(static_cast<uint32_t>(size) | kRingbufBusyBit,
                           std::memory_order_relaxed);
  // Release: the consumer that sees the new producer position sees the busy header.
  producer_pos_.store(prod + len, std::memory_order_release);
  return header + kRingbufHdrSize;
}

void RingBuf::commit(void* sample, bool discard) {
  unsigned char* header = static_cast<unsigned char*>(sample) - kRingbufHdrSize;
  std::atomic_ref<uint32_t> len = header_len(header);
  uint32_t value = len.load(std::memory_order_relaxed) & ~kRingbufBusyBit;
  if (discard) value |= kRingbufDiscardBit;
  // Release: the payload written into the sample is visible once the busy bit is clear.
  len.store(value, std::memory_order_release);
}

// Pollen has no consumer wakeups, so the BPF_RB_* notification flags change nothing.
void RingBuf::submit(void* sample, uint64_t) {
  commit(sample, false);
}

void RingBuf::discard(void* sample, uint64_t) {
  commit(sample, true);
}

RingBuf* RingBuf::from_sample(const void* sample) {
  const auto* header = static_cast<const unsigned char*>(sample) - kRingbufHdrSize;
  uint32_t pgoff;
  std::memcpy(&pgoff, header + 4, sizeof pgoff);
  const auto page = reinterpret_cast<uintptr_t>(header) & ~uintptr_t{kPageSize - 1};
  const uintptr_t start = page - (uintptr_t{pgoff} << kPageShift);
  const auto* base = reinterpret_cast<const unsigned char*>(start);
  RingBuf* owner;
  std::memcpy(&owner, base, sizeof owner);
  return owner;
}

long RingBuf::output(const void* data, uint64_t size, uint64_t flags) {
  if ((flags & ~(kRbNoWakeup | kRbForceWakeup)) != 0) return -EINVAL;
  void* sample = reserve(size, 0);
  if (sample == nullptr) return -EAGAIN;
  std::memcpy(sample, data, size);
  commit(sample, false);
  return 0;
}

uint64_t RingBuf::query(uint64_t flags) const {
  const uint64_t cons = consumer_pos_.load(std::memory_order_acquire);
  const uint64_t prod = producer_pos_.load(std::memory_order_acquire);
  switch (flags) {
    case kRbAvailData: return prod - cons;
    case kRbRingSize: return mask_ + 1;
    case kRbConsPos: return cons;
    case kRbProdPos: return prod;
    default: return 0;
  }
}

long RingBuf::consume(ConsumeFn fn, void* ctx) {
  std::lock_guard guard(consumer_mutex_);
  uint64_t cons = consumer_pos_.load(std::memory_order_relaxed);
  long handed = 0;
  for (uint64_t prod = producer_pos_.load(std::memory_order_acquire); cons < prod;
       prod = producer_pos_.load(std::memory_order_acquire)) {
    unsigned char* header = data_ + (cons & mask_);
    const uint32_t len = header_len(header).load(std::memory_order_acquire);
    if ((len & kRingbufBusyBit) != 0) break;
    const uint32_t size = len & ~(kRingbufBusyBit | kRingbufDiscardBit);
    cons += (uint64_t{size} + kRingbufHdrSize + 7) & ~uint64_t{7};
    if ((len & kRingbufDiscardBit) == 0) {
      ++handed;
      const int rc = fn(ctx, header + kRingbufHdrSize, size);
      if (rc < 0) {
        consumer_pos_.store(cons, std::memory_order_release);
        return rc;
      }
    }
    // Release: our reads of the record happen before a producer reuses its space.
    consumer_pos_.store(cons, std::memory_order_release);
  }
  return handed;
}

// Linux's ring buffer has no element operations: -ENOTSUPP from the syscall.
long RingBuf::erase(const void*) {
  return -kEnotsupp;
}

long RingBuf::do_update_host(const void*, const void*, uint64_t) {
  return -kEnotsupp;
}

}  // namespace pollen::maps

// SPDX-License-Identifier: MIT
// The ring buffer helpers (kernel/bpf/ringbuf.c): output copies a record in; reserve hands the
// program a record to fill in place, which it must then submit or discard; query reads the
// positions. The ring itself (maps::RingBuf) already has Linux's record format and flag rules.
// Checked mode tracks each reserved record as writable memory of the run until it is submitted
// or discarded, refuses a second submit, and discards records a program forgets.
#include <fmt/format.h>

#include "helpers/helpers_p.hpp"
#include "maps/ringbuf.hpp"

namespace pollen::helpers::detail {
namespace {

using vm::DynamicKind;
using vm::RunContext;

// The ring buffer in r1, or null after a refusal (Linux's verifier accepts only a RINGBUF map).
maps::RingBuf* ringbuf_arg(RunContext* ctx, uint32_t helper, uint64_t value) {
  maps::Map* map = map_arg(ctx, helper, 1, value);
  if (map == nullptr) return nullptr;
  if (map->type() != maps::MapType::Ringbuf) {
    refuse(ctx, helper,
           fmt::format("r1 (a map of type {}) is not a ringbuf", maps::map_type_name(map->type())));
    return nullptr;
  }
  return static_cast<maps::RingBuf*>(map);
}

uint64_t ringbuf_output(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t,
                        RunContext* ctx) {
  maps::RingBuf* ring = ringbuf_arg(ctx, id::kRingbufOutput, r1);
  if (ring == nullptr || !readable(ctx, id::kRingbufOutput, 2, r2, r3)) return 0;
  return from_long(ring->output(ptr(r2), r3, r4));
}

uint64_t ringbuf_reserve(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t,
                         RunContext* ctx) {
  maps::RingBuf* ring = ringbuf_arg(ctx, id::kRingbufReserve, r1);
  if (ring == nullptr) return 0;
  void* record = ring->reserve(r2, r3);
  const auto address = reinterpret_cast<uint64_t>(record);
  // A checked run that holds as many records as it can track gets no more: the reservation
  // fails as on a full ring, which programs must handle anyway.
  if (record != nullptr && ctx->checked && !hold(ctx, address, r2, DynamicKind::RingbufRecord)) {
    maps::RingBuf::discard(record, 0);
    return 0;
  }
  return address;
}

// Checked mode: r1 must be a record this run reserved and has not yet submitted or discarded
// (Linux's verifier tracks it as a reference that the call releases).
bool release_record(RunContext* ctx, uint32_t helper, uint64_t record) {
  if (!ctx->checked || ctx->dynamic.remove(record, DynamicKind::RingbufRecord)) return true;
  return refuse(ctx, helper,
                fmt::format("r1 ({:#x}) is not a ring buffer record the program reserved and "
                            "still holds",
                            record));
}

uint64_t ringbuf_submit(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  if (release_record(ctx, id::kRingbufSubmit, r1)) maps::RingBuf::submit(ptr(r1), r2);
  return 0;
}

uint64_t ringbuf_discard(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  if (release_record(ctx, id::kRingbufDiscard, r1)) maps::RingBuf::discard(ptr(r1), r2);
  return 0;
}

uint64_t ringbuf_query(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  maps::RingBuf* ring = ringbuf_arg(ctx, id::kRingbufQuery, r1);
  return ring != nullptr ? ring->query(r2) : 0;
}

constexpr Implementation kImplementations[] = {
    {id::kRingbufOutput, ringbuf_output}, {id::kRingbufReserve, ringbuf_reserve},
    {id::kRingbufSubmit, ringbuf_submit}, {id::kRingbufDiscard, ringbuf_discard},
    {id::kRingbufQuery, ringbuf_query},
};

}  // namespace

std::span<const Implementation> ringbuf_helpers() {
  return kImplementations;
}

}  // namespace pollen::helpers::detail

// SPDX-License-Identifier: MIT
// The perf event array's samples (see perf_event_array.hpp). Each sample counts with an 8-byte
// header against the bytes kept, as a perf_event_header and its size do in a perf ring.
#include "maps/perf_event_array.hpp"

#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

namespace pollen::maps {
namespace {

constexpr uint64_t kSampleHeader = 8;

uint32_t read_index(const void* key) {
  uint32_t index = 0;
  std::memcpy(&index, key, sizeof index);
  return index;
}

}  // namespace

PerfEventArray::PerfEventArray(const MapDef& def, uint32_t slots) : Map(def, slots) {}

long PerfEventArray::output(uint32_t index, const void* data, uint64_t size, const void* extra,
                            uint64_t extra_size) {
  if (index >= def_.max_entries) return -E2BIG;
  const uint64_t bytes = kSampleHeader + size + extra_size;
  std::lock_guard guard(lock_);
  if (bytes > kPerfSampleBytes - bytes_) return -ENOSPC;
  Sample sample{index, std::vector<uint8_t>(size + extra_size)};
  if (size != 0) std::memcpy(sample.bytes.data(), data, size);
  if (extra_size != 0) std::memcpy(sample.bytes.data() + size, extra, extra_size);
  samples_.push_back(std::move(sample));
  bytes_ += bytes;
  return 0;
}

std::vector<PerfEventArray::Sample> PerfEventArray::consume() {
  std::lock_guard guard(lock_);
  bytes_ = 0;
  return std::exchange(samples_, {});
}

void* PerfEventArray::lookup(const void*, uint32_t) {
  return nullptr;
}

long PerfEventArray::update(const void*, const void*, uint64_t, uint32_t) {
  return -EINVAL;
}

long PerfEventArray::erase(const void* key) {
  return read_index(key) >= def_.max_entries ? -E2BIG : -ENOENT;
}

long PerfEventArray::do_lookup_copy(const void*, void*, uint64_t) {
  return -EOPNOTSUPP;
}

long PerfEventArray::do_update_host(const void*, const void*, uint64_t) {
  return -EOPNOTSUPP;
}

long PerfEventArray::do_get_next_key(const void* key, void* next_key) {
  return array_next_key(def_.max_entries, key, next_key);
}

}  // namespace pollen::maps

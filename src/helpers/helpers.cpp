// SPDX-License-Identifier: MIT
// The helper prototypes as data and, apart from them, their implementations, with Linux's
// meaning in user space: the kernel's clocks map to the matching POSIX clocks, the CPU number is
// the run's execution slot, and random numbers come from a per-thread generator (Linux keeps
// one per CPU).
#include "helpers/helpers.hpp"

#include <time.h>

#include <algorithm>
#include <random>

namespace pollen::helpers {
namespace {

constexpr std::array<ArgKind, 5> kNoArgs = {ArgKind::None, ArgKind::None, ArgKind::None,
                                            ArgKind::None, ArgKind::None};

constexpr std::array<HelperProto, 6> kProtos = {{
    {id::kKtimeGetNs, "bpf_ktime_get_ns", RetKind::Integer, kNoArgs},
    {id::kGetPrandomU32, "bpf_get_prandom_u32", RetKind::Integer, kNoArgs},
    {id::kGetSmpProcessorId, "bpf_get_smp_processor_id", RetKind::Integer, kNoArgs},
    {id::kJiffies64, "bpf_jiffies64", RetKind::Integer, kNoArgs},
    {id::kKtimeGetBootNs, "bpf_ktime_get_boot_ns", RetKind::Integer, kNoArgs},
    {id::kKtimeGetCoarseNs, "bpf_ktime_get_coarse_ns", RetKind::Integer, kNoArgs},
}};
static_assert(std::is_sorted(kProtos.begin(), kProtos.end(),
                             [](const HelperProto& a, const HelperProto& b) {
                               return a.id < b.id;
                             }));

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Linux's bpf_ktime_get_ns reads CLOCK_MONOTONIC (ktime_get_mono_fast_ns).
uint64_t ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  return clock_ns(CLOCK_MONOTONIC);
}

// Includes time spent suspended (ktime_get_boot_fast_ns).
uint64_t ktime_get_boot_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  return clock_ns(CLOCK_BOOTTIME);
}

// Tick-resolution monotonic time (ktime_get_coarse_ns).
uint64_t ktime_get_coarse_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  return clock_ns(CLOCK_MONOTONIC_COARSE);
}

uint64_t jiffies64(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  return clock_ns(CLOCK_MONOTONIC_COARSE) / (1'000'000'000u / kJiffiesHz);
}

// splitmix64: a tiny generator whose every output is well mixed, whatever the state.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

// Not cryptographic, as Linux's prandom is not: fast, per thread, seeded from the OS.
uint64_t get_prandom_u32(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  thread_local uint64_t state = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  return splitmix64(state) >> 32;
}

// The execution slot plays the CPU's part in user space (per-CPU maps keep one value per slot).
uint64_t get_smp_processor_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                              vm::RunContext* ctx) {
  return ctx->slot;
}

struct Implementation {
  uint32_t id;
  vm::HelperFn fn;
};

constexpr std::array<Implementation, 6> kImplementations = {{
    {id::kKtimeGetNs, ktime_get_ns},
    {id::kGetPrandomU32, get_prandom_u32},
    {id::kGetSmpProcessorId, get_smp_processor_id},
    {id::kJiffies64, jiffies64},
    {id::kKtimeGetBootNs, ktime_get_boot_ns},
    {id::kKtimeGetCoarseNs, ktime_get_coarse_ns},
}};
static_assert(kImplementations.size() == kProtos.size(), "every prototype has an implementation");

vm::HelperTable build_table() {
  vm::HelperTable table;
  for (const Implementation& impl : kImplementations) table.fn[impl.id] = impl.fn;
  return table;
}

}  // namespace

std::span<const HelperProto> helper_protos() {
  return kProtos;
}

const HelperProto* find_helper(uint32_t id) {
  auto it = std::lower_bound(kProtos.begin(), kProtos.end(), id,
                             [](const HelperProto& p, uint32_t v) { return p.id < v; });
  return it != kProtos.end() && it->id == id ? &*it : nullptr;
}

const vm::HelperTable& default_helpers() {
  static const vm::HelperTable table = build_table();
  return table;
}

}  // namespace pollen::helpers

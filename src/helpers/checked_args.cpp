// SPDX-License-Identifier: MIT
// Checked mode's argument checks for helpers. Linux's verifier proves, before a program runs,
// that every pointer it hands a helper covers the memory the helper's prototype says it will
// touch (check_helper_mem_access, check_map_func_compatibility); an unverified program in
// checked mode gets the same guarantee at run time: each pointer argument is tested against
// the run's regions, its live stack frames and what helpers handed it (RunContext::allows), each
// map argument against the maps it was linked with. What the run holds (ring buffer records,
// a spin lock) is tracked so that the end of the run releases it.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "helpers/helpers_p.hpp"
#include "maps/map_lock.hpp"
#include "maps/ringbuf.hpp"

namespace pollen::helpers::detail {
namespace {

using vm::DynamicEntry;
using vm::DynamicKind;
using vm::RunContext;

std::string_view name_of(uint32_t helper) {
  const HelperProto* proto = find_helper(helper);
  return proto != nullptr ? proto->name : "helper";
}

bool check_memory(RunContext* ctx, uint32_t helper, int arg, uint64_t addr, uint64_t size,
                  bool write) {
  if (!ctx->checked || size == 0 || ctx->allows(addr, size, write)) return true;
  return refuse(ctx, helper,
                fmt::format("r{} ({:#x}): {} bytes there are not {} memory of the program", arg,
                            addr, size, write ? "writable" : "readable"));
}

// How many bytes from `addr` on are readable: to the end of the stack, region or dynamic
// entry that holds it.
uint64_t readable_extent(const RunContext& ctx, uint64_t addr) {
  uint64_t extent = 0;
  auto consider = [&](uint64_t begin, uint64_t size) {
    if (addr - begin < size) extent = std::max(extent, begin + size - addr);
  };
  consider(ctx.stack_begin, ctx.stack_end - ctx.stack_begin);
  for (const vm::Region& r : ctx.regions) consider(r.begin, r.size);
  for (const DynamicEntry& e : ctx.dynamic.entries())
    if (e.is_memory()) consider(e.begin, e.size);
  return extent;
}

// RunContext::release: a record a program still holds is discarded, a lock released (Linux's
// verifier refuses such programs: "Unreleased reference", "bpf_spin_unlock is missing").
void release_held(RunContext& ctx) {
  for (const DynamicEntry& e : ctx.dynamic.entries()) {
    if (e.kind == DynamicKind::RingbufRecord) maps::RingBuf::discard(ptr(e.begin), 0);
    if (e.kind == DynamicKind::SpinLock) maps::value_spin_unlock(ptr(e.begin));
  }
}

}  // namespace

bool refuse(RunContext* ctx, uint32_t helper, std::string message) {
  ctx->fault = fmt::format("{}: {}", name_of(helper), message);
  return false;
}

bool readable(RunContext* ctx, uint32_t helper, int arg, uint64_t addr, uint64_t size) {
  return check_memory(ctx, helper, arg, addr, size, false);
}

bool writable(RunContext* ctx, uint32_t helper, int arg, uint64_t addr, uint64_t size) {
  return check_memory(ctx, helper, arg, addr, size, true);
}

std::optional<size_t> const_string(RunContext* ctx, uint32_t helper, int arg, uint64_t addr) {
  if (!ctx->checked) return std::strlen(ptr<const char>(addr));
  const uint64_t extent = readable_extent(*ctx, addr);
  const void* nul = extent != 0 ? std::memchr(ptr(addr), 0, extent) : nullptr;
  if (nul == nullptr) {
    refuse(ctx, helper,
           fmt::format("r{} ({:#x}) is not a NUL-terminated string in the program's memory", arg,
                       addr));
    return std::nullopt;
  }
  return static_cast<size_t>(static_cast<const char*>(nul) - ptr<const char>(addr));
}

maps::Map* map_arg(RunContext* ctx, uint32_t helper, int arg, uint64_t value) {
  if (ctx->checked && !ctx->knows_map(value)) {
    refuse(ctx, helper,
           fmt::format("r{} ({:#x}) is not a map the program was linked with or looked up", arg,
                       value));
    return nullptr;
  }
  auto* map = ptr<maps::Map>(value);
  // Per-CPU maps keep one value per execution slot; a run on a slot the map lacks is a
  // runtime misconfiguration that must not reach the map's arrays.
  if (map->percpu() && ctx->slot >= map->slots()) {
    refuse(ctx, helper,
           fmt::format("the run's execution slot {} is not one of the map's {} slots", ctx->slot,
                       map->slots()));
    return nullptr;
  }
  return map;
}

bool hold(RunContext* ctx, uint64_t begin, uint64_t size, DynamicKind kind) {
  if (!ctx->dynamic.add(begin, size, kind)) return false;
  ctx->release = &release_held;
  return true;
}

}  // namespace pollen::helpers::detail

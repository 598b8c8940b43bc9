// SPDX-License-Identifier: MIT
// The map helpers (kernel/bpf/helpers.c): lookup, update, delete, push, pop, peek, the per-CPU
// lookup on a chosen CPU, and bpf_spin_lock/unlock on a lock inside a map value. Each is a thin
// call into the maps module, which already returns Linux's results (negative errno, a value
// that stays at its address for the rest of the run); what is added here are checked mode's
// argument checks and its record of the memory a lookup hands out.
#include <fmt/format.h>

#include "helpers/helpers_p.hpp"
#include "maps/map_lock.hpp"

namespace pollen::helpers::detail {
namespace {

using vm::DynamicKind;
using vm::RunContext;

bool is_map_in_map(maps::MapType type) {
  return type == maps::MapType::ArrayOfMaps || type == maps::MapType::HashOfMaps;
}

// Linux's verifier refuses helpers that write to a map with BPF_F_RDONLY_PROG ("write into map
// forbidden"); checked mode refuses them at run time.
bool program_may_write(RunContext* ctx, uint32_t helper, const maps::Map& map) {
  if (!ctx->checked || (map.def().flags & maps::kBpfFRdonlyProg) == 0) return true;
  return refuse(ctx, helper, "the map is read-only to programs (BPF_F_RDONLY_PROG)");
}

// The map argument and its key argument, both checked; null after a refusal.
maps::Map* map_and_key(RunContext* ctx, uint32_t helper, uint64_t map_value, uint64_t key) {
  maps::Map* map = map_arg(ctx, helper, 1, map_value);
  if (map == nullptr || !readable(ctx, helper, 2, key, map->def().key_size)) return nullptr;
  return map;
}

uint64_t map_lookup_elem(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  maps::Map* map = map_and_key(ctx, id::kMapLookupElem, r1, r2);
  // Programs reach a PROG_ARRAY only through bpf_tail_call (Linux's verifier refuses the
  // lookup); its entries are programs, not memory.
  if (map == nullptr || map->type() == maps::MapType::ProgArray) return 0;
  return hand_out(ctx, *map, map->lookup(ptr(r2), ctx->slot));
}

uint64_t map_update_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t,
                         RunContext* ctx) {
  maps::Map* map = map_and_key(ctx, id::kMapUpdateElem, r1, r2);
  if (map == nullptr || !program_may_write(ctx, id::kMapUpdateElem, *map) ||
      !readable(ctx, id::kMapUpdateElem, 3, r3, map->def().value_size))
    return 0;
  return from_long(map->update(ptr(r2), ptr(r3), r4, ctx->slot));
}

uint64_t map_delete_elem(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  maps::Map* map = map_and_key(ctx, id::kMapDeleteElem, r1, r2);
  if (map == nullptr || !program_may_write(ctx, id::kMapDeleteElem, *map)) return 0;
  return from_long(map->erase(ptr(r2)));
}

uint64_t map_push_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t, RunContext* ctx) {
  maps::Map* map = map_arg(ctx, id::kMapPushElem, 1, r1);
  if (map == nullptr || !program_may_write(ctx, id::kMapPushElem, *map) ||
      !readable(ctx, id::kMapPushElem, 2, r2, map->def().value_size))
    return 0;
  return from_long(map->push(ptr(r2), r3));
}

// pop and peek write the value into the program's memory (ARG_PTR_TO_MAP_VALUE | MEM_UNINIT).
maps::Map* map_and_out_value(RunContext* ctx, uint32_t helper, uint64_t map_value, uint64_t value) {
  maps::Map* map = map_arg(ctx, helper, 1, map_value);
  if (map == nullptr || !writable(ctx, helper, 2, value, map->def().value_size)) return nullptr;
  return map;
}

uint64_t map_pop_elem(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  maps::Map* map = map_and_out_value(ctx, id::kMapPopElem, r1, r2);
  if (map == nullptr || !program_may_write(ctx, id::kMapPopElem, *map)) return 0;
  return from_long(map->pop(ptr(r2)));
}

uint64_t map_peek_elem(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  maps::Map* map = map_and_out_value(ctx, id::kMapPeekElem, r1, r2);
  if (map == nullptr) return 0;
  return from_long(map->peek(ptr(r2)));
}

// bpf_map_lookup_percpu_elem: another CPU's value; NULL for a CPU the map does not have
// (Linux: cpu >= nr_cpu_ids) and, here, for maps that are not per-CPU (Linux's verifier
// accepts only per-CPU maps).
uint64_t map_lookup_percpu_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t,
                                RunContext* ctx) {
  maps::Map* map = map_and_key(ctx, id::kMapLookupPercpuElem, r1, r2);
  const auto cpu = static_cast<uint32_t>(r3);
  if (map == nullptr || !map->percpu() || cpu >= map->slots()) return 0;
  return hand_out(ctx, *map, map->lookup(ptr(r2), cpu));
}

// bpf_spin_lock: Linux's verifier lets a program hold one lock at a time and proves it is
// released before the program ends or calls another helper; checked mode tracks the held lock
// to refuse a second one, and the end of the run releases a forgotten one.
uint64_t spin_lock(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  if (ctx->checked) {
    if (!writable(ctx, id::kSpinLock, 1, r1, sizeof(uint32_t))) return 0;
    if (r1 % alignof(uint32_t) != 0)
      return refuse(ctx, id::kSpinLock, fmt::format("r1 ({:#x}) is not 4-byte aligned", r1));
    for (const vm::DynamicEntry& e : ctx->dynamic.entries())
      if (e.kind == DynamicKind::SpinLock)
        return refuse(ctx, id::kSpinLock,
                      fmt::format("the program already holds the lock at {:#x} (Linux allows "
                                  "one bpf_spin_lock at a time)",
                                  e.begin));
    if (!hold(ctx, r1, sizeof(uint32_t), DynamicKind::SpinLock))
      return refuse(ctx, id::kSpinLock, "the run holds too many records to track a lock");
  }
  maps::value_spin_lock(ptr(r1));
  return 0;
}

uint64_t spin_unlock(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  if (ctx->checked && !ctx->dynamic.remove(r1, DynamicKind::SpinLock))
    return refuse(ctx, id::kSpinUnlock,
                  fmt::format("r1 ({:#x}) is not a bpf_spin_lock the program holds", r1));
  maps::value_spin_unlock(ptr(r1));
  return 0;
}

constexpr Implementation kImplementations[] = {
    {id::kMapLookupElem, map_lookup_elem},
    {id::kMapUpdateElem, map_update_elem},
    {id::kMapDeleteElem, map_delete_elem},
    {id::kMapPushElem, map_push_elem},
    {id::kMapPopElem, map_pop_elem},
    {id::kMapPeekElem, map_peek_elem},
    {id::kSpinLock, spin_lock},
    {id::kSpinUnlock, spin_unlock},
    {id::kMapLookupPercpuElem, map_lookup_percpu_elem},
};

}  // namespace

uint64_t hand_out(RunContext* ctx, const maps::Map& map, void* value) {
  const auto address = reinterpret_cast<uint64_t>(value);
  if (value == nullptr || !ctx->checked) return address;
  if (is_map_in_map(map.type())) {
    ctx->dynamic.add(address, 0, DynamicKind::Map);
  } else {
    const bool read_only = (map.def().flags & maps::kBpfFRdonlyProg) != 0;
    ctx->dynamic.add(address, map.def().value_size,
                     read_only ? DynamicKind::ReadOnlyMapValue : DynamicKind::MapValue);
  }
  return address;
}

std::span<const Implementation> map_helpers() {
  return kImplementations;
}

}  // namespace pollen::helpers::detail

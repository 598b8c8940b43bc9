// SPDX-License-Identifier: MIT
// The helpers that change where a program runs: bpf_tail_call jumps to a program of a
// PROG_ARRAY, bpf_loop and bpf_for_each_map_elem call a static function of the program. The
// engine does the jumping and the calling (RunContext::tail_call, call_function); these
// helpers decide, with Linux's rules, whether and with what.
#include <fmt/format.h>

#include <cerrno>

#include "helpers/helpers_p.hpp"

namespace pollen::helpers::detail {
namespace {

using vm::DynamicKind;
using vm::RunContext;

// bpf_tail_call. Linux's interpreter and JITs (JMP_TAIL_CALL in kernel/bpf/core.c) check the
// index, then the count, which an attempt on an empty slot still uses up, then the slot; any
// failure continues with the next instruction. The jump itself replaces the running program by
// the target with the same registers and stack frame, so r1 is still the context.
uint64_t tail_call(uint64_t, uint64_t r2, uint64_t r3, uint64_t, uint64_t, RunContext* ctx) {
  maps::Map* map = map_arg(ctx, id::kTailCall, 2, r2);
  if (map == nullptr) return 0;
  if (map->type() != maps::MapType::ProgArray)
    return refuse(
        ctx, id::kTailCall,
        fmt::format("r2 (a map of type {}) is not a prog_array", maps::map_type_name(map->type())));
  if (!ctx->tail_calls_supported)
    return refuse(ctx, id::kTailCall, "tail calls are not supported by this engine");
  const auto index = static_cast<uint32_t>(r3);
  // The helper's documented return on failure: a negative error (Linux's JITs leave r0 as
  // it was, which a verified program cannot read: the prototype returns void).
  if (index >= map->def().max_entries || ctx->tail_call_count >= vm::kMaxTailCalls)
    return neg_errno(ENOENT);
  ++ctx->tail_call_count;
  void* target = map->lookup(&index, ctx->slot);
  if (target == nullptr) return neg_errno(ENOENT);
  ctx->tail_call = target;
  return 0;
}

// bpf_loop (kernel/bpf/bpf_iter.c): calls the callback with (index, ctx) until it returns
// nonzero; returns the number of calls made.
uint64_t loop(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t, RunContext* ctx) {
  if (r4 != 0) return neg_errno(EINVAL);
  const auto loops = static_cast<uint32_t>(r1);
  if (loops > kMaxLoops) return neg_errno(E2BIG);
  for (uint32_t i = 0; i < loops; ++i) {
    uint64_t r0 = 0;
    if (!ctx->call_function(r2, {i, r3, 0, 0, 0}, r0)) return 0;
    if (r0 != 0) return i + 1;
  }
  return loops;
}

// One bpf_for_each_map_elem walk: what each callback call needs.
struct ForEachWalk {
  RunContext* ctx;
  maps::Map* map;
  uint64_t callback;
  uint64_t callback_ctx;
  bool stopped_run = false;  ///< the callback faulted: the run stops
};

// maps::ForEachFn: calls the program's callback with (map, key, value, ctx). In checked mode
// the callback may read the key while it runs and use the value like a looked-up one.
long for_each_step(void* walk_ptr, const void* key, void* value) {
  auto& walk = *static_cast<ForEachWalk*>(walk_ptr);
  RunContext* ctx = walk.ctx;
  const auto key_address = reinterpret_cast<uint64_t>(key);
  if (ctx->checked) ctx->dynamic.add(key_address, walk.map->def().key_size, DynamicKind::MapKey);
  const uint64_t value_address = hand_out(ctx, *walk.map, value);
  uint64_t r0 = 0;
  const bool ok = ctx->call_function(
      walk.callback,
      {reinterpret_cast<uint64_t>(walk.map), key_address, value_address, walk.callback_ctx, 0}, r0);
  if (ctx->checked) ctx->dynamic.remove(key_address, DynamicKind::MapKey);
  walk.stopped_run = !ok;
  return !ok || r0 != 0;
}

// bpf_for_each_map_elem: returns the number of elements visited, the one whose callback
// stopped the walk included (Linux's map_for_each_callback implementations).
uint64_t for_each_map_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t,
                           RunContext* ctx) {
  maps::Map* map = map_arg(ctx, id::kForEachMapElem, 1, r1);
  if (map == nullptr) return 0;
  if (r4 != 0) return neg_errno(EINVAL);
  ForEachWalk walk{ctx, map, r2, r3};
  const long visited = map->for_each(&for_each_step, &walk, ctx->slot);
  return walk.stopped_run ? 0 : from_long(visited);
}

constexpr Implementation kImplementations[] = {
    {id::kTailCall, tail_call},
    {id::kForEachMapElem, for_each_map_elem},
    {id::kLoop, loop},
};

}  // namespace

std::span<const Implementation> control_helpers() {
  return kImplementations;
}

}  // namespace pollen::helpers::detail

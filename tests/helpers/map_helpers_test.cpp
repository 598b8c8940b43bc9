// SPDX-License-Identifier: MIT
// The map helpers from programs and by direct call: lookup, update and delete on hash and array
// maps with Linux's error returns, push/pop/peek on queues and stacks, the per-CPU lookups,
// bpf_for_each_map_elem over arrays and hashes, bpf_spin_lock, and two threads counting
// through a looked-up value without losing an increment.
#include <gtest/gtest.h>

#include <cerrno>
#include <thread>

#include "helper_test_util.hpp"

namespace pollen::helpers::test {
namespace {

using maps::MapType;

// update(key 7 -> 42) with `flags`, then r0 = *lookup(7), or -1 when the lookup finds nothing;
// the update's result is left in r6.
constexpr std::string_view kUpdateThenLookup = R"(
  stw [%r10-4], 7
  stdw [%r10-16], 42
  lddw %r1, map_fd 0
  mov %r2, %r10
  add %r2, -4
  mov %r3, %r10
  add %r3, -16
  mov %r4, 0
  call 2
  mov %r6, %r0
  lddw %r1, map_fd 0
  mov %r2, %r10
  add %r2, -4
  call 1
  jeq %r0, 0, missing
  ldxdw %r0, [%r0+0]
  exit
missing:
  mov %r0, -1
  exit
)";

TEST(MapLookupUpdate, UpdateThenLookupSeesTheValueInHashAndArray) {
  for (MapType type : {MapType::Hash, MapType::Array, MapType::LruHash, MapType::PercpuHash,
                       MapType::PercpuArray}) {
    auto map = make_map(type, 4, 8, 16);
    expect_r0(link(kUpdateThenLookup, {map.get()}), 42, {.maps = {map.get()}});
  }
}

TEST(MapLookupUpdate, LookupOfAMissingKeyIsNull) {
  auto hash = make_map(MapType::Hash, 4, 8, 16);
  auto array = make_map(MapType::Array, 4, 8, 4);
  const char* text = R"(
    stw [%r10-4], 9
    lddw %r1, map_fd 0
    mov %r2, %r10
    add %r2, -4
    call 1
    exit)";
  for (maps::Map* map : {hash.get(), array.get()}) expect_r0(link(text, {map}), 0, {.maps = {map}});
}

TEST(MapLookupUpdate, ValuePointerIsWritableAndStaysTheMapsValue) {
  auto map = make_map(MapType::Array, 4, 8, 4);
  auto prog = link(R"(
    stw [%r10-4], 1
    lddw %r1, map_fd 0
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, out
    mov %r1, 5
    lock add [%r0+0], %r1
  out:
    mov %r0, 0
    exit)",
                   {map.get()});
  expect_r0(prog, 0, {.maps = {map.get()}});
  uint32_t key = 1;
  uint64_t value = 0;
  ASSERT_EQ(map->lookup_copy(&key, &value), 0);
  EXPECT_EQ(value, 10u);  // once per mode
}

struct UpdateCase {
  const char* name;
  MapType type;
  uint32_t key;
  uint64_t flags;
  bool present;  ///< key 1 is in the map before the update
  uint64_t expected;
};

TEST(MapLookupUpdate, UpdateReturnsLinuxErrors) {
  const UpdateCase cases[] = {
      {"hash_any_new", MapType::Hash, 2, maps::kBpfAny, true, 0},
      {"hash_noexist_present", MapType::Hash, 1, maps::kBpfNoExist, true, neg(EEXIST)},
      {"hash_exist_absent", MapType::Hash, 2, maps::kBpfExist, true, neg(ENOENT)},
      {"hash_bad_flags", MapType::Hash, 1, 7, true, neg(EINVAL)},
      {"hash_full", MapType::Hash, 3, maps::kBpfAny, true, neg(E2BIG)},
      {"array_out_of_range", MapType::Array, 9, maps::kBpfAny, false, neg(E2BIG)},
      {"array_noexist", MapType::Array, 1, maps::kBpfNoExist, false, neg(EEXIST)},
      {"array_lock_without_spin_lock", MapType::Array, 1, maps::kBpfFLock, false, neg(EINVAL)},
  };
  for (const UpdateCase& c : cases) {
    auto map = make_map(c.type, 4, 8, 2);
    maps::EpochGuard guard;
    uint32_t key = 1;
    uint64_t value = 5;
    if (c.present) {
      ASSERT_EQ(map->update_host(&key, &value), 0);
    }
    if (c.type == MapType::Hash && c.key == 3) {  // fill the map first
      uint32_t other = 2;
      ASSERT_EQ(map->update_host(&other, &value), 0);
    }
    vm::RunContext ctx;
    key = c.key;
    EXPECT_EQ(
        call(id::kMapUpdateElem, ctx, address(map.get()), address(&key), address(&value), c.flags),
        c.expected)
        << c.name;
  }
}

TEST(MapDelete, DeletesPresentKeysAndReportsLinuxErrors) {
  auto hash = make_map(MapType::Hash, 4, 8, 4);
  auto array = make_map(MapType::Array, 4, 8, 4);
  maps::EpochGuard guard;
  uint32_t key = 3;
  uint64_t value = 1;
  ASSERT_EQ(hash->update_host(&key, &value), 0);
  vm::RunContext ctx;
  EXPECT_EQ(call(id::kMapDeleteElem, ctx, address(hash.get()), address(&key)), 0u);
  EXPECT_EQ(call(id::kMapLookupElem, ctx, address(hash.get()), address(&key)), 0u);
  EXPECT_EQ(call(id::kMapDeleteElem, ctx, address(hash.get()), address(&key)), neg(ENOENT));
  EXPECT_EQ(call(id::kMapDeleteElem, ctx, address(array.get()), address(&key)), neg(EINVAL));
}

TEST(MapPushPopPeek, QueueIsFifoStackIsLifo) {
  for (MapType type : {MapType::Queue, MapType::Stack}) {
    auto map = make_map(type, 0, 8, 3);
    maps::EpochGuard guard;
    vm::RunContext ctx;
    const uint64_t m = address(map.get());
    for (uint64_t v : {10u, 20u, 30u})
      EXPECT_EQ(call(id::kMapPushElem, ctx, m, address(&v), 0), 0u);
    uint64_t extra = 40;
    EXPECT_EQ(call(id::kMapPushElem, ctx, m, address(&extra), 0), neg(E2BIG));
    uint64_t out = 0;
    EXPECT_EQ(call(id::kMapPeekElem, ctx, m, address(&out)), 0u);
    EXPECT_EQ(out, type == MapType::Queue ? 10u : 30u);
    // BPF_EXIST on a full queue or stack drops the oldest element to make room.
    EXPECT_EQ(call(id::kMapPushElem, ctx, m, address(&extra), maps::kBpfExist), 0u);
    std::vector<uint64_t> popped;
    while (call(id::kMapPopElem, ctx, m, address(&out)) == 0) popped.push_back(out);
    const std::vector<uint64_t> fifo = {20, 30, 40}, lifo = {40, 30, 20};
    EXPECT_EQ(popped, type == MapType::Queue ? fifo : lifo);
    EXPECT_EQ(call(id::kMapPopElem, ctx, m, address(&out)), neg(ENOENT));
    EXPECT_EQ(call(id::kMapPeekElem, ctx, m, address(&out)), neg(ENOENT));
  }
}

TEST(MapPushPopPeek, PopFromAProgramWritesTheStack) {
  auto queue = make_map(MapType::Queue, 0, 8, 4);
  uint64_t v = 77;
  ASSERT_EQ(queue->update_host(nullptr, &v), 0);
  auto prog = link(R"(
    lddw %r1, map_fd 0
    mov %r2, %r10
    add %r2, -8
    call 88
    jne %r0, 0, out
    ldxdw %r0, [%r10-8]
  out:
    exit)",
                   {queue.get()});
  Result<uint64_t> r = run(prog, {.checked = true, .maps = {queue.get()}});
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 77u);
}

// Per-CPU values: slot 0 holds 100, slot 1 holds 101.
std::shared_ptr<maps::Map> percpu_array() {
  auto map = make_map(MapType::PercpuArray, 4, 8, 2);
  uint32_t key = 0;
  uint64_t values[2] = {100, 101};
  EXPECT_EQ(map->update_host(&key, values), 0);
  return map;
}

TEST(MapLookupPercpu, LookupSeesTheRunsSlotAndPercpuLookupAnyCpu) {
  auto map = percpu_array();
  maps::EpochGuard guard;
  uint32_t key = 0;
  const uint64_t m = address(map.get());
  for (uint32_t slot : {0u, 1u}) {
    vm::RunContext ctx;
    ctx.slot = slot;
    auto* value = reinterpret_cast<uint64_t*>(call(id::kMapLookupElem, ctx, m, address(&key)));
    ASSERT_NE(value, nullptr);
    EXPECT_EQ(*value, 100 + slot);
    for (uint32_t cpu : {0u, 1u}) {
      auto* other =
          reinterpret_cast<uint64_t*>(call(id::kMapLookupPercpuElem, ctx, m, address(&key), cpu));
      ASSERT_NE(other, nullptr);
      EXPECT_EQ(*other, 100 + cpu);
    }
    EXPECT_EQ(call(id::kMapLookupPercpuElem, ctx, m, address(&key), 2), 0u);  // no CPU 2
  }
  auto shared = make_map(MapType::Array, 4, 8, 2);
  vm::RunContext ctx;
  EXPECT_EQ(call(id::kMapLookupPercpuElem, ctx, address(shared.get()), address(&key), 0), 0u);
}

TEST(MapLookupPercpu, ASlotTheMapLacksIsRefused) {
  auto map = percpu_array();
  maps::EpochGuard guard;
  uint32_t key = 0;
  vm::RunContext ctx;
  ctx.slot = 2;
  EXPECT_EQ(call(id::kMapLookupElem, ctx, address(map.get()), address(&key)), 0u);
  EXPECT_EQ(ctx.fault,
            "bpf_map_lookup_elem: the run's execution slot 2 is not one of the map's 2 slots");
}

// for_each over map 0 with callback 0 and r0 = visited * 1000000 + the u64 the callbacks
// accumulate in the caller's stack at r10 - 8.
constexpr std::string_view kForEachMain = R"(
  stdw [%r10-8], 0
  lddw %r1, map_fd 0
  lddw %r2, func 0
  mov %r3, %r10
  add %r3, -8
  mov %r4, 0
  call 164
  ldxdw %r1, [%r10-8]
  mul %r0, 1000000
  add %r0, %r1
  exit
)";

// Adds the value to *ctx and continues.
constexpr std::string_view kSumValues = R"(
  ldxdw %r5, [%r3+0]
  ldxdw %r0, [%r4+0]
  add %r0, %r5
  stxdw [%r4+0], %r0
  mov %r0, 0
  exit
)";

TEST(ForEachMapElem, VisitsEveryArrayElementInOrder) {
  auto map = make_map(MapType::Array, 4, 8, 4);
  for (uint32_t k = 0; k < 4; ++k) {
    uint64_t v = 1u << (4 * k);
    ASSERT_EQ(map->update_host(&k, &v), 0);
  }
  expect_r0(link(kForEachMain, {map.get()}, {kSumValues}), 4'000'000 + 0x1111,
            {.maps = {map.get()}});
}

TEST(ForEachMapElem, VisitsEveryHashElement) {
  auto map = make_map(MapType::Hash, 4, 8, 8);
  for (uint32_t k : {1u, 2u, 3u}) {
    uint64_t v = 10 * k;
    ASSERT_EQ(map->update_host(&k, &v), 0);
  }
  expect_r0(link(kForEachMain, {map.get()}, {kSumValues}), 3'000'060, {.maps = {map.get()}});
}

TEST(ForEachMapElem, CallbackReturningOneStopsAndCounts) {
  auto map = make_map(MapType::Array, 4, 8, 8);
  // Counts its calls in *ctx and stops at key 2.
  constexpr std::string_view kStopAtTwo = R"(
    ldxw %r5, [%r2+0]
    ldxdw %r0, [%r4+0]
    add %r0, 1
    stxdw [%r4+0], %r0
    mov %r0, 0
    jne %r5, 2, +1
    mov %r0, 1
    exit
  )";
  expect_r0(link(kForEachMain, {map.get()}, {kStopAtTwo}), 3'000'003, {.maps = {map.get()}});
}

TEST(ForEachMapElem, NonzeroFlagsAreInvalid) {
  auto map = make_map(MapType::Array, 4, 8, 2);
  vm::RunContext ctx;
  maps::EpochGuard guard;
  EXPECT_EQ(call(id::kForEachMapElem, ctx, address(map.get()), 0, 0, 1), neg(EINVAL));
}

// A value with a bpf_spin_lock at offset 0 and a counter at offset 8.
std::shared_ptr<maps::Map> locked_array() {
  maps::MapDef def;
  def.type = MapType::Array;
  def.key_size = 4;
  def.value_size = 16;
  def.max_entries = 1;
  def.spin_lock_off = 0;
  Result<std::shared_ptr<maps::Map>> map = maps::create_map(def, 2);
  EXPECT_TRUE(map.ok()) << map.error().str();
  return map ? *map : nullptr;
}

// Looks up the value, then counter += 1 under its lock (a plain load and store, which only
// the lock makes safe).
constexpr std::string_view kLockedIncrement = R"(
  stw [%r10-4], 0
  lddw %r1, map_fd 0
  mov %r2, %r10
  add %r2, -4
  call 1
  jeq %r0, 0, out
  mov %r6, %r0
  mov %r1, %r6
  call 93
  ldxdw %r1, [%r6+8]
  add %r1, 1
  stxdw [%r6+8], %r1
  mov %r1, %r6
  call 94
out:
  mov %r0, 0
  exit
)";

uint64_t counter_of(maps::Map& map) {
  uint32_t key = 0;
  uint64_t value[2] = {};
  EXPECT_EQ(map.lookup_copy(&key, value), 0);
  return value[1];
}

TEST(SpinLock, SerialisesUpdatesFromTwoThreads) {
  auto map = locked_array();
  auto prog = link(kLockedIncrement, {map.get()});
  constexpr int kRuns = 20000;
  auto worker = [&](bool checked) {
    for (int i = 0; i < kRuns; ++i)
      ASSERT_TRUE(run(prog, {.checked = checked, .maps = {map.get()}}).ok());
  };
  std::thread a(worker, false);
  std::thread b(worker, true);
  a.join();
  b.join();
  EXPECT_EQ(counter_of(*map), 2u * kRuns);
}

// Two threads each add 1 to the same array value kRuns times with lookup + atomic add.
TEST(MapConcurrency, TwoThreadsCountingThroughALookupLoseNothing) {
  auto map = make_map(MapType::Array, 4, 8, 1);
  auto prog = link(R"(
    stw [%r10-4], 0
    lddw %r1, map_fd 0
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, out
    mov %r1, 1
    lock add [%r0+0], %r1
  out:
    mov %r0, 0
    exit)",
                   {map.get()});
  Result<vm::Interpreter> interp = vm::Interpreter::create(prog, default_helpers());
  ASSERT_TRUE(interp.ok());
  constexpr int kRuns = 100000;
  auto worker = [&](uint32_t slot, bool checked) {
    vm::RunArgs args;
    args.maps = {address(map.get())};
    vm::RunOptions options;
    options.checked = checked;
    options.slot = slot;
    for (int i = 0; i < kRuns; ++i) {
      maps::EpochGuard guard;
      ASSERT_TRUE(interp->run(args, options).ok());
    }
  };
  std::thread a(worker, 0, false);
  std::thread b(worker, 1, true);
  a.join();
  b.join();
  uint32_t key = 0;
  uint64_t total = 0;
  ASSERT_EQ(map->lookup_copy(&key, &total), 0);
  EXPECT_EQ(total, 2u * kRuns);
}

}  // namespace
}  // namespace pollen::helpers::test

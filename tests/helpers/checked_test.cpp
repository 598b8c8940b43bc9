// SPDX-License-Identifier: MIT
// Checked mode's refusals: every pointer or map a helper would use is checked against the
// run's memory (regions, live stack, what helpers handed out) and maps, and a bad one stops
// the run with a message naming the helper, the argument and the fact that failed, before
// anything is read or written. Map values a lookup returns become memory of the run, with
// their size and, for BPF_F_RDONLY_PROG maps, read-only; inner maps become maps of the run.
#include <gtest/gtest.h>

#include <array>
#include <functional>

#include "helper_test_util.hpp"
#include "maps/ref_maps.hpp"

namespace pollen::helpers::test {
namespace {

// A checked run's context by hand: 32 writable bytes, 16 read-only ones, a stack, one hash
// map (key u32, value u64) and one ring buffer.
class CheckedCall : public ::testing::Test {
 public:  // the refusal table's argument builders read the fixture
  CheckedCall() {
    regions_ = {vm::Region{address(memory.data()), memory.size(), true, "memory"},
                vm::Region{address(read_only.data()), read_only.size(), false, "rodata"}};
    maps_ = {address(hash.get()), address(ring.get())};
    ctx.checked = true;
    ctx.regions = regions_;
    ctx.maps = maps_;
    ctx.stack_begin = address(stack.data());
    ctx.stack_end = address(stack.data() + stack.size());
    memory.fill(0);
    read_only.fill('r');
    stack.fill(0);
  }
  uint64_t mem(size_t offset) const { return address(memory.data() + offset); }

  alignas(8) std::array<uint8_t, 32> memory{};
  alignas(8) std::array<uint8_t, 16> read_only{};
  alignas(8) std::array<uint8_t, 64> stack{};
  std::shared_ptr<maps::Map> hash = make_map(maps::MapType::Hash, 4, 8, 4);
  std::shared_ptr<maps::Map> ring = make_map(maps::MapType::Ringbuf, 0, 0, 4096);
  maps::EpochGuard guard;
  vm::RunContext ctx;

 private:
  std::vector<vm::Region> regions_;
  std::vector<uint64_t> maps_;
};

struct Refusal {
  const char* name;
  uint32_t helper;
  std::function<std::array<uint64_t, 5>(CheckedCall&)> args;
  std::string message;  ///< the start of ctx.fault, up to the first address
};

std::vector<Refusal> refusals() {
  using T = CheckedCall;
  return {
      {"unknown_map", id::kMapLookupElem,
       [](T& t) {
         return std::array<uint64_t, 5>{0x1234, t.mem(0)};
       },
       "bpf_map_lookup_elem: r1 (0x1234) is not a map the program was linked with or looked up"},
      {"key_outside", id::kMapLookupElem,
       [](T& t) {
         return std::array<uint64_t, 5>{address(t.hash.get()), t.mem(30)};
       },
       "bpf_map_lookup_elem: r2 ("},
      {"value_straddles_end", id::kMapUpdateElem,
       [](T& t) {
         return std::array<uint64_t, 5>{address(t.hash.get()), t.mem(0), t.mem(28), 0};
       },
       "bpf_map_update_elem: r3 ("},
      {"pop_into_read_only", id::kMapPopElem,
       [](T& t) {
         return std::array<uint64_t, 5>{address(t.hash.get()), address(t.read_only.data())};
       },
       "bpf_map_pop_elem: r2 ("},
      {"probe_read_dst_outside", id::kProbeReadUser,
       [](T& t) {
         return std::array<uint64_t, 5>{8, 8, t.mem(0)};
       },
       "bpf_probe_read_user: r1 (0x8)"},
      {"comm_dst_read_only", id::kGetCurrentComm,
       [](T& t) {
         return std::array<uint64_t, 5>{address(t.read_only.data()), 16};
       },
       "bpf_get_current_comm: r1 ("},
      {"csum_to_outside", id::kCsumDiff,
       [](T& t) {
         return std::array<uint64_t, 5>{t.mem(0), 4, 0x10, 4, 0};
       },
       "bpf_csum_diff: r3 (0x10)"},
      {"strncmp_unterminated", id::kStrncmp,
       [](T& t) {
         t.memory.fill('a');
         return std::array<uint64_t, 5>{t.mem(0), 4, t.mem(16)};
       },
       "bpf_strncmp: r3 ("},
      {"strtol_result_outside", id::kStrtol,
       [](T& t) {
         return std::array<uint64_t, 5>{t.mem(0), 4, 0, t.mem(28)};
       },
       "bpf_strtol: r4 ("},
      {"snprintf_out_read_only", id::kSnprintf,
       [](T& t) {
         return std::array<uint64_t, 5>{address(t.read_only.data()), 8, t.mem(0), 0, 0};
       },
       "bpf_snprintf: r1 ("},
      {"trace_printk_fmt_outside", id::kTracePrintk,
       [](T& t) {
         return std::array<uint64_t, 5>{t.mem(16), 20};
       },
       "bpf_trace_printk: r1 ("},
      {"ringbuf_output_data_outside", id::kRingbufOutput,
       [](T& t) {
         return std::array<uint64_t, 5>{address(t.ring.get()), t.mem(0), 64, 0};
       },
       "bpf_ringbuf_output: r2 ("},
      {"submit_of_no_record", id::kRingbufSubmit,
       [](T& t) {
         return std::array<uint64_t, 5>{t.mem(8), 0};
       },
       "bpf_ringbuf_submit: r1 ("},
      {"spin_lock_misaligned", id::kSpinLock,
       [](T& t) { return std::array<uint64_t, 5>{t.mem(2)}; }, "bpf_spin_lock: r1 ("},
      {"spin_unlock_not_held", id::kSpinUnlock,
       [](T& t) { return std::array<uint64_t, 5>{t.mem(0)}; }, "bpf_spin_unlock: r1 ("},
      {"for_each_unknown_map", id::kForEachMapElem,
       [](T&) {
         return std::array<uint64_t, 5>{0x99, 0, 0, 0};
       },
       "bpf_for_each_map_elem: r1 (0x99)"},
      {"tail_call_unknown_map", id::kTailCall,
       [](T&) {
         return std::array<uint64_t, 5>{0, 0x77, 0};
       },
       "bpf_tail_call: r2 (0x77)"},
  };
}

TEST_F(CheckedCall, BadArgumentsAreRefusedBeforeUse) {
  for (const Refusal& c : refusals()) {
    ctx.fault.clear();
    const std::array<uint64_t, 5> a = c.args(*this);
    const std::array<uint8_t, 32> before = memory;
    call(c.helper, ctx, a[0], a[1], a[2], a[3], a[4]);
    EXPECT_EQ(ctx.fault.substr(0, c.message.size()), c.message) << c.name << ": " << ctx.fault;
    EXPECT_EQ(memory, before) << c.name << " wrote before refusing";
  }
}

TEST_F(CheckedCall, ASecondSpinLockIsRefused) {
  ASSERT_EQ(call(id::kSpinLock, ctx, mem(0)), 0u);
  ASSERT_TRUE(ctx.fault.empty()) << ctx.fault;
  call(id::kSpinLock, ctx, mem(8));
  EXPECT_NE(ctx.fault.find("already holds the lock"), std::string::npos) << ctx.fault;
  ctx.fault.clear();
  EXPECT_EQ(call(id::kSpinUnlock, ctx, mem(0)), 0u);
  EXPECT_TRUE(ctx.fault.empty()) << ctx.fault;
}

TEST_F(CheckedCall, ARunOnAReadOnlyMapCannotWriteIt) {
  auto rdonly = make_map(maps::MapType::Hash, 4, 8, 4, maps::kBpfFRdonlyProg);
  std::vector<uint64_t> maps = {address(rdonly.get())};
  ctx.maps = maps;
  call(id::kMapUpdateElem, ctx, address(rdonly.get()), mem(0), mem(8), 0);
  EXPECT_EQ(ctx.fault, "bpf_map_update_elem: the map is read-only to programs (BPF_F_RDONLY_PROG)");
}

TEST_F(CheckedCall, AnInnerMapLookedUpBecomesAMapOfTheRun) {
  auto inner = make_map(maps::MapType::Hash, 4, 8, 4);
  maps::MapDef def;
  def.type = maps::MapType::ArrayOfMaps;
  def.key_size = 4;
  def.value_size = 4;
  def.max_entries = 2;
  def.inner = std::make_shared<maps::MapDef>(inner->def());
  Result<std::shared_ptr<maps::Map>> outer = maps::create_map(def, 2);
  ASSERT_TRUE(outer.ok()) << outer.error().str();
  std::vector<uint64_t> maps = {address(outer->get())};
  ctx.maps = maps;
  ASSERT_EQ(static_cast<maps::RefArrayMap*>(outer->get())->set_map(1, inner, 7), 0)
      << "the array of maps must accept a hash like its template";
  const uint32_t key = 1;  // in the run's memory, as checked mode wants keys
  std::memcpy(memory.data(), &key, sizeof key);
  EXPECT_EQ(call(id::kMapLookupElem, ctx, address(inner.get()), mem(0)), 0u);
  EXPECT_FALSE(ctx.fault.empty()) << "not known before the lookup";
  ctx.fault.clear();
  EXPECT_EQ(call(id::kMapLookupElem, ctx, address(outer->get()), mem(0)), address(inner.get()));
  EXPECT_EQ(call(id::kMapLookupElem, ctx, address(inner.get()), mem(0)), 0u);
  EXPECT_TRUE(ctx.fault.empty()) << ctx.fault;
}

// r0 = lookup(key 0) of map 0, then the program's access through it.
std::vector<isa::Insn> access_value(maps::Map* map, std::string_view access) {
  return link(R"(
    stw [%r10-4], 0
    lddw %r1, map_fd 0
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, out
  )" + std::string(access) +
                  "\nout:\nexit",
              {map});
}

TEST(CheckedValues, AccessPastTheValueFaults) {
  auto map = make_map(maps::MapType::Array, 4, 8, 1);
  Result<uint64_t> r =
      run(access_value(map.get(), "ldxdw %r0, [%r0+4]"), {.checked = true, .maps = {map.get()}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 7u);
  EXPECT_NE(r.error().message.find("runs 4 bytes past the end of the map value"), std::string::npos)
      << r.error().str();
}

TEST(CheckedValues, AReadOnlyMapsValueCannotBeWritten) {
  auto map = make_map(maps::MapType::Array, 4, 8, 1, maps::kBpfFRdonlyProg);
  const RunSetup setup{.checked = true, .maps = {map.get()}};
  EXPECT_TRUE(run(access_value(map.get(), "ldxdw %r0, [%r0+0]"), setup).ok());
  Result<uint64_t> r = run(access_value(map.get(), "stdw [%r0+0], 1"), setup);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("write to read-only memory"), std::string::npos)
      << r.error().str();
  EXPECT_NE(r.error().message.find("the read-only map value"), std::string::npos);
}

TEST(CheckedValues, AMapTheRunWasNotGivenIsRefusedAtTheCall) {
  auto map = make_map(maps::MapType::Array, 4, 8, 1);
  Result<uint64_t> r = run(access_value(map.get(), "ldxdw %r0, [%r0+0]"), {.checked = true});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 5u);
  EXPECT_NE(r.error().message.find("helper 1: bpf_map_lookup_elem: r1 ("), std::string::npos)
      << r.error().str();
}

}  // namespace
}  // namespace pollen::helpers::test

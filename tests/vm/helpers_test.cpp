// SPDX-License-Identifier: MIT
// The first helper set: prototypes as data agree with the implementations, ids are Linux's,
// and each helper does what its Linux counterpart does, called from a program through the table.
#include <gtest/gtest.h>

#include <time.h>

#include "builder.hpp"
#include "helpers/helpers.hpp"

namespace pollen::vm::test {
namespace {

using helpers::default_helpers;
using helpers::find_helper;

Result<uint64_t> call(uint32_t id, const RunOptions& options = {}) {
  return run(
      program({mov(1, -1), {Op::CallHelper, 0, 0, 0, static_cast<int32_t>(id)}, exit_insn()}),
      RunArgs{}, options, default_helpers());
}

TEST(HelperProtos, EveryPrototypeHasAnImplementationAndNoMore) {
  size_t implemented = 0;
  for (HelperFn fn : default_helpers().fn) implemented += fn != nullptr;
  EXPECT_EQ(implemented, helpers::helper_protos().size());
  for (const helpers::HelperProto& proto : helpers::helper_protos()) {
    EXPECT_NE(default_helpers().find(proto.id), nullptr) << proto.name;
    EXPECT_EQ(find_helper(proto.id), &proto);
  }
}

TEST(HelperProtos, UseLinuxIdsAndNames) {
  struct Expected {
    uint32_t id;
    std::string_view name;
  };
  for (Expected e :
       {Expected{5, "bpf_ktime_get_ns"}, Expected{7, "bpf_get_prandom_u32"},
        Expected{8, "bpf_get_smp_processor_id"}, Expected{118, "bpf_jiffies64"},
        Expected{125, "bpf_ktime_get_boot_ns"}, Expected{160, "bpf_ktime_get_coarse_ns"}}) {
    const helpers::HelperProto* proto = find_helper(e.id);
    ASSERT_NE(proto, nullptr) << e.id;
    EXPECT_EQ(proto->name, e.name);
    EXPECT_EQ(proto->ret, helpers::RetKind::Integer);
    for (helpers::ArgKind arg : proto->args) EXPECT_EQ(arg, helpers::ArgKind::None);
  }
  EXPECT_EQ(find_helper(999), nullptr);
  EXPECT_EQ(find_helper(9), nullptr);  // skb_store_bytes: no packet helpers yet
}

uint64_t now(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

struct ClockCase {
  uint32_t id;
  clockid_t clock;
  uint64_t scale;  ///< nanoseconds per unit the helper returns
};

TEST(Helper, ClocksReadTheMatchingPosixClock) {
  const ClockCase cases[] = {{5, CLOCK_MONOTONIC, 1},
                             {125, CLOCK_BOOTTIME, 1},
                             {160, CLOCK_MONOTONIC_COARSE, 1},
                             {118, CLOCK_MONOTONIC_COARSE, 1'000'000'000 / helpers::kJiffiesHz}};
  for (const ClockCase& c : cases) {
    uint64_t before = now(c.clock) / c.scale;
    Result<uint64_t> r = call(c.id);
    uint64_t after = now(c.clock) / c.scale;
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_LE(before, *r) << "helper " << c.id;
    EXPECT_LE(*r, after) << "helper " << c.id;
  }
}

TEST(Helper, KtimeGetNsIgnoresItsArgumentsAsConformanceExpects) {
  // call_unwind_fail.data calls helper 5 with r1 = -1 and expects the program to go on.
  auto prog = program({mov(1, -1), {Op::CallHelper, 0, 0, 0, 5}, mov(0, 2), exit_insn()});
  Result<uint64_t> r = run(prog, RunArgs{}, RunOptions{}, default_helpers());
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 2u);
}

TEST(Helper, PrandomReturnsVaryingU32Values) {
  uint64_t seen_or = 0;
  bool varied = false;
  Result<uint64_t> first = call(7);
  ASSERT_TRUE(first.ok());
  for (int i = 0; i < 64; ++i) {
    Result<uint64_t> r = call(7);
    ASSERT_TRUE(r.ok());
    EXPECT_LE(*r, 0xffffffffu);
    seen_or |= *r;
    varied |= *r != *first;
  }
  EXPECT_TRUE(varied);
  EXPECT_GT(seen_or, 0xffffu);  // not stuck in the low bits
}

TEST(Helper, SmpProcessorIdIsTheExecutionSlot) {
  for (uint32_t slot : {0u, 3u, 17u}) {
    RunOptions options;
    options.slot = slot;
    Result<uint64_t> r = call(8, options);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, slot);
  }
}

}  // namespace
}  // namespace pollen::vm::test

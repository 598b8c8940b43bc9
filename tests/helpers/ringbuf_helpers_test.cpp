// SPDX-License-Identifier: MIT
// The ring buffer helpers from programs: output copies a record, reserve hands out one the
// program fills in place and then submits or discards, query reads the positions; flags and
// sizes fail as in Linux. In checked mode a record is writable only while the program holds
// it, a second submit is refused, and a record the program forgets is discarded when the run
// ends instead of blocking the consumer forever.
#include <gtest/gtest.h>

#include <cerrno>

#include "helper_test_util.hpp"
#include "maps/ringbuf.hpp"

namespace pollen::helpers::test {
namespace {

std::shared_ptr<maps::RingBuf> make_ring() {
  return std::static_pointer_cast<maps::RingBuf>(make_map(maps::MapType::Ringbuf, 0, 0, 4096));
}

std::vector<std::string> drain(maps::RingBuf& ring) {
  std::vector<std::string> records;
  ring.consume([&](const void* data, uint32_t size) {
    records.emplace_back(static_cast<const char*>(data), size);
    return 0;
  });
  return records;
}

// Reserves 8 bytes, writes "pollen!\0" into them, then calls `release` (132 submit, 133
// discard) on them; r0 = 1 on success, 0 when the reservation failed.
std::vector<isa::Insn> reserve_program(maps::Map* ring, int release, int flags = 0) {
  const std::string text = "mov %r3, " + std::to_string(flags) + R"(
    lddw %r1, map_fd 0
    mov %r2, 8
    call 131
    jeq %r0, 0, failed
    lddw %r1, 0x00216e656c6c6f70
    stxdw [%r0+0], %r1
    mov %r1, %r0
    mov %r2, 0
    call )" + std::to_string(release) +
                           R"(
    mov %r0, 1
    exit
  failed:
    mov %r0, 0
    exit)";
  return link(text, {ring});
}

TEST(Ringbuf, ReserveThenSubmitPublishesTheRecord) {
  auto ring = make_ring();
  expect_r0(reserve_program(ring.get(), 132), 1, {.maps = {ring.get()}});
  EXPECT_EQ(drain(*ring), (std::vector<std::string>{{"pollen!\0", 8}, {"pollen!\0", 8}}));
}

TEST(Ringbuf, ReserveThenDiscardPublishesNothing) {
  auto ring = make_ring();
  expect_r0(reserve_program(ring.get(), 133), 1, {.maps = {ring.get()}});
  EXPECT_TRUE(drain(*ring).empty());
  EXPECT_EQ(ring->query(maps::kRbConsPos), 32u) << "the consumer skipped both records";
}

TEST(Ringbuf, ReserveWithFlagsFails) {
  auto ring = make_ring();
  expect_r0(reserve_program(ring.get(), 132, 1), 0, {.maps = {ring.get()}});
}

TEST(Ringbuf, OutputCopiesTheDataAndChecksFlags) {
  auto ring = make_ring();
  const char* text = R"(
    stdw [%r10-8], 0x41424344
    lddw %r1, map_fd 0
    mov %r2, %r10
    add %r2, -8
    mov %r3, 4
    mov %r4, %r6
    call 130
    exit)";
  std::vector<isa::Insn> ok = link(std::string("mov %r6, 0\n") + text, {ring.get()});
  std::vector<isa::Insn> bad_flags = link(std::string("mov %r6, 4\n") + text, {ring.get()});
  expect_r0(ok, 0, {.maps = {ring.get()}});
  expect_r0(bad_flags, neg(EINVAL), {.maps = {ring.get()}});
  EXPECT_EQ(drain(*ring), (std::vector<std::string>{"DCBA", "DCBA"}));
}

TEST(Ringbuf, OutputIntoAFullRingIsEagain) {
  auto ring = make_ring();
  vm::RunContext ctx;
  maps::EpochGuard guard;
  std::vector<char> data(4096 - 16);  // the largest record: 8-byte header, 4088 < 4096
  EXPECT_EQ(
      call(id::kRingbufOutput, ctx, address(ring.get()), address(data.data()), data.size(), 0), 0u);
  EXPECT_EQ(call(id::kRingbufOutput, ctx, address(ring.get()), address(data.data()), 1, 0),
            neg(EAGAIN));
}

TEST(Ringbuf, QueryReadsThePositions) {
  auto ring = make_ring();
  vm::RunContext ctx;
  maps::EpochGuard guard;
  const uint64_t r = address(ring.get());
  uint64_t v = 0;
  ASSERT_EQ(call(id::kRingbufOutput, ctx, r, address(&v), 8, 0), 0u);
  EXPECT_EQ(call(id::kRingbufQuery, ctx, r, maps::kRbAvailData), 16u);
  EXPECT_EQ(call(id::kRingbufQuery, ctx, r, maps::kRbRingSize), 4096u);
  EXPECT_EQ(call(id::kRingbufQuery, ctx, r, maps::kRbProdPos), 16u);
  EXPECT_EQ(call(id::kRingbufQuery, ctx, r, maps::kRbConsPos), 0u);
  EXPECT_EQ(call(id::kRingbufQuery, ctx, r, 42), 0u);
}

TEST(Ringbuf, CheckedModeRefusesASecondSubmit) {
  auto ring = make_ring();
  auto prog = link(R"(
    lddw %r1, map_fd 0
    mov %r2, 8
    mov %r3, 0
    call 131
    jeq %r0, 0, out
    mov %r6, %r0
    mov %r1, %r6
    mov %r2, 0
    call 132
    mov %r1, %r6
    mov %r2, 0
    call 132
  out:
    exit)",
                   {ring.get()});
  Result<uint64_t> r = run(prog, {.checked = true, .maps = {ring.get()}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 12u);
  EXPECT_NE(r.error().message.find("bpf_ringbuf_submit: r1 (0x"), std::string::npos);
  EXPECT_NE(r.error().message.find("is not a ring buffer record the program reserved and still "
                                   "holds"),
            std::string::npos)
      << r.error().str();
}

TEST(Ringbuf, CheckedModeRefusesWritesToASubmittedRecord) {
  auto ring = make_ring();
  auto prog = link(R"(
    lddw %r1, map_fd 0
    mov %r2, 8
    mov %r3, 0
    call 131
    jeq %r0, 0, out
    mov %r6, %r0
    stdw [%r6+0], 1
    mov %r1, %r6
    mov %r2, 0
    call 132
    stdw [%r6+0], 2
  out:
    exit)",
                   {ring.get()});
  Result<uint64_t> r = run(prog, {.checked = true, .maps = {ring.get()}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 11u) << r.error().str();
}

TEST(Ringbuf, CheckedModeDiscardsARecordTheProgramForgets) {
  auto ring = make_ring();
  auto leaky = link(R"(
    lddw %r1, map_fd 0
    mov %r2, 8
    mov %r3, 0
    call 131
    mov %r0, 0
    exit)",
                    {ring.get()});
  ASSERT_TRUE(run(leaky, {.checked = true, .maps = {ring.get()}}).ok());
  // Without the release the consumer would stop at the forgotten record forever.
  expect_r0(reserve_program(ring.get(), 132), 1, {.maps = {ring.get()}});
  EXPECT_EQ(drain(*ring).size(), 2u);
}

TEST(Ringbuf, AMapThatIsNotARingbufIsRefused) {
  auto array = make_map(maps::MapType::Array, 4, 8, 1);
  vm::RunContext ctx;
  EXPECT_EQ(call(id::kRingbufQuery, ctx, address(array.get()), 0), 0u);
  EXPECT_EQ(ctx.fault, "bpf_ringbuf_query: r1 (a map of type array) is not a ringbuf");
}

}  // namespace
}  // namespace pollen::helpers::test

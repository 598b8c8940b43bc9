// SPDX-License-Identifier: MIT
// The XDP helpers on a frame built by hand the way Linux's BPF_PROG_TEST_RUN builds one (one
// page, 256 bytes of headroom, the packet, the tailroom), called through default_helpers().
// Every expected value was measured on Linux 6.18 (x86-64) with BPF_PROG_TEST_RUN: a probe
// XDP program (clang -target bpf) read an operation and its arguments from an array map, called
// the helper on the test-run packet, and stored the helper's return value, data_end - data and
// data - data_meta in the map; data_out showed the bytes. Packets there were bytes
// 0x10, 0x11, ... and so are they here. Limits are tested at the last accepted value and one
// beyond.
#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "helper_test_util.hpp"
#include "helpers/xdp_context.hpp"

namespace pollen::helpers::test {
namespace {

// A test-run frame: the packet of `len` bytes (0x10, 0x11, ...) right after the headroom,
// `meta` bytes of metadata before it. The rest of the buffer holds 0xee, so that what a helper
// zeroes or leaves alone shows.
class XdpFrame {
 public:
  explicit XdpFrame(uint32_t len, uint32_t meta = 0, uint32_t headroom = kXdpHeadroom)
      : buffer_(kXdpTestRunFrameSize + headroom - kXdpHeadroom, 0xee) {
    xdp.data_hard_start = address(buffer_.data());
    xdp.frame_size = static_cast<uint32_t>(buffer_.size());
    xdp.data = xdp.data_hard_start + headroom;
    xdp.data_end = xdp.data + len;
    xdp.data_meta = xdp.data - meta;
    for (uint32_t i = 0; i < len; ++i) at(i) = static_cast<uint8_t>(0x10 + i);
    regions_ = {vm::Region{xdp.data_hard_start, xdp.frame_size - kXdpTailroom, true, "packet"},
                vm::Region{address(&xdp), offsetof(XdpContext, data_hard_start), false, "context"}};
    run.env = &xdp;
  }

  uint8_t& at(uint32_t offset) { return *reinterpret_cast<uint8_t*>(xdp.data + offset); }
  uint64_t len() const { return xdp.data_end - xdp.data; }
  uint64_t meta_len() const { return xdp.data - xdp.data_meta; }
  uint64_t headroom() const { return xdp.data - xdp.data_hard_start; }
  std::vector<uint8_t> bytes(uint64_t begin, uint64_t end) const {
    return {reinterpret_cast<const uint8_t*>(begin), reinterpret_cast<const uint8_t*>(end)};
  }
  /// Makes `run` a checked run over the frame, as the XDP hook sets one up.
  void check() {
    run.checked = true;
    run.regions = regions_;
    run.stack_begin = address(stack.data());
    run.stack_end = address(stack.data() + stack.size());
  }
  uint64_t call(uint32_t helper, uint64_t r2 = 0, uint64_t r3 = 0, uint64_t r4 = 0) {
    return test::call(helper, run, address(&xdp), r2, r3, r4);
  }

  XdpContext xdp;
  vm::RunContext run;
  alignas(8) std::array<uint8_t, 64> stack{};

 private:
  std::vector<uint8_t> buffer_;
  std::vector<vm::Region> regions_;
};

// One call of an edge helper on a fresh frame and what Linux 6.18 answered.
struct EdgeCase {
  uint32_t len;    ///< packet bytes
  uint32_t meta;   ///< metadata bytes
  int32_t delta;   ///< the helper's r2
  int rc;          ///< 0 or a negative errno
  uint32_t after;  ///< data_end - data (adjust_head/tail) or data - data_meta (adjust_meta)
};

void expect_edges(uint32_t helper, const std::vector<EdgeCase>& cases, bool meta_length) {
  for (const EdgeCase& c : cases) {
    for (bool checked : {false, true}) {
      XdpFrame frame(c.len, c.meta);
      if (checked) frame.check();
      EXPECT_EQ(frame.call(helper, static_cast<uint64_t>(int64_t{c.delta})),
                static_cast<uint64_t>(int64_t{c.rc}))
          << "len " << c.len << " meta " << c.meta << " delta " << c.delta;
      EXPECT_EQ(meta_length ? frame.meta_len() : frame.len(), c.after)
          << "len " << c.len << " meta " << c.meta << " delta " << c.delta;
      EXPECT_TRUE(frame.run.fault.empty()) << frame.run.fault;
    }
  }
}

TEST(XdpAdjustHead, StopsAtTheXdpFrameAndAnEthernetHeader) {
  // Linux 6.18: 14 bytes: -216 -> 0 (230 bytes), -217 -> EINVAL, +1 -> EINVAL; 15 bytes:
  // +1 -> 0. 64 bytes with 8 of metadata: -208 -> 0, -209 -> EINVAL, 50 -> 0, 51 -> EINVAL.
  // 3520 bytes: +3506 -> 0 (14 bytes), INT32_MIN and INT32_MAX -> EINVAL.
  expect_edges(id::kXdpAdjustHead,
               {{14, 0, -216, 0, 230},
                {14, 0, -217, -EINVAL, 14},
                {14, 0, 0, 0, 14},
                {14, 0, 1, -EINVAL, 14},
                {15, 0, 1, 0, 14},
                {64, 8, -208, 0, 272},
                {64, 8, -209, -EINVAL, 64},
                {64, 8, 50, 0, 14},
                {64, 8, 51, -EINVAL, 64},
                {3520, 0, 3506, 0, 14},
                {3520, 0, INT32_MIN, -EINVAL, 3520},
                {3520, 0, INT32_MAX, -EINVAL, 3520}},
               false);
  EXPECT_EQ(kXdpHeadroom - 216, kXdpFrameOverhead);
}

TEST(XdpAdjustHead, MovesTheMetadataWithData) {
  // Linux 6.18: adjust_meta(-8), write a1b2c3d4 at data_meta, adjust_head(-10): the metadata
  // (8 bytes) reads the same at the new data_meta, 8 bytes before data; the old metadata
  // bytes stay behind as bytes 2..9 of the grown packet, after 2 bytes of untouched headroom
  // (data_out d4c3b2a1 00000000 | 0000 d4c3b2a1 00000000 1011...; the test run's headroom is
  // zeroed, this frame's holds 0xee). adjust_head(+10) likewise.
  for (int32_t delta : {-10, 10}) {
    XdpFrame frame(64, 8);
    const uint8_t meta[8] = {0xd4, 0xc3, 0xb2, 0xa1, 0, 0, 0, 0};
    std::memcpy(reinterpret_cast<void*>(frame.xdp.data_meta), meta, sizeof meta);
    ASSERT_EQ(frame.call(id::kXdpAdjustHead, static_cast<uint64_t>(int64_t{delta})), 0u);
    EXPECT_EQ(frame.meta_len(), 8u);
    EXPECT_EQ(frame.len(), static_cast<uint64_t>(64 - delta));
    EXPECT_EQ(frame.bytes(frame.xdp.data_meta, frame.xdp.data),
              std::vector<uint8_t>(meta, meta + 8));
    if (delta < 0) {
      const std::vector<uint8_t> head = {0xee, 0xee, 0xd4, 0xc3, 0xb2, 0xa1, 0, 0, 0, 0, 0x10};
      EXPECT_EQ(frame.bytes(frame.xdp.data, frame.xdp.data + 11), head);
    } else {
      EXPECT_EQ(frame.at(0), 0x10 + 10);
    }
  }
}

TEST(XdpAdjustMeta, NeedsWholeWordsAboveTheXdpFrame) {
  // Linux 6.18 on a 14-byte packet: -4 -> 0, -3 -> EACCES, -32 -> 0, -36 -> 0 (the limit of
  // 32 of older kernels is gone), -216 -> 0, -220 and -252 -> EINVAL (below the xdp_frame),
  // +4 -> EINVAL (past data), 0 -> 0. After adjust_meta(-8): +8 -> 0 (no metadata), +9 ->
  // EINVAL, +2 and -2 -> EACCES.
  expect_edges(id::kXdpAdjustMeta,
               {{14, 0, -4, 0, 4},
                {14, 0, -3, -EACCES, 0},
                {14, 0, -32, 0, 32},
                {14, 0, -36, 0, 36},
                {14, 0, -216, 0, 216},
                {14, 0, -220, -EINVAL, 0},
                {14, 0, -252, -EINVAL, 0},
                {14, 0, 4, -EINVAL, 0},
                {14, 0, 0, 0, 0},
                {14, 8, 8, 0, 0},
                {14, 8, 9, -EINVAL, 8},
                {14, 8, 2, -EACCES, 8},
                {14, 8, -2, -EACCES, 8}},
               true);
}

TEST(XdpAdjustMeta, AtMost255BytesOfMetadata) {
  // xdp_metalen_invalid (recent kernels): at most type_max(u8 meta_len) = 255 bytes, so 252. The
  // test run's 256 bytes of headroom reach the xdp_frame first; a frame with more headroom
  // shows the limit.
  XdpFrame frame(14, 0, 512);
  EXPECT_EQ(frame.call(id::kXdpAdjustMeta, static_cast<uint64_t>(int64_t{-256})), neg(EACCES));
  EXPECT_EQ(frame.meta_len(), 0u);
  EXPECT_EQ(frame.call(id::kXdpAdjustMeta, static_cast<uint64_t>(int64_t{-252})), 0u);
  EXPECT_EQ(frame.meta_len(), 252u);
}

TEST(XdpAdjustTail, StopsAtTheTailroomAndAnEthernetHeader) {
  // Linux 6.18: 14 bytes: +3500 -> 0, +3506 -> 0 (3520 bytes), +3507 -> EINVAL, -1 -> EINVAL;
  // 3520 bytes: +1 -> EINVAL, -3506 -> 0 (14 bytes), -3507 -> EINVAL; 64 bytes: INT32_MAX and
  // INT32_MIN -> EINVAL.
  expect_edges(id::kXdpAdjustTail,
               {{14, 0, 3500, 0, 3514},
                {14, 0, 3506, 0, 3520},
                {14, 0, 3507, -EINVAL, 14},
                {14, 0, -1, -EINVAL, 14},
                {3520, 0, 0, 0, 3520},
                {3520, 0, 1, -EINVAL, 3520},
                {3520, 0, -3506, 0, 14},
                {3520, 0, -3507, -EINVAL, 3520},
                {64, 0, INT32_MAX, -EINVAL, 64},
                {64, 0, INT32_MIN, -EINVAL, 64}},
               false);
  EXPECT_EQ(kXdpTestRunFrameSize - kXdpHeadroom - 3520, kXdpTailroom);
  EXPECT_EQ(kXdpTestRunMaxLinear, 3520u);
}

TEST(XdpAdjustTail, ZeroesWhatItGrows) {
  // Linux 6.18 on 64 bytes: adjust_tail(-10) then (+10): the last 10 bytes read 0; -50 then
  // +50: 14 bytes of packet, then 50 zero bytes; -51 fails and +51 grows 51 zero bytes.
  struct Case {
    int32_t shrink;
    uint64_t shrink_rc;
    uint32_t kept;  ///< packet bytes that keep their value
  };
  for (const Case& c : {Case{10, 0, 54}, Case{50, 0, 14}, Case{51, neg(EINVAL), 64}}) {
    XdpFrame frame(64);
    EXPECT_EQ(frame.call(id::kXdpAdjustTail, static_cast<uint64_t>(int64_t{-c.shrink})),
              c.shrink_rc);
    EXPECT_EQ(frame.call(id::kXdpAdjustTail, static_cast<uint64_t>(c.shrink)), 0u);
    ASSERT_EQ(frame.len(), c.kept + static_cast<uint64_t>(c.shrink));
    for (uint32_t i = 0; i < c.kept; ++i) EXPECT_EQ(frame.at(i), 0x10 + i) << i;
    for (uint32_t i = c.kept; i < frame.len(); ++i) EXPECT_EQ(frame.at(i), 0) << i;
  }
}

TEST(XdpGetBuffLen, IsThePacketLength) {
  // Linux 6.18: 14, 100 and 3520 bytes of input give 14, 100 and 3520 (3521 would be a
  // fragment); after adjust_tail(-4) on 100 bytes, data_end - data is 96.
  for (uint32_t len : {14u, 100u, 3520u}) {
    XdpFrame frame(len);
    EXPECT_EQ(frame.call(id::kXdpGetBuffLen), len);
    ASSERT_EQ(frame.call(id::kXdpAdjustTail, static_cast<uint64_t>(int64_t{-4})),
              len > 14 ? 0 : neg(EINVAL));
    EXPECT_EQ(frame.call(id::kXdpGetBuffLen), len > 14 ? len - 4 : len);
  }
}

struct BytesCase {
  uint32_t offset;
  uint32_t len;
  int rc;
};

// Linux 6.18 on a 14-byte packet: (0, 8) and (6, 8) -> 0, (7, 8) -> EINVAL (past the end),
// (13, 1) -> 0, (14, 1) -> EINVAL, (65535, 1) -> EINVAL, (65536, 1) and (0xffffffff, 1) ->
// EFAULT (bpf_xdp_pointer's 0xffff). A verified program cannot pass a length of 0 or above
// 0xffff (ARG_CONST_SIZE, its stack); those two rows follow bpf_xdp_pointer's code.
const BytesCase kBytesCases[] = {{0, 8, 0},           {6, 8, 0},           {13, 1, 0},
                                 {14, 0, 0},          {7, 8, -EINVAL},     {14, 1, -EINVAL},
                                 {65535, 1, -EINVAL}, {65536, 1, -EFAULT}, {0xffffffff, 1, -EFAULT},
                                 {0, 65536, -EFAULT}};

TEST(XdpLoadBytes, CopiesOutOfThePacketOrLeavesTheBufferAlone) {
  for (const BytesCase& c : kBytesCases) {
    XdpFrame frame(14);
    std::vector<uint8_t> buf(c.len, 0x5a);
    EXPECT_EQ(frame.call(id::kXdpLoadBytes, c.offset, address(buf.data()), c.len),
              static_cast<uint64_t>(int64_t{c.rc}))
        << c.offset << " " << c.len;
    for (uint32_t i = 0; i < c.len; ++i)
      EXPECT_EQ(buf[i], c.rc == 0 ? 0x10 + c.offset + i : 0x5a) << c.offset << " " << i;
  }
}

TEST(XdpStoreBytes, CopiesIntoThePacketOrLeavesItAlone) {
  // Linux 6.18: storing 01 08 0f 16 1d 24 2b 32 at 6 gives 101112131415 01080f161d242b32; at
  // 7 it is EINVAL and the packet unchanged.
  for (const BytesCase& c : kBytesCases) {
    XdpFrame frame(14);
    std::vector<uint8_t> buf(c.len);
    for (uint32_t i = 0; i < c.len; ++i) buf[i] = static_cast<uint8_t>(i * 7 + 1);
    EXPECT_EQ(frame.call(id::kXdpStoreBytes, c.offset, address(buf.data()), c.len),
              static_cast<uint64_t>(int64_t{c.rc}))
        << c.offset << " " << c.len;
    for (uint32_t i = 0; i < 14; ++i) {
      const bool stored = c.rc == 0 && i >= c.offset && i - c.offset < c.len;
      EXPECT_EQ(frame.at(i), stored ? buf[i - c.offset] : 0x10 + i) << c.offset << " " << i;
    }
  }
}

TEST(XdpCsumDiff, MatchesLinux618OnOverlappingBuffers) {
  // The probe filled 64 stack bytes with i * 7 + 1 and called bpf_csum_diff(buf, from_size,
  // buf + 3, to_size, seed); Linux 6.18 returned these.
  struct Case {
    uint32_t from_size, to_size;
    uint64_t seed, kernel_result;
  };
  const Case cases[] = {{4, 4, 0, 10794},
                        {3, 5, 0, 16476},
                        {0, 7, 0, 33196},
                        {9, 0, 0, 35694},
                        {0, 0, 77, 77},
                        {1, 1, 0, 21},
                        {8, 12, 0x12345678, 30123},
                        {60, 61, 0xffffffff, 30513},
                        {61, 60, 0xffffffff, 30162},
                        {33, 17, 0xffff, 23352}};
  uint8_t buf[64];
  for (int i = 0; i < 64; ++i) buf[i] = static_cast<uint8_t>(i * 7 + 1);
  for (const Case& c : cases) {
    vm::RunContext ctx;
    EXPECT_EQ(
        call(id::kCsumDiff, ctx, address(buf), c.from_size, address(buf + 3), c.to_size, c.seed),
        c.kernel_result)
        << c.from_size << " " << c.to_size;
  }
}

TEST(XdpRedirect, AnyFlagAborts) {
  // Linux 6.18: bpf_redirect(1, 0) and (12345, 0) return XDP_REDIRECT; flags 1, 8 and 1 << 32
  // return XDP_ABORTED.
  struct Case {
    uint64_t ifindex, flags, action;
  };
  for (const Case& c :
       {Case{1, 0, kXdpRedirect}, Case{12345, 0, kXdpRedirect}, Case{1, 1, kXdpAborted},
        Case{1, 8, kXdpAborted}, Case{1, uint64_t{1} << 32, kXdpAborted}}) {
    XdpFrame frame(14);
    frame.xdp.redirect_ifindex = 77;
    EXPECT_EQ(call(id::kRedirect, frame.run, c.ifindex, c.flags), c.action);
    // An aborted call leaves the earlier choice; a successful one records the interface.
    EXPECT_EQ(frame.xdp.redirect_ifindex, c.action == kXdpRedirect ? c.ifindex : 77u);
    EXPECT_EQ(frame.xdp.redirect_map, 0u);
  }
}

class XdpRedirectMap : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(devmap && devmap_hash && xskmap && cpumap);
    const uint32_t lo = 1, zero = 0, seven = 7, one = 1;
    const uint32_t qsize = 64;
    // As the probe's loader did: devmap[0] = lo, devmap_hash[7] = lo, cpumap[1] = qsize 64.
    ASSERT_EQ(devmap->update_host(&zero, &lo), 0);
    ASSERT_EQ(devmap_hash->update_host(&seven, &lo), 0);
    ASSERT_EQ(cpumap->update_host(&one, &qsize), 0);
    redirect_maps_ = {address(devmap.get()), address(devmap_hash.get()), address(xskmap.get()),
                      address(cpumap.get())};
  }
  uint64_t redirect(XdpFrame& frame, maps::Map* map, uint64_t key, uint64_t flags) {
    return call(id::kRedirectMap, frame.run, address(map), key, flags);
  }

  std::shared_ptr<maps::Map> devmap = make_map(maps::MapType::Devmap, 4, 4, 4);
  std::shared_ptr<maps::Map> devmap_hash = make_map(maps::MapType::DevmapHash, 4, 4, 4);
  std::shared_ptr<maps::Map> xskmap = make_map(maps::MapType::Xskmap, 4, 4, 4);
  std::shared_ptr<maps::Map> cpumap = make_map(maps::MapType::Cpumap, 4, 4, 4);
  maps::EpochGuard guard;
  std::array<uint64_t, 4> redirect_maps_{};  ///< what a checked run was linked with
};

struct RedirectCase {
  uint64_t key, flags, action;
};

TEST_F(XdpRedirectMap, DefaultActionsAndFlagsMatchLinux) {
  // Linux 6.18 through BPF_PROG_TEST_RUN's retval. DEVMAP {0: lo}: key 0 -> REDIRECT; key 1
  // with flags 0..3 -> that action; flags 4 or 32 -> ABORTED (also for a present key);
  // BPF_F_BROADCAST (8), BPF_F_EXCLUDE_INGRESS (16) or both -> REDIRECT, even for an empty
  // key; key 1 << 32 is key 0, (1 << 32) + 1 with flags 2 is key 1 -> PASS.
  const std::vector<RedirectCase> devmap_cases = {{0, 0, kXdpRedirect},
                                                  {1, 0, kXdpAborted},
                                                  {1, 1, kXdpDrop},
                                                  {1, 2, kXdpPass},
                                                  {1, 3, kXdpTx},
                                                  {1, 4, kXdpAborted},
                                                  {0, 4, kXdpAborted},
                                                  {0, 8, kXdpRedirect},
                                                  {0, 16, kXdpRedirect},
                                                  {0, 24, kXdpRedirect},
                                                  {1, 8, kXdpRedirect},
                                                  {1, 32, kXdpAborted},
                                                  {uint64_t{1} << 32, 0, kXdpRedirect},
                                                  {(uint64_t{1} << 32) + 1, 2, kXdpPass}};
  // DEVMAP_HASH {7: lo}: key 7 -> REDIRECT, key 0 flags 2 -> PASS, key 7 flags 8 -> REDIRECT,
  // flags 12 -> ABORTED, key 0 flags 10 -> REDIRECT.
  const std::vector<RedirectCase> hash_cases = {{7, 0, kXdpRedirect},
                                                {0, 2, kXdpPass},
                                                {7, 8, kXdpRedirect},
                                                {7, 12, kXdpAborted},
                                                {0, 10, kXdpRedirect}};
  // XSKMAP (empty): flags 0 -> ABORTED, 2 -> PASS, 4 and 8 -> ABORTED (no broadcast).
  const std::vector<RedirectCase> xsk_cases = {{0, 0, kXdpAborted},
                                               {0, 2, kXdpPass},
                                               {0, 4, kXdpAborted},
                                               {0, 8, kXdpAborted},
                                               {9, 2, kXdpPass}};
  // CPUMAP {1: qsize 64}: key 1 -> REDIRECT, key 0 -> ABORTED, key 0 flags 2 -> PASS, key 1
  // flags 8 or 4 -> ABORTED.
  const std::vector<RedirectCase> cpu_cases = {{1, 0, kXdpRedirect},
                                               {0, 0, kXdpAborted},
                                               {0, 2, kXdpPass},
                                               {1, 8, kXdpAborted},
                                               {1, 4, kXdpAborted}};
  const std::pair<maps::Map*, const std::vector<RedirectCase>*> maps[] = {
      {devmap.get(), &devmap_cases},
      {devmap_hash.get(), &hash_cases},
      {xskmap.get(), &xsk_cases},
      {cpumap.get(), &cpu_cases}};
  for (const auto& [map, cases] : maps) {
    for (const RedirectCase& c : *cases) {
      for (bool checked : {false, true}) {
        XdpFrame frame(14);
        if (checked) {
          frame.check();
          frame.run.maps = redirect_maps_;
        }
        EXPECT_EQ(redirect(frame, map, c.key, c.flags), c.action)
            << maps::map_type_name(map->type()) << " key " << c.key << " flags " << c.flags;
        EXPECT_TRUE(frame.run.fault.empty()) << frame.run.fault;
      }
    }
  }
}

TEST_F(XdpRedirectMap, RecordsTheTargetAndForgetsItOnAMiss) {
  XdpFrame frame(14);
  ASSERT_EQ(redirect(frame, devmap.get(), 0, 0), kXdpRedirect);
  EXPECT_EQ(frame.xdp.redirect_map, address(devmap.get()));
  EXPECT_EQ(frame.xdp.redirect_ifindex, 0u);  // the key
  EXPECT_EQ(frame.xdp.redirect_target, 1u);   // lo, the entry's ifindex
  EXPECT_EQ(frame.xdp.redirect_flags, 0u);

  ASSERT_EQ(redirect(frame, devmap_hash.get(), 7, 0), kXdpRedirect);
  EXPECT_EQ(frame.xdp.redirect_map, address(devmap_hash.get()));
  EXPECT_EQ(frame.xdp.redirect_ifindex, 7u);
  EXPECT_EQ(frame.xdp.redirect_target, 1u);

  ASSERT_EQ(redirect(frame, cpumap.get(), 1, 0), kXdpRedirect);
  EXPECT_EQ(frame.xdp.redirect_target, 1u);  // the CPU

  // A miss clears the choice (Linux: "the last one always takes precedence").
  ASSERT_EQ(redirect(frame, devmap.get(), 3, kXdpPass), kXdpPass);
  EXPECT_EQ(frame.xdp.redirect_map, 0u);
  EXPECT_EQ(frame.xdp.redirect_target, 0u);

  // A broadcast keeps its flags and needs no entry.
  ASSERT_EQ(redirect(frame, devmap.get(), 3, kBpfFBroadcast | kBpfFExcludeIngress), kXdpRedirect);
  EXPECT_EQ(frame.xdp.redirect_map, address(devmap.get()));
  EXPECT_EQ(frame.xdp.redirect_flags, kBpfFBroadcast | kBpfFExcludeIngress);

  // Aborting on bad flags changes nothing.
  ASSERT_EQ(redirect(frame, devmap.get(), 0, 4), kXdpAborted);
  EXPECT_EQ(frame.xdp.redirect_flags, kBpfFBroadcast | kBpfFExcludeIngress);
}

TEST_F(XdpRedirectMap, DeletedEntriesAreMisses) {
  const uint32_t zero = 0;
  XdpFrame frame(14);
  ASSERT_EQ(devmap->erase(&zero), 0);
  EXPECT_EQ(redirect(frame, devmap.get(), 0, kXdpDrop), kXdpDrop);
}

// Checked mode: the context argument must be the run's XDP context, buffers the run's memory,
// the map a redirect map the program was linked with.
TEST(XdpChecked, RefusesWhatLinuxsVerifierWouldHaveRefused) {
  XdpFrame frame(14);
  frame.check();
  uint8_t outside[8] = {};
  XdpContext copy = frame.xdp;  // a context that is not the run's
  EXPECT_EQ(call(id::kXdpAdjustHead, frame.run, address(&copy), static_cast<uint64_t>(-4)), 0u);
  EXPECT_EQ(frame.run.fault.rfind("bpf_xdp_adjust_head: r1 (", 0), 0u) << frame.run.fault;
  EXPECT_NE(frame.run.fault.find("is not the program's XDP context"), std::string::npos);
  EXPECT_EQ(copy.data, frame.xdp.data) << "nothing moved";
  frame.run.fault.clear();

  EXPECT_EQ(frame.call(id::kXdpLoadBytes, 0, address(outside), 8), 0u);
  EXPECT_EQ(frame.run.fault.rfind("bpf_xdp_load_bytes: r3 (", 0), 0u) << frame.run.fault;
  EXPECT_EQ(outside[0], 0);
  frame.run.fault.clear();

  EXPECT_EQ(frame.call(id::kXdpStoreBytes, 0, address(outside), 8), 0u);
  EXPECT_EQ(frame.run.fault.rfind("bpf_xdp_store_bytes: r3 (", 0), 0u) << frame.run.fault;
  EXPECT_EQ(frame.at(0), 0x10);
  frame.run.fault.clear();

  // The stack is the run's memory.
  EXPECT_EQ(frame.call(id::kXdpLoadBytes, 2, frame.run.stack_begin, 8), 0u);
  EXPECT_TRUE(frame.run.fault.empty()) << frame.run.fault;
  EXPECT_EQ(frame.stack[0], 0x12);

  auto array = make_map(maps::MapType::Array, 4, 4, 1);
  const uint64_t linked[] = {address(array.get())};
  frame.run.maps = linked;
  EXPECT_EQ(call(id::kRedirectMap, frame.run, address(array.get()), 0, 0), 0u);
  EXPECT_EQ(frame.run.fault,
            "bpf_redirect_map: r1 (a map of type array) is not a devmap, devmap_hash, cpumap or "
            "xskmap");
  frame.run.fault.clear();
  auto devmap = make_map(maps::MapType::Devmap, 4, 4, 1);
  EXPECT_EQ(call(id::kRedirectMap, frame.run, address(devmap.get()), 0, 2), 0u);
  EXPECT_EQ(frame.run.fault.rfind("bpf_redirect_map: r1 (", 0), 0u) << frame.run.fault;
  EXPECT_NE(frame.run.fault.find("not a map the program was linked with"), std::string::npos);
}

TEST(XdpChecked, RefusesAContextThatDescribesNoFrame) {
  XdpFrame frame(14);
  frame.check();
  frame.xdp.data_end = frame.xdp.data_hard_start + frame.xdp.frame_size + 1;
  EXPECT_EQ(frame.call(id::kXdpAdjustTail, 1), 0u);
  EXPECT_EQ(frame.run.fault.rfind("bpf_xdp_adjust_tail: the XDP context does not describe", 0), 0u)
      << frame.run.fault;
}

TEST(XdpRedirect, NeedsTheRunsXdpContext) {
  // Without RunOptions::env an unchecked run has nowhere to record the target.
  vm::RunContext ctx;
  EXPECT_EQ(call(id::kRedirect, ctx, 1, 0), 0u);
  EXPECT_EQ(ctx.fault,
            "bpf_redirect: the run has no XDP context to record the redirect in "
            "(RunOptions::env is not set)");
  // A checked run finds it as its "context" region.
  XdpFrame frame(14);
  frame.check();
  frame.run.env = nullptr;
  EXPECT_EQ(call(id::kRedirect, frame.run, 5, 0), kXdpRedirect);
  EXPECT_EQ(frame.xdp.redirect_ifindex, 5u);
}

}  // namespace
}  // namespace pollen::helpers::test

// SPDX-License-Identifier: MIT
// The buffer an XDP program runs on, laid out as Linux lays out BPF_PROG_TEST_RUN's frame
// (net/bpf/test_run.c, bpf_prog_test_run_xdp): one page, 256 bytes of headroom in front of the
// packet (less the metadata the caller puts before it), the packet, then the rest of the page
// up to the tailroom Linux keeps for struct skb_shared_info. The XdpContext describing it is
// what the program's r1 points to. Used by Object::test_run and XdpRunner.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "helpers/xdp_context.hpp"
#include "vm/abi.hpp"

namespace pollen {

/// Bytes of one frame buffer (Linux: PAGE_SIZE, its frame_sz for test runs).
inline constexpr uint32_t kXdpFrameSize = helpers::kXdpTestRunFrameSize;
/// The longest packet a frame holds without fragments.
inline constexpr uint32_t kXdpMaxData = helpers::kXdpTestRunMaxLinear;

class XdpFrame {
 public:
  XdpFrame();

  /// Places `bytes` (the first `meta_len` bytes of it metadata, the rest the packet; at most
  /// kXdpMaxData bytes together) so that the packet starts after the headroom. With
  /// `zero_all`, the whole buffer is cleared first, as Linux's test run allocates it zeroed;
  /// otherwise only the headroom is, which is all a verified program can see of earlier
  /// packets (bpf_xdp_adjust_tail clears what it grows), and of it only what earlier runs
  /// reached with bpf_xdp_adjust_head/meta (XdpContext::lowest_meta). A checked run may touch
  /// the whole frame: give it `zero_all`.
  void load(std::span<const uint8_t> bytes, uint32_t meta_len, uint32_t ingress_ifindex,
            uint32_t rx_queue_index, bool zero_all);

  helpers::XdpContext& ctx() { return ctx_; }
  const helpers::XdpContext& ctx() const { return ctx_; }
  /// data_meta to data_end: what Linux's test run returns as data_out.
  std::span<const uint8_t> with_metadata() const { return bytes(ctx_.data_meta, ctx_.data_end); }
  std::span<const uint8_t> packet() const { return bytes(ctx_.data, ctx_.data_end); }
  std::span<const uint8_t> metadata() const { return bytes(ctx_.data_meta, ctx_.data); }

  /// Checked mode: the frame's usable bytes (writable) and the context the program sees.
  std::vector<vm::Region> regions() const;

 private:
  std::span<const uint8_t> bytes(uint64_t begin, uint64_t end) const;

  std::unique_ptr<uint8_t[]> buffer_;
  helpers::XdpContext ctx_;
};

}  // namespace pollen

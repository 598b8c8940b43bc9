// SPDX-License-Identifier: MIT
// XdpFrame: the test-run frame geometry of Linux's bpf_prog_test_run_xdp() and
// xdp_prepare_buff(): data_hard_start at the buffer's start, data at the headroom's end, the
// metadata (if any) right before data, frame_sz the whole page.
#include "runtime/xdp_frame.hpp"

#include <algorithm>
#include <cstring>

namespace pollen {

XdpFrame::XdpFrame() : buffer_(new uint8_t[kXdpFrameSize]()) {}

void XdpFrame::load(std::span<const uint8_t> bytes, uint32_t meta_len, uint32_t ingress_ifindex,
                    uint32_t rx_queue_index, bool zero_all) {
  const auto base = reinterpret_cast<uintptr_t>(buffer_.get());
  if (zero_all) {
    std::memset(buffer_.get(), 0, kXdpFrameSize);
  } else {
    // Only the part of the headroom earlier runs wrote to: from the lowest data_meta they
    // reached (the whole headroom the first time: lowest_meta is 0 then).
    const uint64_t dirty =
        std::clamp<uint64_t>(ctx_.lowest_meta, base, base + helpers::kXdpHeadroom);
    std::memset(buffer_.get() + (dirty - base), 0, base + helpers::kXdpHeadroom - dirty);
  }
  uint8_t* meta = buffer_.get() + helpers::kXdpHeadroom - meta_len;
  if (!bytes.empty()) std::memcpy(meta, bytes.data(), bytes.size());
  ctx_ = {};
  ctx_.lowest_meta = reinterpret_cast<uintptr_t>(meta);
  ctx_.data_meta = reinterpret_cast<uintptr_t>(meta);
  ctx_.data = ctx_.data_meta + meta_len;
  ctx_.data_end = ctx_.data_meta + bytes.size();
  ctx_.ingress_ifindex = ingress_ifindex;
  ctx_.rx_queue_index = rx_queue_index;
  ctx_.data_hard_start = base;
  ctx_.frame_size = kXdpFrameSize;
}

std::vector<vm::Region> XdpFrame::regions() const {
  // From the buffer itself, not ctx_: runners take the regions once, before the first load.
  return {{reinterpret_cast<uintptr_t>(buffer_.get()), kXdpFrameSize - helpers::kXdpTailroom, true,
           "packet"},
          {reinterpret_cast<uintptr_t>(&ctx_), offsetof(helpers::XdpContext, data_hard_start),
           false, "context"}};
}

std::span<const uint8_t> XdpFrame::bytes(uint64_t begin, uint64_t end) const {
  if (end <= begin) return {};
  return {reinterpret_cast<const uint8_t*>(begin), static_cast<size_t>(end - begin)};
}

}  // namespace pollen

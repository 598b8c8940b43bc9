// SPDX-License-Identifier: MIT
// The context an XDP program's r1 points to in Pollen, shared by the hook that builds it (the
// runtime's test-run and packet runner) and the XDP helpers that move the packet's edges. Its
// first 32 bytes are what the program sees after the context rewrite: struct xdp_md's data,
// data_end and data_meta as 64-bit addresses, then ingress_ifindex and rx_queue_index (the
// runtime offsets in src/verifier/program_types.cpp). The rest is Linux's struct xdp_buff and
// struct bpf_redirect_info as far as the helpers need them; programs cannot reach it.
// bpf_redirect and bpf_redirect_map get no context argument: they record their choice in the
// XdpContext that RunOptions::env points to (Linux keeps bpf_redirect_info per CPU), or, when
// env is null, in the region a checked run names "context"; a hook running XDP programs sets
// env to its XdpContext.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pollen::helpers {

/// Linux's XDP_PACKET_HEADROOM: bytes in front of the frame for bpf_xdp_adjust_head/meta.
inline constexpr uint32_t kXdpHeadroom = 256;

// The numbers below were measured on Linux 6.18 (x86-64) with BPF_PROG_TEST_RUN: an XDP probe
// program called each helper with a delta the loader chose and stored the helper's return
// value and the packet's new geometry in an array map; each limit was bisected to the last
// accepted delta (the probe sources and their output are summarized in
// tests/helpers/xdp_helpers_test.cpp).

/// ETH_HLEN: bpf_xdp_adjust_head and bpf_xdp_adjust_tail leave at least this many bytes of
/// packet, and BPF_PROG_TEST_RUN refuses shorter input with EINVAL (13 bytes: EINVAL, 14: ok).
inline constexpr uint32_t kEthHlen = 14;
/// sizeof(struct xdp_frame): the start of the headroom that bpf_xdp_adjust_head/meta may not
/// move into, since a redirected frame stores its struct xdp_frame there. Measured: on a fresh
/// 14-byte test-run packet adjust_head(-216) succeeds and adjust_head(-217) is EINVAL, so
/// 256 - 216 = 40; adjust_meta(-216) succeeds, adjust_meta(-220) is EINVAL.
inline constexpr uint32_t kXdpFrameOverhead = 40;
/// SKB_DATA_ALIGN(sizeof(struct skb_shared_info)): bytes at the end of the frame that
/// bpf_xdp_adjust_tail may not grow into. Measured: a 14-byte test-run packet grows by at
/// most 3506 bytes (adjust_tail(3507) is EINVAL), so the data may end at 256 + 3520 = 3776 =
/// 4096 - 320, and the longest packet without fragments is 3520 bytes (below).
inline constexpr uint32_t kXdpTailroom = 320;
/// frame_sz of BPF_PROG_TEST_RUN's buffer: one page (net/bpf/test_run.c allocates headroom +
/// the longest linear packet + tailroom = PAGE_SIZE; consistent with both measurements above).
inline constexpr uint32_t kXdpTestRunFrameSize = 4096;
/// The longest packet BPF_PROG_TEST_RUN puts in the frame itself: 4096 - 256 - 320. Measured:
/// with 3520 bytes of input bpf_xdp_get_buff_len and data_end - data are both 3520; with 3521
/// bytes data_end - data stays 3520 and the rest is a fragment (get_buff_len 3521), with or
/// without BPF_F_XDP_HAS_FRAGS on the program.
inline constexpr uint32_t kXdpTestRunMaxLinear = kXdpTestRunFrameSize - kXdpHeadroom - kXdpTailroom;
/// The longest BPF_PROG_TEST_RUN input: the linear part plus MAX_SKB_FRAGS (17) fragments of a
/// page each. Measured: 73152 bytes run, 73153 bytes fail with ENOMEM.
inline constexpr uint32_t kXdpTestRunMaxData = kXdpTestRunMaxLinear + 17 * 4096;
/// The most metadata BPF_PROG_TEST_RUN's ctx_in may put in front of the packet (xdp_md.data):
/// the headroom less the struct xdp_frame. Measured: data = 216 runs, 220 is EINVAL (and 36,
/// above the 32 of older kernels, runs).
inline constexpr uint32_t kXdpTestRunMaxMetadata = kXdpHeadroom - kXdpFrameOverhead;
/// The longest metadata xdp_metalen_invalid() accepts: type_max of skb_shared_info's u8
/// meta_len (older kernels allowed 32). The length must also be a multiple of 4, so 252
/// in practice; with 256 bytes of headroom the xdp_frame limit (216) is reached first.
/// Measured: adjust_meta(-36) succeeds (so the old 32 no longer holds), adjust_meta(-3) is
/// EACCES.
inline constexpr uint32_t kXdpMetaMax = 255;
/// bpf_xdp_load_bytes/store_bytes refuse offsets or lengths above this with EFAULT
/// (bpf_xdp_pointer). Measured: offset 65535 on a 14-byte packet is EINVAL, 65536 EFAULT.
inline constexpr uint32_t kXdpMaxAccessOffset = 0xffff;

/// bpf_redirect_map flags (include/uapi/linux/bpf.h): the low two bits are the action taken
/// when the key has no target; DEVMAP and DEVMAP_HASH also take these two.
inline constexpr uint64_t kBpfFBroadcast = 1u << 3;
inline constexpr uint64_t kBpfFExcludeIngress = 1u << 4;

/// XDP verdicts (enum xdp_action).
enum XdpAction : uint32_t {
  kXdpAborted = 0,
  kXdpDrop = 1,
  kXdpPass = 2,
  kXdpTx = 3,
  kXdpRedirect = 4,
};

struct XdpContext {
  // What the program sees (runtime layout of struct xdp_md).
  uint64_t data = 0;
  uint64_t data_end = 0;
  uint64_t data_meta = 0;  ///< == data when there is no metadata
  uint32_t ingress_ifindex = 0;
  uint32_t rx_queue_index = 0;
  // struct xdp_buff: the frame's buffer.
  uint64_t data_hard_start = 0;  ///< the buffer's first byte
  uint32_t frame_size = 0;       ///< Linux's frame_sz: the buffer's bytes, tailroom included
  // struct bpf_redirect_info: what bpf_redirect / bpf_redirect_map chose.
  uint32_t redirect_ifindex = 0;  ///< the target interface (or the map key for map targets)
  uint64_t redirect_map = 0;      ///< the maps::Map of bpf_redirect_map, 0 for bpf_redirect
  uint64_t redirect_flags = 0;
  /// bpf_redirect_map: what the map held for the key when the helper ran (Linux's tgt_value):
  /// the ifindex of a DEVMAP or DEVMAP_HASH entry, the CPU of a CPUMAP one; 0 for a broadcast
  /// to an empty key and for bpf_redirect.
  uint32_t redirect_target = 0;
  /// The lowest data_meta of the run (bpf_xdp_adjust_head and _meta lower it): where the bytes
  /// in front of the packet that the program may have written begin.
  uint64_t lowest_meta = 0;
};
static_assert(offsetof(XdpContext, data) == 0 && offsetof(XdpContext, data_end) == 8 &&
              offsetof(XdpContext, data_meta) == 16 && offsetof(XdpContext, ingress_ifindex) == 24 &&
              offsetof(XdpContext, rx_queue_index) == 28 &&
              offsetof(XdpContext, data_hard_start) == 32);

}  // namespace pollen::helpers

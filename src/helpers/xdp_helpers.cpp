// SPDX-License-Identifier: MIT
// The XDP helpers of net/core/filter.c: moving the packet's edges (bpf_xdp_adjust_head,
// bpf_xdp_adjust_meta, bpf_xdp_adjust_tail), copying in and out of it (bpf_xdp_load_bytes,
// bpf_xdp_store_bytes, bpf_xdp_get_buff_len), choosing where an XDP_REDIRECT goes
// (bpf_redirect, bpf_redirect_map), samples to a perf event array (bpf_perf_event_output), and
// the questions about the network a forwarding program asks (bpf_check_mtu, bpf_fib_lookup),
// answered from the host's interfaces.
// The edge helpers take the XdpContext as r1; the redirect
// helpers get no context, so they find it where Linux keeps its per-CPU bpf_redirect_info: with
// the run (RunContext::env, or the "context" region of a checked run). Every limit is Linux's,
// measured with BPF_PROG_TEST_RUN (the constants in xdp_context.hpp). Pollen's frames have no
// fragments, so the whole packet is always [data, data_end).
#include <fmt/format.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "helpers/helpers_p.hpp"
#include "helpers/xdp_context.hpp"
#include "maps/perf_event_array.hpp"

namespace pollen::helpers::detail {
namespace {

using vm::RunContext;

// The XdpContext of argument r1. Checked mode accepts only the run's own context (the region
// the XDP hook names "context", which starts at the XdpContext) holding a consistent frame.
XdpContext* xdp_arg(RunContext* ctx, uint32_t helper, uint64_t r1) {
  auto* xdp = ptr<XdpContext>(r1);
  if (!ctx->checked) return xdp;
  const bool is_context =
      std::any_of(ctx->regions.begin(), ctx->regions.end(),
                  [&](const vm::Region& r) { return r.begin == r1 && r.name == "context"; });
  if (!is_context) {
    refuse(ctx, helper, fmt::format("r1 ({:#x}) is not the program's XDP context", r1));
    return nullptr;
  }
  const uint64_t hard_end = xdp->data_hard_start + xdp->frame_size;
  if (!(xdp->data_hard_start <= xdp->data_meta && xdp->data_meta <= xdp->data &&
        xdp->data <= xdp->data_end && xdp->data_end <= hard_end)) {
    refuse(ctx, helper,
           "the XDP context does not describe a frame (data_meta, data or data_end "
           "outside data_hard_start + frame_size)");
    return nullptr;
  }
  return xdp;
}

// Where bpf_redirect and bpf_redirect_map record their choice: RunContext::env when the hook
// set it, else the context of a checked run.
XdpContext* redirect_info(RunContext* ctx, uint32_t helper) {
  if (ctx->env != nullptr) return static_cast<XdpContext*>(ctx->env);
  for (const vm::Region& r : ctx->regions)
    if (r.name == "context") return ptr<XdpContext>(r.begin);
  refuse(ctx, helper,
         "the run has no XDP context to record the redirect in (RunOptions::env is not set)");
  return nullptr;
}

// xdp_get_metalen: Pollen's frames always support metadata.
uint64_t metalen(const XdpContext& xdp) {
  return xdp.data - xdp.data_meta;
}

// bpf_xdp_adjust_head: data may move down to the end of the struct xdp_frame area plus the
// metadata, and up to ETH_HLEN bytes before data_end; the metadata moves with it.
uint64_t xdp_adjust_head(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  XdpContext* xdp = xdp_arg(ctx, id::kXdpAdjustHead, r1);
  if (xdp == nullptr) return 0;
  const int64_t offset = static_cast<int32_t>(r2);
  const uint64_t meta = metalen(*xdp);
  const uint64_t data_start = xdp->data_hard_start + kXdpFrameOverhead + meta;
  const uint64_t data = xdp->data + offset;
  if (data < data_start || data > xdp->data_end - kEthHlen) return neg_errno(EINVAL);
  if (meta != 0) std::memmove(ptr(xdp->data_meta + offset), ptr(xdp->data_meta), meta);
  xdp->data_meta += offset;
  xdp->data = data;
  xdp->lowest_meta = std::min(xdp->lowest_meta, xdp->data_meta);
  return 0;
}

// bpf_xdp_adjust_meta: the metadata may start no lower than the struct xdp_frame area and no
// higher than data (EINVAL), and its length must pass xdp_metalen_invalid (EACCES).
uint64_t xdp_adjust_meta(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  XdpContext* xdp = xdp_arg(ctx, id::kXdpAdjustMeta, r1);
  if (xdp == nullptr) return 0;
  const uint64_t meta = xdp->data_meta + static_cast<int64_t>(static_cast<int32_t>(r2));
  if (meta < xdp->data_hard_start + kXdpFrameOverhead || meta > xdp->data) return neg_errno(EINVAL);
  const uint64_t len = xdp->data - meta;
  if (len % 4 != 0 || len > kXdpMetaMax) return neg_errno(EACCES);
  xdp->data_meta = meta;
  xdp->lowest_meta = std::min(xdp->lowest_meta, meta);
  return 0;
}

// bpf_xdp_adjust_tail: data_end may grow to the frame's end less the tailroom and shrink to
// ETH_HLEN bytes after data; grown bytes are zeroed ("can contain uninit kernel memory").
uint64_t xdp_adjust_tail(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  XdpContext* xdp = xdp_arg(ctx, id::kXdpAdjustTail, r1);
  if (xdp == nullptr) return 0;
  const int64_t offset = static_cast<int32_t>(r2);
  const uint64_t hard_end = xdp->data_hard_start + xdp->frame_size - kXdpTailroom;
  const uint64_t data_end = xdp->data_end + offset;
  if (data_end > hard_end || data_end < xdp->data + kEthHlen) return neg_errno(EINVAL);
  if (offset > 0) std::memset(ptr(xdp->data_end), 0, static_cast<size_t>(offset));
  xdp->data_end = data_end;
  return 0;
}

uint64_t xdp_get_buff_len(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  XdpContext* xdp = xdp_arg(ctx, id::kXdpGetBuffLen, r1);
  if (xdp == nullptr) return 0;
  return xdp->data_end - xdp->data;
}

// bpf_xdp_pointer's checks: an offset or length above 0xffff is EFAULT, a range past the
// packet EINVAL. Returns the packet address, or 0 with `err` set.
uint64_t packet_range(const XdpContext& xdp, uint32_t offset, uint32_t len, uint64_t& err) {
  if (offset > kXdpMaxAccessOffset || len > kXdpMaxAccessOffset) {
    err = neg_errno(EFAULT);
    return 0;
  }
  if (uint64_t{offset} + len > xdp.data_end - xdp.data) {
    err = neg_errno(EINVAL);
    return 0;
  }
  return xdp.data + offset;
}

// bpf_xdp_load_bytes: on failure the buffer is left as it was.
uint64_t xdp_load_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t,
                        RunContext* ctx) {
  XdpContext* xdp = xdp_arg(ctx, id::kXdpLoadBytes, r1);
  const auto len = static_cast<uint32_t>(r4);
  if (xdp == nullptr || !writable(ctx, id::kXdpLoadBytes, 3, r3, len)) return 0;
  uint64_t err = 0;
  const uint64_t src = packet_range(*xdp, static_cast<uint32_t>(r2), len, err);
  if (src == 0) return err;
  std::memmove(ptr(r3), ptr(src), len);
  return 0;
}

uint64_t xdp_store_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t,
                         RunContext* ctx) {
  XdpContext* xdp = xdp_arg(ctx, id::kXdpStoreBytes, r1);
  const auto len = static_cast<uint32_t>(r4);
  if (xdp == nullptr || !readable(ctx, id::kXdpStoreBytes, 3, r3, len)) return 0;
  uint64_t err = 0;
  const uint64_t dst = packet_range(*xdp, static_cast<uint32_t>(r2), len, err);
  if (dst == 0) return err;
  std::memmove(ptr(dst), ptr(r3), len);
  return 0;
}

// bpf_redirect for XDP (bpf_xdp_redirect): any flag aborts; any ifindex is accepted here, the
// hook finds out whether it exists when it sends the frame.
uint64_t redirect(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  if (r2 != 0) return kXdpAborted;
  XdpContext* xdp = redirect_info(ctx, id::kRedirect);
  if (xdp == nullptr) return 0;
  xdp->redirect_ifindex = static_cast<uint32_t>(r1);
  xdp->redirect_map = 0;
  xdp->redirect_flags = 0;
  xdp->redirect_target = 0;
  return kXdpRedirect;
}

bool is_redirect_map(maps::MapType type) {
  return type == maps::MapType::Devmap || type == maps::MapType::DevmapHash ||
         type == maps::MapType::Cpumap || type == maps::MapType::Xskmap;
}

// bpf_redirect_map (__bpf_xdp_redirect_map): flags beyond the default action (and, for device
// maps, BPF_F_BROADCAST and BPF_F_EXCLUDE_INGRESS) abort; a key without a target returns the
// default action and forgets an earlier choice, unless the frame is broadcast. The key is
// truncated to u32, as the maps' lookups take one.
uint64_t redirect_map(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t, RunContext* ctx) {
  maps::Map* map = map_arg(ctx, id::kRedirectMap, 1, r1);
  if (map == nullptr) return 0;
  if (ctx->checked && !is_redirect_map(map->type()))
    return refuse(ctx, id::kRedirectMap,
                  fmt::format("r1 (a map of type {}) is not a devmap, devmap_hash, cpumap or "
                              "xskmap",
                              maps::map_type_name(map->type())));
  const bool device_map =
      map->type() == maps::MapType::Devmap || map->type() == maps::MapType::DevmapHash;
  const uint64_t action_mask = kXdpAborted | kXdpDrop | kXdpPass | kXdpTx;
  const uint64_t allowed = action_mask | (device_map ? kBpfFBroadcast | kBpfFExcludeIngress : 0);
  if ((r3 & ~allowed) != 0) return kXdpAborted;
  XdpContext* xdp = redirect_info(ctx, id::kRedirectMap);
  if (xdp == nullptr) return 0;
  const auto key = static_cast<uint32_t>(r2);
  const long target = map->redirect_target(key);
  const bool broadcast = (r3 & kBpfFBroadcast) != 0;
  if (target < 0 && !broadcast) {
    xdp->redirect_ifindex = 0;
    xdp->redirect_map = 0;
    xdp->redirect_flags = 0;
    xdp->redirect_target = 0;
    return r3 & action_mask;
  }
  xdp->redirect_ifindex = key;
  xdp->redirect_map = r1;
  xdp->redirect_flags = broadcast ? r3 : 0;
  xdp->redirect_target = target < 0 ? 0 : static_cast<uint32_t>(target);
  return kXdpRedirect;
}

// bpf_perf_event_output for XDP (bpf_xdp_event_output): `size` bytes at r4 as a sample of the
// perf event array's entry at the flags' low 32 bits (BPF_F_CURRENT_CPU: the run's slot),
// followed by the first flags >> 32 bytes of the packet (BPF_F_CTXLEN_MASK). Unknown flags are
// -EINVAL, more packet bytes than the frame has -EFAULT, then the map's own answers.
uint64_t xdp_event_output(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                          RunContext* ctx) {
  constexpr uint64_t kIndexMask = 0xffffffffu, kCtxLenMask = uint64_t{0xfffff} << 32;
  constexpr uint64_t kCurrentCpu = kIndexMask;
  XdpContext* xdp = xdp_arg(ctx, id::kPerfEventOutput, r1);
  maps::Map* map = xdp ? map_arg(ctx, id::kPerfEventOutput, 2, r2) : nullptr;
  if (map == nullptr || !readable(ctx, id::kPerfEventOutput, 4, r4, r5)) return 0;
  if (map->type() != maps::MapType::PerfEventArray)
    return refuse(ctx, id::kPerfEventOutput,
                  fmt::format("r2 (a map of type {}) is not a perf_event_array",
                              maps::map_type_name(map->type())));
  if ((r3 & ~(kIndexMask | kCtxLenMask)) != 0) return neg_errno(EINVAL);
  const uint64_t packet_bytes = (r3 & kCtxLenMask) >> 32;
  if (packet_bytes > xdp->data_end - xdp->data) return neg_errno(EFAULT);
  const uint64_t index = (r3 & kIndexMask) == kCurrentCpu ? ctx->slot : (r3 & kIndexMask);
  return from_long(static_cast<maps::PerfEventArray*>(map)->output(
      static_cast<uint32_t>(index), ptr(r4), r5, ptr(xdp->data), packet_bytes));
}

// The MTU of host interface `ifindex` (SIOCGIFMTU), or -1 when there is no such interface.
int interface_mtu(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (ifindex == 0 || if_indextoname(ifindex, name) == nullptr) return -1;
  thread_local int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq request{};
  std::memcpy(request.ifr_name, name, sizeof name);
  if (fd < 0 || ioctl(fd, SIOCGIFMTU, &request) != 0) return -1;
  return request.ifr_mtu;
}

// bpf_check_mtu for XDP (bpf_xdp_check_mtu): whether the frame, or *mtu_len bytes of L3 when
// that is not 0, plus len_diff fits the MTU of interface r2 (0: the ingress interface) with
// its Ethernet header; *mtu_len becomes the MTU. The interfaces are the host's. XDP takes no
// flags (-EINVAL, checked first); an unknown interface is -ENODEV.
uint64_t xdp_check_mtu(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                       RunContext* ctx) {
  constexpr int64_t kEthHeader = 14;
  constexpr uint64_t kFragNeeded = 1;  // BPF_MTU_CHK_RET_FRAG_NEEDED
  XdpContext* xdp = xdp_arg(ctx, id::kCheckMtu, r1);
  if (xdp == nullptr || !writable(ctx, id::kCheckMtu, 3, r3, sizeof(uint32_t))) return 0;
  if (r5 != 0) return neg_errno(EINVAL);
  const auto ifindex = static_cast<uint32_t>(r2);
  const int mtu = interface_mtu(ifindex != 0 ? ifindex : xdp->ingress_ifindex);
  if (mtu < 0) return neg_errno(ENODEV);
  uint32_t mtu_len = 0;
  std::memcpy(&mtu_len, ptr(r3), sizeof mtu_len);
  int64_t length = mtu_len != 0 ? int64_t{mtu_len} + kEthHeader
                                : static_cast<int64_t>(xdp->data_end - xdp->data);
  length += static_cast<int32_t>(r4);
  mtu_len = static_cast<uint32_t>(mtu);
  std::memcpy(ptr(r3), &mtu_len, sizeof mtu_len);
  return length > mtu + kEthHeader ? kFragNeeded : 0;
}

// bpf_fib_lookup for XDP, with the checks of bpf_xdp_fib_lookup and of the lookups before the
// route: a struct bpf_fib_lookup of 64 bytes or more, known flags (-EINVAL), an IPv4 or IPv6
// family (-EAFNOSUPPORT), a host interface (-ENODEV). Pollen has no forwarding table of its own
// and does not read the host's: every lookup then finds no route, BPF_FIB_LKUP_RET_NOT_FWDED,
// which programs answer by passing the packet to the stack.
uint64_t xdp_fib_lookup(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t,
                        RunContext* ctx) {
  constexpr uint64_t kParamsSize = 64, kKnownFlags = 0x3f;
  constexpr uint8_t kAfInet = 2, kAfInet6 = 10;
  constexpr uint64_t kNotForwarded = 4;  // BPF_FIB_LKUP_RET_NOT_FWDED
  XdpContext* xdp = xdp_arg(ctx, id::kFibLookup, r1);
  const auto size = static_cast<uint32_t>(r3);
  if (xdp == nullptr || !writable(ctx, id::kFibLookup, 2, r2, size)) return 0;
  if (size < kParamsSize || (r4 & ~kKnownFlags) != 0) return neg_errno(EINVAL);
  uint8_t family = 0;
  uint32_t ifindex = 0;
  std::memcpy(&family, ptr(r2), sizeof family);       // struct bpf_fib_lookup.family
  std::memcpy(&ifindex, ptr<uint8_t>(r2) + 8, sizeof ifindex);  // .ifindex
  if (family != kAfInet && family != kAfInet6) return neg_errno(EAFNOSUPPORT);
  if (interface_mtu(ifindex) < 0) return neg_errno(ENODEV);
  return kNotForwarded;
}

constexpr Implementation kImplementations[] = {
    {id::kRedirect, redirect},
    {id::kPerfEventOutput, xdp_event_output},
    {id::kXdpAdjustHead, xdp_adjust_head},
    {id::kRedirectMap, redirect_map},
    {id::kXdpAdjustMeta, xdp_adjust_meta},
    {id::kXdpAdjustTail, xdp_adjust_tail},
    {id::kFibLookup, xdp_fib_lookup},
    {id::kCheckMtu, xdp_check_mtu},
    {id::kXdpGetBuffLen, xdp_get_buff_len},
    {id::kXdpLoadBytes, xdp_load_bytes},
    {id::kXdpStoreBytes, xdp_store_bytes},
};

}  // namespace

std::span<const Implementation> xdp_helpers() {
  return kImplementations;
}

}  // namespace pollen::helpers::detail

// SPDX-License-Identifier: MIT
// XDP_REDIRECT: `redirect_ifindex` calls bpf_redirect with the ifindex and flags a UDP packet's
// payload names (non-zero flags make Linux return XDP_ABORTED); `redirect_devmap` calls
// bpf_redirect_map on a DEVMAP the host fills (key 0 = lo) with the key and flags from the
// payload: a missing key returns the action in the flags' low bits (or XDP_REDIRECT with
// BPF_F_BROADCAST), flags outside those Linux allows return XDP_ABORTED.
#include "xdp_common.h"

struct request {
  __u32 target;  // ifindex or devmap key, little-endian
  __u32 flags;
};

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} devices SEC(".maps");

__u64 results[8];

static __always_inline struct request* request_of(struct xdp_md* ctx) {
  void* pos = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = CURSOR_TAKE(pos, end, struct ethhdr);
  if (!eth || eth->h_proto != bpf_htons(ETH_P_IP)) return NULL;
  struct iphdr* ip = CURSOR_TAKE(pos, end, struct iphdr);
  if (!ip || ip->ihl != 5 || ip->protocol != IPPROTO_UDP) return NULL;
  struct udphdr* udp = CURSOR_TAKE(pos, end, struct udphdr);
  if (!udp) return NULL;
  return CURSOR_TAKE(pos, end, struct request);
}

static __always_inline int counted(int verdict) {
  results[verdict & 7]++;
  return verdict;
}

SEC("xdp")
int redirect_ifindex(struct xdp_md* ctx) {
  struct request* req = request_of(ctx);
  if (!req) return XDP_PASS;
  return counted(bpf_redirect(req->target, req->flags));
}

SEC("xdp")
int redirect_devmap(struct xdp_md* ctx) {
  struct request* req = request_of(ctx);
  if (!req) return XDP_PASS;
  return counted(bpf_redirect_map(&devices, req->target, req->flags));
}

char LICENSE[] SEC("license") = "GPL";

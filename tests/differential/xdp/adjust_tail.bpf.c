// SPDX-License-Identifier: MIT
// bpf_xdp_adjust_tail growing and shrinking the frame at its end. `tail_by_config` moves the
// tail by the delta the host put in `config` (the new bytes of a grown frame are zero in
// Linux) and records the result; `tail_trailer` appends a 4-byte trailer holding the frame's
// old length; `tail_trim_ipv4` cuts the frame to the length its IPv4 header gives (dropping
// Ethernet padding).
#include "xdp_common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __s32);
} config SEC(".maps");

int last_rc;
__u64 grown, shrunk;

SEC("xdp")
int tail_by_config(struct xdp_md* ctx) {
  __u32 zero = 0;
  __s32* delta = bpf_map_lookup_elem(&config, &zero);
  if (!delta) return XDP_ABORTED;
  last_rc = bpf_xdp_adjust_tail(ctx, *delta);
  if (last_rc) return XDP_DROP;
  if (*delta > 0)
    grown += *delta;
  else
    shrunk -= *delta;
  return XDP_PASS;
}

SEC("xdp")
int tail_trailer(struct xdp_md* ctx) {
  __u32 old_len = ctx->data_end - ctx->data;
  if (bpf_xdp_adjust_tail(ctx, 4)) return XDP_ABORTED;
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u32 off = old_len;
  if (off > 4000) return XDP_ABORTED;
  __be32* trailer = data + off;
  if ((void*)(trailer + 1) > end) return XDP_ABORTED;
  *trailer = bpf_htonl(0xfeed0000 | old_len);
  return XDP_TX;
}

SEC("xdp")
int tail_trim_ipv4(struct xdp_md* ctx) {
  void* pos = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = CURSOR_TAKE(pos, end, struct ethhdr);
  if (!eth || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = CURSOR_TAKE(pos, end, struct iphdr);
  if (!ip) return XDP_PASS;
  int want = sizeof(struct ethhdr) + bpf_ntohs(ip->tot_len);
  int have = end - (void*)eth;
  if (want >= have) return XDP_PASS;
  if (bpf_xdp_adjust_tail(ctx, want - have)) return XDP_ABORTED;
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// Global data: a .rodata configuration (the blocked UDP port, the verdict for everything else,
// a TTL floor), .data with initial values the program updates, and .bss counters.
#include "xdp_common.h"

const volatile __u16 blocked_port = 53;
const volatile __u32 default_verdict = XDP_PASS;
const volatile __u8 min_ttl = 2;

__u64 last_seen_len = 0xdeadbeef;  // .data: starts non-zero
__u32 generation = 7;

__u64 packets, bytes, blocked, low_ttl;

SEC("xdp")
int global_data(struct xdp_md* ctx) {
  void* pos = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  packets++;
  bytes += end - pos;
  last_seen_len = end - pos;
  generation += 2;
  struct ethhdr* eth = CURSOR_TAKE(pos, end, struct ethhdr);
  if (!eth || eth->h_proto != bpf_htons(ETH_P_IP)) return default_verdict;
  struct iphdr* ip = CURSOR_TAKE(pos, end, struct iphdr);
  if (!ip || ip->ihl != 5) return default_verdict;
  if (ip->ttl < min_ttl) {
    low_ttl++;
    return XDP_DROP;
  }
  if (ip->protocol != IPPROTO_UDP) return default_verdict;
  struct udphdr* udp = CURSOR_TAKE(pos, end, struct udphdr);
  if (!udp) return default_verdict;
  if (udp->dest == bpf_htons(blocked_port)) {
    blocked++;
    return XDP_DROP;
  }
  return default_verdict;
}

char LICENSE[] SEC("license") = "GPL";

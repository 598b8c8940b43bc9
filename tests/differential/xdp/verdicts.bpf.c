// SPDX-License-Identifier: MIT
// The verdict a packet asks for: an IPv4 UDP packet to port 9000 + N returns N (0 aborted,
// 1 drop, 2 pass, 3 tx, and values Linux has no name for, which BPF_PROG_TEST_RUN returns
// as they are); every other packet passes. Counts the verdicts it gave in .bss.
#include "xdp_common.h"

__u64 given[8];

SEC("xdp")
int verdicts(struct xdp_md* ctx) {
  void* pos = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = CURSOR_TAKE(pos, end, struct ethhdr);
  if (!eth || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = CURSOR_TAKE(pos, end, struct iphdr);
  if (!ip || ip->ihl != 5 || ip->protocol != IPPROTO_UDP) return XDP_PASS;
  struct udphdr* udp = CURSOR_TAKE(pos, end, struct udphdr);
  if (!udp) return XDP_PASS;
  __u32 verdict = bpf_ntohs(udp->dest) - 9000;
  if (verdict >= 8) return XDP_PASS;
  given[verdict]++;
  return verdict;
}

char LICENSE[] SEC("license") = "GPL";

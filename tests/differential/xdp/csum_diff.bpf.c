// SPDX-License-Identifier: MIT
// bpf_csum_diff keeping an IPv4 header checksum right: `nat_rewrite` rewrites the destination
// address and decrements the TTL, updating the checksum incrementally from the difference of
// the old and new 32-bit words; `recompute_csum` computes the whole header's checksum over the
// packet. Both keep the helper's raw results in .bss, and `csum_errors` records its refusals
// (sizes that are not multiples of 4).
#include "xdp_common.h"

__s64 raw_diff, raw_full;
__s64 err_rc[3];

SEC("xdp")
int nat_rewrite(struct xdp_md* ctx) {
  void* pos = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = CURSOR_TAKE(pos, end, struct ethhdr);
  if (!eth || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = CURSOR_TAKE(pos, end, struct iphdr);
  if (!ip || ip->ttl <= 1) return XDP_DROP;
  // The two 32-bit words that change: (ttl, protocol, check) and daddr; the checksum field
  // is zeroed in both so that it does not count.
  __be32 old_words[2], new_words[2];
  __u16 old_check = ip->check;
  ip->check = 0;
  old_words[0] = *(__be32*)&ip->ttl;
  old_words[1] = ip->daddr;
  ip->ttl--;
  ip->daddr = bpf_htonl(0x0a000063);  // 10.0.0.99
  new_words[0] = *(__be32*)&ip->ttl;
  new_words[1] = ip->daddr;
  __s64 diff = bpf_csum_diff(old_words, sizeof(old_words), new_words, sizeof(new_words),
                             ~old_check & 0xffff);
  raw_diff = diff;
  if (diff < 0) return XDP_ABORTED;
  ip->check = csum_fold(diff);
  return XDP_TX;
}

SEC("xdp")
int recompute_csum(struct xdp_md* ctx) {
  void* pos = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = CURSOR_TAKE(pos, end, struct ethhdr);
  if (!eth || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = CURSOR_TAKE(pos, end, struct iphdr);
  if (!ip) return XDP_PASS;
  ip->check = 0;
  __s64 sum = bpf_csum_diff(0, 0, (__be32*)ip, sizeof(*ip), 0);
  raw_full = sum;
  if (sum < 0) return XDP_ABORTED;
  ip->check = csum_fold(sum);
  return XDP_PASS;
}

SEC("xdp")
int csum_errors(struct xdp_md* ctx) {
  __be32 words[4] = {1, 2, 3, 4};
  err_rc[0] = bpf_csum_diff(words, 6, words, 8, 0);  // not a multiple of 4
  err_rc[1] = bpf_csum_diff(words, 8, words, 3, 0);
  err_rc[2] = bpf_csum_diff(words, 16, 0, 0, 0x1234);  // only "from": the complement
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

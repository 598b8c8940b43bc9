// SPDX-License-Identifier: MIT
// Routing on an LPM_TRIE the host fills: the longest prefix holding an IPv4 packet's
// destination gives the verdict and a next-hop MAC byte written into the frame's destination
// MAC; the hits of each route and the misses are counted.
#include "xdp_common.h"

struct lpm_key {
  __u32 prefixlen;
  __be32 addr;
};

struct route {
  __u32 verdict;
  __u32 next_hop;  // the last byte of the next hop's MAC address
  __u64 hits;
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 16);
  __type(key, struct lpm_key);
  __type(value, struct route);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

__u64 misses;

SEC("xdp")
int lpm_route(struct xdp_md* ctx) {
  void* pos = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = CURSOR_TAKE(pos, end, struct ethhdr);
  if (!eth || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = CURSOR_TAKE(pos, end, struct iphdr);
  if (!ip) return XDP_PASS;
  struct lpm_key key = {.prefixlen = 32, .addr = ip->daddr};
  struct route* r = bpf_map_lookup_elem(&routes, &key);
  if (!r) {
    misses++;
    return XDP_DROP;
  }
  __sync_fetch_and_add(&r->hits, 1);
  eth->h_dest[5] = r->next_hop;
  return r->verdict;
}

char LICENSE[] SEC("license") = "GPL";

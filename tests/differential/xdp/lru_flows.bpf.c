// SPDX-License-Identifier: MIT
// A flow table in an LRU_HASH: each IPv4 TCP or UDP packet's 5-tuple gets an entry (inserted
// with BPF_NOEXIST on its first packet) counting packets and bytes and keeping the TCP flags
// seen. The table is larger than any test's flow count, so nothing is evicted: eviction order
// is the kernel's business, not part of the map's contract.
#include "xdp_common.h"

struct flow_key {
  __be32 saddr;
  __be32 daddr;
  __be16 sport;
  __be16 dport;
  __u8 proto;
  __u8 pad[3];
};

struct flow {
  __u64 packets;
  __u64 bytes;
  __u32 tcp_flags;
  __u32 first_len;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 128);
  __type(key, struct flow_key);
  __type(value, struct flow);
} flows SEC(".maps");

__u64 new_flows, insert_failures;

SEC("xdp")
int lru_flows(struct xdp_md* ctx) {
  void* pos = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = CURSOR_TAKE(pos, end, struct ethhdr);
  if (!eth || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = CURSOR_TAKE(pos, end, struct iphdr);
  if (!ip || ip->ihl != 5) return XDP_PASS;
  struct flow_key key = {.saddr = ip->saddr, .daddr = ip->daddr, .proto = ip->protocol};
  __u32 tcp_flags = 0;
  if (ip->protocol == IPPROTO_TCP) {
    struct tcphdr* tcp = CURSOR_TAKE(pos, end, struct tcphdr);
    if (!tcp) return XDP_PASS;
    key.sport = tcp->source;
    key.dport = tcp->dest;
    tcp_flags = ((__u8*)tcp)[13];
  } else if (ip->protocol == IPPROTO_UDP) {
    struct udphdr* udp = CURSOR_TAKE(pos, end, struct udphdr);
    if (!udp) return XDP_PASS;
    key.sport = udp->source;
    key.dport = udp->dest;
  } else {
    return XDP_PASS;
  }
  __u64 len = (void*)(long)ctx->data_end - (void*)(long)ctx->data;
  struct flow* f = bpf_map_lookup_elem(&flows, &key);
  if (f) {
    __sync_fetch_and_add(&f->packets, 1);
    __sync_fetch_and_add(&f->bytes, len);
    f->tcp_flags |= tcp_flags;
    return XDP_PASS;
  }
  struct flow fresh = {.packets = 1, .bytes = len, .tcp_flags = tcp_flags, .first_len = len};
  if (bpf_map_update_elem(&flows, &key, &fresh, BPF_NOEXIST))
    insert_failures++;
  else
    new_flows++;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

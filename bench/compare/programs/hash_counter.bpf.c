// SPDX-License-Identifier: MIT
// bench_compare's hash-map counter: per-flow packet and byte counters in a HASH map keyed by
// the IPv4 5-tuple, as a flow exporter's first stage keeps them. A known flow's counters are
// incremented atomically; a new flow is inserted with BPF_NOEXIST (another CPU may have
// inserted it first: then it is looked up again). Every packet passes.
#include "../compare.h"

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

struct flow_key {
  __be32 saddr;
  __be32 daddr;
  __be16 sport;
  __be16 dport;
  __u8 proto;
  __u8 pad[3];
};

struct flow_stats {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, struct flow_key);
  __type(value, struct flow_stats);
} flow_counters SEC(".maps");

SEC("xdp")
int xdp_hash_counter(struct xdp_md* ctx) {
  void* data = XDP_DATA(ctx);
  void* data_end = XDP_DATA_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_PASS;

  struct flow_key key = {};
  key.saddr = ip->saddr;
  key.daddr = ip->daddr;
  key.proto = ip->protocol;
  if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
    // Both headers start with the source and destination ports.
    struct udphdr* l4 = (void*)ip + ip->ihl * 4;
    if ((void*)(l4 + 1) > data_end) return XDP_PASS;
    key.sport = l4->source;
    key.dport = l4->dest;
  }
  __u64 bytes = data_end - data;
  struct flow_stats* stats = bpf_map_lookup_elem(&flow_counters, &key);
  if (!stats) {
    struct flow_stats fresh = {1, bytes};
    if (bpf_map_update_elem(&flow_counters, &key, &fresh, BPF_NOEXIST) == 0) return XDP_PASS;
    stats = bpf_map_lookup_elem(&flow_counters, &key);
    if (!stats) return XDP_PASS;  // the table is full
  }
  __sync_fetch_and_add(&stats->packets, 1);
  __sync_fetch_and_add(&stats->bytes, bytes);
  return XDP_PASS;
}

COMPARE_EXPORT_MAP(flow_counters);

char LICENSE[] SEC("license") = "GPL";

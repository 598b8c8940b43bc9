// SPDX-License-Identifier: MIT
// Map-in-map lookups: an ARRAY_OF_MAPS whose two inner arrays libbpf fills from the object
// (slot 0 for IPv4, slot 1 for IPv6, slot 2 empty) and a HASH_OF_MAPS keyed by IP version
// holding only version 4. The program counts each packet's L4 protocol in the inner array its
// version selects; lookups that find no inner map are counted apart.
#include "xdp_common.h"

struct inner {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
};

struct inner v4_protocols SEC(".maps");
struct inner v6_protocols SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 3);
  __type(key, __u32);
  __array(values, struct inner);
} by_slot SEC(".maps") = {
    .values = {&v4_protocols, &v6_protocols},
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct inner);
} by_version SEC(".maps") = {
    .values = {[4] = &v4_protocols},
};

__u64 no_inner[2];

SEC("xdp")
int map_in_map(struct xdp_md* ctx) {
  void* pos = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = CURSOR_TAKE(pos, end, struct ethhdr);
  if (!eth) return XDP_PASS;
  __u32 slot, version, proto;
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = CURSOR_TAKE(pos, end, struct iphdr);
    if (!ip) return XDP_PASS;
    slot = 0, version = 4, proto = ip->protocol;
  } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = CURSOR_TAKE(pos, end, struct ipv6hdr);
    if (!ip6) return XDP_PASS;
    slot = 1, version = 6, proto = ip6->nexthdr;
  } else {
    slot = 2, version = 0, proto = 0;
  }
  void* inner = bpf_map_lookup_elem(&by_slot, &slot);
  if (inner) {
    __u64* c = bpf_map_lookup_elem(inner, &proto);
    if (c) __sync_fetch_and_add(c, 1);
  } else {
    no_inner[0]++;
  }
  inner = bpf_map_lookup_elem(&by_version, &version);
  if (inner) {
    __u32 total = 255;
    __u64* c = bpf_map_lookup_elem(inner, &total);
    if (c) __sync_fetch_and_add(c, 1);
  } else {
    no_inner[1]++;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// Parses Ethernet, up to two VLAN tags (802.1Q, 802.1ad), IPv4 (with options) or IPv6, and TCP,
// UDP, ICMP or ICMPv6, and counts what it saw: an ARRAY of per-layer counters, a HASH of
// (protocol, destination port) packet counts and a PERCPU_ARRAY of bytes per L3 protocol.
// Every packet passes.
#include "xdp_common.h"

enum counter {
  C_ETH,
  C_VLAN,
  C_IPV4,
  C_IPV6,
  C_TCP,
  C_UDP,
  C_ICMP,
  C_ICMP6,
  C_OTHER,
  C_SHORT,
  C_MAX
};

struct port_key {
  __u8 proto;
  __u8 pad;
  __be16 port;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, C_MAX);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, struct port_key);
  __type(value, __u64);
} ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} l3_bytes SEC(".maps");

static __always_inline void count(__u32 which) {
  __u64* c = bpf_map_lookup_elem(&counters, &which);
  if (c) __sync_fetch_and_add(c, 1);
}

static __always_inline void count_port(__u8 proto, __be16 port) {
  struct port_key key = {.proto = proto, .port = port};
  __u64 one = 1;
  __u64* c = bpf_map_lookup_elem(&ports, &key);
  if (c)
    __sync_fetch_and_add(c, 1);
  else
    bpf_map_update_elem(&ports, &key, &one, BPF_NOEXIST);
}

static __always_inline void add_bytes(__u32 which, __u64 bytes) {
  __u64* b = bpf_map_lookup_elem(&l3_bytes, &which);
  if (b) *b += bytes;
}

static __always_inline int l4(void* pos, void* end, __u8 proto) {
  if (proto == IPPROTO_TCP) {
    struct tcphdr* tcp = CURSOR_TAKE(pos, end, struct tcphdr);
    if (!tcp) return C_SHORT;
    count_port(proto, tcp->dest);
    return C_TCP;
  }
  if (proto == IPPROTO_UDP) {
    struct udphdr* udp = CURSOR_TAKE(pos, end, struct udphdr);
    if (!udp) return C_SHORT;
    count_port(proto, udp->dest);
    return C_UDP;
  }
  if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
    struct icmp_echo* icmp = CURSOR_TAKE(pos, end, struct icmp_echo);
    if (!icmp) return C_SHORT;
    count_port(proto, bpf_htons(icmp->type << 8 | icmp->code));
    return proto == IPPROTO_ICMP ? C_ICMP : C_ICMP6;
  }
  return C_OTHER;
}

SEC("xdp")
int parse_count(struct xdp_md* ctx) {
  void* pos = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = CURSOR_TAKE(pos, end, struct ethhdr);
  if (!eth) return XDP_PASS;  // Linux's test run never gives less than 14 bytes
  count(C_ETH);
  __be16 proto = eth->h_proto;
#pragma unroll
  for (int i = 0; i < 2; i++) {
    if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD)) break;
    struct vlan_hdr* vlan = CURSOR_TAKE(pos, end, struct vlan_hdr);
    if (!vlan) {
      count(C_SHORT);
      return XDP_PASS;
    }
    count(C_VLAN);
    proto = vlan->proto;
  }
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = pos;
    if ((void*)(ip + 1) > end || ip->ihl < 5) {
      count(C_SHORT);
      return XDP_PASS;
    }
    count(C_IPV4);
    add_bytes(0, bpf_ntohs(ip->tot_len));
    pos = (void*)ip + ip->ihl * 4;
    count(l4(pos, end, ip->protocol));
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = CURSOR_TAKE(pos, end, struct ipv6hdr);
    if (!ip6) {
      count(C_SHORT);
      return XDP_PASS;
    }
    count(C_IPV6);
    add_bytes(1, bpf_ntohs(ip6->payload_len) + sizeof(*ip6));
    count(l4(pos, end, ip6->nexthdr));
  } else {
    count(C_OTHER);
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

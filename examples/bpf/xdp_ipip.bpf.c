// SPDX-License-Identifier: MIT
// Example: IPIP encapsulation (RFC 2003) in XDP. IPv4 packets to the tunnelled network
// (`tunnel_net`/`tunnel_prefixlen`, 10.0.1.0/24 by default) get a new outer IPv4 header
// (protocol 4, from `outer_saddr` to `outer_daddr`) and go back out (XDP_TX) towards the
// tunnel's next hop (`next_hop_mac`, when not all zero). bpf_xdp_adjust_head(ctx, -20) makes
// room in front of the packet; the Ethernet header moves to the new start. The outer header
// copies the inner TOS and DF bit (RFC 2003, 3.1) and gets a freshly computed checksum.
// Packets that would grow beyond `tunnel_mtu` pass unchanged (a real tunnel would send ICMP
// "fragmentation needed"), as do VLAN-tagged frames, IPv6 and everything else (XDP_PASS).
//
// Maps:
//   totals  ARRAY enum ipip_total -> u64
#include "xdp_parsing.h"

enum ipip_total {
  IPIP_ENCAPSULATED,
  IPIP_OTHER_DESTINATION,
  IPIP_TOO_BIG,
  IPIP_NOT_IPV4,
  IPIP_NO_HEADROOM,  // bpf_xdp_adjust_head refused
  IPIP_TOTALS,
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, IPIP_TOTALS);
  __type(key, __u32);
  __type(value, __u64);
} totals SEC(".maps");

// Configuration (.rodata); addresses in network byte order, written as bytes.
const volatile __u8 tunnel_net[4] = {10, 0, 1, 0};
const volatile __u32 tunnel_prefixlen = 24;
const volatile __u8 outer_saddr[4] = {192, 168, 100, 1};
const volatile __u8 outer_daddr[4] = {192, 168, 200, 1};
const volatile __u8 next_hop_mac[ETH_ALEN] = {0x02, 0x00, 0x00, 0x00, 0xc8, 0x01};
const volatile __u8 outer_ttl = 64;
const volatile __u16 tunnel_mtu = 1500;

static __always_inline int total(enum ipip_total which, int verdict) {
  __u32 key = which;
  __u64* n = bpf_map_lookup_elem(&totals, &key);
  if (n) __sync_fetch_and_add(n, 1);
  return verdict;
}

static __always_inline __be32 be32_of(const volatile __u8* bytes) {
  __be32 v;
  __u8* out = (__u8*)&v;
#pragma unroll
  for (int i = 0; i < 4; i++) out[i] = bytes[i];
  return v;
}

static __always_inline int in_tunnel_net(__be32 daddr) {
  __u32 len = tunnel_prefixlen;
  if (len == 0) return 1;
  __u32 mask = len >= 32 ? 0xffffffff : ~(0xffffffffu >> len);
  return (bpf_ntohl(daddr) & mask) == (bpf_ntohl(be32_of(tunnel_net)) & mask);
}

// The outer header for an inner packet of `inner_len` bytes, checksum included.
static __always_inline void outer_header(struct iphdr* outer, const struct iphdr* inner,
                                         __u16 inner_len) {
  __builtin_memset(outer, 0, sizeof(*outer));
  outer->version = 4;
  outer->ihl = 5;
  outer->tos = inner->tos;
  outer->tot_len = bpf_htons(inner_len + sizeof(*outer));
  outer->frag_off = inner->frag_off & bpf_htons(0x4000);  // DF only
  outer->ttl = outer_ttl;
  outer->protocol = IPPROTO_IPIP;
  outer->saddr = be32_of(outer_saddr);
  outer->daddr = be32_of(outer_daddr);
  outer->check = ipv4_header_csum(outer);
}

static __always_inline int encapsulate(struct xdp_md* ctx, const struct ethhdr* eth,
                                       const struct iphdr* inner) {
  struct ethhdr new_eth = *eth;
  struct iphdr outer;
  outer_header(&outer, inner, bpf_ntohs(inner->tot_len));
  if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
    return total(IPIP_NO_HEADROOM, XDP_PASS);
  // adjust_head invalidates every packet pointer: bounds-check the new start again.
  struct cursor c = cursor_of(ctx);
  struct ethhdr* out_eth = cursor_take(&c, sizeof(*out_eth));
  struct iphdr* out_ip = cursor_take(&c, sizeof(*out_ip));
  if (!out_eth || !out_ip) return XDP_ABORTED;
  int have_next_hop = 0;
#pragma unroll
  for (int i = 0; i < ETH_ALEN; i++) have_next_hop |= next_hop_mac[i];
  if (have_next_hop) {
    __builtin_memcpy(new_eth.h_source, new_eth.h_dest, ETH_ALEN);
#pragma unroll
    for (int i = 0; i < ETH_ALEN; i++) new_eth.h_dest[i] = next_hop_mac[i];
  }
  *out_eth = new_eth;
  *out_ip = outer;
  return total(IPIP_ENCAPSULATED, XDP_TX);
}

SEC("xdp")
int xdp_ipip(struct xdp_md* ctx) {
  struct cursor c = cursor_of(ctx);
  struct ethhdr* eth = cursor_take(&c, sizeof(*eth));
  if (!eth || eth->h_proto != bpf_htons(ETH_P_IP)) return total(IPIP_NOT_IPV4, XDP_PASS);
  struct iphdr* inner = parse_ipv4(&c);
  if (!inner) return total(IPIP_NOT_IPV4, XDP_PASS);
  if (!in_tunnel_net(inner->daddr)) return total(IPIP_OTHER_DESTINATION, XDP_PASS);
  if (bpf_ntohs(inner->tot_len) + sizeof(struct iphdr) > tunnel_mtu)
    return total(IPIP_TOO_BIG, XDP_PASS);
  return encapsulate(ctx, eth, inner);
}

char LICENSE[] SEC("license") = "GPL";

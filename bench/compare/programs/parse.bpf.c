// SPDX-License-Identifier: MIT
// bench_compare's XDP parsing program: an ingress sanity filter. It walks Ethernet (up to two
// VLAN tags), IPv4 with options or IPv6, then TCP, UDP or ICMP, and drops what a border router
// should not forward: martian IPv4 sources, expiring TTLs, fragments of a transport header, port
// 0, UDP length or IPv4 total length that disagree with the frame, and TCP flag combinations no
// stack sends. Everything else passes. No maps: the cost is the parsing and its bounds checks.
#include "../compare.h"

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

struct vlan_tag {
  __be16 tci;
  __be16 proto;
};

// IPv4 sources that never appear on the wire (RFC 6890): 0/8, 127/8, 169.254/16, 224/4, 240/4.
static __always_inline int martian(__be32 saddr) {
  __u32 a = bpf_ntohl(saddr);
  __u8 top = a >> 24;
  return top == 0 || top == 127 || (a >> 16) == 0xa9fe || top >= 224;
}

static __always_inline int check_tcp(struct tcphdr* tcp) {
  __u8 flags = ((__u8*)tcp)[13];
  if (flags == 0) return XDP_DROP;                          // null scan
  if ((flags & 0x29) == 0x29) return XDP_DROP;              // FIN, PSH, URG: xmas scan
  if ((flags & 0x03) == 0x03) return XDP_DROP;              // SYN and FIN
  if (tcp->source == 0 || tcp->dest == 0) return XDP_DROP;  // port 0
  if (tcp->doff < 5) return XDP_DROP;
  return XDP_PASS;
}

static __always_inline int check_l4(void* l4, void* data_end, __u8 proto, __u32 l4_len) {
  if (proto == IPPROTO_TCP) {
    struct tcphdr* tcp = l4;
    if ((void*)(tcp + 1) > data_end) return XDP_DROP;
    return check_tcp(tcp);
  }
  if (proto == IPPROTO_UDP) {
    struct udphdr* udp = l4;
    if ((void*)(udp + 1) > data_end) return XDP_DROP;
    if (udp->source == 0 || udp->dest == 0) return XDP_DROP;
    if (bpf_ntohs(udp->len) != l4_len) return XDP_DROP;
    return XDP_PASS;
  }
  if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
    if (l4 + 8 > data_end) return XDP_DROP;
    __u8 type = *(__u8*)l4;
    return type > 200 ? XDP_DROP : XDP_PASS;
  }
  return XDP_PASS;
}

SEC("xdp")
int xdp_parse(struct xdp_md* ctx) {
  void* data = XDP_DATA(ctx);
  void* data_end = XDP_DATA_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_source[0] & 1) return XDP_DROP;  // a multicast source MAC
  void* cursor = eth + 1;
  __be16 proto = eth->h_proto;
#pragma unroll
  for (int i = 0; i < 2; i++) {
    if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD)) break;
    struct vlan_tag* tag = cursor;
    if ((void*)(tag + 1) > data_end) return XDP_DROP;
    proto = tag->proto;
    cursor = tag + 1;
  }
  __u32 frame_rest = (__u32)(data_end - cursor);

  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = cursor;
    if ((void*)(ip + 1) > data_end) return XDP_DROP;
    if (ip->version != 4 || ip->ihl < 5) return XDP_DROP;
    __u32 hlen = ip->ihl * 4;
    __u32 total = bpf_ntohs(ip->tot_len);
    if (total < hlen || total > frame_rest) return XDP_DROP;
    if (martian(ip->saddr) || ip->daddr == 0) return XDP_DROP;
    if (ip->ttl <= 1) return XDP_DROP;
    if (ip->frag_off & bpf_htons(0x1fff)) return XDP_DROP;  // a later fragment
    void* l4 = cursor + hlen;
    return check_l4(l4, data_end, ip->protocol, total - hlen);
  }
  if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = cursor;
    if ((void*)(ip6 + 1) > data_end) return XDP_DROP;
    if (ip6->version != 6 || ip6->hop_limit <= 1) return XDP_DROP;
    if (ip6->saddr.in6_u.u6_addr8[0] == 0xff) return XDP_DROP;  // a multicast source
    __u32 payload = bpf_ntohs(ip6->payload_len);
    if (payload + sizeof(*ip6) > frame_rest) return XDP_DROP;
    return check_l4(ip6 + 1, data_end, ip6->nexthdr, payload);
  }
  if (proto == bpf_htons(ETH_P_ARP)) return XDP_PASS;
  return XDP_DROP;  // nothing else is routed here
}

char LICENSE[] SEC("license") = "GPL";

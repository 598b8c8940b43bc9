// SPDX-License-Identifier: MIT
// Example: a reflector that answers IPv4 UDP datagrams and ICMP echo requests from the fast
// path. The reply is the packet itself, rewritten in place and sent back out of the interface
// it came in on (XDP_TX): Ethernet addresses swapped (VLAN tags kept), IPv4 addresses swapped,
// TTL reset, UDP ports swapped, an echo request turned into an echo reply. Every checksum is
// updated incrementally: the IPv4 header's and ICMP's with RFC 1624 arithmetic, UDP's (whose
// pseudo-header covers the addresses) with bpf_csum_diff over the rewritten words. Fragments,
// IPv6 and everything else pass (XDP_PASS).
//
// Maps:
//   totals  ARRAY enum rw_total -> u64
//
// Configuration (.rodata): `reply_ttl`, and `reply_saddr`, the address replies come from when
// not zero (a service answering from its own address, as behind a direct-return load balancer);
// with it the rewrite is not a plain swap, and the checksum updates are what keeps it valid.
#include <linux/udp.h>

#include "xdp_parsing.h"

enum rw_total {
  RW_UDP_REFLECTED,
  RW_ICMP_REFLECTED,
  RW_PASSED,
  RW_TOTALS,
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, RW_TOTALS);
  __type(key, __u32);
  __type(value, __u64);
} totals SEC(".maps");

const volatile __u8 reply_ttl = 64;
const volatile __be32 reply_saddr = 0;

static __always_inline int total(enum rw_total which, int verdict) {
  __u32 key = which;
  __u64* n = bpf_map_lookup_elem(&totals, &key);
  if (n) __sync_fetch_and_add(n, 1);
  return verdict;
}

static __always_inline void swap_macs(struct ethhdr* eth) {
  __u8 tmp[ETH_ALEN];
  __builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

// The IPv4 header of the reply; its checksum follows every changed word.
static __always_inline void reflect_ipv4(struct iphdr* ip) {
  __be32 saddr = ip->saddr, daddr = ip->daddr;
  __be32 new_saddr = reply_saddr ? reply_saddr : daddr;
  __u16 old_ttl_word = *(__u16*)&ip->ttl;  // TTL and protocol share one 16-bit word
  ip->ttl = reply_ttl;
  __u16 check = csum_replace2(ip->check, old_ttl_word, *(__u16*)&ip->ttl);
  check = csum_replace4(check, saddr, new_saddr);
  check = csum_replace4(check, daddr, saddr);
  ip->check = check;
  ip->saddr = new_saddr;
  ip->daddr = saddr;
}

// UDP: the pseudo-header's addresses and the ports change. bpf_csum_diff gives the sum of the
// new words minus the old ones, seeded with the old sum; folding it covers both the 32-bit
// result of kernels before 6.12 and the folded one of later kernels (and Pollen).
static __always_inline int reflect_udp(struct iphdr* ip, struct udphdr* udp) {
  __be32 from[3] = {ip->saddr, ip->daddr, (__be32)udp->source | (__be32)udp->dest << 16};
  reflect_ipv4(ip);
  __be16 sport = udp->source;
  udp->source = udp->dest;
  udp->dest = sport;
  __be32 to[3] = {ip->saddr, ip->daddr, (__be32)udp->source | (__be32)udp->dest << 16};
  if (udp->check != 0) {  // zero: the sender computed no checksum (RFC 768)
    __s64 sum = bpf_csum_diff(from, sizeof(from), to, sizeof(to), (__u16)~udp->check);
    __u16 check = (__u16)~csum_fold((__u32)sum);
    udp->check = check ? check : 0xffff;  // RFC 768: a computed zero is sent as all ones
  }
  return total(RW_UDP_REFLECTED, XDP_TX);
}

static __always_inline int reflect_echo(struct iphdr* ip, struct icmp_echo* icmp) {
  reflect_ipv4(ip);
  __u16 old_word = *(__u16*)&icmp->type;  // type and code
  icmp->type = ICMP_ECHO_REPLY;
  icmp->checksum = csum_replace2(icmp->checksum, old_word, *(__u16*)&icmp->type);
  return total(RW_ICMP_REFLECTED, XDP_TX);
}

SEC("xdp")
int xdp_rewriter(struct xdp_md* ctx) {
  struct cursor c = cursor_of(ctx);
  __be16 proto;
  __u16 vlan_id;
  struct ethhdr* eth = parse_eth(&c, &proto, &vlan_id);
  if (!eth || proto != bpf_htons(ETH_P_IP)) return total(RW_PASSED, XDP_PASS);
  struct iphdr* ip = parse_ipv4(&c);
  // A fragment's transport header is in the first one only, and its checksum covers them all.
  if (!ip || (ip->frag_off & bpf_htons(0x3fff))) return total(RW_PASSED, XDP_PASS);
  if (ip->protocol == IPPROTO_UDP) {
    struct udphdr* udp = cursor_take(&c, sizeof(*udp));
    if (!udp) return total(RW_PASSED, XDP_PASS);
    swap_macs(eth);
    return reflect_udp(ip, udp);
  }
  if (ip->protocol == IPPROTO_ICMP) {
    struct icmp_echo* icmp = cursor_take(&c, sizeof(*icmp));
    if (!icmp || icmp->type != ICMP_ECHO_REQUEST) return total(RW_PASSED, XDP_PASS);
    swap_macs(eth);
    return reflect_echo(ip, icmp);
  }
  return total(RW_PASSED, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// Packet parsing shared by the XDP examples (examples/bpf/xdp_*.bpf.c): a cursor that moves
// forward through the packet only after a bounds check against data_end that the verifier can
// follow, the Ethernet header with up to two 802.1Q / 802.1ad VLAN tags, the IPv4 header (with
// options) and the fixed IPv6 header, and the ones' complement checksum arithmetic of RFC 1071
// with the incremental update of RFC 1624. Everything is __always_inline: the examples keep
// packet pointers in registers, which the verifier tracks only within one function.
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// struct vlan_hdr is kernel-internal (linux/if_vlan.h); this is its wire layout.
struct vlan_tag {
  __be16 tci;    // priority, drop eligible, VLAN id
  __be16 proto;  // the EtherType that follows the tag
};

// The first 8 bytes of an ICMP (RFC 792) or ICMPv6 (RFC 4443) message, laid out as an echo
// request or reply. linux/icmp.h drags in libc's socket headers, which do not build for BPF.
struct icmp_echo {
  __u8 type;
  __u8 code;
  __sum16 checksum;
  __be16 id;
  __be16 sequence;
};

enum {
  ICMP_ECHO_REPLY = 0,
  ICMP_ECHO_REQUEST = 8,
  ICMP6_ECHO_REQUEST = 128,
  ICMP6_ECHO_REPLY = 129,
};

struct cursor {
  void* pos;
  void* end;
};

static __always_inline struct cursor cursor_of(struct xdp_md* ctx) {
  struct cursor c = {(void*)(long)ctx->data, (void*)(long)ctx->data_end};
  return c;
}

// The next `len` bytes, or NULL when the packet is shorter.
static __always_inline void* cursor_take(struct cursor* c, __u32 len) {
  void* p = c->pos;
  if (p + len > c->end) return NULL;
  c->pos = p + len;
  return p;
}

// The Ethernet header; skips up to two VLAN tags (QinQ) and stores the EtherType after them
// (network byte order) and the innermost VLAN id (0 when untagged).
static __always_inline struct ethhdr* parse_eth(struct cursor* c, __be16* proto, __u16* vlan_id) {
  struct ethhdr* eth = cursor_take(c, sizeof(*eth));
  if (!eth) return NULL;
  __be16 type = eth->h_proto;
  __u16 vid = 0;
#pragma unroll
  for (int i = 0; i < 2; i++) {
    if (type != bpf_htons(ETH_P_8021Q) && type != bpf_htons(ETH_P_8021AD)) break;
    struct vlan_tag* tag = cursor_take(c, sizeof(*tag));
    if (!tag) return NULL;
    vid = bpf_ntohs(tag->tci) & 0x0fff;
    type = tag->proto;
  }
  *proto = type;
  *vlan_id = vid;
  return eth;
}

// The IPv4 header, options skipped; NULL when truncated or not a valid version 4 header
// (RFC 791: IHL is at least 5 words).
static __always_inline struct iphdr* parse_ipv4(struct cursor* c) {
  struct iphdr* ip = c->pos;
  if ((void*)(ip + 1) > c->end) return NULL;
  __u32 len = ip->ihl * 4;
  if (ip->version != 4 || len < sizeof(*ip)) return NULL;
  if (!cursor_take(c, len)) return NULL;
  return ip;
}

// The fixed IPv6 header (extension headers are not walked: callers key on its nexthdr).
static __always_inline struct ipv6hdr* parse_ipv6(struct cursor* c) {
  struct ipv6hdr* ip6 = cursor_take(c, sizeof(*ip6));
  if (!ip6 || ip6->version != 6) return NULL;
  return ip6;
}

// A fragment other than the first carries no transport header (RFC 791: offset != 0).
static __always_inline int ipv4_is_later_fragment(const struct iphdr* ip) {
  return (ip->frag_off & bpf_htons(0x1fff)) != 0;
}

// A 32-bit ones' complement sum folded to 16 bits (not complemented).
static __always_inline __u16 csum_fold(__u32 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)sum;
}

// RFC 1624, eqn. 3: the checksum after one 16-bit word changed from `old` to `new`,
// HC' = ~(~HC + ~m + m'). The words are as stored in the packet; ones' complement sums do not
// depend on byte order (RFC 1071, 2.(B)).
static __always_inline __u16 csum_replace2(__u16 check, __u16 old, __u16 new) {
  __u32 sum = (__u16)~check + (__u16)~old + (__u32) new;
  return (__u16)~csum_fold(sum);
}

static __always_inline __u16 csum_replace4(__u16 check, __u32 old, __u32 new) {
  check = csum_replace2(check, (__u16)(old >> 16), (__u16)(new >> 16));
  return csum_replace2(check, (__u16)old, (__u16) new);
}

// The IPv4 header checksum of a 20-byte header whose check field is zero (RFC 791).
static __always_inline __u16 ipv4_header_csum(const struct iphdr* ip) {
  const __u16* words = (const __u16*)ip;
  __u32 sum = 0;
#pragma unroll
  for (int i = 0; i < (int)(sizeof(*ip) / 2); i++) sum += words[i];
  return (__u16)~csum_fold(sum);
}

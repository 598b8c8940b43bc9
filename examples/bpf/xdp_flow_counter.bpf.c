// SPDX-License-Identifier: MIT
// Example: a flow exporter's first stage. Every packet is counted against its flow, the 5-tuple
// (addresses, transport protocol, ports) of IPv4 or IPv6 TCP, UDP, ICMP or ICMPv6, so that a
// collector reads one small summary per flow instead of every packet: aggregate where the
// packets are, export the summary. Every packet passes (XDP_PASS); the program only watches.
//
// Maps:
//   flows    HASH  struct flow_key -> struct flow_stats {packets, bytes, TCP flags seen}
//   totals   ARRAY enum flow_total -> u64
//
// The key also holds the innermost VLAN id. ICMP has no ports: sport holds the echo identifier
// (0 for other messages) and dport type * 256 + code, as IPFIX's icmpTypeCodeIPv4 element does.
// Later IPv4 fragments carry no transport header and count with ports 0; IPv6 extension headers
// are not walked (the flow's protocol is the first next header). A full table counts
// FLOW_TABLE_FULL rather than evicting: HASH, not LRU_HASH, so that the same packets give the
// same table in every runtime.
#include <linux/tcp.h>
#include <linux/udp.h>

#include "xdp_parsing.h"

#define EEXIST_ERRNO 17  // <errno.h> is not for the BPF target

// The 5-tuple, plus the VLAN: the same addresses in two VLANs are two networks.
struct flow_key {
  __u8 family;  // 4 or 6
  __u8 proto;   // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6, or another
  __be16 sport;
  __be16 dport;
  __u16 vlan_id;
  __u8 saddr[16];  // IPv4: the first 4 bytes
  __u8 daddr[16];
};

struct flow_stats {
  __u64 packets;
  __u64 bytes;      // Ethernet frames, headers included
  __u32 tcp_flags;  // every TCP flag seen (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, ...)
  __u32 pad;
};

enum flow_total {
  FLOW_PACKETS,
  FLOW_NOT_IP,      // counted here only
  FLOW_MALFORMED,   // truncated headers: counted here only
  FLOW_TABLE_FULL,  // a new flow that found the table full
  FLOW_TOTALS,
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, struct flow_key);
  __type(value, struct flow_stats);
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, FLOW_TOTALS);
  __type(key, __u32);
  __type(value, __u64);
} totals SEC(".maps");

static __always_inline int total(enum flow_total which) {
  __u32 key = which;
  __u64* n = bpf_map_lookup_elem(&totals, &key);
  if (n) __sync_fetch_and_add(n, 1);
  return XDP_PASS;
}

// Ports (or ICMP identifier and type/code) and TCP flags from the transport header at `c`.
// Returns -1 when the header is truncated.
static __always_inline int parse_ports(struct cursor* c, struct flow_key* key, __u32* flags) {
  if (key->proto == IPPROTO_TCP) {
    struct tcphdr* tcp = cursor_take(c, sizeof(*tcp));
    if (!tcp) return -1;
    key->sport = tcp->source;
    key->dport = tcp->dest;
    *flags = ((__u8*)tcp)[13];  // the flag byte: CWR ECE URG ACK PSH RST SYN FIN
  } else if (key->proto == IPPROTO_UDP) {
    struct udphdr* udp = cursor_take(c, sizeof(*udp));
    if (!udp) return -1;
    key->sport = udp->source;
    key->dport = udp->dest;
  } else if (key->proto == IPPROTO_ICMP || key->proto == IPPROTO_ICMPV6) {
    struct icmp_echo* icmp = cursor_take(c, sizeof(*icmp));
    if (!icmp) return -1;
    __u8 type = icmp->type;
    int echo = key->proto == IPPROTO_ICMP ? type == ICMP_ECHO_REQUEST || type == ICMP_ECHO_REPLY
                                          : type == ICMP6_ECHO_REQUEST || type == ICMP6_ECHO_REPLY;
    key->sport = echo ? icmp->id : 0;
    key->dport = bpf_htons((__u16)type << 8 | icmp->code);
  }
  return 0;
}

static __always_inline void account(struct flow_key* key, __u32 flags, __u64 bytes) {
  struct flow_stats* s = bpf_map_lookup_elem(&flows, key);
  if (!s) {
    struct flow_stats fresh = {1, bytes, flags, 0};
    long err = bpf_map_update_elem(&flows, key, &fresh, BPF_NOEXIST);
    if (err == 0) return;
    if (err != -EEXIST_ERRNO) {  // EEXIST: another CPU added it meanwhile; count into that one
      total(FLOW_TABLE_FULL);
      return;
    }
    s = bpf_map_lookup_elem(&flows, key);
    if (!s) return;
  }
  __sync_fetch_and_add(&s->packets, 1);
  __sync_fetch_and_add(&s->bytes, bytes);
  // A lost race only loses a flag bit another CPU set at the same moment: a summary, not a log.
  s->tcp_flags |= flags;
}

static __always_inline int l3_ipv4(struct cursor* c, struct flow_key* key) {
  struct iphdr* ip = parse_ipv4(c);
  if (!ip) return -1;
  key->family = 4;
  key->proto = ip->protocol;
  __builtin_memcpy(key->saddr, &ip->saddr, 4);
  __builtin_memcpy(key->daddr, &ip->daddr, 4);
  return ipv4_is_later_fragment(ip);  // 1: no transport header follows
}

static __always_inline int l3_ipv6(struct cursor* c, struct flow_key* key) {
  struct ipv6hdr* ip6 = parse_ipv6(c);
  if (!ip6) return -1;
  key->family = 6;
  key->proto = ip6->nexthdr;
  __builtin_memcpy(key->saddr, &ip6->saddr, 16);
  __builtin_memcpy(key->daddr, &ip6->daddr, 16);
  return 0;
}

SEC("xdp")
int xdp_flow_counter(struct xdp_md* ctx) {
  total(FLOW_PACKETS);
  struct cursor c = cursor_of(ctx);
  struct flow_key key = {};
  __be16 proto;
  if (!parse_eth(&c, &proto, &key.vlan_id)) return total(FLOW_MALFORMED);
  int l3;
  if (proto == bpf_htons(ETH_P_IP))
    l3 = l3_ipv4(&c, &key);
  else if (proto == bpf_htons(ETH_P_IPV6))
    l3 = l3_ipv6(&c, &key);
  else
    return total(FLOW_NOT_IP);
  if (l3 < 0) return total(FLOW_MALFORMED);
  __u32 flags = 0;
  if (l3 == 0 && parse_ports(&c, &key, &flags) < 0) return total(FLOW_MALFORMED);
  account(&key, flags, ctx->data_end - ctx->data);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

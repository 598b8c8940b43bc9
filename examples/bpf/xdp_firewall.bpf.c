// SPDX-License-Identifier: MIT
// Example: an XDP source-address firewall. Each packet is parsed (Ethernet, up to two VLAN
// tags, IPv4 or IPv6); its source address is looked up in a blocklist of prefixes, and a match
// (longest prefix wins) is dropped. Truncated or malformed IP headers are dropped too; other
// traffic (ARP, ...) passes.
//
// Maps:
//   blocklist_v4  LPM_TRIE {u32 prefixlen; be32 addr}        -> u64 packets dropped by the rule
//   blocklist_v6  LPM_TRIE {u32 prefixlen; u8 addr[16]}      -> u64 packets dropped by the rule
//   verdicts      ARRAY    enum fw_counter                   -> {u64 packets; u64 bytes}
//
// The host fills the blocklists (examples/data/firewall-blocklist.json, in the shape
// `pollen test-run --maps-in` reads). So that the example also works where nobody fills them,
// the first packet adds the built-in rules below (.rodata, BPF_NOEXIST: host rules and their
// counters stay); a loader can clear `builtin_rules` to turn that off. The built-in rules are
// the prefixes that tools/pcapgen sends blocked traffic from.
#include "xdp_parsing.h"

struct v4_key {
  __u32 prefixlen;
  __be32 addr;
};

struct v6_key {
  __u32 prefixlen;
  __u8 addr[16];
};

enum fw_counter {
  FW_PASS_IPV4,
  FW_PASS_IPV6,
  FW_PASS_OTHER,  // not IP: ARP, LLDP, ...
  FW_DROP_BLOCKED_IPV4,
  FW_DROP_BLOCKED_IPV6,
  FW_DROP_MALFORMED,  // truncated Ethernet, VLAN or IP header, or a wrong IP version
  FW_COUNTERS,
};

struct counter {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1024);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct v4_key);
  __type(value, __u64);
} blocklist_v4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1024);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct v6_key);
  __type(value, __u64);
} blocklist_v6 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, FW_COUNTERS);
  __type(key, __u32);
  __type(value, struct counter);
} verdicts SEC(".maps");

// Configuration (.rodata): whether the first packet adds the built-in rules, and the rules:
// 192.0.2.0/24 (TEST-NET-1), 198.18.0.0/15 (benchmarking), 203.0.113.66/32 and
// 2001:db8:dead::/48, all documentation or benchmarking ranges.
const volatile __u8 builtin_rules = 1;
struct builtin_v4_rule {
  __u32 prefixlen;
  __u8 addr[4];
};
const volatile struct builtin_v4_rule builtin_v4[3] = {
    {24, {192, 0, 2, 0}},
    {15, {198, 18, 0, 0}},
    {32, {203, 0, 113, 66}},
};
const volatile __u8 builtin_v6_addr[16] = {0x20, 0x01, 0x0d, 0xb8, 0xde, 0xad};
const volatile __u32 builtin_v6_len = 48;

__u8 builtin_done;  // .bss: the built-in rules were added

static __attribute__((noinline)) void add_builtin_rules(void) {
  __u64 zero = 0;
  for (int i = 0; i < 3; i++) {
    struct v4_key key = {.prefixlen = builtin_v4[i].prefixlen};
    __u8* addr = (__u8*)&key.addr;
    for (int j = 0; j < 4; j++) addr[j] = builtin_v4[i].addr[j];
    bpf_map_update_elem(&blocklist_v4, &key, &zero, BPF_NOEXIST);
  }
  struct v6_key key6 = {.prefixlen = builtin_v6_len};
  for (int i = 0; i < 16; i++) key6.addr[i] = builtin_v6_addr[i];
  bpf_map_update_elem(&blocklist_v6, &key6, &zero, BPF_NOEXIST);
  builtin_done = 1;
}

static __always_inline int count(enum fw_counter which, struct xdp_md* ctx, int verdict) {
  __u32 key = which;
  struct counter* c = bpf_map_lookup_elem(&verdicts, &key);
  if (c) {
    __sync_fetch_and_add(&c->packets, 1);
    __sync_fetch_and_add(&c->bytes, ctx->data_end - ctx->data);
  }
  return verdict;
}

// A matched rule counts the drop in its own value.
static __always_inline int blocked(__u64* rule_hits) {
  if (!rule_hits) return 0;
  __sync_fetch_and_add(rule_hits, 1);
  return 1;
}

static __always_inline int check_ipv4(struct cursor* c, struct xdp_md* ctx) {
  struct iphdr* ip = parse_ipv4(c);
  if (!ip) return count(FW_DROP_MALFORMED, ctx, XDP_DROP);
  struct v4_key key = {32, ip->saddr};
  if (blocked(bpf_map_lookup_elem(&blocklist_v4, &key)))
    return count(FW_DROP_BLOCKED_IPV4, ctx, XDP_DROP);
  return count(FW_PASS_IPV4, ctx, XDP_PASS);
}

static __always_inline int check_ipv6(struct cursor* c, struct xdp_md* ctx) {
  struct ipv6hdr* ip6 = parse_ipv6(c);
  if (!ip6) return count(FW_DROP_MALFORMED, ctx, XDP_DROP);
  struct v6_key key = {.prefixlen = 128};
  __builtin_memcpy(key.addr, &ip6->saddr, sizeof(key.addr));
  if (blocked(bpf_map_lookup_elem(&blocklist_v6, &key)))
    return count(FW_DROP_BLOCKED_IPV6, ctx, XDP_DROP);
  return count(FW_PASS_IPV6, ctx, XDP_PASS);
}

SEC("xdp")
int xdp_firewall(struct xdp_md* ctx) {
  if (builtin_rules && !builtin_done) add_builtin_rules();
  struct cursor c = cursor_of(ctx);
  __be16 proto;
  __u16 vlan_id;
  if (!parse_eth(&c, &proto, &vlan_id)) return count(FW_DROP_MALFORMED, ctx, XDP_DROP);
  if (proto == bpf_htons(ETH_P_IP)) return check_ipv4(&c, ctx);
  if (proto == bpf_htons(ETH_P_IPV6)) return check_ipv6(&c, ctx);
  return count(FW_PASS_OTHER, ctx, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";

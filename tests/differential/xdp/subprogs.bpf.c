// SPDX-License-Identifier: MIT
// bpf-to-bpf calls: an ICMP echo responder built from static subprograms (parse, swap the MAC
// and IP addresses, turn the request into a reply with an incrementally updated checksum) and
// one global function, verified on its own, that counts replies by the request's identifier.
#include "xdp_common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u16);
  __type(value, __u64);
} replies SEC(".maps");

static __noinline struct icmp_echo* parse_echo(struct xdp_md* ctx, struct iphdr** ip_out) {
  void* pos = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = CURSOR_TAKE(pos, end, struct ethhdr);
  if (!eth || eth->h_proto != bpf_htons(ETH_P_IP)) return NULL;
  struct iphdr* ip = CURSOR_TAKE(pos, end, struct iphdr);
  if (!ip || ip->ihl != 5 || ip->protocol != IPPROTO_ICMP) return NULL;
  struct icmp_echo* icmp = CURSOR_TAKE(pos, end, struct icmp_echo);
  if (!icmp || icmp->type != ICMP_ECHO || icmp->code != 0) return NULL;
  *ip_out = ip;
  return icmp;
}

static __noinline void swap_macs(struct ethhdr* eth) {
  __u8 tmp[ETH_ALEN];
  __builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

static __noinline void swap_ips(struct iphdr* ip) {
  __be32 tmp = ip->saddr;
  ip->saddr = ip->daddr;
  ip->daddr = tmp;
}

// RFC 1624: the checksum after one 16-bit word changes from `from` to `to`.
static __noinline __u16 csum_replace(__u16 check, __u16 from, __u16 to) {
  __u32 sum = (__u16)~check + (__u16)~from + to;
  return csum_fold(sum);
}

__noinline int count_reply(__u16 id) {
  __u64 one = 1;
  __u64* n = bpf_map_lookup_elem(&replies, &id);
  if (n) {
    __sync_fetch_and_add(n, 1);
    return 0;
  }
  return bpf_map_update_elem(&replies, &id, &one, BPF_NOEXIST);
}

SEC("xdp")
int echo_reply(struct xdp_md* ctx) {
  struct iphdr* ip = NULL;
  struct icmp_echo* icmp = parse_echo(ctx, &ip);
  if (!icmp || !ip) return XDP_PASS;
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_PASS;
  swap_macs(eth);
  swap_ips(ip);
  __u16 old_word = *(__u16*)icmp;
  icmp->type = ICMP_ECHOREPLY;
  icmp->checksum = csum_replace(icmp->checksum, old_word, *(__u16*)icmp);
  count_reply(bpf_ntohs(icmp->id));
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

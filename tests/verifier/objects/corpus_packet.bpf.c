// SPDX-License-Identifier: MIT
// Verdict corpus, packets: XDP parsers and rewriters as libbpf users write them (Ethernet,
// VLAN tags, IPv4 with options, UDP and TCP; MAC swaps, TTL and address rewrites with their
// checksums, encapsulation through bpf_xdp_adjust_head, redirects through a devmap) and a
// socket filter that reads the __sk_buff, every one accepted by Linux.
#include "corpus_common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u16);
  __type(value, __u64);
} port_hits SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
} tx_ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} proto_bytes SEC(".maps");

// Ethernet, IPv4 with options (the header length read from the packet), UDP; counts hits by
// destination port.
// expect: accept
SEC("xdp")
int parse_udp_ports(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end) return XDP_PASS;
  __u32 hlen = ip->ihl * 4;
  if (hlen < sizeof(*ip)) return XDP_DROP;
  if (ip->protocol != IPPROTO_UDP) return XDP_PASS;
  struct udphdr* udp = (void*)ip + hlen;
  if ((void*)(udp + 1) > end) return XDP_PASS;
  __u16 port = bpf_ntohs(udp->dest);
  __u64* hits = bpf_map_lookup_elem(&port_hits, &port);
  if (hits) {
    __sync_fetch_and_add(hits, 1);
  } else {
    __u64 one = 1;
    bpf_map_update_elem(&port_hits, &port, &one, BPF_NOEXIST);
  }
  return XDP_PASS;
}

// Sends the frame back where it came from: the MAC addresses swapped.
// expect: accept
SEC("xdp")
int swaps_macs(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_DROP;
  unsigned char tmp[ETH_ALEN];
  __builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
  return XDP_TX;
}

// Decrements the TTL and updates the header checksum incrementally (RFC 1624).
// expect: accept
SEC("xdp")
int decrements_ttl(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = data + sizeof(*eth);
  if ((void*)(ip + 1) > end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  if (ip->ttl <= 1) return XDP_DROP;
  __u32 sum = (__u16)~ip->check;
  sum += (__u16)~bpf_htons(ip->ttl << 8);
  ip->ttl--;
  sum += bpf_htons(ip->ttl << 8);
  ip->check = csum_fold(sum);
  return XDP_PASS;
}

// Rewrites the destination address and fixes the IPv4 and UDP checksums with bpf_csum_diff.
// expect: accept
SEC("xdp")
int rewrites_destination(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = data + sizeof(*eth);
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
    return XDP_PASS;
  __be32 from = ip->daddr, to = bpf_htonl(0x0a000002);
  __s64 diff = bpf_csum_diff(&from, sizeof(from), &to, sizeof(to), (__u16)~ip->check);
  if (diff < 0) return XDP_ABORTED;
  ip->daddr = to;
  ip->check = csum_fold((__u32)diff);
  if (udp->check) {
    diff = bpf_csum_diff(&from, sizeof(from), &to, sizeof(to), (__u16)~udp->check);
    if (diff < 0) return XDP_ABORTED;
    udp->check = csum_fold((__u32)diff);
  }
  return XDP_TX;
}

// Skips up to two VLAN tags in a loop the compiler keeps.
// expect: accept
SEC("xdp")
int skips_vlan_tags(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_DROP;
  void* pos = eth + 1;
  __be16 proto = eth->h_proto;
  NO_UNROLL
  for (int i = 0; i < 2; i++) {
    if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD)) break;
    struct vlan_tag* tag = pos;
    if ((void*)(tag + 1) > end) return XDP_DROP;
    proto = tag->proto;
    pos = tag + 1;
  }
  return proto == bpf_htons(ETH_P_IP) ? XDP_PASS : XDP_DROP;
}

// TCP behind an IPv4 header: the data offset read from the packet, SYNs with a payload dropped.
// expect: accept
SEC("xdp")
int filters_tcp_syn(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_TCP) return XDP_PASS;
  __u32 ihl = ip->ihl * 4;
  if (ihl < sizeof(*ip) || ihl > 60) return XDP_DROP;
  struct tcphdr* tcp = (void*)ip + ihl;
  if ((void*)(tcp + 1) > end) return XDP_PASS;
  __u32 doff = tcp->doff * 4;
  if (doff < sizeof(*tcp)) return XDP_DROP;
  void* payload = (void*)tcp + doff;
  if (tcp->syn && !tcp->ack && payload < end) return XDP_DROP;
  return XDP_PASS;
}

// Puts an IPv4-in-IPv4 header in front of the packet: bpf_xdp_adjust_head, then every pointer
// loaded and checked again.
// expect: accept
SEC("xdp")
int encapsulates_ipip(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* inner = (void*)(eth + 1);
  if ((void*)(inner + 1) > end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  __u16 inner_len = bpf_ntohs(inner->tot_len);
  if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr))) return XDP_ABORTED;
  data = (void*)(long)ctx->data;
  end = (void*)(long)ctx->data_end;
  struct ethhdr* new_eth = data;
  struct ethhdr* old_eth = data + sizeof(struct iphdr);
  struct iphdr* outer = (void*)(new_eth + 1);
  if ((void*)(outer + 1) > end || (void*)(old_eth + 1) > end) return XDP_ABORTED;
  __builtin_memcpy(new_eth, old_eth, sizeof(*new_eth));
  outer->version = 4;
  outer->ihl = 5;
  outer->tos = 0;
  outer->tot_len = bpf_htons(inner_len + sizeof(*outer));
  outer->id = 0;
  outer->frag_off = 0;
  outer->ttl = 64;
  outer->protocol = IPPROTO_IPIP;
  outer->saddr = bpf_htonl(0xc0a80001);
  outer->daddr = bpf_htonl(0xc0a80002);
  outer->check = 0;
  __u32 sum = 0;
  __u16* words = (__u16*)outer;
  NO_UNROLL
  for (int i = 0; i < (int)sizeof(*outer) / 2; i++) sum += words[i];
  outer->check = csum_fold(sum);
  return XDP_TX;
}

// Verifies the IPv4 header checksum, a word at a time over a header without options.
// expect: accept
SEC("xdp")
int checks_ip_checksum(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct iphdr* ip = data + sizeof(struct ethhdr);
  if ((void*)(ip + 1) > end) return XDP_PASS;
  if (ip->ihl != 5) return XDP_PASS;
  __u32 sum = 0;
  __u16* words = (__u16*)ip;
  NO_UNROLL
  for (__u32 i = 0; i < sizeof(*ip) / 2; i++) sum += words[i];
  return csum_fold(sum) == 0 ? XDP_PASS : XDP_DROP;
}

// Sends IPv4 out of the port a devmap names, by the last byte of the destination.
// expect: accept
SEC("xdp")
int redirects_by_address(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  __u32 port = bpf_ntohl(ip->daddr) & 7;
  return bpf_redirect_map(&tx_ports, port, XDP_PASS);
}

// Hashes the first 64 bytes of payload, each byte checked against the end.
// expect: accept
SEC("xdp")
int hashes_payload(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u8* payload = data + sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr);
  __u32 hash = 2166136261u;
  NO_UNROLL
  for (int i = 0; i < 64; i++) {
    if ((void*)(payload + i + 1) > end) break;
    hash = (hash ^ payload[i]) * 16777619u;
  }
  return hash & 1 ? XDP_DROP : XDP_PASS;
}

// A socket filter: bytes by protocol in a per-CPU array, the packet kept or cut.
// expect: accept
SEC("socket")
int counts_protocols(struct __sk_buff* skb) {
  __u32 key = skb->protocol == bpf_htons(ETH_P_IP)     ? 0
              : skb->protocol == bpf_htons(ETH_P_IPV6) ? 1
                                                       : 2;
  __u64* bytes = bpf_map_lookup_elem(&proto_bytes, &key);
  if (bytes) *bytes += skb->len;
  skb->cb[0] = key;
  return skb->len > 1500 ? 0 : skb->len;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// bench_compare's checksum loop: checks the IPv4 header checksum (RFC 1071, a loop over the
// header's 16-bit words), then computes the UDP checksum over the pseudo-header, the UDP header
// and the payload, one 16-bit word per iteration, and writes it into the packet, as a program
// that rewrites a datagram and cannot use an incremental update would. The stored checksum is
// left out of the sum, so running again on the program's own output gives the same packet.
// A bad IPv4 header checksum drops the packet.
#include "../compare.h"

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#define MAX_UDP_WORDS 750  // a 1500-byte datagram

static __always_inline __u16 fold(__u64 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)sum;
}

SEC("xdp")
int xdp_checksum(struct xdp_md* ctx) {
  void* data = XDP_DATA(ctx);
  void* data_end = XDP_DATA_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl != 5) return XDP_PASS;

  __u64 sum = 0;
  __u16* word = (__u16*)ip;
#pragma clang loop unroll(disable)
  for (int i = 0; i < 10; i++) sum += word[i];
  if (fold(sum) != 0xffff) return XDP_DROP;

  if (ip->protocol != IPPROTO_UDP) return XDP_PASS;
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > data_end) return XDP_PASS;
  __u32 udp_len = bpf_ntohs(udp->len);
  if (udp_len < sizeof(*udp) || (void*)udp + udp_len > data_end) return XDP_DROP;

  // The pseudo-header: addresses, protocol, UDP length; then the datagram but its checksum.
  sum = (ip->saddr & 0xffff) + (ip->saddr >> 16) + (ip->daddr & 0xffff) + (ip->daddr >> 16) +
        bpf_htons(IPPROTO_UDP) + udp->len;
  sum += udp->source + udp->dest + udp->len;
  __u8* p = (__u8*)(udp + 1);
  __u32 left = udp_len - sizeof(*udp);
  for (int i = 0; i < MAX_UDP_WORDS; i++) {
    if (left < 2 || (void*)(p + 2) > data_end) break;
    sum += *(__u16*)p;
    p += 2;
    left -= 2;
  }
  if (left == 1 && (void*)(p + 1) <= data_end) sum += bpf_htons((__u16)(*p << 8));
  __u16 csum = ~fold(sum);
  udp->check = csum ? csum : 0xffff;  // 0 would mean "no checksum"
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// bench_compare's bpf-to-bpf calls: a load balancer's backend choice by rendezvous hashing.
// For each of 8 backends, a score is computed from the flow's 4-tuple and the backend's id by
// a hash function (jhash's final mix, as Katran uses) that is a real BPF function, not inlined
// (__noinline), called through another one; the backend with the highest score gets the
// packet: its MAC address goes into the frame and the frame is sent back out (XDP_TX). The
// parsing is a function of its own too.
#include "../compare.h"

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#define BACKENDS 8

struct tuple {
  __u32 saddr;
  __u32 daddr;
  __u32 ports;
};

static __always_inline __u32 rol32(__u32 word, unsigned int shift) {
  return (word << shift) | (word >> ((-shift) & 31));
}

// jhash's __jhash_final(a, b, c), returning c.
static __noinline __u32 mix3(__u32 a, __u32 b, __u32 c) {
  c ^= b;
  c -= rol32(b, 14);
  a ^= c;
  a -= rol32(c, 11);
  b ^= a;
  b -= rol32(a, 25);
  c ^= b;
  c -= rol32(b, 16);
  a ^= c;
  a -= rol32(c, 4);
  b ^= a;
  b -= rol32(a, 14);
  c ^= b;
  c -= rol32(b, 24);
  return c;
}

static __noinline __u32 score(__u32 saddr, __u32 daddr, __u32 ports, __u32 backend) {
  __u32 seed = 0xdeadbeef + backend * 0x9e3779b9;
  return mix3(saddr + seed, daddr + seed, mix3(ports, backend, seed));
}

// The 4-tuple of an IPv4 TCP or UDP packet; -1 for anything else.
static __noinline int parse(struct xdp_md* ctx, struct tuple* t) {
  void* data = XDP_DATA(ctx);
  void* data_end = XDP_DATA_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return -1;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return -1;
  if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) return -1;
  struct udphdr* l4 = (void*)ip + ip->ihl * 4;
  if ((void*)(l4 + 1) > data_end) return -1;
  t->saddr = ip->saddr;
  t->daddr = ip->daddr;
  t->ports = (__u32)l4->source << 16 | l4->dest;
  return 0;
}

SEC("xdp")
int xdp_bpf_calls(struct xdp_md* ctx) {
  struct tuple t;
  if (parse(ctx, &t) < 0) return XDP_PASS;
  __u32 best = 0, best_score = 0;
  for (__u32 b = 0; b < BACKENDS; b++) {
    __u32 s = score(t.saddr, t.daddr, t.ports, b);
    if (s > best_score) {
      best = b;
      best_score = s;
    }
  }
  void* data = XDP_DATA(ctx);
  void* data_end = XDP_DATA_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  // The backends' MAC addresses are 02:00:00:00:01:<index>; the reply comes from us.
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  eth->h_dest[0] = 0x02;
  eth->h_dest[1] = 0;
  eth->h_dest[2] = 0;
  eth->h_dest[3] = 0;
  eth->h_dest[4] = 1;
  eth->h_dest[5] = best;
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

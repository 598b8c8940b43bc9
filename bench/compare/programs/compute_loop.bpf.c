// SPDX-License-Identifier: MIT
// bench_compare's compute loop: the Toeplitz hash that NICs use for receive-side scaling
// (Microsoft's RSS specification, with its default 40-byte key), computed bit by bit over the
// IPv4 4-tuple (addresses, then ports, in network order), as a software RSS program spreading
// flows over CPUs does. It counts packets per queue (hash mod 16) in an ARRAY map, with the
// last hash seen. Every packet passes.
#include "../compare.h"

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#define QUEUES 16

struct queue_stats {
  __u64 packets;
  __u32 last_hash;
  __u32 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, QUEUES);
  __type(key, __u32);
  __type(value, struct queue_stats);
} rss_queues SEC(".maps");

// A global, not const: user space may set its own key (and the kernel's verifier would
// otherwise follow every combination of key bits XORed into the hash).
__u8 rss_key[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

// For each input bit, most significant first: when it is set, XOR in the 32 key bits that
// start at the same bit position. `window` holds the next 64 key bits.
static __always_inline __u32 toeplitz(const __u8* input, int len) {
  __u64 window = 0;
  for (int i = 0; i < 8; i++) window = window << 8 | rss_key[i];
  __u32 hash = 0;
  for (int i = 0; i < len; i++) {
    __u8 byte = input[i];
    for (int bit = 0; bit < 8; bit++) {
      if (byte & 0x80) hash ^= (__u32)(window >> 32);
      window <<= 1;
      byte <<= 1;
    }
    window |= rss_key[i + 8];
  }
  return hash;
}

SEC("xdp")
int xdp_compute_loop(struct xdp_md* ctx) {
  void* data = XDP_DATA(ctx);
  void* data_end = XDP_DATA_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_PASS;
  __u8 input[12];
  __builtin_memcpy(input, &ip->saddr, 8);
  int len = 8;
  if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
    struct udphdr* l4 = (void*)ip + ip->ihl * 4;
    if ((void*)(l4 + 1) > data_end) return XDP_PASS;
    __builtin_memcpy(input + 8, l4, 4);  // source and destination ports
    len = 12;
  }
  __u32 hash = toeplitz(input, len);
  __u32 queue = hash % QUEUES;
  struct queue_stats* stats = bpf_map_lookup_elem(&rss_queues, &queue);
  if (stats) {
    stats->packets++;
    stats->last_hash = hash;
  }
  return XDP_PASS;
}

COMPARE_EXPORT_MAP(rss_queues);

char LICENSE[] SEC("license") = "GPL";

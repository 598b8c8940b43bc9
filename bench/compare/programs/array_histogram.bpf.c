// SPDX-License-Identifier: MIT
// bench_compare's array histogram: the distribution of the UDP payload's byte values, 16
// buckets of 16 values each in an ARRAY map, one lookup and increment per payload byte, as a
// DDoS detector estimates a payload's entropy; plus a histogram of frame sizes in powers of
// two. Every packet passes.
#include "../compare.h"

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#define MAX_PAYLOAD 512

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} byte_histogram SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 12);
  __type(key, __u32);
  __type(value, __u64);
} size_histogram SEC(".maps");

SEC("xdp")
int xdp_array_histogram(struct xdp_md* ctx) {
  void* data = XDP_DATA(ctx);
  void* data_end = XDP_DATA_END(ctx);
  __u32 size = data_end - data;
  __u32 order = 0;
  while (order < 11 && (64u << order) <= size) order++;
  __u64* n = bpf_map_lookup_elem(&size_histogram, &order);
  if (n) *n += 1;

  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP) return XDP_PASS;
  struct udphdr* udp = (void*)ip + ip->ihl * 4;
  if ((void*)(udp + 1) > data_end) return XDP_PASS;
  __u8* p = (__u8*)(udp + 1);
  for (int i = 0; i < MAX_PAYLOAD; i++) {
    barrier_var(p);  // keeps clang from checking one register and loading through another
    if ((void*)(p + 1) > data_end) break;
    __u32 bucket = *p >> 4;
    p++;
    n = bpf_map_lookup_elem(&byte_histogram, &bucket);
    if (n) *n += 1;
  }
  return XDP_PASS;
}

COMPARE_EXPORT_MAP(byte_histogram);
COMPARE_EXPORT_MAP(size_histogram);

char LICENSE[] SEC("license") = "GPL";

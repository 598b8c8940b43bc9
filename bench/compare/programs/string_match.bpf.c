// SPDX-License-Identifier: MIT
// bench_compare's string matching: an intrusion-detection signature scan. Every position of
// the UDP payload is compared with each signature, byte by byte with an early exit, the way a
// first XDP filter does before handing suspects to a real IDS. Each match counts in an ARRAY
// map (one counter per signature) and drops the packet; the scan goes on to the end.
#include "../compare.h"

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#define MAX_SCAN 128  // bytes of payload scanned
#define SIGNATURES 4
#define SIGNATURE_MAX 12

struct signature {
  __u8 len;
  char bytes[SIGNATURE_MAX];
};

static const struct signature signatures[SIGNATURES] = {
    {11, "/etc/passwd"},
    {7, "<script"},
    {10, "UNION SELE"},
    {5, "curl/"},
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, SIGNATURES);
  __type(key, __u32);
  __type(value, __u64);
} signature_hits SEC(".maps");

// Whether `sig` is at `p`, which has at least SIGNATURE_MAX bytes before `data_end`.
static __always_inline int matches(const __u8* p, const struct signature* sig) {
  for (int j = 0; j < SIGNATURE_MAX; j++) {
    if (j >= sig->len) return 1;
    if (p[j] != (__u8)sig->bytes[j]) return 0;
  }
  return 1;
}

SEC("xdp")
int xdp_string_match(struct xdp_md* ctx) {
  void* data = XDP_DATA(ctx);
  void* data_end = XDP_DATA_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP) return XDP_PASS;
  struct udphdr* udp = (void*)ip + ip->ihl * 4;
  if ((void*)(udp + 1) > data_end) return XDP_PASS;

  int verdict = XDP_PASS;
  __u8* p = (__u8*)(udp + 1);
  for (int i = 0; i < MAX_SCAN; i++) {
    barrier_var(p);  // keeps clang from checking one register and loading through another
    // Signatures near the end are compared against the zero bytes after it: no match.
    if ((void*)(p + SIGNATURE_MAX) > data_end) break;
#pragma unroll
    for (int s = 0; s < SIGNATURES; s++) {
      if (!matches(p, &signatures[s])) continue;
      __u32 key = s;
      __u64* hits = bpf_map_lookup_elem(&signature_hits, &key);
      if (hits) *hits += 1;
      verdict = XDP_DROP;
    }
    p++;
  }
  return verdict;
}

COMPARE_EXPORT_MAP(signature_hits);

char LICENSE[] SEC("license") = "GPL";

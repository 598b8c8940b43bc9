// SPDX-License-Identifier: MIT
// Programs for bench_xdp: an empty program (the hook's own cost per packet) and a simple
// filter (parse Ethernet and IPv4, drop UDP to port 53, pass the rest, count verdicts in an
// ARRAY map) as a realistic small XDP program.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} verdicts SEC(".maps");

SEC("xdp")
int xdp_empty(struct xdp_md *ctx) { return XDP_PASS; }

static __always_inline void count(__u32 verdict) {
  __u32 key = verdict == XDP_DROP ? 1 : 0;
  __u64 *n = bpf_map_lookup_elem(&verdicts, &key);
  if (n) *n += 1;
}

SEC("xdp")
int xdp_filter(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) goto pass;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP) goto pass;
  struct udphdr *udp = (void *)ip + ip->ihl * 4;
  if ((void *)(udp + 1) > data_end) goto pass;
  if (udp->dest == bpf_htons(53)) {
    count(XDP_DROP);
    return XDP_DROP;
  }
pass:
  count(XDP_PASS);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// Packet samples in a ring buffer: bpf_ringbuf_output copies each IPv4 packet's Ethernet and
// IP headers (34 bytes, through the stack), and a reserved record (bpf_ringbuf_reserve /
// submit, or discard for non-IP frames) carries its length and ingress interface.
#include "xdp_common.h"

struct summary {
  __u32 len;
  __u32 ifindex;
  __u16 proto;
  __u16 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} samples SEC(".maps");

__u64 dropped;

SEC("xdp")
int ringbuf_headers(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_PASS;
  struct summary* s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);
  if (!s) {
    dropped++;
    return XDP_PASS;
  }
  s->len = end - data;
  s->ifindex = ctx->ingress_ifindex;
  s->proto = bpf_ntohs(eth->h_proto);
  s->pad = 0;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) {
    bpf_ringbuf_discard(s, 0);
    return XDP_PASS;
  }
  bpf_ringbuf_submit(s, 0);
  // Linux lets no ring buffer helper read the packet itself: the headers go through the stack.
  __u8 headers[sizeof(struct ethhdr) + sizeof(struct iphdr)];
  if (data + sizeof(headers) > end) return XDP_PASS;
  __builtin_memcpy(headers, data, sizeof(headers));
  if (bpf_ringbuf_output(&samples, headers, sizeof(headers), 0)) dropped++;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

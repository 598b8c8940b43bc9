// SPDX-License-Identifier: MIT
// The receive side of struct xdp_md: ingress_ifindex and rx_queue_index (Linux's test run
// gives the loopback device, queue 0, unless ctx_in names another), recorded in .bss and
// written into the frame's source MAC, and the data / data_end / data_meta offsets.
#include "xdp_common.h"

__u32 ifindex, queue;
__u64 meta_len, frame_len;

SEC("xdp")
int ctx_fields(struct xdp_md* ctx) {
  ifindex = ctx->ingress_ifindex;
  queue = ctx->rx_queue_index;
  meta_len = ctx->data - ctx->data_meta;
  frame_len = ctx->data_end - ctx->data;
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_ABORTED;
  eth->h_source[4] = ifindex;
  eth->h_source[5] = queue;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

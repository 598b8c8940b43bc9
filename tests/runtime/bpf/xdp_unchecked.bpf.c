// SPDX-License-Identifier: MIT
// Test program the verifier must reject: it reads the packet without checking data_end
// first. Under --unsafe-no-verify it runs checked, and a read far beyond the frame faults.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_unchecked(struct xdp_md *ctx) {
  unsigned char *data = (unsigned char *)(long)ctx->data;
  return data[ctx->rx_queue_index * 1000] == 0 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// A program under a license that is not GPL-compatible may not call the helpers Linux marks
// gpl_only; the others it may.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// expect: accept
SEC("xdp")
int reads_the_clock(struct xdp_md* xdp) {
  return bpf_ktime_get_ns() & 1 ? XDP_DROP : XDP_PASS;
}

// expect: reject: cannot call GPL-restricted function
SEC("xdp")
int reads_kernel_memory(struct xdp_md* xdp) {
  __u64 v = 0;
  bpf_probe_read_kernel(&v, sizeof(v), (void*)(long)xdp->data);
  return v ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Proprietary";

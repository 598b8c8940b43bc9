// SPDX-License-Identifier: MIT
// A test program of `pollen run` (tests/cli/run_test.cpp) that the verifier rejects: it reads
// 4000 bytes past the packet's start without a bounds check. Run anyway (--unsafe-no-verify,
// checked mode), it faults on the first packet. It has an object of its own because, as in
// Linux, one rejected program keeps its whole object from loading.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_unchecked(struct xdp_md* ctx) {
  return *(volatile __u8*)((long)ctx->data + 4000);
}

char LICENSE[] SEC("license") = "GPL";

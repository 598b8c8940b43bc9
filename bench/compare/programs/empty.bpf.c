// SPDX-License-Identifier: MIT
// bench_compare's empty XDP program: its time is each engine's fixed cost per run (entering
// the program, and for the hooks, setting up the packet), subtracted from the other programs'.
#include "../compare.h"

SEC("xdp")
int xdp_empty(struct xdp_md* ctx) {
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// Global (non-static) functions: Linux verifies each on its own from its BTF prototype (a
// number, the context, or a pointer to sized memory that may be null) and gives its callers an
// unknown number back, whatever the function returns.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct pair {
  __u32 a;
  __u32 b;
};

__noinline int queue_of(struct xdp_md* xdp, int bias) {
  return xdp->rx_queue_index + bias;
}

__noinline int sum_pair(struct pair* p) {
  if (!p) return 0;
  return p->a + p->b;
}

// expect: accept
SEC("xdp")
int calls_globals(struct xdp_md* xdp) {
  struct pair p = {1, 2};
  int q = queue_of(xdp, 1);
  return sum_pair(&p) + q > 4 ? XDP_DROP : XDP_PASS;
}

__noinline int first_of(struct pair* p) {
  return p->a;
}

// expect: reject: may be null
SEC("xdp")
int global_skips_null_check(struct xdp_md* xdp) {
  struct pair p = {1, 2};
  return first_of(&p) ? XDP_DROP : XDP_PASS;
}

__u64 slots[4];

__noinline int small(int x) {
  return x & 3;
}

// expect: reject: unbounded
SEC("xdp")
int relies_on_global_result(struct xdp_md* xdp) {
  int i = small(xdp->rx_queue_index);
  return slots[i] ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

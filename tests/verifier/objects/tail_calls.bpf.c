// SPDX-License-Identifier: MIT
// Tail calls: bpf_tail_call jumps to a program of a PROG_ARRAY and, when the slot is empty,
// falls through; it may not leave a reference behind.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} jumps SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

// expect: accept
SEC("xdp")
int jumps_on(struct xdp_md* xdp) {
  bpf_tail_call(xdp, &jumps, xdp->rx_queue_index);
  return XDP_PASS;
}

// expect: reject: tail_call would lead to reference leak
SEC("xdp")
int jumps_holding_a_record(struct xdp_md* xdp) {
  __u64* e = bpf_ringbuf_reserve(&events, 8, 0);
  if (!e) return XDP_PASS;
  bpf_tail_call(xdp, &jumps, 0);
  bpf_ringbuf_discard(e, 0);
  return XDP_PASS;
}

// expect: reject: must be the unmodified context
SEC("xdp")
int jumps_without_context(struct xdp_md* xdp) {
  bpf_tail_call((void*)(long)xdp->data, &jumps, 0);
  return XDP_PASS;
}

static __noinline int jump_from_function(struct xdp_md* xdp) {
  bpf_tail_call(xdp, &jumps, 1);
  return XDP_PASS;
}

// Pollen's engines jump only from the main function; Linux's x86-64 JIT also from a called one.
// expect: reject: bpf_tail_call is allowed in the main function only
// linux: accepts (tail calls from BTF-described functions, x86-64 JIT)
SEC("xdp")
int jumps_from_a_function(struct xdp_md* xdp) {
  return jump_from_function(xdp);
}

__noinline int global_jump(struct xdp_md* xdp) {
  bpf_tail_call(xdp, &jumps, 2);
  return XDP_PASS;
}

// The same from a global function, which Linux verifies on its own.
// expect: reject: bpf_tail_call is allowed in the main function only
// linux: accepts (tail calls from BTF-described functions, x86-64 JIT)
SEC("xdp")
int jumps_from_a_global_function(struct xdp_md* xdp) {
  return global_jump(xdp);
}

char LICENSE[] SEC("license") = "GPL";

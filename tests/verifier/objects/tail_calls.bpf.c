// SPDX-License-Identifier: MIT
// Tail calls: bpf_tail_call jumps to a program of a PROG_ARRAY and, when the slot is empty,
// falls through; it may not leave a reference behind. From a called function the target takes
// that function's place, when the callers' frames hold less than 256 bytes.
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

// expect: accept
SEC("xdp")
int jumps_from_a_function(struct xdp_md* xdp) {
  return jump_from_function(xdp);
}

__noinline int global_jump(struct xdp_md* xdp) {
  bpf_tail_call(xdp, &jumps, 2);
  return XDP_PASS;
}

// The same from a global function, which Linux verifies on its own.
// expect: accept
SEC("xdp")
int jumps_from_a_global_function(struct xdp_md* xdp) {
  return global_jump(xdp);
}

static __noinline int jump_with_a_buffer(struct xdp_md* xdp) {
  volatile char buf[8];
  buf[xdp->rx_queue_index & 7] = 1;
  bpf_tail_call(xdp, &jumps, 3);
  return buf[0];
}

// The caller's 104 bytes (rounded to 112) are below Linux's 256.
// expect: accept
SEC("xdp")
int jumps_below_a_small_frame(struct xdp_md* xdp) {
  volatile char big[100];
  big[xdp->rx_queue_index & 63] = 1;
  return jump_with_a_buffer(xdp) + big[0];
}

// 248 bytes, rounded to 256: 33 tail calls could stack that much 33 times.
// expect: reject: tail_calls are not allowed when call stack of previous frames is 256 bytes
SEC("xdp")
int jumps_below_a_large_frame(struct xdp_md* xdp) {
  volatile char big[248];
  big[xdp->rx_queue_index & 127] = 1;
  return jump_with_a_buffer(xdp) + big[0];
}

struct with_ctx {
  struct xdp_md* xdp;
};

static int jump_from_callback(__u32 index, void* data) {
  struct with_ctx* c = data;
  bpf_tail_call(c->xdp, &jumps, 0);
  return 0;
}

// A callback's caller is a helper: no frame for a target to take.
// expect: reject: bpf_tail_call is not allowed in a callback
SEC("xdp")
int jumps_from_a_callback(struct xdp_md* xdp) {
  struct with_ctx c = {xdp};
  bpf_loop(2, jump_from_callback, &c, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

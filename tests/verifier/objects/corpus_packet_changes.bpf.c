// SPDX-License-Identifier: MIT
// Verdict corpus, packet pointers across calls that may change the packet: a global function
// that adjusts the packet (directly or through other functions) and a function that makes a
// tail call (its target may change the packet) leave the caller's packet pointers unusable,
// as Linux 6.13+ has it (a subprogram's changes_pkt_data); and what global functions take.
#include "corpus_common.h"

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} progs SEC(".maps");

__noinline int shrink(struct xdp_md* ctx) {
  return bpf_xdp_adjust_tail(ctx, -40);
}

// expect: reject: r6 is a number, not a pointer
SEC("xdp")
int reads_after_a_global_shrink(struct xdp_md* ctx) {
  __u8* p = (void*)(long)ctx->data;
  if ((void*)(p + 64) > (void*)(long)ctx->data_end) return XDP_PASS;
  shrink(ctx);
  return p[63];
}

__noinline int grow_meta(struct xdp_md* ctx) {
  return bpf_xdp_adjust_meta(ctx, -4);
}

__noinline int grow_meta_outer(struct xdp_md* ctx) {
  return grow_meta(ctx);
}

// expect: reject: is a number, not a pointer
SEC("xdp")
int reads_after_a_nested_global_change(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  if (data + 8 > (void*)(long)ctx->data_end) return XDP_PASS;
  grow_meta_outer(ctx);
  return *(__u8*)data;
}

static __noinline int wrap_grow(struct xdp_md* ctx) {
  return grow_meta(ctx);
}

// expect: reject: is a number, not a pointer
SEC("xdp")
int reads_after_a_static_wrapper_of_a_global_change(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  if (data + 8 > (void*)(long)ctx->data_end) return XDP_PASS;
  wrap_grow(ctx);
  return *(__u8*)data;
}

// expect: accept
SEC("xdp")
int reloads_after_a_global_shrink(struct xdp_md* ctx) {
  shrink(ctx);
  __u8* p = (void*)(long)ctx->data;
  if ((void*)(p + 24) > (void*)(long)ctx->data_end) return XDP_PASS;
  return p[23];
}

static __noinline int jump_on(struct xdp_md* ctx) {
  bpf_tail_call(ctx, &progs, 0);
  return 0;
}

// expect: reject: r6 is a number, not a pointer
SEC("xdp")
int reads_after_a_function_that_tail_calls(struct xdp_md* ctx) {
  __u8* p = (void*)(long)ctx->data;
  if ((void*)(p + 1) > (void*)(long)ctx->data_end) return XDP_PASS;
  jump_on(ctx);
  return p[0];
}

static __noinline int jump_then_read(struct xdp_md* ctx) {
  __u8* p = (void*)(long)ctx->data;
  if ((void*)(p + 1) > (void*)(long)ctx->data_end) return 0;
  bpf_tail_call(ctx, &progs, 0);
  return p[0];  // the call fell through: the packet is as it was
}

// The function's own pointers survive its failed tail call; the caller's would not.
// expect: accept
SEC("xdp")
int reads_in_the_function_after_its_tail_call(struct xdp_md* ctx) {
  return jump_then_read(ctx);
}

// expect: accept
SEC("xdp")
int reads_after_its_own_tail_call(struct xdp_md* ctx) {
  struct ethhdr* eth = (void*)(long)ctx->data;
  if ((void*)(eth + 1) > (void*)(long)ctx->data_end) return XDP_PASS;
  bpf_tail_call(ctx, &progs, 0);
  return eth->h_proto ? XDP_PASS : XDP_DROP;
}

__noinline int proto_of(struct ethhdr* eth) {
  return eth ? eth->h_proto : 0;
}

// A global function's pointer argument may be packet memory, checked against its size.
// expect: accept
SEC("xdp")
int passes_packet_to_a_global_function(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  if (data + sizeof(struct ethhdr) > (void*)(long)ctx->data_end) return XDP_PASS;
  return proto_of(data) ? XDP_PASS : XDP_DROP;
}

// expect: reject: pkt
SEC("xdp")
int passes_too_little_packet_to_a_global_function(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  if (data + 8 > (void*)(long)ctx->data_end) return XDP_PASS;
  return proto_of(data) ? XDP_PASS : XDP_DROP;
}

__u64 hits;

__noinline void count_queue(struct xdp_md* ctx) {
  hits += ctx->rx_queue_index;
}

// Linux 6.18: "Global function count_queue() doesn't return scalar".
// expect: reject: returns void
SEC("xdp")
int calls_a_void_global_function(struct xdp_md* ctx) {
  count_queue(ctx);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// Tail calls through a PROG_ARRAY whose slots libbpf fills from the object: the entry program
// jumps by L3 protocol (slot 0 IPv4, slot 1 IPv6, slot 2 left empty for ARP, so that call falls
// through); the IPv4 stage marks the packet (its TOS byte) and jumps on to the UDP stage for
// UDP. Each stage counts its visits in .bss; changes to the packet carry across the calls.
// `tail_loop` tail-calls itself until Linux's limit of 33 tail calls per run stops it.
// `tail_call_from_function` and `tail_loop_from_function` make their tail calls from a called
// function: the target takes that function's place, and the caller goes on with its result.
#include "xdp_common.h"

__u64 visits[4];

int stage_ipv4(struct xdp_md* ctx);
int stage_ipv6(struct xdp_md* ctx);
int stage_udp(struct xdp_md* ctx);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, int(struct xdp_md*));
} stages SEC(".maps") = {
    .values = {[0] = (void*)&stage_ipv4, [1] = (void*)&stage_ipv6, [3] = (void*)&stage_udp},
};

int tail_loop(struct xdp_md* ctx);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __array(values, int(struct xdp_md*));
} loop_slots SEC(".maps") = {
    .values = {[0] = (void*)&tail_loop},
};

__u64 loop_depth;

SEC("xdp")
int tail_loop(struct xdp_md* ctx) {
  loop_depth++;
  bpf_tail_call(ctx, &loop_slots, 0);
  return XDP_PASS;  // the limit reached: the call falls through
}

SEC("xdp")
int stage_udp(struct xdp_md* ctx) {
  visits[3]++;
  return XDP_TX;
}

SEC("xdp")
int stage_ipv4(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct iphdr* ip = data + sizeof(struct ethhdr);
  if ((void*)(ip + 1) > end) return XDP_ABORTED;
  visits[0]++;
  ip->tos = 0x2e;
  if (ip->protocol == IPPROTO_UDP) bpf_tail_call(ctx, &stages, 3);
  return XDP_PASS;
}

SEC("xdp")
int stage_ipv6(struct xdp_md* ctx) {
  visits[1]++;
  return XDP_DROP;
}

int tail_loop_from_function(struct xdp_md* ctx);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __array(values, int(struct xdp_md*));
} function_loop_slots SEC(".maps") = {
    .values = {[0] = (void*)&tail_loop_from_function},
};

__u64 function_loop_depth, function_loop_returns, dispatch_returns;

// To C, bpf_tail_call returns: a constant after it would let clang fold the function's result
// into its caller. A volatile global keeps it a run-time value.
volatile int empty_slot_verdict = XDP_ABORTED;

static __noinline int loop_again(struct xdp_md* ctx) {
  bpf_tail_call(ctx, &function_loop_slots, 0);
  return empty_slot_verdict + XDP_PASS;
}

SEC("xdp")
int tail_loop_from_function(struct xdp_md* ctx) {
  function_loop_depth++;
  int verdict = loop_again(ctx);
  function_loop_returns++;
  return verdict;
}

static __noinline int dispatch(struct xdp_md* ctx, __u32 slot) {
  bpf_tail_call(ctx, &stages, slot);
  return empty_slot_verdict;
}

SEC("xdp")
int tail_call_from_function(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_ABORTED;
  __u32 slot = eth->h_proto == bpf_htons(ETH_P_IP) ? 0 : 2;
  int verdict = dispatch(ctx, slot);
  dispatch_returns++;
  // The stage's verdict came back here: turn TX into DROP, so the caller's part shows.
  return verdict == XDP_TX ? XDP_DROP : verdict == XDP_ABORTED ? XDP_PASS : verdict;
}

SEC("xdp")
int tail_call_entry(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_ABORTED;
  __u32 slot = eth->h_proto == bpf_htons(ETH_P_IP)     ? 0
               : eth->h_proto == bpf_htons(ETH_P_IPV6) ? 1
               : eth->h_proto == bpf_htons(ETH_P_ARP)  ? 2
                                                       : 7;
  bpf_tail_call(ctx, &stages, slot);
  visits[2]++;  // an empty slot or one beyond the array: the call falls through
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

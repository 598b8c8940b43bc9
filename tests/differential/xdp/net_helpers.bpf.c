// SPDX-License-Identifier: MIT
// The helpers that ask about the network and the task: bpf_check_mtu against the ingress
// device (the loopback device in a test run) and others, with lengths around the MTU, a
// device that does not exist and a flag XDP does not take; bpf_fib_lookup's refusals (its
// routes are the host's in Linux and none in Pollen, so only the errors are compared);
// bpf_get_numa_node_id and bpf_get_ns_current_pid_tgid for a namespace that is not the
// task's. Each result lands in the frame, which both engines must leave the same.
#include "xdp_common.h"

#define AF_INET 2
#define AF_INET6 10

struct mtu_result {
  __s64 ret;
  __u32 mtu_len;
  __u32 pad;
};

static __always_inline struct mtu_result check(struct xdp_md* ctx, __u32 ifindex,
                                               __u32 mtu_len, __s32 len_diff, __u64 flags) {
  struct mtu_result r = {0, mtu_len, 0};
  r.ret = bpf_check_mtu(ctx, ifindex, &r.mtu_len, len_diff, flags);
  return r;
}

SEC("xdp")
int mtu_checks(struct xdp_md* ctx) {
  struct mtu_result results[7];
  results[0] = check(ctx, 0, 0, 0, 0);          // this frame on the ingress device
  results[1] = check(ctx, 1, 0, 0, 0);          // the loopback device by index
  results[2] = check(ctx, 0, 65536, 0, 0);      // an L3 length of exactly the MTU
  results[3] = check(ctx, 0, 65536, 1, 0);      // one byte more
  results[4] = check(ctx, 0, 0, -100000, 0);   // a frame shrunk below nothing
  results[5] = check(ctx, 0x7fff0000, 0, 0, 0); // no such device
  results[6] = check(ctx, 0, 0, 0, 1);          // BPF_MTU_CHK_SEGS: not for XDP
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  if (data + sizeof(results) > end) return XDP_DROP;
  __builtin_memcpy(data, results, sizeof(results));
  return XDP_TX;
}

static __always_inline long fib(struct xdp_md* ctx, __u8 family, __u32 ifindex, int plen,
                                __u32 flags) {
  struct bpf_fib_lookup params = {};
  params.family = family;
  params.ifindex = ifindex;
  params.ipv4_dst = bpf_htonl(0x0a000001);
  return bpf_fib_lookup(ctx, &params, plen, flags);
}

SEC("xdp")
int fib_errors(struct xdp_md* ctx) {
  __s64 results[5];
  results[0] = fib(ctx, AF_INET, 1, sizeof(struct bpf_fib_lookup) - 4, 0);  // too short
  results[1] = fib(ctx, AF_INET, 1, sizeof(struct bpf_fib_lookup), 1u << 10);  // flag
  results[2] = fib(ctx, 0, 1, sizeof(struct bpf_fib_lookup), 0);            // family
  results[3] = fib(ctx, 7, 1, sizeof(struct bpf_fib_lookup), 0);            // family
  results[4] = fib(ctx, AF_INET, 0x7fff0000, sizeof(struct bpf_fib_lookup), 0);  // device
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  if (data + sizeof(results) > end) return XDP_DROP;
  __builtin_memcpy(data, results, sizeof(results));
  return XDP_TX;
}

SEC("xdp")
int task_questions(struct xdp_md* ctx) {
  struct bpf_pidns_info ns = {1, 2};
  __s64 results[4];
  results[0] = bpf_get_numa_node_id();
  results[1] = bpf_get_ns_current_pid_tgid(1, 1, &ns, sizeof(ns));  // not the task's
  results[2] = ns.pid;  // zeroed
  results[3] = ns.tgid;
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  if (data + sizeof(results) > end) return XDP_DROP;
  __builtin_memcpy(data, results, sizeof(results));
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// Verdict corpus, the helpers every program type may call in Linux 6.18 (bpf_base_func_proto
// for a root load): one XDP program per helper the base list gained since the older kernels
// (the current task's ids and name, strtol/strtoul, the user-memory probes), trace_printk, and
// the old bpf_probe_read, which only tracing programs may call; then XDP's bpf_check_mtu and
// bpf_fib_lookup, as a router asks them.
#include "corpus_common.h"

char text[8] = "1234";

// expect: accept
SEC("xdp")
int base_pid_tgid(struct xdp_md* ctx) {
  return bpf_get_current_pid_tgid() == 0 ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_uid_gid(struct xdp_md* ctx) {
  return bpf_get_current_uid_gid() == 0 ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_comm(struct xdp_md* ctx) {
  char comm[16];
  return bpf_get_current_comm(comm, sizeof(comm)) == 0 && comm[0] == 'x' ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_strtol(struct xdp_md* ctx) {
  long value = 0;
  return bpf_strtol(text, sizeof(text), 10, &value) > 0 && value == 1234 ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_strtoul(struct xdp_md* ctx) {
  unsigned long value = 0;
  return bpf_strtoul(text, sizeof(text), 0, &value) > 0 && value == 1234 ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_probe_read_user(struct xdp_md* ctx) {
  __u64 word = 0;
  bpf_probe_read_user(&word, sizeof(word), (void*)4096);
  return word ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_probe_read_user_str(struct xdp_md* ctx) {
  char buf[16];
  return bpf_probe_read_user_str(buf, sizeof(buf), (void*)4096) > 0 ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_probe_read_kernel(struct xdp_md* ctx) {
  __u64 word = 0;
  bpf_probe_read_kernel(&word, sizeof(word), (void*)4096);
  return word ? XDP_DROP : XDP_PASS;
}

// The old probe, which does not say whose memory it reads: tracing programs only.
// expect: reject: may not call
SEC("xdp")
int tracing_probe_read(struct xdp_md* ctx) {
  __u64 word = 0;
  bpf_probe_read(&word, sizeof(word), (void*)4096);
  return word ? XDP_DROP : XDP_PASS;
}

// Linux gives root every program type the current task's pointer; Pollen runs programs
// outside the kernel, with no task_struct to point to, and returns 0.
// expect: accept
SEC("xdp")
int tracing_current_task(struct xdp_md* ctx) {
  return bpf_get_current_task() ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_trace_printk(struct xdp_md* ctx) {
  char fmt[] = "x";
  return bpf_trace_printk(fmt, sizeof(fmt)) ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_numa_node(struct xdp_md* ctx) {
  return bpf_get_numa_node_id() ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_tai_clock(struct xdp_md* ctx) {
  return bpf_ktime_get_tai_ns() & 1 ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_ns_pid(struct xdp_md* ctx) {
  struct bpf_pidns_info ns;
  return bpf_get_ns_current_pid_tgid(0, 0, &ns, sizeof(ns)) ? XDP_DROP : XDP_PASS;
}

// bpf_printk with more than three arguments is bpf_trace_vprintk.
// expect: accept
SEC("xdp")
int base_printk_four(struct xdp_md* ctx) {
  bpf_printk("if %u queue %u len %u at %llu", ctx->ingress_ifindex, ctx->rx_queue_index,
             ctx->data_end - ctx->data, bpf_ktime_get_ns());
  return XDP_PASS;
}

// A router's questions: may this frame leave by the ingress device, and where to.
// expect: accept
SEC("xdp")
int xdp_forwards_by_fib(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  __u32 mtu_len = 0;
  if (bpf_check_mtu(ctx, 0, &mtu_len, 0, 0) != 0) return XDP_DROP;
  struct bpf_fib_lookup p = {};
  p.family = 2;  // AF_INET
  p.tos = ip->tos;
  p.l4_protocol = ip->protocol;
  p.tot_len = bpf_ntohs(ip->tot_len);
  p.ipv4_src = ip->saddr;
  p.ipv4_dst = ip->daddr;
  p.ifindex = ctx->ingress_ifindex;
  if (bpf_fib_lookup(ctx, &p, sizeof(p), 0) != BPF_FIB_LKUP_RET_SUCCESS) return XDP_PASS;
  __builtin_memcpy(eth->h_dest, p.dmac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, p.smac, ETH_ALEN);
  return bpf_redirect(p.ifindex, 0);
}

// bpf_check_mtu writes the MTU back: the u32 must be initialized stack, not a constant.
// expect: reject: r3 is a number, not a pointer
SEC("xdp")
int mtu_into_nothing(struct xdp_md* ctx) {
  return bpf_check_mtu(ctx, 0, 0, 0, 0) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

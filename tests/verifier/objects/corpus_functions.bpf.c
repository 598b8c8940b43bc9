// SPDX-License-Identifier: MIT
// Verdict corpus, functions and data: noinline static subprograms given stack and map value
// pointers, global functions Linux verifies on their own, .data, .bss and .rodata read and
// written, syscall programs that read kernel strings, every program accepted by Linux.
#include "corpus_common.h"

// .rodata, set by the loader before the load; .data and .bss, written by the program.
const volatile __u32 drop_port = 9;
const volatile char banner[8] = "pollen";
__u64 packets_seen = 0;
__u32 port_table[16] = {53, 80, 443};
char last_comm[16];

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} results SEC(".maps");

struct parsed {
  __u16 sport, dport;
  __u8 proto;
};

// Parses into a struct on the caller's stack; returns 0 when the packet has UDP in it.
static __noinline int parse_udp(struct xdp_md* ctx, struct parsed* out) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = (void*)(eth + 1);
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > end) return -1;
  if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
    return -1;
  out->sport = bpf_ntohs(udp->source);
  out->dport = bpf_ntohs(udp->dest);
  out->proto = ip->protocol;
  return 0;
}

static __noinline __u32 bucket_of(__u32 port, __u32 buckets) {
  return buckets ? port % buckets : 0;
}

// Static subprograms called from the program, with stack pointers and scalars.
// expect: accept
SEC("xdp")
int calls_static_functions(struct xdp_md* ctx) {
  struct parsed p = {};
  if (parse_udp(ctx, &p)) return XDP_PASS;
  __u32 key = bucket_of(p.dport, 4);
  __u64* v = bpf_map_lookup_elem(&results, &key);
  if (v) __sync_fetch_and_add(v, 1);
  return p.dport == drop_port ? XDP_DROP : XDP_PASS;
}

// A global function: Linux checks it once, against its BTF prototype.
__noinline int classify_len(__u32 len) {
  if (len < 64) return 0;
  if (len < 512) return 1;
  if (len < 1500) return 2;
  return 3;
}

// A global function taking the context.
__noinline int queue_of(struct xdp_md* ctx) {
  if (!ctx) return 0;
  return ctx->rx_queue_index & 3;
}

// Global functions called with a scalar and with the context.
// expect: accept
SEC("xdp")
int calls_global_functions(struct xdp_md* ctx) {
  __u32 key = classify_len(ctx->data_end - ctx->data);
  key = (key + queue_of(ctx)) & 3;
  __u64* v = bpf_map_lookup_elem(&results, &key);
  if (v) *v += 1;
  return XDP_PASS;
}

struct quad {
  __u32 w[4];
};

// A global function given a pointer to a structure: memory of the structure's size, or NULL.
__noinline int sum_quad(struct quad* q) {
  if (!q) return 0;
  return q->w[0] + q->w[1] + q->w[2] + q->w[3];
}

// expect: accept
SEC("xdp")
int passes_stack_to_global(struct xdp_md* ctx) {
  struct quad q = {{ctx->rx_queue_index, ctx->ingress_ifindex, 3, 4}};
  return sum_quad(&q) > 100 ? XDP_DROP : XDP_PASS;
}

// Global data: a .bss counter, a .data table searched and updated, .rodata configuration.
// expect: accept
SEC("xdp")
int uses_global_data(struct xdp_md* ctx) {
  __sync_fetch_and_add(&packets_seen, 1);
  __u32 want = ctx->rx_queue_index;
  NO_UNROLL
  for (int i = 0; i < 16; i++) {
    if (port_table[i] == want) return XDP_DROP;
  }
  port_table[want & 15] = want;
  if (banner[0] != 'p') return XDP_ABORTED;
  return drop_port == want ? XDP_DROP : XDP_PASS;
}

struct task_args {
  __u64 comm_ptr;
  __u32 flags;
  __s32 result;
};

// A syscall program: reads a kernel string it is given the address of into .bss and a stack
// buffer, and compares it with a constant string.
// expect: accept
SEC("syscall")
int reads_kernel_string(struct task_args* args) {
  char comm[16];
  long n = bpf_probe_read_kernel_str(comm, sizeof(comm), (void*)args->comm_ptr);
  if (n < 0) {
    args->result = n;
    return 0;
  }
  bpf_probe_read_kernel_str(last_comm, sizeof(last_comm), (void*)args->comm_ptr);
  args->result = bpf_strncmp(comm, sizeof(comm), "swapper");
  return 0;
}

__u32 samples[32];

struct summary {
  __u32 count;
  __u32 pad;
  __u64 sum;
};

// A syscall program summing a .bss array over a count from its context, bounded first.
// expect: accept
SEC("syscall")
int sums_samples(struct summary* in) {
  __u32 n = in->count;
  if (n > 32) n = 32;
  __u64 sum = 0;
  NO_UNROLL
  for (__u32 i = 0; i < n; i++) sum += samples[i];
  in->sum = sum;
  __u32 key = 0;
  bpf_map_update_elem(&results, &key, &sum, BPF_ANY);
  return 0;
}

// The current task's ids and name, which Linux 6.18 gives every program type.
// expect: accept
SEC("xdp")
int reads_current_task(struct xdp_md* ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  char comm[16];
  if (bpf_get_current_comm(comm, sizeof(comm))) return XDP_PASS;
  return (id >> 32) == 1 && comm[0] == 's' ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

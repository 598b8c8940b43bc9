// SPDX-License-Identifier: MIT
// Loader test object: several programs in several libbpf sections, .text subprograms called from
// two programs, BTF-defined maps of several kinds (hash, per-CPU array, LRU with flags, ring
// buffer, map-in-map with an inner map and initial values, a prog array with initial values),
// global data (.rodata, .data, .bss, a custom .data section, string literals) and a bpf_loop
// callback. tests/loader/loader_test.cpp checks the Spec read from it field by field; the line
// numbers of the lines marked LINE-* are part of that check.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct pair {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, struct pair);
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u64));
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 64);
  __uint(map_flags, BPF_F_NO_COMMON_LRU);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
  __type(key, __u64);
  __type(value, __u32);
} pinned_lru SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct inner_array {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct inner_array);
} outer SEC(".maps") = {
    .values = {[0] = &inner_a, [2] = &inner_b},
};

int tail_a(struct xdp_md *ctx);
int tail_b(struct xdp_md *ctx);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 3);
  __type(key, __u32);
  __array(values, int(void *));
} jump_table SEC(".maps") = {
    .values = {[1] = (void *)&tail_a, [2] = (void *)&tail_b},
};

const volatile __u32 threshold = 7;          // .rodata
__u64 seen = 3;                              // .data
__u64 dropped;                               // .bss
__u32 custom_value SEC(".data.custom") = 11;  // custom .data.* section

// A global (non-static) subprogram in .text, called from two programs.
__noinline int add_bytes(__u32 key, __u64 len) {
  struct pair *p = bpf_map_lookup_elem(&flows, &key);
  if (!p) return 0;
  p->packets += 1;  // LINE-ADD-BYTES
  p->bytes += len;
  return 1;
}

// A static subprogram: calls to it are relocated against the .text section symbol.
static __noinline __u64 scale(__u64 v) {
  return v * threshold + seen;
}

static int loop_body(__u32 index, void *ctx) {
  dropped += index;
  return 0;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx) {
  __u32 key = 0;
  __u64 len = ctx->data_end - ctx->data;
  if (add_bytes(key, len)) dropped += scale(len);
  bpf_loop(4, loop_body, 0, 0);
  bpf_tail_call(ctx, &jump_table, 1);
  return XDP_PASS;  // LINE-XDP-RETURN
}

SEC("xdp")
int tail_a(struct xdp_md *ctx) {
  custom_value += 1;
  return XDP_DROP;
}

SEC("xdp.frags")
int tail_b(struct xdp_md *ctx) {
  return XDP_TX;
}

SEC("tc")
int tc_count(struct __sk_buff *skb) {
  return add_bytes(skb->ifindex, skb->len) ? 0 : 2;
}

SEC("socket")
int sock_filter(struct __sk_buff *skb) {
  __u32 key = 1;
  __u64 *v = bpf_map_lookup_elem(&counters, &key);
  if (v) *v += scale(skb->len);
  return 0;
}

SEC("syscall")
int sys_prog(void *ctx) {
  bpf_printk("threshold %u", threshold);
  __u64 *slot = bpf_ringbuf_reserve(&events, sizeof(__u64), 0);
  if (!slot) return 1;
  *slot = seen;
  bpf_ringbuf_submit(slot, 0);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int tp_write(void *ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  bpf_trace_printk("write %d\n", sizeof("write %d\n"), id);  // a string literal: .rodata.str1.1
  __u32 *v = bpf_map_lookup_elem(&pinned_lru, &id);
  return v ? *v : 0;
}

SEC("uprobe.s/libc.so.6:malloc")
int sleepy(void *ctx) {
  void *inner = bpf_map_lookup_elem(&outer, &(__u32){0});
  return inner != 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";

// SPDX-License-Identifier: MIT
// Example: the keyless maps a syscall program may use. QUEUE and STACK with push, pop and peek;
// a RINGBUF written with bpf_ringbuf_output and with reserve/submit/discard. (BLOOM_FILTER is in
// lpm.bpf.c: Linux refuses it in syscall programs, which are sleepable.)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct args {
  __u32 value;
  __u32 pushes;
  __s64 popped;
  __s64 peeked;
};

struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 8);
  __uint(value_size, sizeof(__u32));
} fifo SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK);
  __uint(max_entries, 8);
  __uint(value_size, sizeof(__u64));
} lifo SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct event {
  __u32 value;
  __u32 index;
};

SEC("syscall")
int queues(struct args* ctx) {
  __u32 pushes = ctx->pushes;
  for (__u32 i = 0; i < 10 && i < pushes; i++) {
    __u32 v = ctx->value + i;
    __u64 w = (__u64)v * 1000;
    bpf_map_push_elem(&fifo, &v, 0);
    bpf_map_push_elem(&lifo, &w, BPF_EXIST);
    struct event e = {v, i};
    bpf_ringbuf_output(&events, &e, sizeof(e), 0);
  }
  __u32 out = 0;
  ctx->popped = bpf_map_pop_elem(&fifo, &out) == 0 ? out : -1;
  __u64 top = 0;
  ctx->peeked = bpf_map_peek_elem(&lifo, &top) == 0 ? (__s64)top : -1;
  struct event* r = bpf_ringbuf_reserve(&events, sizeof(struct event), 0);
  if (r) {
    r->value = 0xdead;
    r->index = pushes;
    if (pushes & 1)
      bpf_ringbuf_discard(r, 0);
    else
      bpf_ringbuf_submit(r, 0);
  }
  return pushes;
}

char LICENSE[] SEC("license") = "GPL";

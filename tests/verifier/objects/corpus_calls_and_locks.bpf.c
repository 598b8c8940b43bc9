// SPDX-License-Identifier: MIT
// Verdict corpus, calls around locks, references and nullable values: static functions run
// under the caller's bpf_spin_lock (Linux 6.9+) but global ones may not; a function may make
// a tail call while its caller holds a ring buffer record (the target returns to it); a global
// function may take a map value that may be null; locks only in the map types that take them.
#include "corpus_common.h"

struct val {
  struct bpf_spin_lock lock;
  __u32 cnt;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct val);
} locked SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct val);
} lru_locked SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} progs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} rb SEC(".maps");

static __noinline int add_one(struct val* v) {
  v->cnt++;
  return 0;
}

// expect: accept
SEC("xdp")
int calls_a_static_function_under_a_lock(struct xdp_md* ctx) {
  __u32 k = 0;
  struct val* v = bpf_map_lookup_elem(&locked, &k);
  if (!v) return XDP_PASS;
  bpf_spin_lock(&v->lock);
  add_one(v);
  bpf_spin_unlock(&v->lock);
  return XDP_PASS;
}

static __noinline int release(struct val* v) {
  bpf_spin_unlock(&v->lock);
  return 0;
}

// expect: accept
SEC("xdp")
int unlocks_in_a_static_function(struct xdp_md* ctx) {
  __u32 k = 0;
  struct val* v = bpf_map_lookup_elem(&locked, &k);
  if (!v) return XDP_PASS;
  bpf_spin_lock(&v->lock);
  release(v);
  return XDP_PASS;
}

__noinline int global_add(struct val* v) {
  if (!v) return 0;
  v->cnt++;
  return 1;
}

// expect: reject: global function calls are not allowed while holding a lock
SEC("xdp")
int calls_a_global_function_under_a_lock(struct xdp_md* ctx) {
  __u32 k = 0;
  struct val* v = bpf_map_lookup_elem(&locked, &k);
  if (!v) return XDP_PASS;
  bpf_spin_lock(&v->lock);
  global_add(v);
  bpf_spin_unlock(&v->lock);
  return XDP_PASS;
}

// An LRU hash may not hold a lock (Linux refuses the map's BTF).
// expect: reject: has no valid bpf_spin_lock
SEC("xdp")
int locks_in_an_lru_hash(struct xdp_md* ctx) {
  __u32 k = 0;
  struct val* v = bpf_map_lookup_elem(&lru_locked, &k);
  if (!v) return XDP_PASS;
  bpf_spin_lock(&v->lock);
  v->cnt++;
  bpf_spin_unlock(&v->lock);
  return XDP_PASS;
}

__noinline int bump(__u64* p) {
  if (!p) return 0;
  *p += 1;
  return 1;
}

// expect: accept
SEC("xdp")
int passes_a_maybe_null_value_to_a_global_function(struct xdp_md* ctx) {
  __u32 k = ctx->rx_queue_index;
  return bump(bpf_map_lookup_elem(&counters, &k)) ? XDP_PASS : XDP_DROP;
}

static __noinline int jump_on(struct xdp_md* ctx) {
  bpf_tail_call(ctx, &progs, 0);
  return XDP_PASS;
}

// expect: accept
SEC("xdp")
int holds_a_record_across_a_function_that_tail_calls(struct xdp_md* ctx) {
  __u64* e = bpf_ringbuf_reserve(&rb, 8, 0);
  if (!e) return XDP_PASS;
  jump_on(ctx);
  *e = 1;
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

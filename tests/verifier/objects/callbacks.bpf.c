// SPDX-License-Identifier: MIT
// Callbacks (lddw src=4): bpf_loop and bpf_for_each_map_elem call a static function in a frame
// of its own, which must return 0 or 1, gets the helper's context argument and, for each map
// element, the map, a read-only key and the value.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} numbers SEC(".maps");

struct loop_ctx {
  __u64 sum;
  __u32 count;
  __u32 limit;
};

static long add_index(__u64 index, void* data) {
  struct loop_ctx* c = data;
  c->sum += index;
  c->count++;
  return c->count >= c->limit ? 1 : 0;
}

// expect: accept
SEC("xdp")
int loop_counts(struct xdp_md* xdp) {
  struct loop_ctx c = {0, 0, 10};
  bpf_loop(100, add_index, &c, 0);
  return c.sum > 1000 ? XDP_DROP : XDP_PASS;
}

static long sum_values(void* map, __u32* key, __u64* value, void* data) {
  __u64* sum = data;
  *sum += *value + *key;
  *value = 0;
  return 0;
}

// expect: accept
SEC("xdp")
int for_each_sums(struct xdp_md* xdp) {
  __u64 sum = 0;
  bpf_for_each_map_elem(&numbers, sum_values, &sum, 0);
  return sum ? XDP_DROP : XDP_PASS;
}

static long returns_two(__u64 index, void* data) {
  return 2;
}

// expect: reject: should have been in [0, 1]
SEC("xdp")
int callback_returns_two(struct xdp_md* xdp) {
  bpf_loop(4, returns_two, NULL, 0);
  return XDP_PASS;
}

static long writes_key(void* map, __u32* key, __u64* value, void* data) {
  *key = 1;
  return 0;
}

// expect: reject: write to change key
SEC("xdp")
int callback_writes_key(struct xdp_md* xdp) {
  bpf_for_each_map_elem(&numbers, writes_key, NULL, 0);
  return XDP_PASS;
}

static long reads_past_value(void* map, __u32* key, __u64* value, void* data) {
  return value[1] ? 1 : 0;
}

// expect: reject: invalid access to map value
SEC("xdp")
int callback_reads_past_value(struct xdp_md* xdp) {
  bpf_for_each_map_elem(&numbers, reads_past_value, NULL, 0);
  return XDP_PASS;
}

static long uses_null_ctx(__u64 index, void* data) {
  return *(__u64*)data ? 1 : 0;
}

// expect: reject: is a number, not a pointer
SEC("xdp")
int callback_null_ctx(struct xdp_md* xdp) {
  bpf_loop(4, uses_null_ctx, NULL, 0);
  return XDP_PASS;
}

static long bumps_past_stack(__u64 index, void* data) {
  __u64* slot = data;
  slot[index & 7] = index;
  return 0;
}

// expect: reject: out of
SEC("xdp")
int callback_writes_past_ctx(struct xdp_md* xdp) {
  __u64 one = 0;
  bpf_loop(4, bumps_past_stack, &one, 0);
  return one ? XDP_DROP : XDP_PASS;
}

__noinline long global_callback(__u64 index, void* data) {
  return 0;
}

// expect: reject: callback function not static
SEC("xdp")
int callback_is_global(struct xdp_md* xdp) {
  bpf_loop(4, global_callback, NULL, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

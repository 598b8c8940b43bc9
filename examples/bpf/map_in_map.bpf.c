// SPDX-License-Identifier: MIT
// Example: ARRAY_OF_MAPS and HASH_OF_MAPS with inner arrays filled from the object's initial
// values; the program picks an inner map by its context and counts into it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct args {
  __u32 outer;
  __u32 inner;
  __u64 seen;
};

struct inner_array {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
};

struct inner_array first SEC(".maps");
struct inner_array second SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct inner_array);
} outer_array SEC(".maps") = {
    .values = {&first, &second},
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct inner_array);
} outer_hash SEC(".maps") = {
    .values = {[1] = &second},
};

SEC("syscall")
int map_in_map(struct args* ctx) {
  __u32 outer = ctx->outer, inner = ctx->inner;
  void* map = bpf_map_lookup_elem(&outer_array, &outer);
  if (!map) return -1;
  __u64* value = bpf_map_lookup_elem(map, &inner);
  if (!value) return -2;
  *value += 5;
  ctx->seen = *value;
  __u32 one = 1;
  void* by_hash = bpf_map_lookup_elem(&outer_hash, &one);
  if (!by_hash) return -3;
  __u64* also = bpf_map_lookup_elem(by_hash, &inner);
  if (also) __sync_fetch_and_add(also, 1000);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// Example: the keyed map types a syscall program updates through helpers: HASH, ARRAY,
// PERCPU_ARRAY, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH, with lookups, updates with each
// flag, deletes, and atomic adds on map values. The context names a key and a count.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct args {
  __u32 key;
  __u32 count;
  __s64 result;
};

struct counter {
  __u64 hits;
  __u64 total;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, struct counter);
} by_key SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} slots SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} per_cpu SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 8);
  __type(key, __u64);
  __type(value, __u32);
} per_cpu_hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 32);
  __type(key, __u32);
  __type(value, __u32);
} recent SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
  __uint(max_entries, 32);
  __type(key, __u32);
  __type(value, __u64);
} recent_per_cpu SEC(".maps");

static __attribute__((noinline)) long bump(__u32 key, __u32 count) {
  struct counter* c = bpf_map_lookup_elem(&by_key, &key);
  if (!c) {
    struct counter fresh = {1, count};
    return bpf_map_update_elem(&by_key, &key, &fresh, BPF_NOEXIST);
  }
  __sync_fetch_and_add(&c->hits, 1);
  __sync_fetch_and_add(&c->total, count);
  return 0;
}

SEC("syscall")
int hash_maps(struct args* ctx) {
  __u32 key = ctx->key, count = ctx->count;
  long err = bump(key, count);
  for (__u32 i = 0; i < 16 && i < count; i++) {
    __u64* slot = bpf_map_lookup_elem(&slots, &i);
    if (slot) __sync_fetch_and_add(slot, key + i);
  }
  __u32 zero = 0;
  __u64* pc = bpf_map_lookup_elem(&per_cpu, &zero);
  if (pc) *pc += count;
  __u64 wide = (__u64)key << 32 | count;
  __u32 small = count * 3;
  err += bpf_map_update_elem(&per_cpu_hash, &wide, &small, BPF_ANY);
  err += bpf_map_update_elem(&recent, &key, &count, BPF_ANY);
  __u64 big = 1000 + count;
  err += bpf_map_update_elem(&recent_per_cpu, &key, &big, BPF_ANY);
  // An update with BPF_EXIST of an absent key fails with -ENOENT, in both runtimes.
  __u32 absent = 999;
  long missing = bpf_map_update_elem(&recent, &absent, &count, BPF_EXIST);
  // Delete what the previous key left, if anything.
  __u32 prev = key - 1;
  long deleted = bpf_map_delete_elem(&by_key, &prev);
  ctx->result = err * 1000 + missing * 10 + deleted;
  return err == 0;
}

char LICENSE[] SEC("license") = "GPL";

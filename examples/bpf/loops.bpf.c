// SPDX-License-Identifier: MIT
// Example: bpf_loop with a callback and bpf_for_each_map_elem over an array, plus the helpers
// that need no map: bpf_get_smp_processor_id (0 in a test run pinned to CPU 0, slot 0 in
// Pollen). The results go to the context and to .bss.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct args {
  __u32 rounds;
  __u32 cpu;
  __u64 loop_sum;
  __u64 each_sum;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} numbers SEC(".maps");

__u64 callbacks;

static long add_square(__u64 index, void* data) {
  __u64* sum = data;
  *sum += index * index;
  return index >= 20 ? 1 : 0;
}

static long fill_and_sum(void* map, __u32* key, __u64* value, void* data) {
  __u64* sum = data;
  *value = *key * 3 + 1;
  *sum += *value;
  callbacks++;
  return 0;
}

SEC("syscall")
int loops(struct args* ctx) {
  __u64 sum = 0;
  long iterations = bpf_loop(ctx->rounds, add_square, &sum, 0);
  ctx->loop_sum = sum;
  __u64 each = 0;
  bpf_for_each_map_elem(&numbers, fill_and_sum, &each, 0);
  ctx->each_sum = each;
  ctx->cpu = bpf_get_smp_processor_id();
  return (int)iterations;
}

char LICENSE[] SEC("license") = "GPL";

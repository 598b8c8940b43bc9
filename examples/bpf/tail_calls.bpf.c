// SPDX-License-Identifier: MIT
// Example: tail calls through a PROG_ARRAY whose slots libbpf fills from the object (BTF-defined
// initial values). The entry program counts in a .bss array and jumps to the stage its context
// names; a stage jumps on to the next until the chain ends or the slot is empty. Linux refuses
// prog arrays in syscall programs (they are sleepable), so only Pollen runs this one.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct args {
  __u32 stage;
  __u32 steps;
};

__u64 visits[4];

int stage_one(struct args* ctx);
int stage_two(struct args* ctx);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, int(struct args*));
} stages SEC(".maps") = {
    .values = {[1] = (void*)&stage_one, [2] = (void*)&stage_two},
};

SEC("syscall")
int stage_two(struct args* ctx) {
  ctx->steps += 100;
  __sync_fetch_and_add(&visits[2], 1);
  return 2;
}

SEC("syscall")
int stage_one(struct args* ctx) {
  ctx->steps += 10;
  __sync_fetch_and_add(&visits[1], 1);
  bpf_tail_call(ctx, &stages, 2);
  return 1;
}

SEC("syscall")
int tail_calls(struct args* ctx) {
  ctx->steps += 1;
  __sync_fetch_and_add(&visits[0], 1);
  bpf_tail_call(ctx, &stages, ctx->stage);
  return 0;  // an empty slot: the tail call falls through
}

char LICENSE[] SEC("license") = "GPL";

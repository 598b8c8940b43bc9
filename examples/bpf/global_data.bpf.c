// SPDX-License-Identifier: MIT
// Example: a syscall program with no helper calls. It reads its context (struct args), walks a
// .rodata table in a bounded loop through a .text subprogram, keeps running totals in .data
// and .bss with atomic adds, and writes its result back into the context, which
// BPF_PROG_TEST_RUN returns as ctx_out.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct args {
  __u32 n;     // how many table entries to sum
  __u32 seed;  // added to every entry
  __u64 sum;   // out: the sum
  __u64 calls; // out: runs so far
};

const volatile __u32 table[8] = {3, 1, 4, 1, 5, 9, 2, 6};
__u64 runs = 100;        // .data
__u64 total;             // .bss
__u64 last_n;            // .bss
__s64 signed_total = -5; // .data

static __attribute__((noinline)) __u64 sum_table(__u32 n, __u32 seed) {
  __u64 sum = 0;
  for (__u32 i = 0; i < 8; i++) {
    if (i >= n) break;
    sum += table[i] + seed;
  }
  return sum;
}

SEC("syscall")
int global_data(struct args* ctx) {
  __u64 sum = sum_table(ctx->n, ctx->seed);
  __sync_fetch_and_add(&total, sum);
  __u64 before = __sync_fetch_and_add(&runs, 1);
  __sync_fetch_and_sub(&signed_total, (__s64)sum);
  __sync_fetch_and_or(&last_n, ctx->n);
  ctx->sum = sum;
  ctx->calls = before + 1;
  return (int)(sum & 0xffff) + 7;
}

char LICENSE[] SEC("license") = "GPL";

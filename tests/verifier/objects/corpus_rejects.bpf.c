// SPDX-License-Identifier: MIT
// Verdict corpus, mistakes: programs Linux rejects, each for one clear reason (a missing or
// off-by-one bounds check, a missing null check, an uninitialised register, a
// stack access out of bounds, a write to read-only data, a wrong helper argument, a helper the
// program type may not call, a ring buffer record not released, a bad context access), each
// as a libbpf user would get it wrong.
#include "corpus_common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} table SEC(".maps");

#define SLOTS 16
struct slots {
  __u64 slot[SLOTS];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct slots);
} arr SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} rb SEC(".maps");

const volatile __u32 limit = 10;

// Reads the EtherType without comparing with data_end first.
// expect: reject: invalid access to packet
SEC("xdp")
int no_bounds_check(struct xdp_md* ctx) {
  struct ethhdr* eth = (void*)(long)ctx->data;
  return eth->h_proto == bpf_htons(ETH_P_IP) ? XDP_PASS : XDP_DROP;
}

// Checks the Ethernet header, reads the IPv4 protocol past it.
// expect: reject: invalid access to packet
SEC("xdp")
int off_by_one_header(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if (data + sizeof(*eth) + sizeof(struct iphdr) - 1 > end) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  return ip->daddr == 0 ? XDP_DROP : XDP_PASS;
}

// `>` where `>=` was meant: slot SLOTS is one past the value.
// expect: reject: invalid access to map value
SEC("xdp")
int off_by_one_index(struct xdp_md* ctx) {
  __u32 zero = 0;
  struct slots* s = bpf_map_lookup_elem(&arr, &zero);
  if (!s) return XDP_PASS;
  __u32 i = ctx->rx_queue_index;
  if (i > SLOTS) return XDP_PASS;
  s->slot[i]++;
  return XDP_PASS;
}

// A hash lookup used without checking it for NULL.
// expect: reject: map_value_or_null
SEC("xdp")
int no_null_check(struct xdp_md* ctx) {
  __u32 key = ctx->rx_queue_index;
  __u64* v = bpf_map_lookup_elem(&table, &key);
  *v += 1;
  return XDP_PASS;
}

// A ring buffer record written without checking the reservation.
// expect: reject: ringbuf_mem_or_null
SEC("xdp")
int no_reserve_check(struct xdp_md* ctx) {
  __u64* e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
  *e = ctx->rx_queue_index;
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

// A register read before anything was written to it.
// expect: reject: is read but was never written
SEC("xdp")
int uninit_register(struct xdp_md* ctx) {
  __u64 v;
  asm volatile("%0 = r7" : "=r"(v));
  return v ? XDP_DROP : XDP_PASS;
}

// A stack buffer indexed past its end: the mask allows 64 bytes, the buffer has 16.
// expect: reject: stack
SEC("xdp")
int stack_index_too_wide(struct xdp_md* ctx) {
  __u8 buf[16] = {};
  __u32 i = ctx->rx_queue_index & 63;
  buf[i] = 1;
  return buf[3] ? XDP_DROP : XDP_PASS;
}

// A read below the 512 bytes of stack.
// expect: reject: stack
SEC("xdp")
int stack_below_frame(struct xdp_md* ctx) {
  __u64 v;
  asm volatile("%0 = *(u64 *)(r10 - 520)" : "=r"(v));
  return v ? XDP_DROP : XDP_PASS;
}

// A write to .rodata through a cast.
// expect: reject: is read-only for programs
SEC("xdp")
int writes_rodata(struct xdp_md* ctx) {
  *(volatile __u32*)&limit = ctx->rx_queue_index;
  return XDP_PASS;
}

// A store to a read-only field of the context.
// expect: reject: invalid write access to the xdp context
SEC("xdp")
int writes_context(struct xdp_md* ctx) {
  ctx->rx_queue_index = 0;
  return XDP_PASS;
}

// A read past the end of struct xdp_md.
// expect: reject: invalid read access to the xdp context
SEC("xdp")
int reads_past_context(struct xdp_md* ctx) {
  __u32* words = (__u32*)ctx;
  return words[8] ? XDP_DROP : XDP_PASS;
}

// A context field read at an offset the program computes.
// expect: reject: dereference of a modified context pointer
SEC("xdp")
int reads_context_at_variable_offset(struct xdp_md* ctx) {
  __u32 i = bpf_get_prandom_u32() & 3;
  __u32* words = (__u32*)ctx;
  return words[i] ? XDP_DROP : XDP_PASS;
}

// A number where the lookup wants a pointer to the key.
// expect: reject: r2 is a number, not a pointer
SEC("xdp")
int key_is_a_number(struct xdp_md* ctx) {
  __u64* v = bpf_map_lookup_elem(&table, (void*)(long)ctx->rx_queue_index);
  return v ? XDP_DROP : XDP_PASS;
}

// A ring buffer record of a size the verifier cannot know.
// expect: reject: r2 is not a known constant
SEC("xdp")
int reserves_variable_size(struct xdp_md* ctx) {
  __u32 size = (ctx->rx_queue_index & 7) * 8 + 8;
  void* e = bpf_ringbuf_reserve(&rb, size, 0);
  if (!e) return XDP_PASS;
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

// A helper given a size larger than the stack buffer behind it.
// expect: reject: helper memory out of stack bounds
SEC("xdp")
int output_size_too_large(struct xdp_md* ctx) {
  __u64 v = ctx->rx_queue_index;
  bpf_ringbuf_output(&rb, &v, 16, 0);
  return XDP_PASS;
}

// A tracing helper an XDP program may not call.
// expect: reject: may not call
SEC("xdp")
int calls_tracing_helper(struct xdp_md* ctx) {
  __u64 v = 0;
  bpf_probe_read(&v, sizeof(v), (void*)(long)ctx->data);
  return v ? XDP_DROP : XDP_PASS;
}

// An XDP helper called from a socket filter.
// expect: reject: may not call
SEC("socket")
int calls_xdp_helper(struct __sk_buff* skb) {
  bpf_xdp_adjust_head((struct xdp_md*)skb, 4);
  return 0;
}

// A reservation released on one path only.
// expect: reject: Unreleased reference
SEC("xdp")
int leaks_record(struct xdp_md* ctx) {
  __u64* e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
  if (!e) return XDP_PASS;
  *e = ctx->rx_queue_index;
  if (*e > 4) return XDP_DROP;
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

// A record written after it was submitted.
// expect: reject: r6 is a number, not a pointer
SEC("xdp")
int writes_after_submit(struct xdp_md* ctx) {
  __u64* e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
  if (!e) return XDP_PASS;
  bpf_ringbuf_submit(e, 0);
  *e = 1;
  return XDP_PASS;
}

// A packet pointer moved by a value nothing bounds.
// expect: reject: pkt
SEC("xdp")
int unbounded_packet_offset(struct xdp_md* ctx) {
  __u8* p = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u64 off = bpf_get_prandom_u32();
  off <<= 20;
  __u8* q = p + off;
  if ((void*)(q + 1) > end) return XDP_PASS;
  return *q ? XDP_DROP : XDP_PASS;
}

// A read one past a map value of eight bytes.
// expect: reject: invalid access to map value
SEC("xdp")
int reads_past_value(struct xdp_md* ctx) {
  __u32 key = 0;
  __u64* v = bpf_map_lookup_elem(&table, &key);
  if (!v) return XDP_PASS;
  return ((__u32*)v)[2] ? XDP_DROP : XDP_PASS;
}

// A global function's pointer argument covers what its BTF type says: one __u32 here.
__noinline int sum_words(__u32* words) {
  if (!words) return 0;
  return words[0] + words[1];
}

// expect: reject: invalid access to memory
SEC("xdp")
int global_reads_past_argument(struct xdp_md* ctx) {
  __u32 words[2] = {ctx->rx_queue_index, ctx->ingress_ifindex};
  return sum_words(words) > 100 ? XDP_DROP : XDP_PASS;
}

struct numbers {
  __u32 count;
  __u32 values[32];
};

// A syscall program's context read at an offset from a loop counter.
// expect: reject: dereference of a modified context pointer
SEC("syscall")
int indexes_context(struct numbers* in) {
  __u32 n = in->count;
  if (n > 32) n = 32;
  __u64 sum = 0;
  NO_UNROLL
  for (__u32 i = 0; i < n; i++) sum += in->values[i];
  return sum > 10;
}

char LICENSE[] SEC("license") = "GPL";

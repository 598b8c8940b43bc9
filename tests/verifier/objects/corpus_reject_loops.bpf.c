// SPDX-License-Identifier: MIT
// Verdict corpus, loops that do not end (or not provably within Linux's budget of one million
// instructions): `while (1)` without a break, bounds read from the packet or a map, a counter
// that goes back, a bound too large to walk. Linux rejects each of them, and so does Pollen.
// Then bpf_loop and bpf_for_each_map_elem callbacks whose state keeps changing: Linux walks
// them once per value of a counter they decide on and runs out of budget, where Pollen widens
// the counter and proves them (the callbacks end with their helper; each says so).
#include "corpus_common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} entries SEC(".maps");

// Spins on a counter in a map value: every time round, the same state.
// expect: reject: infinite loop
SEC("xdp")
int spins_forever(struct xdp_md* ctx) {
  __u32 zero = 0;
  __u64* v = bpf_map_lookup_elem(&config, &zero);
  if (!v) return XDP_PASS;
  while (1) __sync_fetch_and_add(v, 1);
  return XDP_PASS;
}

// Loops as often as a packet byte says (a 32-bit bound nothing limits).
// expect: reject: too complex
SEC("xdp")
int loops_packet_count(struct xdp_md* ctx) {
  __u8* p = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  if ((void*)(p + 4) > end) return XDP_PASS;
  __u32 n = *(__u32*)p;
  __u64 acc = 0;
  NO_UNROLL
  for (__u32 i = 0; i < n; i++) acc = acc * 31 + i;
  return acc & 1 ? XDP_DROP : XDP_PASS;
}

// Loops as often as a 64-bit value in a map says.
// expect: reject: too complex
SEC("xdp")
int loops_map_count(struct xdp_md* ctx) {
  __u32 zero = 0;
  __u64* n = bpf_map_lookup_elem(&config, &zero);
  if (!n) return XDP_PASS;
  __u64 acc = ctx->rx_queue_index, bound = *n;
  NO_UNROLL
  for (__u64 i = 0; i < bound; i++) acc = acc * 31 + i;
  *n = acc;
  return XDP_PASS;
}

// The counter goes back to 0 whenever a random draw says so.
// expect: reject: too complex
SEC("xdp")
int resets_counter(struct xdp_md* ctx) {
  __u32 hits = 0;
  NO_UNROLL
  for (__u32 i = 0; i < 16; i++) {
    if (bpf_get_prandom_u32() & 1) {
      hits++;
      i = 0;
    }
  }
  return hits ? XDP_DROP : XDP_PASS;
}

// The counter goes back to 0 on one path and the state repeats exactly.
// expect: reject: infinite loop
SEC("xdp")
int restarts_scan(struct xdp_md* ctx) {
  __u32 zero = 0;
  __u64* v = bpf_map_lookup_elem(&config, &zero);
  if (!v) return XDP_PASS;
  __u32 i = 0;
  NO_UNROLL
  while (i < 8) {
    if (*(volatile __u64*)v == 7) {
      i = 0;
      continue;
    }
    i++;
  }
  return XDP_PASS;
}

// A constant bound, but far more iterations than the verifier may walk.
// expect: reject: too complex
SEC("xdp")
int huge_bound(struct xdp_md* ctx) {
  __u64 acc = ctx->rx_queue_index;
  NO_UNROLL
  for (__u32 i = 0; i < 2000000; i++) acc = acc * 6364136223846793005ull + i;
  return acc & 1 ? XDP_DROP : XDP_PASS;
}

// Counts zero bytes of the payload exactly: every count on every path is a state of its own,
// which the final compare keeps apart.
// expect: reject: too complex
SEC("xdp")
int counts_zero_bytes(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u8* payload = data + sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr);
  __u32 zeros = 0;
  NO_UNROLL
  for (int i = 0; i < 64; i++) {
    if ((void*)(payload + i + 1) > end) break;
    if (payload[i] == 0) zeros++;
  }
  return zeros > 32 ? XDP_DROP : XDP_PASS;
}

// Nested loops, each small, together over the budget.
// expect: reject: too complex
SEC("xdp")
int nested_too_deep(struct xdp_md* ctx) {
  __u64 acc = ctx->rx_queue_index;
  NO_UNROLL
  for (__u32 i = 0; i < 1000; i++) {
    NO_UNROLL
    for (__u32 j = 0; j < 1000; j++) acc += i ^ j;
  }
  return acc & 1 ? XDP_DROP : XDP_PASS;
}

struct tally {
  __u32 seen;
  __u32 big;
};

static long count_until(__u32 i, void* data) {
  struct tally* t = data;
  t->seen++;
  if (t->seen > 50) return 1;
  return 0;
}

// A bpf_loop callback that decides on a counter it keeps raising: Linux keeps the counter
// exact (it decided a branch on it) and walks the callback once per value, but no more often
// than bpf_loop's constant count.
// expect: accept
SEC("xdp")
int bpf_loop_counts_exactly(struct xdp_md* ctx) {
  struct tally t = {};
  bpf_loop(100, count_until, &t, 0);
  return t.seen > 10 ? XDP_DROP : XDP_PASS;
}

// The same callback a million times: too many for Linux to walk one by one. Pollen widens the
// count after the first times round (the callback stops at 51 calls either way, and bpf_loop
// itself ends at its count) and proves it.
// expect: accept
// linux: rejects "BPF program is too large" (walks the callback once per value of t->seen)
SEC("xdp")
int bpf_loop_counts_too_far(struct xdp_md* ctx) {
  struct tally t = {};
  bpf_loop(1 << 20, count_until, &t, 0);
  return t.seen > 10 ? XDP_DROP : XDP_PASS;
}

static long index_by_count(__u32 i, void* data) {
  struct tally* t = data;
  __u64* v = bpf_map_lookup_elem(&config, &t->big);
  if (v) *v += i;
  t->big++;
  return 0;
}

// A callback that looks up by a counter it raises (the key is a constant each time round),
// within bpf_loop's count.
// expect: accept
SEC("xdp")
int bpf_loop_keys_by_count(struct xdp_md* ctx) {
  struct tally t = {};
  bpf_loop(64, index_by_count, &t, 0);
  return XDP_PASS;
}

static long sum_entry(void* map, __u32* key, __u64* value, void* data) {
  struct tally* t = data;
  t->seen++;
  if (t->seen == 1000) return 1;
  t->big += *value > 100;
  return 0;
}

// A for_each callback that stops at an exact count it keeps raising; the count shares a stack
// slot with another field written after it, which makes Linux forget it (a 4-byte store at
// fp-4 ends the spill at fp-8), so the callback's state converges.
// expect: accept
SEC("xdp")
int for_each_forgets_count(struct xdp_md* ctx) {
  struct tally t = {};
  bpf_for_each_map_elem(&entries, sum_entry, &t, 0);
  return t.big ? XDP_DROP : XDP_PASS;
}

struct expiry {
  __u64 now;
  __u64 expired;
};

static long expire_old(void* map, __u32* key, __u64* seen, void* data) {
  struct expiry* e = data;
  if (*seen + 1000000000ull < e->now) {
    bpf_map_delete_elem(map, key);
    e->expired++;
  }
  return 0;
}

// A for_each callback raising a count the program then tests: for Linux the test after the
// call makes the count exact, the callback raises it every time round, and its states never
// converge. Pollen widens the count and proves it (the map's iteration ends by itself).
// expect: accept
// linux: rejects "The sequence of 8193 jumps is too complex" (no widening of exact scalars)
SEC("xdp")
int for_each_count_grows(struct xdp_md* ctx) {
  struct expiry e = {bpf_ktime_get_ns(), 0};
  bpf_for_each_map_elem(&entries, expire_old, &e, 0);
  return e.expired ? XDP_DROP : XDP_PASS;
}

struct walk {
  __u64 steps;
  __u64 sum;
};

static long step_walk(__u32 i, void* data) {
  struct walk* w = data;
  w->steps++;
  if (w->steps > 1000) return 1;
  w->sum += i;
  return 0;
}

// A counter decided on inside a bpf_loop callback whose count comes from the packet: Linux
// walks it up to the largest count the packet can give, which is too many; Pollen widens it.
// expect: accept
// linux: rejects "BPF program is too large" (one walk of the callback per value of w->steps)
SEC("xdp")
int bpf_loop_packet_count(struct xdp_md* ctx) {
  __u8* p = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  if ((void*)(p + 4) > end) return XDP_PASS;
  struct walk w = {};
  bpf_loop(*(__u32*)p, step_walk, &w, 0);
  return w.sum & 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

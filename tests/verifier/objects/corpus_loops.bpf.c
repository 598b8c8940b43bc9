// SPDX-License-Identifier: MIT
// Verdict corpus, loops: bounded `for` and `while` loops the compiler keeps (not unrolled),
// nested loops, bpf_loop and bpf_for_each_map_elem with callbacks, and stack and map value
// accesses at variable offsets bounded by masks and compares, every program accepted by Linux.
#include "corpus_common.h"

#define ROWS 8
#define COLS 8

struct matrix {
  __u32 cell[ROWS][COLS];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct matrix);
} grid SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} ages SEC(".maps");

// Sums the first bytes of the packet, at most 32, in a loop bounded by a constant.
// expect: accept
SEC("xdp")
int sums_header_bytes(struct xdp_md* ctx) {
  __u8* p = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u32 sum = 0;
  NO_UNROLL
  for (__u32 i = 0; i < 32; i++) {
    if ((void*)(p + i + 1) > end) break;
    sum += p[i];
  }
  return sum & 1 ? XDP_DROP : XDP_PASS;
}

// A `while` loop with two exits: the bound and the value it searches for.
// expect: accept
SEC("xdp")
int finds_first_set_bit(struct xdp_md* ctx) {
  __u64 v = bpf_get_prandom_u32() | (1ull << 40);
  __u32 bit = 0;
  NO_UNROLL
  while (bit < 64 && !(v & 1)) {
    v >>= 1;
    bit++;
  }
  return bit > 20 ? XDP_DROP : XDP_PASS;
}

// Nested loops over a matrix in a map value: the row and column from the loop counters.
// expect: accept
SEC("xdp")
int transposes_grid(struct xdp_md* ctx) {
  __u32 zero = 0;
  struct matrix* m = bpf_map_lookup_elem(&grid, &zero);
  if (!m) return XDP_PASS;
  NO_UNROLL
  for (__u32 r = 0; r < ROWS; r++) {
    NO_UNROLL
    for (__u32 c = r + 1; c < COLS; c++) {
      __u32 t = m->cell[r][c];
      m->cell[r][c] = m->cell[c][r];
      m->cell[c][r] = t;
    }
  }
  return XDP_PASS;
}

struct sum_ctx {
  struct matrix* m;
  __u64 total;
};

static long add_row(__u32 row, void* data) {
  struct sum_ctx* s = data;
  if (row >= ROWS) return 1;
  NO_UNROLL
  for (__u32 c = 0; c < COLS; c++) s->total += s->m->cell[row][c];
  return 0;
}

// bpf_loop over the rows, the callback bounds its index before using it.
// expect: accept
SEC("xdp")
int sums_grid_with_bpf_loop(struct xdp_md* ctx) {
  __u32 zero = 0;
  struct matrix* m = bpf_map_lookup_elem(&grid, &zero);
  if (!m) return XDP_PASS;
  struct sum_ctx s = {m, 0};
  long n = bpf_loop(ROWS, add_row, &s, 0);
  return n == ROWS && s.total > 100 ? XDP_DROP : XDP_PASS;
}

static long expire_old(void* map, __u32* key, __u64* seen, void* data) {
  __u64 now = *(__u64*)data;
  if (*seen + 1000000000ull < now) bpf_map_delete_elem(map, key);
  return 0;
}

// bpf_for_each_map_elem deleting the entries older than a second.
// expect: accept
SEC("xdp")
int expires_entries(struct xdp_md* ctx) {
  __u64 now = bpf_ktime_get_ns();
  long visited = bpf_for_each_map_elem(&ages, expire_old, &now, 0);
  return visited > 32 ? XDP_DROP : XDP_PASS;
}

// A stack buffer written and read at offsets from packet bytes, bounded by masks.
// expect: accept
SEC("xdp")
int counts_bytes_on_stack(struct xdp_md* ctx) {
  __u8* p = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u8 seen[64] = {};
  NO_UNROLL
  for (int i = 0; i < 16; i++) {
    if ((void*)(p + i + 1) > end) break;
    seen[p[i] & 63]++;
  }
  __u32 key = (__u32)(end - (void*)p);
  return seen[key & 63] > 2 ? XDP_DROP : XDP_PASS;
}

// A map value indexed by a packet byte behind a compare.
// expect: accept
SEC("xdp")
int indexes_value_by_compare(struct xdp_md* ctx) {
  __u8* p = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  if ((void*)(p + 2) > end) return XDP_PASS;
  __u32 zero = 0;
  struct matrix* m = bpf_map_lookup_elem(&grid, &zero);
  if (!m) return XDP_PASS;
  __u32 r = p[0], c = p[1];
  if (r >= ROWS || c >= COLS) return XDP_DROP;
  m->cell[r][c]++;
  return XDP_PASS;
}

// A loop bounded by a length from the packet that the program first limits.
// expect: accept
SEC("xdp")
int copies_limited_length(struct xdp_md* ctx) {
  __u8* p = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  if ((void*)(p + 1) > end) return XDP_PASS;
  __u32 n = p[0];
  if (n > 24) n = 24;
  __u8 buf[24] = {};
  __u32 i;
  NO_UNROLL
  for (i = 0; i < n; i++) {
    if ((void*)(p + 2 + i) > end) break;
    buf[i] = p[1 + i];
  }
  return i > 0 && buf[0] == 0x45 ? XDP_DROP : XDP_PASS;
}

struct bit_ctx {
  __u64 word;
  __u32 ones;
};

static long count_bit(__u32 i, void* data) {
  struct bit_ctx* b = data;
  b->ones += (b->word >> (i & 63)) & 1;
  return 0;
}

// bpf_loop with a counter in its context that the callback only adds to.
// expect: accept
SEC("xdp")
int counts_bits_with_bpf_loop(struct xdp_md* ctx) {
  struct bit_ctx b = {bpf_get_prandom_u32(), 0};
  bpf_loop(64, count_bit, &b, 0);
  return b.ones > 16 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

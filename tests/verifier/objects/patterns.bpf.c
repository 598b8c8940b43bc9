// SPDX-License-Identifier: MIT
// Common shapes of real programs around the newer features: a loop callback that indexes an
// array by its index behind a bounds check, a ring buffer record reserved and submitted inside a
// callback, records filled through derived pointers and a helper, a for_each callback that
// deletes, nested callbacks, a map-in-map lookup in a callback, a lock in a hash map value.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_SLOTS 16

struct slots {
  __u64 v[MAX_SLOTS];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct slots);
} table SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} seen SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct inner {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
};
struct inner by_queue SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 1);
  __type(key, __u32);
  __array(values, struct inner);
} outer SEC(".maps") = {
    .values = {[0] = &by_queue},
};

struct locked {
  struct bpf_spin_lock lock;
  __u64 total;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, struct locked);
} totals SEC(".maps");

struct walk {
  struct slots* s;
  __u64 sum;
};

static long sum_slot(__u32 i, void* data) {
  struct walk* w = data;
  if (i >= MAX_SLOTS) return 1;
  w->sum += w->s->v[i];
  return 0;
}

// expect: accept
SEC("xdp")
int indexes_in_callback(struct xdp_md* xdp) {
  __u32 zero = 0;
  struct slots* s = bpf_map_lookup_elem(&table, &zero);
  if (!s) return XDP_PASS;
  struct walk w = {s, 0};
  bpf_loop(MAX_SLOTS, sum_slot, &w, 0);
  return w.sum & 1 ? XDP_DROP : XDP_PASS;
}

struct record {
  __u32 index;
  __u32 queue;
  __u64 stamp;
  char tag[8];
};

static long emit(__u32 i, void* data) {
  struct xdp_md* xdp = data;
  struct record* r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
  if (!r) return 1;
  r->index = i;
  r->stamp = bpf_ktime_get_ns();
  __builtin_memcpy(r->tag, "pollen!", 8);
  bpf_ringbuf_submit(r, 0);
  return 0;
}

// expect: accept
SEC("xdp")
int emits_in_callback(struct xdp_md* xdp) {
  bpf_loop(4, emit, NULL, 0);
  return XDP_PASS;
}

// expect: accept
SEC("xdp")
int fills_record(struct xdp_md* xdp) {
  struct record* r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
  if (!r) return XDP_PASS;
  __u32* fields = &r->index;
  fields[1] = xdp->rx_queue_index;
  r->index = 7;
  if (bpf_probe_read_kernel(r->tag, sizeof(r->tag), (void*)(long)xdp->data) < 0) {
    bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);
    return XDP_DROP;
  }
  bpf_ringbuf_output(&events, r, sizeof(*r), 0);
  bpf_ringbuf_submit(r, 0);
  return XDP_PASS;
}

static long drop_old(void* map, __u32* key, __u64* value, void* data) {
  __u64* now = data;
  if (*value + 1000 < *now) bpf_map_delete_elem(map, key);
  return 0;
}

// expect: accept
SEC("xdp")
int deletes_in_for_each(struct xdp_md* xdp) {
  __u64 now = bpf_ktime_get_ns();
  bpf_for_each_map_elem(&seen, drop_old, &now, 0);
  return XDP_PASS;
}

static long inner_step(__u32 i, void* data) {
  __u64* n = data;
  *n += i;
  return 0;
}

static long outer_step(__u32 i, void* data) {
  bpf_loop(3, inner_step, data, 0);
  return 0;
}

// expect: accept
SEC("xdp")
int nests_callbacks(struct xdp_md* xdp) {
  __u64 n = 0;
  bpf_loop(3, outer_step, &n, 0);
  return n > 5 ? XDP_DROP : XDP_PASS;
}

static long count_in_inner(__u32 i, void* data) {
  __u32 zero = 0, key = i & 7;
  void* m = bpf_map_lookup_elem(&outer, &zero);
  if (!m) return 1;
  __u64* v = bpf_map_lookup_elem(m, &key);
  if (v) __sync_fetch_and_add(v, 1);
  return 0;
}

// expect: accept
SEC("xdp")
int inner_map_in_callback(struct xdp_md* xdp) {
  bpf_loop(8, count_in_inner, NULL, 0);
  return XDP_PASS;
}

// expect: accept
SEC("xdp")
int locks_hash_value(struct xdp_md* xdp) {
  __u32 key = xdp->rx_queue_index;
  struct locked* t = bpf_map_lookup_elem(&totals, &key);
  if (!t) {
    struct locked fresh = {};
    bpf_map_update_elem(&totals, &key, &fresh, BPF_NOEXIST);
    return XDP_PASS;
  }
  __u64 len = xdp->data_end - xdp->data;
  bpf_spin_lock(&t->lock);
  t->total += len;
  bpf_spin_unlock(&t->lock);
  return XDP_PASS;
}

struct scan {
  void* data;
  void* end;
  __u32 zeros;
};

static long count_zero(__u32 i, void* ctx) {
  struct scan* s = ctx;
  __u8* p = s->data + (i & 63);
  if ((void*)(p + 1) > s->end) return 1;
  if (*p == 0) s->zeros++;
  return 0;
}

// expect: accept
SEC("xdp")
int scans_packet_in_callback(struct xdp_md* xdp) {
  struct scan s = {(void*)(long)xdp->data, (void*)(long)xdp->data_end, 0};
  bpf_loop(64, count_zero, &s, 0);
  return s.zeros > 10 ? XDP_DROP : XDP_PASS;
}

struct flow {
  __u64 packets;
  __u64 bytes;
  __u32 last;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 128);
  __type(key, __u32);
  __type(value, struct flow);
} flows SEC(".maps");

struct totals {
  __u64 packets;
  __u32 count;
};

static long add_flow(void* map, __u32* key, struct flow* f, void* data) {
  struct totals* t = data;
  t->packets += f->packets;
  t->count++;
  if (f->last < *key) f->last = *key;
  return t->count >= 100;
}

// Linux explores the callback once per value of t->count and gives up; Pollen widens the
// count after the first time round and proves the loop in a few iterations.
// expect: accept
// linux: rejects "The sequence of 8193 jumps is too complex" (no widening of callback state)
SEC("xdp")
int sums_flows(struct xdp_md* xdp) {
  struct totals t = {};
  long n = bpf_for_each_map_elem(&flows, add_flow, &t, 0);
  return n > 0 && t.packets > 1000 ? XDP_DROP : XDP_PASS;
}

static long bad_index(__u32 i, void* data) {
  struct walk* w = data;
  w->sum += w->s->v[i];
  return 0;
}

// expect: reject: unbounded
SEC("xdp")
int indexes_without_check(struct xdp_md* xdp) {
  __u32 zero = 0;
  struct slots* s = bpf_map_lookup_elem(&table, &zero);
  if (!s) return XDP_PASS;
  struct walk w = {s, 0};
  bpf_loop(MAX_SLOTS, bad_index, &w, 0);
  return w.sum & 1 ? XDP_DROP : XDP_PASS;
}

static long leaks(__u32 i, void* data) {
  bpf_ringbuf_reserve(&events, 8, 0);
  return 0;
}

// expect: reject: Unreleased reference
SEC("xdp")
int leaks_in_callback(struct xdp_md* xdp) {
  bpf_loop(2, leaks, NULL, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

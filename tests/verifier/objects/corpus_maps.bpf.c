// SPDX-License-Identifier: MIT
// Verdict corpus, maps: every map type a libbpf XDP program reaches for (hash, array, per-CPU
// hash and array, LRU, LPM trie, array and hash of maps, prog array with tail calls, ring
// buffer), used the usual ways, every program accepted by Linux.
#include "corpus_common.h"

struct flow_key {
  __be32 saddr, daddr;
  __be16 sport, dport;
  __u8 proto;
  __u8 pad[3];
};

struct flow_stats {
  __u64 packets, bytes, last_seen;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

#define SLOTS 32
struct histogram {
  __u64 slot[SLOTS];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct histogram);
} sizes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, struct flow_stats);
} per_queue SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, struct flow_key);
  __type(value, struct flow_stats);
} flows SEC(".maps");

struct lpm_v4 {
  __u32 prefixlen;
  __be32 addr;
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 128);
  __type(key, struct lpm_v4);
  __type(value, __u32);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

struct inner_array {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct inner_array);
} tables SEC(".maps") = {
    .values = {&inner_a, &inner_b},
};

struct inner_hash {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u32);
} tenant_0 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 8);
  __type(key, __u32);
  __array(values, struct inner_hash);
} tenants SEC(".maps") = {
    .values = {[0] = &tenant_0},
};

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
} stages SEC(".maps");

struct event {
  __u32 queue;
  __u32 len;
  __u64 stamp;
  __u8 head[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 16);
} events SEC(".maps");

// Look up or insert, then count atomically.
// expect: accept
SEC("xdp")
int counts_in_hash(struct xdp_md* ctx) {
  __u32 key = ctx->rx_queue_index;
  __u64* n = bpf_map_lookup_elem(&counters, &key);
  if (!n) {
    __u64 init = 1;
    bpf_map_update_elem(&counters, &key, &init, BPF_ANY);
    return XDP_PASS;
  }
  __sync_fetch_and_add(n, 1);
  if (*n > 1000000) bpf_map_delete_elem(&counters, &key);
  return XDP_PASS;
}

// A histogram of packet sizes in an array value, the slot from a shift and a compare.
// expect: accept
SEC("xdp")
int histograms_sizes(struct xdp_md* ctx) {
  __u32 key = 0;
  struct histogram* h = bpf_map_lookup_elem(&sizes, &key);
  if (!h) return XDP_PASS;
  __u32 len = ctx->data_end - ctx->data;
  __u32 slot = len >> 6;
  if (slot >= SLOTS) slot = SLOTS - 1;
  h->slot[slot]++;
  return XDP_PASS;
}

// A per-CPU hash of per-queue statistics.
// expect: accept
SEC("xdp")
int counts_per_queue(struct xdp_md* ctx) {
  __u32 queue = ctx->rx_queue_index;
  struct flow_stats* s = bpf_map_lookup_elem(&per_queue, &queue);
  if (!s) {
    struct flow_stats fresh = {1, ctx->data_end - ctx->data, bpf_ktime_get_ns()};
    bpf_map_update_elem(&per_queue, &queue, &fresh, BPF_NOEXIST);
    return XDP_PASS;
  }
  s->packets++;
  s->bytes += ctx->data_end - ctx->data;
  s->last_seen = bpf_ktime_get_ns();
  return XDP_PASS;
}

// Flows in an LRU hash, keyed by the 5-tuple read from the packet.
// expect: accept
SEC("xdp")
int tracks_flows(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = (void*)(eth + 1);
  struct udphdr* l4 = (void*)(ip + 1);
  if ((void*)(l4 + 1) > end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5) return XDP_PASS;
  if (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP) return XDP_PASS;
  struct flow_key key = {};
  key.saddr = ip->saddr;
  key.daddr = ip->daddr;
  key.sport = l4->source;
  key.dport = l4->dest;
  key.proto = ip->protocol;
  struct flow_stats* s = bpf_map_lookup_elem(&flows, &key);
  __u64 now = bpf_ktime_get_ns();
  if (s) {
    __sync_fetch_and_add(&s->packets, 1);
    __sync_fetch_and_add(&s->bytes, end - data);
    s->last_seen = now;
  } else {
    struct flow_stats fresh = {1, end - data, now};
    bpf_map_update_elem(&flows, &key, &fresh, BPF_ANY);
  }
  return XDP_PASS;
}

// Longest-prefix match on the source address.
// expect: accept
SEC("xdp")
int routes_by_prefix(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct iphdr* ip = data + sizeof(struct ethhdr);
  if ((void*)(ip + 1) > end) return XDP_PASS;
  struct lpm_v4 key = {32, ip->saddr};
  __u32* action = bpf_map_lookup_elem(&routes, &key);
  if (action && *action <= XDP_REDIRECT) return *action;
  return XDP_PASS;
}

// An array of maps: the inner table picked by the queue, then looked up.
// expect: accept
SEC("xdp")
int counts_in_inner_array(struct xdp_md* ctx) {
  __u32 outer_key = ctx->rx_queue_index & 1;
  void* inner = bpf_map_lookup_elem(&tables, &outer_key);
  if (!inner) return XDP_PASS;
  __u32 key = (ctx->data_end - ctx->data) & 15;
  __u64* v = bpf_map_lookup_elem(inner, &key);
  if (v) __sync_fetch_and_add(v, 1);
  return XDP_PASS;
}

// A hash of maps: a tenant's own table, updated in place.
// expect: accept
SEC("xdp")
int updates_tenant_table(struct xdp_md* ctx) {
  __u32 tenant = ctx->ingress_ifindex;
  void* table = bpf_map_lookup_elem(&tenants, &tenant);
  if (!table) return XDP_DROP;
  __u32 key = ctx->rx_queue_index, one = 1;
  __u32* v = bpf_map_lookup_elem(table, &key);
  if (v)
    *v += 1;
  else
    bpf_map_update_elem(table, &key, &one, BPF_ANY);
  return XDP_PASS;
}

// Dispatches to the next stage by a packet byte; falls through when the slot is empty.
// expect: accept
SEC("xdp")
int dispatches_by_tail_call(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_DROP;
  __u32 stage = eth->h_dest[5] & 7;
  bpf_tail_call(ctx, &stages, stage);
  return XDP_PASS;
}

// A ring buffer record reserved, filled from the packet and submitted; discarded when the
// packet is too short.
// expect: accept
SEC("xdp")
int reports_packets(struct xdp_md* ctx) {
  struct event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return XDP_PASS;
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  e->queue = ctx->rx_queue_index;
  e->len = end - data;
  e->stamp = bpf_ktime_get_ns();
  if (data + sizeof(e->head) > end) {
    bpf_ringbuf_discard(e, 0);
    return XDP_PASS;
  }
  __builtin_memcpy(e->head, data, sizeof(e->head));
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

// A record built on the stack and copied into the ring buffer.
// expect: accept
SEC("xdp")
int outputs_event(struct xdp_md* ctx) {
  struct event e = {};
  e.queue = ctx->rx_queue_index;
  e.len = ctx->data_end - ctx->data;
  e.stamp = bpf_ktime_get_ns();
  if (bpf_probe_read_kernel(e.head, sizeof(e.head), (void*)(long)ctx->data) < 0) return XDP_PASS;
  long err = bpf_ringbuf_output(&events, &e, sizeof(e), BPF_RB_FORCE_WAKEUP);
  return err ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

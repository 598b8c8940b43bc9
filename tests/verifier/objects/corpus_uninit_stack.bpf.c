// SPDX-License-Identifier: MIT
// Verdict corpus, stack bytes nothing wrote: struct padding left out by a designated
// initializer, a field set on one path only, a record handed to a helper before all of it was
// written. Linux lets a root load read such bytes (allow_uninit_stack) and so does Pollen; its
// engines zero them when the function is entered (verifier/rewrite.hpp).
#include "corpus_common.h"

struct flow_key {
  __be32 saddr, daddr;
  __be16 sport, dport;
  __u8 proto;  // then 3 bytes of padding the initializer does not write
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, struct flow_key);
  __type(value, __u64);
} flows SEC(".maps");

struct bucket {
  struct bpf_spin_lock lock;  // left out of the initializer, with the padding after it
  __u64 tokens;
  __u64 last;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, struct bucket);
} buckets SEC(".maps");

struct pair {
  __u32 id;
  __u32 len;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, struct pair);
  __type(value, __u64);
} by_pair SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 16);
} rb SEC(".maps");

// A flow counter whose key is built with a designated initializer.
// expect: accept
SEC("xdp")
int counts_flows_by_padded_key(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = (void*)(eth + 1);
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
      ip->protocol != IPPROTO_UDP)
    return XDP_PASS;
  struct flow_key key = {.saddr = ip->saddr,
                         .daddr = ip->daddr,
                         .sport = udp->source,
                         .dport = udp->dest,
                         .proto = ip->protocol};
  __u64* n = bpf_map_lookup_elem(&flows, &key);
  if (n) {
    __sync_fetch_and_add(n, 1);
  } else {
    __u64 one = 1;
    bpf_map_update_elem(&flows, &key, &one, BPF_NOEXIST);
  }
  return XDP_PASS;
}

// A token bucket inserted with its lock left to the initializer's silence.
// expect: accept
SEC("xdp")
int inserts_a_bucket(struct xdp_md* ctx) {
  __u32 queue = ctx->rx_queue_index;
  struct bucket* b = bpf_map_lookup_elem(&buckets, &queue);
  if (!b) {
    struct bucket fresh = {.tokens = 10, .last = bpf_ktime_get_ns()};
    bpf_map_update_elem(&buckets, &queue, &fresh, BPF_NOEXIST);
    return XDP_PASS;
  }
  int drop = 0;
  bpf_spin_lock(&b->lock);
  if (b->tokens == 0)
    drop = 1;
  else
    b->tokens--;
  bpf_spin_unlock(&b->lock);
  return drop ? XDP_DROP : XDP_PASS;
}

// A key with a field left unset handed to a lookup.
// expect: accept
SEC("xdp")
int looks_up_a_half_set_key(struct xdp_md* ctx) {
  struct pair key;
  key.id = ctx->rx_queue_index;
  __u64* v = bpf_map_lookup_elem(&by_pair, &key);
  return v ? XDP_DROP : XDP_PASS;
}

// A record copied to the ring buffer with a field set on one path only.
// expect: accept
SEC("xdp")
int outputs_a_half_set_record(struct xdp_md* ctx) {
  struct pair p;
  if (ctx->rx_queue_index) p.len = 1;
  p.id = 0;
  bpf_ringbuf_output(&rb, &p, sizeof(p), 0);
  return XDP_PASS;
}

// The same from a function called twice: each call starts from its own zeroed bytes.
static __noinline int report(__u32 id, __u32 queue) {
  struct pair p;
  if (queue) p.len = queue;
  p.id = id;
  return bpf_ringbuf_output(&rb, &p, sizeof(p), 0);
}

// expect: accept
SEC("xdp")
int reports_twice(struct xdp_md* ctx) {
  int err = report(1, ctx->rx_queue_index);
  err |= report(2, 0);
  return err ? XDP_ABORTED : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

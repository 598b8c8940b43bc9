// SPDX-License-Identifier: MIT
// bpf_spin_lock: the lock of a map value (a struct bpf_spin_lock member, known from BTF);
// while it is held no other function may be called, it must be released before the exit, and
// one lock at a time.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct counter {
  struct bpf_spin_lock lock;
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct counter);
} counters SEC(".maps");

// expect: accept
SEC("xdp")
int counts_locked(struct xdp_md* xdp) {
  __u32 key = xdp->rx_queue_index & 3;
  struct counter* c = bpf_map_lookup_elem(&counters, &key);
  if (!c) return XDP_PASS;
  bpf_spin_lock(&c->lock);
  c->packets++;
  c->bytes += xdp->data_end - xdp->data;
  bpf_spin_unlock(&c->lock);
  return XDP_PASS;
}

// expect: reject: bpf_spin_unlock is missing
SEC("xdp")
int forgets_unlock(struct xdp_md* xdp) {
  __u32 key = 0;
  struct counter* c = bpf_map_lookup_elem(&counters, &key);
  if (!c) return XDP_PASS;
  bpf_spin_lock(&c->lock);
  c->packets++;
  if (xdp->rx_queue_index) return XDP_DROP;
  bpf_spin_unlock(&c->lock);
  return XDP_PASS;
}

// expect: reject: function calls are not allowed while holding a lock
SEC("xdp")
int calls_while_locked(struct xdp_md* xdp) {
  __u32 key = 0;
  struct counter* c = bpf_map_lookup_elem(&counters, &key);
  if (!c) return XDP_PASS;
  bpf_spin_lock(&c->lock);
  c->bytes = bpf_ktime_get_ns();
  bpf_spin_unlock(&c->lock);
  return XDP_PASS;
}

// Linux refuses the second bpf_spin_lock as any other call while a lock is held.
// expect: reject: function calls are not allowed while holding a lock
SEC("xdp")
int locks_twice(struct xdp_md* xdp) {
  __u32 k1 = 0, k2 = 1;
  struct counter* a = bpf_map_lookup_elem(&counters, &k1);
  struct counter* b = bpf_map_lookup_elem(&counters, &k2);
  if (!a || !b) return XDP_PASS;
  bpf_spin_lock(&a->lock);
  bpf_spin_lock(&b->lock);
  a->packets++;
  bpf_spin_unlock(&b->lock);
  bpf_spin_unlock(&a->lock);
  return XDP_PASS;
}

// expect: reject: bpf_spin_unlock of different lock
SEC("xdp")
int unlocks_another(struct xdp_md* xdp) {
  __u32 k1 = 0, k2 = 1;
  struct counter* a = bpf_map_lookup_elem(&counters, &k1);
  struct counter* b = bpf_map_lookup_elem(&counters, &k2);
  if (!a || !b) return XDP_PASS;
  bpf_spin_lock(&a->lock);
  a->packets++;
  bpf_spin_unlock(&b->lock);
  return XDP_PASS;
}

// expect: reject: bpf_spin_lock cannot be accessed directly
SEC("xdp")
int touches_the_lock(struct xdp_md* xdp) {
  __u32 key = 0;
  struct counter* c = bpf_map_lookup_elem(&counters, &key);
  if (!c) return XDP_PASS;
  return *(volatile __u32*)&c->lock ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// Maps of maps: a lookup gives the inner map or null; after the null check it is a map with
// the inner map's key and value sizes. Programs may only look maps of maps up.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
};

struct inner first SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct inner);
} outer SEC(".maps") = {
    .values = {[0] = &first},
};

// expect: accept
SEC("xdp")
int looks_up_inner(struct xdp_md* xdp) {
  __u32 key = 0, index = xdp->rx_queue_index & 3;
  void* map = bpf_map_lookup_elem(&outer, &key);
  if (!map) return XDP_PASS;
  __u32* v = bpf_map_lookup_elem(map, &index);
  if (!v) return XDP_PASS;
  __sync_fetch_and_add(v, 1);
  return *v > 10 ? XDP_DROP : XDP_PASS;
}

// expect: reject: must be a map
SEC("xdp")
int skips_null_check(struct xdp_md* xdp) {
  __u32 key = 0, index = 0;
  void* map = bpf_map_lookup_elem(&outer, &key);
  __u32* v = bpf_map_lookup_elem(map, &index);
  return v ? XDP_DROP : XDP_PASS;
}

// expect: reject: invalid access to map value
SEC("xdp")
int reads_past_inner_value(struct xdp_md* xdp) {
  __u32 key = 0, index = 0;
  void* map = bpf_map_lookup_elem(&outer, &key);
  if (!map) return XDP_PASS;
  __u32* v = bpf_map_lookup_elem(map, &index);
  if (!v) return XDP_PASS;
  return v[1] ? XDP_DROP : XDP_PASS;
}

// expect: reject: cannot pass map_type 13
SEC("xdp")
int deletes_from_outer(struct xdp_md* xdp) {
  __u32 key = 0;
  bpf_map_delete_elem(&outer, &key);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

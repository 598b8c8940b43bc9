// SPDX-License-Identifier: MIT
// Example: an LPM_TRIE of IPv4 prefixes, as a routing table, and a BLOOM_FILTER of the addresses
// seen. The program inserts a few prefixes, looks up the address in its context (longest match
// wins) and deletes one prefix again. Linux refuses both map types in syscall programs (they
// are sleepable), so only Pollen runs this one (tests/runtime).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct args {
  __u32 addr;   // network byte order
  __u32 route;  // out: the matching route's value, or 0
  __s64 seen;   // out: 0 if the address was seen before (bloom filter), else -ENOENT
};

struct prefix {
  __u32 prefixlen;
  __u32 addr;
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 16);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct prefix);
  __type(value, __u32);
} routes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
  __uint(max_entries, 16);
  __uint(value_size, sizeof(__u32));
} seen SEC(".maps");

static __attribute__((noinline)) void add(__u32 len, __u32 addr, __u32 route) {
  struct prefix key = {len, addr};
  bpf_map_update_elem(&routes, &key, &route, BPF_ANY);
}

SEC("syscall")
int lpm(struct args* ctx) {
  add(8, __builtin_bswap32(0x0a000000), 1);   // 10.0.0.0/8
  add(16, __builtin_bswap32(0x0a010000), 2);  // 10.1.0.0/16
  add(24, __builtin_bswap32(0x0a010200), 3);  // 10.1.2.0/24
  add(0, 0, 9);                               // default route
  add(32, __builtin_bswap32(0xc0a80001), 4);  // 192.168.0.1/32
  struct prefix key = {32, ctx->addr};
  __u32* route = bpf_map_lookup_elem(&routes, &key);
  ctx->route = route ? *route : 0;
  __u32 addr = ctx->addr;
  ctx->seen = bpf_map_peek_elem(&seen, &addr);
  bpf_map_push_elem(&seen, &addr, 0);
  struct prefix gone = {32, __builtin_bswap32(0xc0a80001)};
  return bpf_map_delete_elem(&routes, &gone) == 0 ? ctx->route : 100;
}

char LICENSE[] SEC("license") = "GPL";

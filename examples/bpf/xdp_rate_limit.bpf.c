// SPDX-License-Identifier: MIT
// Example: a DDoS-style per-source rate limiter. Each IPv4 source address has a fixed-window
// counter: a window opens at the source's first packet and lasts `window_ns`; in it the first
// `packets_per_window` packets pass and the rest are dropped (XDP_DROP). The first packet after
// the window opens the next one. IPv6 and non-IP traffic pass uncounted by the windows.
//
// Maps:
//   sources  LRU_HASH be32 source address -> struct window {start_ns, packets, dropped}
//   totals   ARRAY    enum rl_total       -> u64
//
// Why the verdicts are reproducible: a window opens at a source's own first packet, so the
// verdicts depend on the time elapsed since then (bpf_ktime_get_ns), never on the absolute
// time; two runs that each take less than `window_ns` (one second by default: a replay of the
// 20000-packet demo capture takes milliseconds) see one window per source, and the verdicts are
// a function of the packet counts alone: the first `packets_per_window` packets of each source
// pass. That is what lets the kernel and Pollen, run at different times, agree. The LRU map
// holds far more sources than the demo capture has, so no eviction enters either.
#include "xdp_parsing.h"

struct window {
  __u64 start_ns;
  __u64 packets;  // in this window, dropped ones included
  __u64 dropped;  // over all windows
};

enum rl_total {
  RL_PASSED,
  RL_DROPPED,
  RL_NEW_WINDOWS,
  RL_NOT_IPV4,  // passed without a window
  RL_TOTALS,
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __be32);
  __type(value, struct window);
} sources SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, RL_TOTALS);
  __type(key, __u32);
  __type(value, __u64);
} totals SEC(".maps");

// Configuration (.rodata): at most 500 packets per source per second.
const volatile __u64 window_ns = 1000000000;
const volatile __u64 packets_per_window = 500;

static __always_inline int total(enum rl_total which, int verdict) {
  __u32 key = which;
  __u64* n = bpf_map_lookup_elem(&totals, &key);
  if (n) __sync_fetch_and_add(n, 1);
  return verdict;
}

// Opens a window at `now` for a source seen for the first time or whose window has expired.
static __always_inline int open_window(__be32 saddr, struct window* old, __u64 now) {
  struct window fresh = {now, 1, old ? old->dropped : 0};
  // BPF_ANY: two CPUs opening the same window at once both store one; either is right.
  bpf_map_update_elem(&sources, &saddr, &fresh, BPF_ANY);
  total(RL_NEW_WINDOWS, 0);
  return total(RL_PASSED, XDP_PASS);
}

static __always_inline int limit(__be32 saddr) {
  __u64 now = bpf_ktime_get_ns();
  struct window* w = bpf_map_lookup_elem(&sources, &saddr);
  // Unsigned: a start in the future (another CPU's later clock read) counts as elapsed 0.
  if (!w || (now > w->start_ns && now - w->start_ns >= window_ns))
    return open_window(saddr, w, now);
  __sync_fetch_and_add(&w->packets, 1);
  if (w->packets <= packets_per_window) return total(RL_PASSED, XDP_PASS);
  __sync_fetch_and_add(&w->dropped, 1);
  return total(RL_DROPPED, XDP_DROP);
}

SEC("xdp")
int xdp_rate_limit(struct xdp_md* ctx) {
  struct cursor c = cursor_of(ctx);
  __be16 proto;
  __u16 vlan_id;
  if (!parse_eth(&c, &proto, &vlan_id) || proto != bpf_htons(ETH_P_IP))
    return total(RL_NOT_IPV4, XDP_PASS);
  struct iphdr* ip = parse_ipv4(&c);
  if (!ip) return total(RL_NOT_IPV4, XDP_PASS);
  return limit(ip->saddr);
}

char LICENSE[] SEC("license") = "GPL";

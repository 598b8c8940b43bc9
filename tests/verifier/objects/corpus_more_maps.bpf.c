// SPDX-License-Identifier: MIT
// Verdict corpus, the map types an XDP program reaches for besides those of corpus_maps.bpf.c:
// a perf event array for samples, redirects through a devmap hash, a cpumap and an xskmap,
// and each used the usual ways; then the same maps misused, as Linux rejects them.
#include "corpus_common.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} samples SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
  __uint(max_entries, 32);
  __type(key, __u32);
  __type(value, __u32);
} ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_CPUMAP);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
} sockets SEC(".maps");

struct sample {
  __u32 ifindex;
  __u16 len;
  __u16 proto;
};

// Sends a header with the first bytes of every 64th frame to user space, the packet's bytes
// appended through the flags' upper half (Linux: BPF_F_CTXLEN_MASK).
// expect: accept
SEC("xdp")
int samples_frames(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_PASS;
  if ((bpf_get_prandom_u32() & 63) != 0) return XDP_PASS;
  struct sample s = {ctx->ingress_ifindex, (__u16)(end - data), eth->h_proto};
  __u64 flags = BPF_F_CURRENT_CPU | ((__u64)(s.len < 64 ? s.len : 64) << 32);
  bpf_perf_event_output(ctx, &samples, flags, &s, sizeof(s));
  return XDP_PASS;
}

// Forwards by the destination MAC's last byte through a devmap hash, passing what has no port.
// expect: accept
SEC("xdp")
int forwards_by_mac(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_PASS;
  __u32 port = eth->h_dest[5];
  return bpf_redirect_map(&ports, port, XDP_PASS);
}

// Spreads flows over CPUs by a hash of the IPv4 addresses.
// expect: accept
SEC("xdp")
int spreads_over_cpus(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  __u32 cpu = (ip->saddr ^ ip->daddr) % 4;
  return bpf_redirect_map(&cpus, cpu, 0);
}

// Hands UDP to port 4791 to the AF_XDP socket of the receive queue, when there is one.
// expect: accept
SEC("xdp")
int steers_to_af_xdp(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = (void*)(eth + 1);
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
      ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(4791))
    return XDP_PASS;
  __u32 queue = ctx->rx_queue_index;
  if (bpf_map_lookup_elem(&sockets, &queue)) return bpf_redirect_map(&sockets, queue, XDP_DROP);
  return XDP_PASS;
}

// A perf event array's elements are not values a program reads.
// expect: reject: a map of type perf_event_array (4) cannot be passed to helper #1
SEC("xdp")
int reads_perf_event_array(struct xdp_md* ctx) {
  __u32 key = 0;
  __u32* v = bpf_map_lookup_elem(&samples, &key);
  return v && *v ? XDP_DROP : XDP_PASS;
}

// A sample longer than the stack buffer it is copied from.
// expect: reject: helper memory out of stack bounds
SEC("xdp")
int samples_past_its_buffer(struct xdp_md* ctx) {
  struct sample s = {ctx->ingress_ifindex, 0, 0};
  bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &s, sizeof(s) + 8);
  return XDP_PASS;
}

// A devmap hash is updated from user space only.
// expect: reject: a map of type devmap_hash (25) cannot be passed to helper #2
SEC("xdp")
int updates_devmap_hash(struct xdp_md* ctx) {
  __u32 key = 1, ifindex = ctx->ingress_ifindex;
  bpf_map_update_elem(&ports, &key, &ifindex, BPF_ANY);
  return XDP_PASS;
}

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, struct bpf_devmap_val);
} egress SEC(".maps");

// Looks the egress port up before redirecting, to pass what has none.
// expect: accept
SEC("xdp")
int checks_the_port_first(struct xdp_md* ctx) {
  __u32 port = ctx->rx_queue_index & 7;
  struct bpf_devmap_val* v = bpf_map_lookup_elem(&egress, &port);
  if (!v || v->ifindex == 0) return XDP_PASS;
  return bpf_redirect_map(&egress, port, 0);
}

// A device map's values are read-only to programs.
// expect: reject: read-only
SEC("xdp")
int writes_a_devmap_value(struct xdp_md* ctx) {
  __u32 port = 0;
  struct bpf_devmap_val* v = bpf_map_lookup_elem(&egress, &port);
  if (v) v->ifindex = ctx->ingress_ifindex;
  return XDP_PASS;
}

// What an XSKMAP lookup returns is a socket, not memory to write.
// expect: reject: read-only
SEC("xdp")
int writes_through_an_xsk_lookup(struct xdp_md* ctx) {
  __u32 queue = 0;
  __u32* sock = bpf_map_lookup_elem(&sockets, &queue);
  if (sock) *sock = 1;
  return XDP_PASS;
}

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} totals SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} per_cpu_totals SEC(".maps");

// An array lookup with a constant key inside the array cannot fail: Linux (6.14 on) lets the
// program use the value without a null check. A zero key is such a constant.
// expect: accept
SEC("xdp")
int counts_without_null_check(struct xdp_md* ctx) {
  __u32 key = 0;
  __u64* total = bpf_map_lookup_elem(&totals, &key);
  *total += 1;
  __u64* mine = bpf_map_lookup_elem(&per_cpu_totals, &key);
  *mine += ctx->data_end - ctx->data;
  return XDP_PASS;
}

// A key of 2 written as a 4-byte immediate is no constant Linux tracks on the stack.
// expect: reject: may be null
SEC("xdp")
int key_two_without_null_check(struct xdp_md* ctx) {
  __u32 key = 2;
  __u64* total = bpf_map_lookup_elem(&totals, &key);
  *total += 1;
  return XDP_PASS;
}

// A key the program read from the packet may be past the array.
// expect: reject: may be null
SEC("xdp")
int packet_key_without_null_check(struct xdp_md* ctx) {
  __u8* p = (void*)(long)ctx->data;
  if ((void*)(p + 1) > (void*)(long)ctx->data_end) return XDP_PASS;
  __u32 key = *p;
  __u64* total = bpf_map_lookup_elem(&totals, &key);
  *total += 1;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// Test program for the XDP test run and runner: counts the bytes it sees per ingress ifindex
// (low two bits), flips the first byte of the frame, passes IPv4 (ethertype 0x0800, first
// byte 0x08) and drops the rest; frames shorter than an Ethernet header are aborted.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} bytes_by_ifindex SEC(".maps");

SEC("xdp")
int xdp_basic(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __u32 key = ctx->ingress_ifindex & 3;
  __u64 *count = bpf_map_lookup_elem(&bytes_by_ifindex, &key);
  if (count) *count += data_end - data;
  if (data + 14 > data_end) return XDP_ABORTED;
  unsigned char *eth = data;
  eth[0] ^= 0xff;
  return eth[12] == 0x08 ? XDP_PASS : XDP_DROP;
}

// Reads the metadata word in front of the packet, if there is one, into the frame's first
// four bytes, and reports rx_queue_index in the second four.
SEC("xdp")
int xdp_meta_reader(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  void *meta = (void *)(long)ctx->data_meta;
  if (data + 14 > data_end) return XDP_ABORTED;
  __u32 *out = data;
  out[1] = ctx->rx_queue_index;
  if (meta + 4 > data) return XDP_DROP;
  out[0] = *(__u32 *)meta;
  return XDP_PASS;
}

// Grows the packet by 64 bytes at the front and returns what it finds there: XDP_PASS when
// they are all zero, XDP_DROP otherwise; a packet whose first byte is 1 then leaves 0xaa in
// each of them for the packets after it to find.
SEC("xdp")
int xdp_headroom_peek(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_ABORTED;
  const int mark = *(unsigned char *)data == 1;
  if (bpf_xdp_adjust_head(ctx, -64)) return XDP_ABORTED;
  data = (void *)(long)ctx->data;
  data_end = (void *)(long)ctx->data_end;
  if (data + 64 > data_end) return XDP_ABORTED;
  __u64 *front = data;
  __u64 seen = 0;
  for (int i = 0; i < 8; i++) {
    seen |= front[i];
    if (mark) front[i] = 0xaaaaaaaaaaaaaaaaULL;
  }
  bpf_xdp_adjust_head(ctx, 64);
  return seen ? XDP_DROP : XDP_PASS;
}

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} samples SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __s64);
} sample_results SEC(".maps");

static void keep_result(__u32 key, long result) {
  __s64 *slot = bpf_map_lookup_elem(&sample_results, &key);
  if (slot) *slot = result;
}

// Writes one sample of the frame's length and its first 6 bytes to the perf event array, then
// tries three that fail, keeping what each call returned: an index past the array's entries
// (-E2BIG), more frame bytes than the frame has (-EFAULT), an unknown flag (-EINVAL).
SEC("xdp")
int xdp_sampler(struct xdp_md *ctx) {
  __u32 len = ctx->data_end - ctx->data;
  keep_result(0, bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU | (6ull << 32), &len,
                                       sizeof(len)));
  keep_result(1, bpf_perf_event_output(ctx, &samples, 7, &len, sizeof(len)));
  keep_result(2, bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU | (4096ull << 32), &len,
                                       sizeof(len)));
  keep_result(3, bpf_perf_event_output(ctx, &samples, 1ull << 60, &len, sizeof(len)));
  return XDP_PASS;
}

// Asks for a route to 10.0.0.1 out of the loopback device: Pollen has no forwarding table, so
// the answer is BPF_FIB_LKUP_RET_NOT_FWDED (passed); anything else drops.
SEC("xdp")
int xdp_fib_no_route(struct xdp_md *ctx) {
  struct bpf_fib_lookup params = {};
  params.family = 2;  // AF_INET
  params.ifindex = 1;
  params.ipv4_dst = __builtin_bswap32(0x0a000001);
  long rc = bpf_fib_lookup(ctx, &params, sizeof(params), 0);
  return rc == BPF_FIB_LKUP_RET_NOT_FWDED ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// References: bpf_ringbuf_reserve gives a record that every path must release with
// bpf_ringbuf_submit or bpf_ringbuf_discard, once; after the release it is gone.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct event {
  __u64 a;
  __u32 b;
};

// expect: accept
SEC("xdp")
int submits(struct xdp_md* xdp) {
  struct event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return XDP_PASS;
  e->a = 1;
  e->b = xdp->ingress_ifindex;
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

// expect: accept
SEC("xdp")
int discards_or_submits(struct xdp_md* xdp) {
  struct event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return XDP_PASS;
  e->a = xdp->rx_queue_index;
  if (e->a > 3)
    bpf_ringbuf_discard(e, 0);
  else
    bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
  return XDP_DROP;
}

// expect: reject: Unreleased reference
SEC("xdp")
int leaks_on_one_path(struct xdp_md* xdp) {
  struct event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return XDP_PASS;
  if (xdp->rx_queue_index == 1) return XDP_DROP;
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

// expect: reject: is a number, not a pointer
SEC("xdp")
int writes_after_submit(struct xdp_md* xdp) {
  struct event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return XDP_PASS;
  bpf_ringbuf_submit(e, 0);
  *(volatile __u64*)&e->a = 2;
  return XDP_PASS;
}

// expect: reject: expected=ringbuf_mem
SEC("xdp")
int submits_twice(struct xdp_md* xdp) {
  struct event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return XDP_PASS;
  bpf_ringbuf_submit(e, 0);
  bpf_ringbuf_discard(e, 0);
  return XDP_PASS;
}

// expect: reject: type=ringbuf_mem_or_null expected=ringbuf_mem
SEC("xdp")
int submits_without_null_check(struct xdp_md* xdp) {
  struct event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

// expect: reject: invalid access to memory
SEC("xdp")
int writes_past_record(struct xdp_md* xdp) {
  __u32* e = bpf_ringbuf_reserve(&events, 8, 0);
  if (!e) return XDP_PASS;
  e[2] = 1;
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

// expect: reject: is not a known constant
SEC("xdp")
int reserves_unknown_size(struct xdp_md* xdp) {
  void* e = bpf_ringbuf_reserve(&events, xdp->rx_queue_index & 63, 0);
  if (!e) return XDP_PASS;
  bpf_ringbuf_discard(e, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

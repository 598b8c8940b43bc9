// SPDX-License-Identifier: MIT
// The limits of bpf_xdp_adjust_head, bpf_xdp_adjust_tail and bpf_xdp_adjust_meta: each program
// tries a list of deltas, records each call's return value in .bss (0, or -EINVAL / -EACCES
// where Linux refuses) and undoes every adjustment that succeeded, so the frame comes out as it
// went in. Deltas around the boundaries: the head may not move into the struct xdp_frame at the
// buffer's start (nor past its metadata) nor leave less than an Ethernet header; the tail may
// not pass the frame's end minus the skb_shared_info tailroom nor leave less than an Ethernet
// header; metadata must be a multiple of 4 bytes, at most 32, between that struct and data.
#include "xdp_common.h"

#define N_FIXED 12
#define N_ALL (N_FIXED + 4)

// Fixed deltas; the last four of each list are computed from the packet's length.
const volatile int head_deltas[N_FIXED] = {-1,   -4,   -200, -208, -209, -215,
                                           -216, -217, -256, 1,    4096, -2147483647 - 1};
const volatile int tail_deltas[N_FIXED] = {
    -1, 1, 100, -4096, 4096, 2147483647, -2147483647 - 1, 3000, 3520, -13, -14, -15};
const volatile int meta_deltas[N_FIXED] = {-4, -8,   -32,  -36,  -3,   -2,
                                           4,  -212, -216, -217, -256, -40};

int head_rc[N_ALL];
int tail_rc[N_ALL];
int meta_rc[N_FIXED];
int meta_setup_rc;

static __always_inline int frame_len(struct xdp_md* ctx) {
  return (int)(ctx->data_end - ctx->data);
}

static __noinline int try_head(struct xdp_md* ctx, int delta) {
  int rc = bpf_xdp_adjust_head(ctx, delta);
  if (rc == 0) bpf_xdp_adjust_head(ctx, -delta);
  return rc;
}

static __noinline int try_tail(struct xdp_md* ctx, int delta) {
  int rc = bpf_xdp_adjust_tail(ctx, delta);
  if (rc == 0) bpf_xdp_adjust_tail(ctx, -delta);
  return rc;
}

static __always_inline void head_all(struct xdp_md* ctx) {
  for (int i = 0; i < N_FIXED; i++) head_rc[i] = try_head(ctx, head_deltas[i]);
  // Shrinking to exactly an Ethernet header is allowed, one byte more is not.
  head_rc[N_FIXED] = try_head(ctx, frame_len(ctx) - 14);
  head_rc[N_FIXED + 1] = try_head(ctx, frame_len(ctx) - 13);
  head_rc[N_FIXED + 2] = try_head(ctx, frame_len(ctx));
  head_rc[N_FIXED + 3] = try_head(ctx, -frame_len(ctx));
}

SEC("xdp")
int head_limits(struct xdp_md* ctx) {
  head_all(ctx);
  return XDP_PASS;
}

// The same with 16 bytes of metadata in front: the head may move 16 bytes less.
SEC("xdp")
int head_limits_meta(struct xdp_md* ctx) {
  meta_setup_rc = bpf_xdp_adjust_meta(ctx, -16);
  head_all(ctx);
  return XDP_PASS;
}

SEC("xdp")
int tail_limits(struct xdp_md* ctx) {
  for (int i = 0; i < N_FIXED; i++) tail_rc[i] = try_tail(ctx, tail_deltas[i]);
  // Growing to exactly the frame's end minus the tailroom (3520 bytes from data) is allowed.
  tail_rc[N_FIXED] = try_tail(ctx, 3520 - frame_len(ctx));
  tail_rc[N_FIXED + 1] = try_tail(ctx, 3521 - frame_len(ctx));
  tail_rc[N_FIXED + 2] = try_tail(ctx, 14 - frame_len(ctx));
  tail_rc[N_FIXED + 3] = try_tail(ctx, 13 - frame_len(ctx));
  return XDP_PASS;
}

SEC("xdp")
int meta_limits(struct xdp_md* ctx) {
  for (int i = 0; i < N_FIXED; i++) {
    int delta = meta_deltas[i];
    int rc = bpf_xdp_adjust_meta(ctx, delta);
    if (rc == 0) bpf_xdp_adjust_meta(ctx, -delta);
    meta_rc[i] = rc;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// XDP metadata (bpf_xdp_adjust_meta): `meta_write` puts 8 bytes in front of the frame (a magic
// and the frame's length), which Linux's data_out includes; `meta_then_head` adds metadata and
// then grows the head, so the metadata moves along with data; `meta_read` reads metadata that
// ctx_in put in front of the packet and rewrites it.
#include "xdp_common.h"

struct meta {
  __u32 magic;
  __u32 len;
};

__u64 seen_magic;

SEC("xdp")
int meta_write(struct xdp_md* ctx) {
  if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct meta))) return XDP_ABORTED;
  void* data = (void*)(long)ctx->data;
  struct meta* m = (void*)(long)ctx->data_meta;
  if ((void*)(m + 1) > data) return XDP_ABORTED;
  m->magic = 0xc0ffee00;
  m->len = ctx->data_end - ctx->data;
  return XDP_PASS;
}

SEC("xdp")
int meta_then_head(struct xdp_md* ctx) {
  if (bpf_xdp_adjust_meta(ctx, -4)) return XDP_ABORTED;
  void* data = (void*)(long)ctx->data;
  __u32* m = (void*)(long)ctx->data_meta;
  if ((void*)(m + 1) > data) return XDP_ABORTED;
  *m = 0xabcd1234;
  if (bpf_xdp_adjust_head(ctx, -6)) return XDP_DROP;
  data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u8* front = data;
  if ((void*)(front + 6) > end) return XDP_ABORTED;
  for (int i = 0; i < 6; i++) front[i] = 0xa0 + i;
  return XDP_PASS;
}

SEC("xdp")
int meta_read(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  struct meta* m = (void*)(long)ctx->data_meta;
  if ((void*)(m + 1) > data) return XDP_DROP;  // no metadata given
  seen_magic = m->magic;
  m->magic = ~m->magic;
  m->len = ctx->data_end - ctx->data_meta;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

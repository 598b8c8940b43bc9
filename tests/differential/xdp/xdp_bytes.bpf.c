// SPDX-License-Identifier: MIT
// The frame through helpers instead of pointers: bpf_xdp_get_buff_len, bpf_xdp_load_bytes and
// bpf_xdp_store_bytes. The program copies the destination MAC over the source MAC, reads the
// frame's last four bytes, writes its last byte, and records every call's result, including
// reads and writes beyond the frame (-EINVAL) and offsets Linux refuses outright (-EFAULT).
#include "xdp_common.h"

__u64 buff_len;
long load_rc[4];
long store_rc[3];
__u8 loaded[16];

SEC("xdp")
int xdp_bytes(struct xdp_md* ctx) {
  __u8 buf[16] = {};
  __u32 len = bpf_xdp_get_buff_len(ctx);
  buff_len = len;
  load_rc[0] = bpf_xdp_load_bytes(ctx, 0, buf, 6);
  store_rc[0] = bpf_xdp_store_bytes(ctx, 6, buf, 6);
  load_rc[1] = bpf_xdp_load_bytes(ctx, len - 4, buf + 8, 4);
  load_rc[2] = bpf_xdp_load_bytes(ctx, len - 2, buf + 12, 4);
  load_rc[3] = bpf_xdp_load_bytes(ctx, 0xffffffff, buf + 6, 1);
  store_rc[1] = bpf_xdp_store_bytes(ctx, len, buf, 1);
  store_rc[2] = bpf_xdp_store_bytes(ctx, len - 1, buf + 8, 1);
  __builtin_memcpy(loaded, buf, sizeof(buf));
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

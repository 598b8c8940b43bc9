// SPDX-License-Identifier: MIT
// The context of bench_compare's programs compiled as native code: struct xdp_md with real
// pointers where Linux's has u32 offsets. Included by compare.h (native mode) and by the C++
// harness, which calls the native programs with it.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

struct compare_native_xdp_md {
  void* data;
  void* data_end;
  void* data_meta;
  unsigned ingress_ifindex;
  unsigned rx_queue_index;
};

#ifdef __cplusplus
}
#endif

// SPDX-License-Identifier: MIT
// Test programs of `pollen run` (tests/cli/run_test.cpp), small enough that the expected count of
// every verdict is obvious from the packets a test writes:
//   xdp_drop_udp  drops IPv4 UDP, passes the rest; counts both in `seen` (0: UDP, 1: other)
//   xdp_verdict   returns the first byte after the Ethernet header as the verdict; for
//                 XDP_REDIRECT (4) the next byte is the target ifindex (bpf_redirect)
//   xdp_reflect   frames of EtherType 0x88b5 (local experimental) go back out with their
//                 Ethernet addresses swapped (XDP_TX); everything else is dropped
//   not_xdp       a syscall program, which `pollen run` must refuse
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_TEST 0x88b5

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} seen SEC(".maps");

static __always_inline void count(__u32 key) {
  __u64* n = bpf_map_lookup_elem(&seen, &key);
  if (n) __sync_fetch_and_add(n, 1);
}

SEC("xdp")
int xdp_drop_udp(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if (eth->h_proto == bpf_htons(ETH_P_IP) && (void*)(ip + 1) <= end &&
      ip->protocol == IPPROTO_UDP) {
    count(0);
    return XDP_DROP;
  }
  count(1);
  return XDP_PASS;
}

SEC("xdp")
int xdp_verdict(struct xdp_md* ctx) {
  __u8* data = (void*)(long)ctx->data;
  __u8* end = (void*)(long)ctx->data_end;
  if (data + ETH_HLEN + 2 > end) return XDP_ABORTED;
  __u8 verdict = data[ETH_HLEN];
  if (verdict == XDP_REDIRECT) return bpf_redirect(data[ETH_HLEN + 1], 0);
  return verdict;
}

SEC("xdp")
int xdp_reflect(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_TEST)) return XDP_DROP;
  __u8 tmp[ETH_ALEN];
  __builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
  return XDP_TX;
}

SEC("syscall")
int not_xdp(void* ctx) {
  return 0;
}

char LICENSE[] SEC("license") = "GPL";

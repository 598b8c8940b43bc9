// SPDX-License-Identifier: MIT
// Bounded loops over header bytes: `header_hash` folds up to the first 64 bytes of the frame
// into an FNV-1a hash and a byte sum (stopping at the frame's end) and writes the hash into the
// destination MAC's last four bytes; `ipv4_options_csum` checks an IPv4 header's checksum with
// a loop whose trip count is the header length (IHL, options included).
#include "xdp_common.h"

__u32 last_hash;
__u64 byte_sum;
__u64 csum_ok, csum_bad;

SEC("xdp")
int header_hash(struct xdp_md* ctx) {
  __u8* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u32 hash = 2166136261u;
  __u64 sum = 0;
  __u8* byte = data;
  for (int i = 0; i < 64; i++) {
    asm volatile("" : "+r"(byte));  // as below: a pointer check, not a length count
    if ((void*)(byte + 1) > end) break;
    hash = (hash ^ *byte) * 16777619u;
    sum += *byte++;
  }
  last_hash = hash;
  byte_sum += sum;
  if ((void*)(data + 6) > end) return XDP_PASS;
  *(__u32*)(data + 2) = hash;
  return XDP_TX;
}

SEC("xdp")
int ipv4_options_csum(struct xdp_md* ctx) {
  void* pos = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = CURSOR_TAKE(pos, end, struct ethhdr);
  if (!eth || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = pos;
  if ((void*)(ip + 1) > end) return XDP_PASS;
  __u32 n = ip->ihl * 2;
  __u32 sum = 0;
  __u16* word = pos;
  for (__u32 i = 0; i < 30; i++) {
    if (i >= n) break;
    // Keeps clang from turning the pointer check into a length count the verifier cannot follow.
    asm volatile("" : "+r"(word));
    if ((void*)(word + 1) > end) return XDP_ABORTED;
    sum += *word++;
  }
  if (csum_fold(sum) == 0) {
    csum_ok++;
    return XDP_PASS;
  }
  csum_bad++;
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

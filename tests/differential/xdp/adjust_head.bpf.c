// SPDX-License-Identifier: MIT
// bpf_xdp_adjust_head growing and shrinking the frame at its front: IP-in-IP encapsulation
// (20 bytes more: an outer IPv4 header with its checksum), its decapsulation (20 bytes fewer),
// and pushing an 802.1Q tag (4 bytes more; with repeat N the tags pile up, as Linux runs the
// program again on the frame it left). The Ethernet header moves to the new front each time.
#include "xdp_common.h"

__u64 failures;

static __always_inline __u16 ipv4_csum(struct iphdr* ip) {
  __u32 sum = 0;
  __u16* words = (__u16*)ip;
#pragma unroll
  for (int i = 0; i < 10; i++) sum += words[i];
  return csum_fold(sum);
}

SEC("xdp")
int encap_ipip(struct xdp_md* ctx) {
  struct ethhdr eth_copy;
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* inner = data + sizeof(*eth);
  if ((void*)(inner + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  __u16 inner_len = bpf_ntohs(inner->tot_len);
  __builtin_memcpy(&eth_copy, eth, sizeof(eth_copy));
  if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr))) {
    failures++;
    return XDP_ABORTED;
  }
  data = (void*)(long)ctx->data;
  end = (void*)(long)ctx->data_end;
  eth = data;
  struct iphdr* outer = data + sizeof(*eth);
  if ((void*)(outer + 1) > end) return XDP_ABORTED;
  __builtin_memcpy(eth, &eth_copy, sizeof(*eth));
  outer->version = 4;
  outer->ihl = 5;
  outer->tos = 0;
  outer->tot_len = bpf_htons(inner_len + sizeof(*outer));
  outer->id = bpf_htons(0x4242);
  outer->frag_off = 0;
  outer->ttl = 64;
  outer->protocol = IPPROTO_IPIP;
  outer->check = 0;
  outer->saddr = bpf_htonl(0xc0000201);  // 192.0.2.1
  outer->daddr = bpf_htonl(0xc0000202);  // 192.0.2.2
  outer->check = ipv4_csum(outer);
  return XDP_TX;
}

SEC("xdp")
int decap_ipip(struct xdp_md* ctx) {
  struct ethhdr eth_copy;
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* outer = data + sizeof(*eth);
  if ((void*)(outer + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
      outer->protocol != IPPROTO_IPIP || outer->ihl != 5)
    return XDP_PASS;
  __builtin_memcpy(&eth_copy, eth, sizeof(eth_copy));
  if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct iphdr))) {
    failures++;
    return XDP_ABORTED;
  }
  data = (void*)(long)ctx->data;
  end = (void*)(long)ctx->data_end;
  eth = data;
  if ((void*)(eth + 1) > end) return XDP_ABORTED;
  __builtin_memcpy(eth, &eth_copy, sizeof(*eth));
  return XDP_PASS;
}

SEC("xdp")
int push_vlan(struct xdp_md* ctx) {
  struct ethhdr eth_copy;
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_PASS;
  __builtin_memcpy(&eth_copy, eth, sizeof(eth_copy));
  if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct vlan_hdr))) {
    failures++;
    return XDP_ABORTED;
  }
  data = (void*)(long)ctx->data;
  end = (void*)(long)ctx->data_end;
  eth = data;
  struct vlan_hdr* vlan = data + sizeof(*eth);
  if ((void*)(vlan + 1) > end) return XDP_ABORTED;
  __builtin_memcpy(eth, &eth_copy, sizeof(*eth));
  vlan->proto = eth_copy.h_proto;
  vlan->tci = bpf_htons(100);
  eth->h_proto = bpf_htons(ETH_P_8021Q);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

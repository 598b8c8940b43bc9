// SPDX-License-Identifier: MIT
// CO-RE relocations, as a program built against vmlinux.h carries them on every struct access:
// packet headers and struct xdp_md declared with preserve_access_index (libbpf matches them by
// name to the kernel's iphdr, udphdr and xdp_md, whose layout is the wire's and the UAPI's),
// read directly, through BPF_CORE_READ_BITFIELD (byte offset, size and shifts of the IPv4
// header's version and ihl bitfields), and asked about with bpf_core_field_exists,
// bpf_core_field_size, bpf_core_type_size and bpf_core_enum_value. Linux resolves them against
// its own types and Pollen against the program's; the results land in the frame.
#include "xdp_common.h"

#include <bpf/bpf_core_read.h>

struct iphdr___co {
  __u8 ihl : 4, version : 4;
  __u8 tos;
  __be16 tot_len;
  __be16 id;
  __be16 frag_off;
  __u8 ttl;
  __u8 protocol;
  __sum16 check;
  __be32 saddr;
  __be32 daddr;
} __attribute__((preserve_access_index));

struct udphdr___co {
  __be16 source;
  __be16 dest;
  __be16 len;
  __sum16 check;
} __attribute__((preserve_access_index));

struct xdp_md___co {
  __u32 data;
  __u32 data_end;
  __u32 data_meta;
  __u32 ingress_ifindex;
  __u32 rx_queue_index;
} __attribute__((preserve_access_index));

enum xdp_action___co { XDP_ABORTED___co, XDP_DROP___co, XDP_PASS___co, XDP_TX___co };

struct results {
  __u64 version, ihl, protocol, ttl_size, dport, has_check, iphdr_size, tx, queue;
};

SEC("xdp")
int core_reads(struct xdp_md* ctx) {
  struct xdp_md___co* c = (void*)ctx;
  void* data = (void*)(long)c->data;
  void* end = (void*)(long)c->data_end;
  struct iphdr___co* ip = data + sizeof(struct ethhdr);
  struct udphdr___co* udp = data + sizeof(struct ethhdr) + 20;
  if ((void*)(udp + 1) > end) return XDP_DROP;
  struct iphdr___co copy;
  __builtin_memcpy(&copy, ip, sizeof(copy));
  struct results r = {
      .version = BPF_CORE_READ_BITFIELD(&copy, version),
      .ihl = BPF_CORE_READ_BITFIELD(&copy, ihl),
      .protocol = ip->protocol,
      .ttl_size = bpf_core_field_size(ip->ttl),
      .dport = bpf_ntohs(udp->dest),
      .has_check = bpf_core_field_exists(udp->check),
      .iphdr_size = bpf_core_type_size(struct iphdr___co),
      .tx = bpf_core_enum_value(enum xdp_action___co, XDP_TX___co),
      .queue = c->rx_queue_index,
  };
  if (data + sizeof(r) > end) return XDP_DROP;
  __builtin_memcpy(data, &r, sizeof(r));
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// What the XDP test programs of the differential test share: the kernel's uapi headers, a VLAN
// tag and an ICMP echo header (linux/icmp.h needs the C library's headers, which a BPF target
// does not have), and a bounds-checked cursor over the packet, so each program stays a few
// lines about the one thing it tests.
#pragma once

// libbpf's headers need the kernel's types first.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct vlan_hdr {
  __be16 tci;
  __be16 proto;
};

// ICMP and ICMPv6 share their first four bytes; echo requests and replies add id and sequence.
struct icmp_echo {
  __u8 type;
  __u8 code;
  __sum16 checksum;
  __be16 id;
  __be16 sequence;
};

#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

// The next `type` in the packet, or NULL when the packet is too short; moves the cursor on.
#define CURSOR_TAKE(cursor, end, type) \
  ({                                   \
    type* _p = (type*)(cursor);        \
    if ((void*)(_p + 1) > (end))       \
      _p = NULL;                       \
    else                               \
      (cursor) = (void*)(_p + 1);      \
    _p;                                \
  })

// Folds a 32-bit one's complement sum to the 16-bit checksum field value.
static __always_inline __u16 csum_fold(__u64 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

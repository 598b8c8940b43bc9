// SPDX-License-Identifier: MIT
// Shared by the verdict corpus (corpus_*.bpf.c): the headers a libbpf program includes and the
// packet headers it parses, written out where the UAPI ones drag in libc.
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// A loop the compiler keeps as a loop, as the verifier then sees it.
#define NO_UNROLL _Pragma("clang loop unroll(disable)")

struct vlan_tag {
  __be16 tci;
  __be16 proto;
};

// RFC 1071: fold a 32-bit ones' complement sum to 16 bits.
static __always_inline __u16 csum_fold(__u32 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

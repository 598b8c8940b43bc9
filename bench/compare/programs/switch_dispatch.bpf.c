// SPDX-License-Identifier: MIT
// bench_compare's switch dispatch: a packet filter interpreter. The rules are a program for a
// small machine after classic BPF (accumulator A, index X, loads from the packet, conditional
// jumps, return), kept in a global array so that user space can replace them without
// reloading the XDP program; each step is a `switch` on the opcode. The rules given here drop
// IPv4 with options, fragments, sources in eight blocked networks, SSH from outside
// 10.0.0.0/8, ICMP redirects, too long DNS responses, and UDP to ports below 1024 from outside
// 10.0.0.0/8; they pass the rest. A rule program that runs too long, jumps out of the array
// or reads beyond the packet drops the packet.
#include "../compare.h"

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>

#define MAX_RULES 48
#define MAX_STEPS MAX_RULES  // jumps go forward only, as in classic BPF

enum filter_op {
  OP_LDB,      // A = packet[k]
  OP_LDH,      // A = the big-endian u16 at packet[k]
  OP_LDW,      // A = the big-endian u32 at packet[k]
  OP_LDB_X,    // A = packet[X + k]
  OP_LDH_X,    // A = the big-endian u16 at packet[X + k]
  OP_LDX_MSH,  // X = (packet[k] & 0xf) * 4: the IPv4 header's length
  OP_LDLEN,    // A = the frame's length
  OP_AND,      // A &= k
  OP_JEQ,      // pc += A == k ? jt : jf
  OP_JGT,      // pc += A > k ? jt : jf
  OP_JGE,      // pc += A >= k ? jt : jf
  OP_JSET,     // pc += A & k ? jt : jf
  OP_RET,      // return k
};

struct filter_insn {
  __u8 op;
  __u8 jt;
  __u8 jf;
  __u8 pad;
  __u32 k;
};

#define STMT(o, kk) \
  { .op = (o), .k = (kk) }
#define JUMP(o, kk, t, f) \
  { .op = (o), .jt = (t), .jf = (f), .k = (kk) }

// Jump offsets count from the next rule, as in classic BPF.
struct filter_insn rules[MAX_RULES] = {
    /*  0 */ STMT(OP_LDH, 12),
    /*  1 */ JUMP(OP_JEQ, ETH_P_IP, 0, 37),  // not IPv4: pass
    /*  2 */ STMT(OP_LDB, 14),
    /*  3 */ JUMP(OP_JEQ, 0x45, 0, 34),  // IPv4 options, or not version 4: drop
    /*  4 */ STMT(OP_LDH, 20),
    /*  5 */ JUMP(OP_JSET, 0x3fff, 32, 0),  // a fragment: drop
    /*  6 */ STMT(OP_LDW, 26),              // the source address
    /*  7 */ STMT(OP_AND, 0xffff0000),
    /*  8 */ JUMP(OP_JEQ, 0xc6120000, 29, 0),  // a blocked /16: drop
    /*  9 */ JUMP(OP_JEQ, 0xc6330000, 28, 0),
    /* 10 */ JUMP(OP_JEQ, 0xcb000000, 27, 0),
    /* 11 */ JUMP(OP_JEQ, 0xc0000000, 26, 0),
    /* 12 */ JUMP(OP_JEQ, 0x64400000, 25, 0),
    /* 13 */ JUMP(OP_JEQ, 0xa9fe0000, 24, 0),
    /* 14 */ JUMP(OP_JEQ, 0xe0000000, 23, 0),
    /* 15 */ JUMP(OP_JEQ, 0xf0000000, 22, 0),
    /* 16 */ STMT(OP_LDX_MSH, 14),
    /* 17 */ STMT(OP_LDB, 23),  // the protocol
    /* 18 */ JUMP(OP_JEQ, IPPROTO_TCP, 0, 5),
    /* 19 */ STMT(OP_LDH_X, 16),  // TCP destination port
    /* 20 */ JUMP(OP_JEQ, 22, 0, 16),
    /* 21 */ STMT(OP_LDW, 26),
    /* 22 */ STMT(OP_AND, 0xff000000),
    /* 23 */ JUMP(OP_JEQ, 0x0a000000, 13, 14),  // SSH: only from 10/8
    /* 24 */ JUMP(OP_JEQ, IPPROTO_ICMP, 0, 2),
    /* 25 */ STMT(OP_LDB_X, 14),       // ICMP type
    /* 26 */ JUMP(OP_JEQ, 5, 11, 10),  // a redirect: drop
    /* 27 */ JUMP(OP_JEQ, IPPROTO_UDP, 0, 9),
    /* 28 */ STMT(OP_LDH_X, 14),  // UDP source port
    /* 29 */ JUMP(OP_JEQ, 53, 0, 2),
    /* 30 */ STMT(OP_LDLEN, 0),
    /* 31 */ JUMP(OP_JGT, 1500, 6, 0),  // a jumbo DNS response: drop
    /* 32 */ STMT(OP_LDH_X, 16),        // UDP destination port
    /* 33 */ JUMP(OP_JGE, 1024, 3, 0),
    /* 34 */ STMT(OP_LDW, 26),
    /* 35 */ STMT(OP_AND, 0xff000000),
    /* 36 */ JUMP(OP_JEQ, 0x0a000000, 0, 1),  // privileged ports: only from 10/8
    /* 37 */ STMT(OP_RET, XDP_PASS),
    /* 38 */ STMT(OP_RET, XDP_DROP),
    /* 39 */ STMT(OP_RET, XDP_PASS),
};

// Points `p` at the `size` bytes at packet offset `offset`; drops the packet when they are not
// all in it. Offsets are taken modulo 1,024: the verifier learns nothing from a bounds check
// on a pointer that may be more than 64 KiB past the packet's start.
#define LOAD_AT(p, offset, size)                         \
  do {                                                   \
    p = (__u8*)data + ((offset)&0x3ff);                  \
    if ((void*)(p + (size)) > data_end) return XDP_DROP; \
  } while (0)

SEC("xdp")
int xdp_switch_dispatch(struct xdp_md* ctx) {
  void* data = XDP_DATA(ctx);
  void* data_end = XDP_DATA_END(ctx);
  __u32 a = 0, x = 0;
  __u64 pc = 0;  // 64-bit: clang's zero-extension of a u32 would hide the bound from the verifier
  for (int step = 0; step < MAX_STEPS; step++) {
    if (pc >= MAX_RULES) return XDP_DROP;
    struct filter_insn insn = rules[pc++];
    __u8* p;
    switch (insn.op) {
      case OP_LDB:
        LOAD_AT(p, insn.k, 1);
        a = p[0];
        break;
      case OP_LDH:
        LOAD_AT(p, insn.k, 2);
        a = p[0] << 8 | p[1];
        break;
      case OP_LDW:
        LOAD_AT(p, insn.k, 4);
        a = (__u32)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
        break;
      case OP_LDB_X:
        LOAD_AT(p, x + insn.k, 1);
        a = p[0];
        break;
      case OP_LDH_X:
        LOAD_AT(p, x + insn.k, 2);
        a = p[0] << 8 | p[1];
        break;
      case OP_LDX_MSH:
        LOAD_AT(p, insn.k, 1);
        x = (p[0] & 0xf) * 4;
        break;
      case OP_LDLEN: a = data_end - data; break;
      case OP_AND: a &= insn.k; break;
      case OP_JEQ: pc += a == insn.k ? insn.jt : insn.jf; break;
      case OP_JGT: pc += a > insn.k ? insn.jt : insn.jf; break;
      case OP_JGE: pc += a >= insn.k ? insn.jt : insn.jf; break;
      case OP_JSET: pc += a & insn.k ? insn.jt : insn.jf; break;
      case OP_RET: return insn.k;
      default: return XDP_DROP;
    }
  }
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// The shim that lets one eBPF C source of bench_compare build two ways. With clang -target bpf
// (__BPF__ defined) it is what a libbpf program includes: linux/bpf.h, bpf_helpers.h and
// bpf_endian.h. Compiled as native x86-64 C (clang -O2), it stands in for them: SEC() marks a
// symbol used, the libbpf map definition (__uint, __type in a struct in SEC(".maps")) gains a
// pointer to native storage, bpf_map_lookup_elem and bpf_map_update_elem become inline code on
// a plain array or an open-addressing hash table (so a map must be named in the call, as
// `&map`, not passed through a void *), and struct xdp_md holds real pointers
// (compare_native.h). Sources read the packet bounds through XDP_DATA(ctx) and
// XDP_DATA_END(ctx), which are the usual `(void *)(long)ctx->data` casts under BPF.
//
// Include it before the Linux headers: <linux/stddef.h> would define __always_inline as plain
// `inline`.
#pragma once

#ifdef __BPF__

#include <linux/bpf.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define XDP_DATA(ctx) ((void*)(long)(ctx)->data)
#define XDP_DATA_END(ctx) ((void*)(long)(ctx)->data_end)
#define COMPARE_EXPORT_MAP(map) _Static_assert(1, #map)

#else  // native

#include <stdlib.h>  // glibc's <sys/cdefs.h>, through it, defines __always_inline
#include <string.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __noinline __attribute__((noinline))
#define barrier_var(var) asm volatile("" : "=r"(var) : "0"(var))

// linux/bpf.h for the constants (XDP_PASS, BPF_MAP_TYPE_*, BPF_NOEXIST); its struct xdp_md,
// with u32 offsets, is renamed out of the way and replaced by the native one.
#define xdp_md compare_kernel_xdp_md
#include <linux/bpf.h>
#undef xdp_md

#include <bpf/bpf_endian.h>

#include "compare_native.h"

#define xdp_md compare_native_xdp_md
#define XDP_DATA(ctx) ((ctx)->data)
#define XDP_DATA_END(ctx) ((ctx)->data_end)

#define SEC(name) __attribute__((used))
// As libbpf defines them, so that sizeof recovers the numbers and types; `name##_native` is the
// native storage, created by the first lookup or update.
#define __uint(name, val) \
  int(*name)[val];        \
  void* name##_native
#define __type(name, val) __typeof__(val)* name

#define COMPARE_MAP_ARGS(map)                                                               \
  &(map)->type_native, (int)(sizeof(*(map)->type) / sizeof(int)),                           \
      (unsigned)(sizeof(*(map)->max_entries) / sizeof(int)), (unsigned)sizeof(*(map)->key), \
      (unsigned)sizeof(*(map)->value)
#define bpf_map_lookup_elem(map, key) compare_map_lookup(COMPARE_MAP_ARGS(map), (key))
#define bpf_map_update_elem(map, key, value, flags) \
  compare_map_update(COMPARE_MAP_ARGS(map), (key), (value), (flags))

// For the harness: `void *compare_lookup_<map>(const void *key)` looks `key` up in the native
// map, to check that it holds what the kernel's and Pollen's hold. Nothing under BPF.
#define COMPARE_EXPORT_MAP(map)                 \
  void* compare_lookup_##map(const void* key) { \
    return bpf_map_lookup_elem(&map, key);      \
  }

// Linux's errno values, as the helpers return them negated.
enum { COMPARE_ENOENT = 2, COMPARE_E2BIG = 7, COMPARE_EEXIST = 17 };

// A hash table: `capacity` slots (a power of two, at least twice max_entries), each a used byte,
// the key and the value, with linear probing. Elements are never deleted.
struct compare_hash {
  unsigned mask;
  unsigned count;
  unsigned slot_size;
  unsigned value_offset;
  unsigned char slots[];
};

static __noinline void* compare_map_create(void** state, int type, unsigned max_entries,
                                           unsigned key_size, unsigned value_size) {
  if (type == BPF_MAP_TYPE_ARRAY) {
    *state = calloc(max_entries, value_size);
    return *state;
  }
  unsigned capacity = 16;
  while (capacity < 2 * max_entries) capacity *= 2;
  unsigned value_offset = (1 + key_size + 7) & ~7u;
  unsigned slot_size = (value_offset + value_size + 7) & ~7u;
  struct compare_hash* h = calloc(1, sizeof(*h) + (size_t)capacity * slot_size);
  h->mask = capacity - 1;
  h->slot_size = slot_size;
  h->value_offset = value_offset;
  *state = h;
  return h;
}

static __always_inline unsigned compare_hash_bytes(const unsigned char* key, unsigned size) {
  unsigned h = 0x9747b28cu ^ size;
  unsigned i = 0;
  for (; i + 4 <= size; i += 4) {
    unsigned w;
    memcpy(&w, key + i, 4);
    h = (h ^ w) * 0x9e3779b1u;
    h ^= h >> 15;
  }
  for (; i < size; i++) h = (h ^ key[i]) * 0x01000193u;
  return h ^ (h >> 13);
}

// The slot of `key`, or the empty slot where it would go.
static __always_inline unsigned char* compare_hash_slot(struct compare_hash* h, const void* key,
                                                        unsigned key_size) {
  unsigned i = compare_hash_bytes(key, key_size) & h->mask;
  for (;; i = (i + 1) & h->mask) {
    unsigned char* slot = h->slots + (size_t)i * h->slot_size;
    if (!slot[0] || memcmp(slot + 1, key, key_size) == 0) return slot;
  }
}

static __always_inline void* compare_map_lookup(void** state, int type, unsigned max_entries,
                                                unsigned key_size, unsigned value_size,
                                                const void* key) {
  void* map = *state;
  if (!map) map = compare_map_create(state, type, max_entries, key_size, value_size);
  if (type == BPF_MAP_TYPE_ARRAY) {
    unsigned index;
    memcpy(&index, key, 4);
    return index < max_entries ? (char*)map + (size_t)index * value_size : NULL;
  }
  struct compare_hash* h = map;
  unsigned char* slot = compare_hash_slot(h, key, key_size);
  return slot[0] ? slot + h->value_offset : NULL;
}

static __always_inline long compare_map_update(void** state, int type, unsigned max_entries,
                                               unsigned key_size, unsigned value_size,
                                               const void* key, const void* value,
                                               unsigned long long flags) {
  void* map = *state;
  if (!map) map = compare_map_create(state, type, max_entries, key_size, value_size);
  if (type == BPF_MAP_TYPE_ARRAY) {
    unsigned index;
    memcpy(&index, key, 4);
    if (index >= max_entries) return -COMPARE_E2BIG;
    if (flags == BPF_NOEXIST) return -COMPARE_EEXIST;
    memcpy((char*)map + (size_t)index * value_size, value, value_size);
    return 0;
  }
  struct compare_hash* h = map;
  unsigned char* slot = compare_hash_slot(h, key, key_size);
  if (slot[0] && flags == BPF_NOEXIST) return -COMPARE_EEXIST;
  if (!slot[0]) {
    if (flags == BPF_EXIST) return -COMPARE_ENOENT;
    if (h->count >= max_entries) return -COMPARE_E2BIG;
    h->count++;
    slot[0] = 1;
    memcpy(slot + 1, key, key_size);
  }
  memcpy(slot + h->value_offset, value, value_size);
  return 0;
}

#endif  // __BPF__

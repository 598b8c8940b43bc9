// SPDX-License-Identifier: MIT
// Loader test object for the legacy `maps` section (struct bpf_map_def, as libbpf 0.x and
// iproute2 read it) and global data, built without -g so that it carries no BTF at all.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
  unsigned int type;
  unsigned int key_size;
  unsigned int value_size;
  unsigned int max_entries;
  unsigned int map_flags;
};

struct bpf_map_def SEC("maps") packets = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 256,
};

struct bpf_map_def SEC("maps") by_len = {
    .type = BPF_MAP_TYPE_HASH,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u32),
    .max_entries = 16,
    .map_flags = BPF_F_NO_PREALLOC,
};

static const char message[] = "legacy";
__u32 total = 5;
__u32 zeroed;

static __noinline __u32 bump(__u32 *slot, __u32 by) {
  *slot += by;
  return *slot;
}

SEC("socket")
int count_packets(struct __sk_buff *skb) {
  __u32 key = skb->protocol & 0xff;
  __u64 *v = bpf_map_lookup_elem(&packets, &key);
  if (v) __sync_fetch_and_add(v, 1);
  bump(&total, 1);
  return message[key & 3];
}

SEC("classifier")
int by_length(struct __sk_buff *skb) {
  __u32 len = skb->len;
  __u32 *n = bpf_map_lookup_elem(&by_len, &len);
  if (n) bump(n, 1);
  bump(&zeroed, 2);
  return 0;
}

char _license[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x050a00;

// SPDX-License-Identifier: MIT
// Verdict corpus, the helpers every program type may call in Linux 6.18 (bpf_base_func_proto
// for a root load): one XDP program per helper the base list gained since the older kernels
// (the current task's ids and name, strtol/strtoul, the user-memory probes), trace_printk, and
// the old bpf_probe_read, which only tracing programs may call.
#include "corpus_common.h"

char text[8] = "1234";

// expect: accept
SEC("xdp")
int base_pid_tgid(struct xdp_md* ctx) {
  return bpf_get_current_pid_tgid() == 0 ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_uid_gid(struct xdp_md* ctx) {
  return bpf_get_current_uid_gid() == 0 ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_comm(struct xdp_md* ctx) {
  char comm[16];
  return bpf_get_current_comm(comm, sizeof(comm)) == 0 && comm[0] == 'x' ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_strtol(struct xdp_md* ctx) {
  long value = 0;
  return bpf_strtol(text, sizeof(text), 10, &value) > 0 && value == 1234 ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_strtoul(struct xdp_md* ctx) {
  unsigned long value = 0;
  return bpf_strtoul(text, sizeof(text), 0, &value) > 0 && value == 1234 ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_probe_read_user(struct xdp_md* ctx) {
  __u64 word = 0;
  bpf_probe_read_user(&word, sizeof(word), (void*)4096);
  return word ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_probe_read_user_str(struct xdp_md* ctx) {
  char buf[16];
  return bpf_probe_read_user_str(buf, sizeof(buf), (void*)4096) > 0 ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_probe_read_kernel(struct xdp_md* ctx) {
  __u64 word = 0;
  bpf_probe_read_kernel(&word, sizeof(word), (void*)4096);
  return word ? XDP_DROP : XDP_PASS;
}

// The old probe, which does not say whose memory it reads: tracing programs only.
// expect: reject: may not call
SEC("xdp")
int tracing_probe_read(struct xdp_md* ctx) {
  __u64 word = 0;
  bpf_probe_read(&word, sizeof(word), (void*)4096);
  return word ? XDP_DROP : XDP_PASS;
}

// Linux gives root every program type the current task's pointer; Pollen runs programs
// outside the kernel, with no task_struct to point to, and has no such helper.
// expect: reject: unknown helper
// linux: accepts (bpf_get_current_task is in bpf_base_func_proto for CAP_PERFMON)
SEC("xdp")
int tracing_current_task(struct xdp_md* ctx) {
  return bpf_get_current_task() ? XDP_DROP : XDP_PASS;
}

// expect: accept
SEC("xdp")
int base_trace_printk(struct xdp_md* ctx) {
  char fmt[] = "x";
  return bpf_trace_printk(fmt, sizeof(fmt)) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

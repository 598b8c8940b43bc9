// SPDX-License-Identifier: MIT
// Loader test object with a CO-RE field access: .BTF.ext then carries a bpf_core_relo record,
// which the Spec keeps (rebased to the program) and the loader applies against the object's own
// BTF. Needs -g: clang emits CO-RE records only with BTF.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct task_like {
  int pad;
  int pid;
} __attribute__((preserve_access_index));

SEC("kprobe/do_exit")
int core_read(struct task_like *task) {
  return __builtin_preserve_access_index(task->pid);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: MIT
// The helpers that describe where and when a program runs, with Linux's meaning in user space:
// the kernel's clocks map to the matching POSIX clocks, the CPU number is the run's execution
// slot, random numbers come from a per-thread generator (Linux keeps one per CPU), and the
// "current task" is the host thread running the program: its process and thread ids, the
// process's real uid and gid, the thread's name.
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "helpers/helpers_p.hpp"

namespace pollen::helpers::detail {
namespace {

using vm::RunContext;

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Linux's bpf_ktime_get_ns reads CLOCK_MONOTONIC (ktime_get_mono_fast_ns).
uint64_t ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  return clock_ns(CLOCK_MONOTONIC);
}

// Includes time spent suspended (ktime_get_boot_fast_ns).
uint64_t ktime_get_boot_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  return clock_ns(CLOCK_BOOTTIME);
}

// Tick-resolution monotonic time (ktime_get_coarse_ns).
uint64_t ktime_get_coarse_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  return clock_ns(CLOCK_MONOTONIC_COARSE);
}

uint64_t ktime_get_tai_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  return clock_ns(CLOCK_TAI);
}

// Pollen's execution slots are not tied to NUMA nodes: every slot is on node 0.
uint64_t get_numa_node_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  return 0;
}

uint64_t jiffies64(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  return clock_ns(CLOCK_MONOTONIC_COARSE) / (1'000'000'000u / kJiffiesHz);
}

// splitmix64: a tiny generator whose every output is well mixed, whatever the state.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

// Not cryptographic, as Linux's prandom is not: fast, per thread, seeded from the OS.
uint64_t get_prandom_u32(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  thread_local uint64_t state = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  return splitmix64(state) >> 32;
}

// The execution slot plays the CPU's part in user space (per-CPU maps keep one value per slot).
uint64_t get_smp_processor_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  return ctx->slot;
}

// current->tgid << 32 | current->pid: in user-space words, the process id and the thread id.
uint64_t get_current_pid_tgid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  return static_cast<uint64_t>(getpid()) << 32 | static_cast<uint32_t>(gettid());
}

// current_uid_gid(): the real ids, gid << 32 | uid.
uint64_t get_current_uid_gid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  return static_cast<uint64_t>(getgid()) << 32 | getuid();
}

// Linux's `current`, the task_struct the program runs in, as a number to hand to
// bpf_probe_read_kernel. Outside the kernel there is no task_struct: 0, the null pointer a
// program tests for (and on which a probe read fails with -EFAULT, as in Linux).
uint64_t get_current_task(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  return 0;
}

// The thread's comm (TASK_COMM_LEN = 16 bytes with its NUL), copied like strscpy_pad: cut to
// size - 1 characters, NUL-terminated, the rest of the buffer zeroed.
uint64_t get_current_comm(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  const auto size = static_cast<uint32_t>(r2);
  if (!writable(ctx, id::kGetCurrentComm, 1, r1, size)) return 0;
  // Linux's verifier makes the size nonzero (ARG_CONST_SIZE); there is nothing to copy into.
  if (size == 0) return neg_errno(EINVAL);
  char comm[16] = {};
  prctl(PR_GET_NAME, comm);
  const size_t length = strnlen(comm, std::min<size_t>(sizeof comm - 1, size - 1));
  std::memcpy(ptr(r1), comm, length);
  std::memset(ptr<char>(r1) + length, 0, size - length);
  return 0;
}

// bpf_get_ns_current_pid_tgid: the pid and tgid as the pid namespace with device `dev` and
// inode `ino` sees them, when that is the thread's own pid namespace (Linux looks no further);
// otherwise -EINVAL and zeroes. The buffer must be a struct bpf_pidns_info (8 bytes).
uint64_t get_ns_current_pid_tgid(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t,
                                 RunContext* ctx) {
  const auto size = static_cast<uint32_t>(r4);
  if (!writable(ctx, id::kGetNsCurrentPidTgid, 3, r3, size)) return 0;
  struct PidnsInfo {
    uint32_t pid, tgid;
  } info{};
  uint64_t result = neg_errno(EINVAL);
  struct stat ns {};
  if (size == sizeof info && static_cast<uint32_t>(r1 >> 32) == 0 &&
      stat("/proc/thread-self/ns/pid", &ns) == 0 && ns.st_dev == r1 && ns.st_ino == r2) {
    info = {static_cast<uint32_t>(gettid()), static_cast<uint32_t>(getpid())};
    result = 0;
  }
  std::memset(ptr(r3), 0, size);
  if (result == 0) std::memcpy(ptr(r3), &info, sizeof info);
  return result;
}

constexpr Implementation kImplementations[] = {
    {id::kGetNumaNodeId, get_numa_node_id},
    {id::kGetNsCurrentPidTgid, get_ns_current_pid_tgid},
    {id::kKtimeGetTaiNs, ktime_get_tai_ns},
    {id::kKtimeGetNs, ktime_get_ns},
    {id::kGetPrandomU32, get_prandom_u32},
    {id::kGetSmpProcessorId, get_smp_processor_id},
    {id::kGetCurrentPidTgid, get_current_pid_tgid},
    {id::kGetCurrentUidGid, get_current_uid_gid},
    {id::kGetCurrentComm, get_current_comm},
    {id::kGetCurrentTask, get_current_task},
    {id::kJiffies64, jiffies64},
    {id::kKtimeGetBootNs, ktime_get_boot_ns},
    {id::kKtimeGetCoarseNs, ktime_get_coarse_ns},
};

}  // namespace

std::span<const Implementation> task_helpers() {
  return kImplementations;
}

}  // namespace pollen::helpers::detail

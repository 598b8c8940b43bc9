// SPDX-License-Identifier: MIT
// Program types, attach types and libbpf's SEC() naming conventions. The enumerators carry the
// Linux values (enum bpf_prog_type, enum bpf_attach_type in linux/bpf.h) so that a Spec can be
// handed to the kernel unchanged, but nothing here includes a Linux header: the table of section
// names is data copied from libbpf 1.1 (section_defs[] in libbpf.c) and gives the same answer on
// every OS.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pollen::loader {

/// What a program is for: Linux's BPF_PROG_TYPE_* with the same numbers.
enum class ProgramType : uint32_t {
  Unspec = 0,
  SocketFilter = 1,
  Kprobe = 2,
  SchedCls = 3,
  SchedAct = 4,
  Tracepoint = 5,
  Xdp = 6,
  PerfEvent = 7,
  CgroupSkb = 8,
  CgroupSock = 9,
  LwtIn = 10,
  LwtOut = 11,
  LwtXmit = 12,
  SockOps = 13,
  SkSkb = 14,
  CgroupDevice = 15,
  SkMsg = 16,
  RawTracepoint = 17,
  CgroupSockAddr = 18,
  LwtSeg6local = 19,
  LircMode2 = 20,
  SkReuseport = 21,
  FlowDissector = 22,
  CgroupSysctl = 23,
  RawTracepointWritable = 24,
  CgroupSockopt = 25,
  Tracing = 26,
  StructOps = 27,
  Ext = 28,
  Lsm = 29,
  SkLookup = 30,
  Syscall = 31,
};

/// Where a program attaches: Linux's enum bpf_attach_type with the same numbers.
enum class AttachType : uint32_t {
  CgroupInetIngress = 0,
  CgroupInetEgress = 1,
  CgroupInetSockCreate = 2,
  CgroupSockOps = 3,
  SkSkbStreamParser = 4,
  SkSkbStreamVerdict = 5,
  CgroupDevice = 6,
  SkMsgVerdict = 7,
  CgroupInet4Bind = 8,
  CgroupInet6Bind = 9,
  CgroupInet4Connect = 10,
  CgroupInet6Connect = 11,
  CgroupInet4PostBind = 12,
  CgroupInet6PostBind = 13,
  CgroupUdp4Sendmsg = 14,
  CgroupUdp6Sendmsg = 15,
  LircMode2 = 16,
  FlowDissector = 17,
  CgroupSysctl = 18,
  CgroupUdp4Recvmsg = 19,
  CgroupUdp6Recvmsg = 20,
  CgroupGetsockopt = 21,
  CgroupSetsockopt = 22,
  TraceRawTp = 23,
  TraceFentry = 24,
  TraceFexit = 25,
  ModifyReturn = 26,
  LsmMac = 27,
  TraceIter = 28,
  CgroupInet4Getpeername = 29,
  CgroupInet6Getpeername = 30,
  CgroupInet4Getsockname = 31,
  CgroupInet6Getsockname = 32,
  XdpDevmap = 33,
  CgroupInetSockRelease = 34,
  XdpCpumap = 35,
  SkLookup = 36,
  Xdp = 37,
  SkSkbVerdict = 38,
  SkReuseportSelect = 39,
  SkReuseportSelectOrMigrate = 40,
  PerfEvent = 41,
  TraceKprobeMulti = 42,
  LsmCgroup = 43,
};

/// One row of libbpf's section table, and what a section name matched against it says.
struct SectionDef {
  /// The name as libbpf writes it: "xdp" matches only "xdp"; "kprobe+" matches "kprobe" and
  /// "kprobe/<anything>".
  std::string_view pattern;
  ProgramType type;
  /// The expected attach type libbpf passes to BPF_PROG_LOAD; empty when the section implies none.
  std::optional<AttachType> expected_attach_type;
  bool sleepable;      ///< libbpf's SEC_SLEEPABLE: loaded with BPF_F_SLEEPABLE
  bool xdp_has_frags;  ///< libbpf's SEC_XDP_FRAGS: loaded with BPF_F_XDP_HAS_FRAGS
  bool attach_by_btf;  ///< libbpf's SEC_ATTACH_BTF: the target is a kernel BTF function
};

/// The row of libbpf 1.1's table that `section` matches (the first, in libbpf's order), or
/// nothing for a section name libbpf does not know.
std::optional<SectionDef> find_section_def(std::string_view section);

/// The program type libbpf gives a program in `section`; Unspec for unknown sections.
ProgramType program_type_from_section(std::string_view section);

/// What follows "<prefix>/" in a "+" section ("syscalls/sys_enter_write" for
/// "tracepoint/syscalls/sys_enter_write"); empty when there is none.
std::string_view section_attach_target(std::string_view section);

/// The lower-case Linux name without its prefix, as bpftool prints it: "xdp", "sched_cls",
/// "socket_filter". "unknown" for a value outside the enum.
std::string_view program_type_name(ProgramType type);
/// "xdp", "cgroup_inet_ingress", "trace_fentry"; "unknown" for a value outside the enum.
std::string_view attach_type_name(AttachType type);

}  // namespace pollen::loader

// SPDX-License-Identifier: MIT
// libbpf 1.1's table of SEC() names as data (section_defs[] in libbpf.c, same order, same
// matching rules), and the names of program and attach types. A section name that is not in the
// table is not an error: libbpf opens such objects too and only refuses to load the program.
#include "loader/program_type.hpp"

#include <array>

namespace pollen::loader {
namespace {

using P = ProgramType;
using A = AttachType;

// libbpf's section flags that change the Spec. SEC_ATTACHABLE and SEC_EXP_ATTACH_OPT only tell
// libbpf whether to pass the attach type when probing the kernel: that is the runtime's business,
// so they show up here only as an attach type that is present.
inline constexpr uint8_t kNone = 0, kSleepable = 1, kFrags = 2, kBtf = 4;

struct Row {
  std::string_view pattern;
  ProgramType type;
  std::optional<AttachType> attach;
  uint8_t flags;
};

// clang-format off
inline constexpr std::array kSections = std::to_array<Row>({
    {"socket",                P::SocketFilter, {}, kNone},
    {"sk_reuseport/migrate",  P::SkReuseport, A::SkReuseportSelectOrMigrate, kNone},
    {"sk_reuseport",          P::SkReuseport, A::SkReuseportSelect, kNone},
    {"kprobe+",               P::Kprobe, {}, kNone},
    {"uprobe+",               P::Kprobe, {}, kNone},
    {"uprobe.s+",             P::Kprobe, {}, kSleepable},
    {"kretprobe+",            P::Kprobe, {}, kNone},
    {"uretprobe+",            P::Kprobe, {}, kNone},
    {"uretprobe.s+",          P::Kprobe, {}, kSleepable},
    {"kprobe.multi+",         P::Kprobe, A::TraceKprobeMulti, kNone},
    {"kretprobe.multi+",      P::Kprobe, A::TraceKprobeMulti, kNone},
    {"ksyscall+",             P::Kprobe, {}, kNone},
    {"kretsyscall+",          P::Kprobe, {}, kNone},
    {"usdt+",                 P::Kprobe, {}, kNone},
    {"tc",                    P::SchedCls, {}, kNone},
    {"classifier",            P::SchedCls, {}, kNone},
    {"action",                P::SchedAct, {}, kNone},
    {"tracepoint+",           P::Tracepoint, {}, kNone},
    {"tp+",                   P::Tracepoint, {}, kNone},
    {"raw_tracepoint+",       P::RawTracepoint, {}, kNone},
    {"raw_tp+",               P::RawTracepoint, {}, kNone},
    {"raw_tracepoint.w+",     P::RawTracepointWritable, {}, kNone},
    {"raw_tp.w+",             P::RawTracepointWritable, {}, kNone},
    {"tp_btf+",               P::Tracing, A::TraceRawTp, kBtf},
    {"fentry+",               P::Tracing, A::TraceFentry, kBtf},
    {"fmod_ret+",             P::Tracing, A::ModifyReturn, kBtf},
    {"fexit+",                P::Tracing, A::TraceFexit, kBtf},
    {"fentry.s+",             P::Tracing, A::TraceFentry, kBtf | kSleepable},
    {"fmod_ret.s+",           P::Tracing, A::ModifyReturn, kBtf | kSleepable},
    {"fexit.s+",              P::Tracing, A::TraceFexit, kBtf | kSleepable},
    {"freplace+",             P::Ext, {}, kBtf},
    {"lsm+",                  P::Lsm, A::LsmMac, kBtf},
    {"lsm.s+",                P::Lsm, A::LsmMac, kBtf | kSleepable},
    {"lsm_cgroup+",           P::Lsm, A::LsmCgroup, kBtf},
    {"iter+",                 P::Tracing, A::TraceIter, kBtf},
    {"iter.s+",               P::Tracing, A::TraceIter, kBtf | kSleepable},
    {"syscall",               P::Syscall, {}, kSleepable},
    {"xdp.frags/devmap",      P::Xdp, A::XdpDevmap, kFrags},
    {"xdp/devmap",            P::Xdp, A::XdpDevmap, kNone},
    {"xdp.frags/cpumap",      P::Xdp, A::XdpCpumap, kFrags},
    {"xdp/cpumap",            P::Xdp, A::XdpCpumap, kNone},
    {"xdp.frags",             P::Xdp, A::Xdp, kFrags},
    {"xdp",                   P::Xdp, A::Xdp, kNone},
    {"perf_event",            P::PerfEvent, {}, kNone},
    {"lwt_in",                P::LwtIn, {}, kNone},
    {"lwt_out",               P::LwtOut, {}, kNone},
    {"lwt_xmit",              P::LwtXmit, {}, kNone},
    {"lwt_seg6local",         P::LwtSeg6local, {}, kNone},
    {"sockops",               P::SockOps, A::CgroupSockOps, kNone},
    {"sk_skb/stream_parser",  P::SkSkb, A::SkSkbStreamParser, kNone},
    {"sk_skb/stream_verdict", P::SkSkb, A::SkSkbStreamVerdict, kNone},
    {"sk_skb",                P::SkSkb, {}, kNone},
    {"sk_msg",                P::SkMsg, A::SkMsgVerdict, kNone},
    {"lirc_mode2",            P::LircMode2, A::LircMode2, kNone},
    {"flow_dissector",        P::FlowDissector, A::FlowDissector, kNone},
    {"cgroup_skb/ingress",    P::CgroupSkb, A::CgroupInetIngress, kNone},
    {"cgroup_skb/egress",     P::CgroupSkb, A::CgroupInetEgress, kNone},
    {"cgroup/skb",            P::CgroupSkb, {}, kNone},
    {"cgroup/sock_create",    P::CgroupSock, A::CgroupInetSockCreate, kNone},
    {"cgroup/sock_release",   P::CgroupSock, A::CgroupInetSockRelease, kNone},
    {"cgroup/sock",           P::CgroupSock, A::CgroupInetSockCreate, kNone},
    {"cgroup/post_bind4",     P::CgroupSock, A::CgroupInet4PostBind, kNone},
    {"cgroup/post_bind6",     P::CgroupSock, A::CgroupInet6PostBind, kNone},
    {"cgroup/bind4",          P::CgroupSockAddr, A::CgroupInet4Bind, kNone},
    {"cgroup/bind6",          P::CgroupSockAddr, A::CgroupInet6Bind, kNone},
    {"cgroup/connect4",       P::CgroupSockAddr, A::CgroupInet4Connect, kNone},
    {"cgroup/connect6",       P::CgroupSockAddr, A::CgroupInet6Connect, kNone},
    {"cgroup/sendmsg4",       P::CgroupSockAddr, A::CgroupUdp4Sendmsg, kNone},
    {"cgroup/sendmsg6",       P::CgroupSockAddr, A::CgroupUdp6Sendmsg, kNone},
    {"cgroup/recvmsg4",       P::CgroupSockAddr, A::CgroupUdp4Recvmsg, kNone},
    {"cgroup/recvmsg6",       P::CgroupSockAddr, A::CgroupUdp6Recvmsg, kNone},
    {"cgroup/getpeername4",   P::CgroupSockAddr, A::CgroupInet4Getpeername, kNone},
    {"cgroup/getpeername6",   P::CgroupSockAddr, A::CgroupInet6Getpeername, kNone},
    {"cgroup/getsockname4",   P::CgroupSockAddr, A::CgroupInet4Getsockname, kNone},
    {"cgroup/getsockname6",   P::CgroupSockAddr, A::CgroupInet6Getsockname, kNone},
    {"cgroup/sysctl",         P::CgroupSysctl, A::CgroupSysctl, kNone},
    {"cgroup/getsockopt",     P::CgroupSockopt, A::CgroupGetsockopt, kNone},
    {"cgroup/setsockopt",     P::CgroupSockopt, A::CgroupSetsockopt, kNone},
    {"cgroup/dev",            P::CgroupDevice, A::CgroupDevice, kNone},
    {"struct_ops+",           P::StructOps, {}, kNone},
    {"sk_lookup",             P::SkLookup, A::SkLookup, kNone},
});
// clang-format on

// Index = the Linux value.
inline constexpr std::array<std::string_view, 32> kProgramTypeNames = {
    "unspec",
    "socket_filter",
    "kprobe",
    "sched_cls",
    "sched_act",
    "tracepoint",
    "xdp",
    "perf_event",
    "cgroup_skb",
    "cgroup_sock",
    "lwt_in",
    "lwt_out",
    "lwt_xmit",
    "sock_ops",
    "sk_skb",
    "cgroup_device",
    "sk_msg",
    "raw_tracepoint",
    "cgroup_sock_addr",
    "lwt_seg6local",
    "lirc_mode2",
    "sk_reuseport",
    "flow_dissector",
    "cgroup_sysctl",
    "raw_tracepoint_writable",
    "cgroup_sockopt",
    "tracing",
    "struct_ops",
    "ext",
    "lsm",
    "sk_lookup",
    "syscall",
};

inline constexpr std::array<std::string_view, 44> kAttachTypeNames = {
    "cgroup_inet_ingress",
    "cgroup_inet_egress",
    "cgroup_inet_sock_create",
    "cgroup_sock_ops",
    "sk_skb_stream_parser",
    "sk_skb_stream_verdict",
    "cgroup_device",
    "sk_msg_verdict",
    "cgroup_inet4_bind",
    "cgroup_inet6_bind",
    "cgroup_inet4_connect",
    "cgroup_inet6_connect",
    "cgroup_inet4_post_bind",
    "cgroup_inet6_post_bind",
    "cgroup_udp4_sendmsg",
    "cgroup_udp6_sendmsg",
    "lirc_mode2",
    "flow_dissector",
    "cgroup_sysctl",
    "cgroup_udp4_recvmsg",
    "cgroup_udp6_recvmsg",
    "cgroup_getsockopt",
    "cgroup_setsockopt",
    "trace_raw_tp",
    "trace_fentry",
    "trace_fexit",
    "modify_return",
    "lsm_mac",
    "trace_iter",
    "cgroup_inet4_getpeername",
    "cgroup_inet6_getpeername",
    "cgroup_inet4_getsockname",
    "cgroup_inet6_getsockname",
    "xdp_devmap",
    "cgroup_inet_sock_release",
    "xdp_cpumap",
    "sk_lookup",
    "xdp",
    "sk_skb_verdict",
    "sk_reuseport_select",
    "sk_reuseport_select_or_migrate",
    "perf_event",
    "trace_kprobe_multi",
    "lsm_cgroup",
};

// libbpf's sec_def_matches(): "type" matches exactly; "type+" matches "type" or "type/...".
bool matches(std::string_view pattern, std::string_view section) {
  if (!pattern.ends_with('+')) return section == pattern;
  pattern.remove_suffix(1);
  if (!section.starts_with(pattern)) return false;
  return section.size() == pattern.size() || section[pattern.size()] == '/';
}

const Row* find_row(std::string_view section) {
  for (const Row& row : kSections)
    if (matches(row.pattern, section)) return &row;
  return nullptr;
}

}  // namespace

std::optional<SectionDef> find_section_def(std::string_view section) {
  const Row* row = find_row(section);
  if (!row) return std::nullopt;
  return SectionDef{row->pattern,
                    row->type,
                    row->attach,
                    (row->flags & kSleepable) != 0,
                    (row->flags & kFrags) != 0,
                    (row->flags & kBtf) != 0};
}

ProgramType program_type_from_section(std::string_view section) {
  const Row* row = find_row(section);
  return row ? row->type : ProgramType::Unspec;
}

std::string_view section_attach_target(std::string_view section) {
  const Row* row = find_row(section);
  if (!row || !row->pattern.ends_with('+')) return {};
  size_t prefix = row->pattern.size() - 1;
  return section.size() > prefix ? section.substr(prefix + 1) : std::string_view{};
}

std::string_view program_type_name(ProgramType type) {
  auto i = static_cast<uint32_t>(type);
  return i < kProgramTypeNames.size() ? kProgramTypeNames[i] : "unknown";
}

std::string_view attach_type_name(AttachType type) {
  auto i = static_cast<uint32_t>(type);
  return i < kAttachTypeNames.size() ? kAttachTypeNames[i] : "unknown";
}

}  // namespace pollen::loader

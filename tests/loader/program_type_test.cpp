// SPDX-License-Identifier: MIT
// libbpf's SEC() conventions: section names to program type, expected attach type and flags,
// with libbpf 1.1's matching rules (exact names, and "type+" names that take "/extras"), and the
// enum values checked against Linux's own header where it is installed.
#include <gtest/gtest.h>

#include "loader/program_type.hpp"

#if __has_include(<linux/bpf.h>)
#include <linux/bpf.h>
static_assert(static_cast<uint32_t>(pollen::loader::ProgramType::Syscall) == BPF_PROG_TYPE_SYSCALL);
static_assert(static_cast<uint32_t>(pollen::loader::ProgramType::Xdp) == BPF_PROG_TYPE_XDP);
static_assert(static_cast<uint32_t>(pollen::loader::ProgramType::SkLookup) ==
              BPF_PROG_TYPE_SK_LOOKUP);
static_assert(static_cast<uint32_t>(pollen::loader::AttachType::LsmCgroup) == BPF_LSM_CGROUP);
static_assert(static_cast<uint32_t>(pollen::loader::AttachType::Xdp) == BPF_XDP);
static_assert(static_cast<uint32_t>(pollen::loader::AttachType::TraceKprobeMulti) ==
              BPF_TRACE_KPROBE_MULTI);
#endif

namespace pollen::loader {
namespace {

struct SectionCase {
  const char* section;
  ProgramType type;
  std::optional<AttachType> attach;
  bool sleepable;
  bool frags;
  const char* target;
};

using P = ProgramType;
using A = AttachType;

// clang-format off
const SectionCase kSections[] = {
    {"socket", P::SocketFilter, {}, false, false, ""},
    {"xdp", P::Xdp, A::Xdp, false, false, ""},
    {"xdp.frags", P::Xdp, A::Xdp, false, true, ""},
    {"xdp/devmap", P::Xdp, A::XdpDevmap, false, false, ""},
    {"xdp.frags/cpumap", P::Xdp, A::XdpCpumap, false, true, ""},
    {"tc", P::SchedCls, {}, false, false, ""},
    {"classifier", P::SchedCls, {}, false, false, ""},
    {"action", P::SchedAct, {}, false, false, ""},
    {"syscall", P::Syscall, {}, true, false, ""},
    {"kprobe/do_unlinkat", P::Kprobe, {}, false, false, "do_unlinkat"},
    {"kprobe", P::Kprobe, {}, false, false, ""},
    {"kretprobe/do_unlinkat", P::Kprobe, {}, false, false, "do_unlinkat"},
    {"uprobe//bin/bash:readline", P::Kprobe, {}, false, false, "/bin/bash:readline"},
    {"uprobe.s/libc.so.6:malloc", P::Kprobe, {}, true, false, "libc.so.6:malloc"},
    {"kprobe.multi/tcp_*", P::Kprobe, A::TraceKprobeMulti, false, false, "tcp_*"},
    {"usdt/libc.so.6:libc:setjmp", P::Kprobe, {}, false, false, "libc.so.6:libc:setjmp"},
    {"tracepoint/syscalls/sys_enter_write",
     P::Tracepoint, {}, false, false, "syscalls/sys_enter_write"},
    {"tp/sched/sched_switch", P::Tracepoint, {}, false, false, "sched/sched_switch"},
    {"raw_tp/sys_enter", P::RawTracepoint, {}, false, false, "sys_enter"},
    {"raw_tracepoint.w/bpf_test_finish",
     P::RawTracepointWritable, {}, false, false, "bpf_test_finish"},
    {"tp_btf/sched_switch", P::Tracing, A::TraceRawTp, false, false, "sched_switch"},
    {"fentry/do_unlinkat", P::Tracing, A::TraceFentry, false, false, "do_unlinkat"},
    {"fexit.s/do_unlinkat", P::Tracing, A::TraceFexit, true, false, "do_unlinkat"},
    {"fmod_ret/security_file_open",
     P::Tracing, A::ModifyReturn, false, false, "security_file_open"},
    {"freplace/handler", P::Ext, {}, false, false, "handler"},
    {"lsm.s/file_open", P::Lsm, A::LsmMac, true, false, "file_open"},
    {"lsm_cgroup/socket_bind", P::Lsm, A::LsmCgroup, false, false, "socket_bind"},
    {"iter/task", P::Tracing, A::TraceIter, false, false, "task"},
    {"perf_event", P::PerfEvent, {}, false, false, ""},
    {"lwt_seg6local", P::LwtSeg6local, {}, false, false, ""},
    {"sockops", P::SockOps, A::CgroupSockOps, false, false, ""},
    {"sk_skb/stream_parser", P::SkSkb, A::SkSkbStreamParser, false, false, ""},
    {"sk_skb", P::SkSkb, {}, false, false, ""},
    {"sk_msg", P::SkMsg, A::SkMsgVerdict, false, false, ""},
    {"sk_reuseport/migrate", P::SkReuseport, A::SkReuseportSelectOrMigrate, false, false, ""},
    {"sk_reuseport", P::SkReuseport, A::SkReuseportSelect, false, false, ""},
    {"flow_dissector", P::FlowDissector, A::FlowDissector, false, false, ""},
    {"lirc_mode2", P::LircMode2, A::LircMode2, false, false, ""},
    {"cgroup_skb/ingress", P::CgroupSkb, A::CgroupInetIngress, false, false, ""},
    {"cgroup/skb", P::CgroupSkb, {}, false, false, ""},
    {"cgroup/sock", P::CgroupSock, A::CgroupInetSockCreate, false, false, ""},
    {"cgroup/connect6", P::CgroupSockAddr, A::CgroupInet6Connect, false, false, ""},
    {"cgroup/getsockname4", P::CgroupSockAddr, A::CgroupInet4Getsockname, false, false, ""},
    {"cgroup/sysctl", P::CgroupSysctl, A::CgroupSysctl, false, false, ""},
    {"cgroup/setsockopt", P::CgroupSockopt, A::CgroupSetsockopt, false, false, ""},
    {"cgroup/dev", P::CgroupDevice, A::CgroupDevice, false, false, ""},
    {"struct_ops/dctcp_init", P::StructOps, {}, false, false, "dctcp_init"},
    {"sk_lookup", P::SkLookup, A::SkLookup, false, false, ""},
    // Names libbpf 1.1 does not know: exact names take no "/extras", and "+" names need the '/'.
    {"socket/extra", P::Unspec, {}, false, false, ""},
    {"tc/ingress", P::Unspec, {}, false, false, ""},
    {"kprobex", P::Unspec, {}, false, false, ""},
    {"xdp_prog", P::Unspec, {}, false, false, ""},
    {".text", P::Unspec, {}, false, false, ""},
    {"", P::Unspec, {}, false, false, ""},
};
// clang-format on

void PrintTo(const SectionCase& c, std::ostream* os) {
  *os << '"' << c.section << '"';
}

class SectionName : public testing::TestWithParam<SectionCase> {};

TEST_P(SectionName, GivesLibbpfsProgramTypeAndFlags) {
  const SectionCase& c = GetParam();
  EXPECT_EQ(program_type_from_section(c.section), c.type);
  EXPECT_EQ(section_attach_target(c.section), c.target);
  std::optional<SectionDef> def = find_section_def(c.section);
  ASSERT_EQ(def.has_value(), c.type != P::Unspec);
  if (!def) return;
  EXPECT_EQ(def->type, c.type);
  EXPECT_EQ(def->expected_attach_type, c.attach);
  EXPECT_EQ(def->sleepable, c.sleepable);
  EXPECT_EQ(def->xdp_has_frags, c.frags);
}

INSTANTIATE_TEST_SUITE_P(Loader, SectionName, testing::ValuesIn(kSections),
                         [](const testing::TestParamInfo<SectionCase>& info) {
                           std::string name = "n" + std::to_string(info.index) + "_";
                           for (const char* p = info.param.section; *p; ++p)
                             name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
                           return name;
                         });

TEST(LoaderSectionNames, MarksBtfAttachedSections) {
  EXPECT_TRUE(find_section_def("fentry/x")->attach_by_btf);
  EXPECT_TRUE(find_section_def("lsm/x")->attach_by_btf);
  EXPECT_FALSE(find_section_def("kprobe/x")->attach_by_btf);
  EXPECT_EQ(find_section_def("fentry/x")->pattern, "fentry+");
}

TEST(LoaderSectionNames, NamesProgramAndAttachTypesLikeBpftool) {
  EXPECT_EQ(program_type_name(P::Xdp), "xdp");
  EXPECT_EQ(program_type_name(P::SchedCls), "sched_cls");
  EXPECT_EQ(program_type_name(P::Syscall), "syscall");
  EXPECT_EQ(program_type_name(static_cast<P>(99)), "unknown");
  EXPECT_EQ(attach_type_name(A::CgroupInetIngress), "cgroup_inet_ingress");
  EXPECT_EQ(attach_type_name(A::LsmCgroup), "lsm_cgroup");
  EXPECT_EQ(attach_type_name(static_cast<A>(99)), "unknown");
}

}  // namespace
}  // namespace pollen::loader

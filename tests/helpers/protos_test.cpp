// SPDX-License-Identifier: MIT
// The prototype table: every row has an implementation and the reverse, ids and names are
// Linux's (the table below is copied from include/uapi/linux/bpf.h's FN() list by hand), the
// kinds of the helpers the verifier leans on most say what Linux's bpf_func_proto says, and a
// program that calls an id Pollen lacks is refused when it is loaded, at its instruction.
#include <gtest/gtest.h>

#include "helper_test_util.hpp"

namespace pollen::helpers::test {
namespace {

TEST(HelperProtos, AreSortedAndEachHasItsImplementation) {
  std::span<const HelperProto> protos = helper_protos();
  size_t implemented = 0;
  for (vm::HelperFn fn : default_helpers().fn) implemented += fn != nullptr;
  EXPECT_EQ(implemented, protos.size());
  for (size_t i = 0; i < protos.size(); ++i) {
    EXPECT_NE(default_helpers().find(protos[i].id), nullptr) << protos[i].name;
    EXPECT_EQ(find_helper(protos[i].id), &protos[i]);
    if (i > 0) {
      EXPECT_LT(protos[i - 1].id, protos[i].id);
    }
  }
}

TEST(HelperProtos, UseLinuxIdsAndNames) {
  const std::pair<uint32_t, std::string_view> linux_ids[] = {
      {1, "bpf_map_lookup_elem"},
      {2, "bpf_map_update_elem"},
      {3, "bpf_map_delete_elem"},
      {4, "bpf_probe_read"},
      {5, "bpf_ktime_get_ns"},
      {6, "bpf_trace_printk"},
      {7, "bpf_get_prandom_u32"},
      {8, "bpf_get_smp_processor_id"},
      {12, "bpf_tail_call"},
      {14, "bpf_get_current_pid_tgid"},
      {15, "bpf_get_current_uid_gid"},
      {16, "bpf_get_current_comm"},
      {23, "bpf_redirect"},
      {25, "bpf_perf_event_output"},
      {28, "bpf_csum_diff"},
      {35, "bpf_get_current_task"},
      {42, "bpf_get_numa_node_id"},
      {44, "bpf_xdp_adjust_head"},
      {45, "bpf_probe_read_str"},
      {51, "bpf_redirect_map"},
      {54, "bpf_xdp_adjust_meta"},
      {65, "bpf_xdp_adjust_tail"},
      {69, "bpf_fib_lookup"},
      {87, "bpf_map_push_elem"},
      {88, "bpf_map_pop_elem"},
      {89, "bpf_map_peek_elem"},
      {93, "bpf_spin_lock"},
      {94, "bpf_spin_unlock"},
      {105, "bpf_strtol"},
      {106, "bpf_strtoul"},
      {112, "bpf_probe_read_user"},
      {113, "bpf_probe_read_kernel"},
      {114, "bpf_probe_read_user_str"},
      {115, "bpf_probe_read_kernel_str"},
      {118, "bpf_jiffies64"},
      {120, "bpf_get_ns_current_pid_tgid"},
      {125, "bpf_ktime_get_boot_ns"},
      {130, "bpf_ringbuf_output"},
      {131, "bpf_ringbuf_reserve"},
      {132, "bpf_ringbuf_submit"},
      {133, "bpf_ringbuf_discard"},
      {134, "bpf_ringbuf_query"},
      {160, "bpf_ktime_get_coarse_ns"},
      {163, "bpf_check_mtu"},
      {164, "bpf_for_each_map_elem"},
      {165, "bpf_snprintf"},
      {177, "bpf_trace_vprintk"},
      {181, "bpf_loop"},
      {182, "bpf_strncmp"},
      {188, "bpf_xdp_get_buff_len"},
      {189, "bpf_xdp_load_bytes"},
      {190, "bpf_xdp_store_bytes"},
      {195, "bpf_map_lookup_percpu_elem"},
      {208, "bpf_ktime_get_tai_ns"},
  };
  EXPECT_EQ(helper_protos().size(), std::size(linux_ids));
  for (const auto& [id, name] : linux_ids) {
    const HelperProto* proto = find_helper(id);
    ASSERT_NE(proto, nullptr) << id;
    EXPECT_EQ(proto->name, name);
  }
  EXPECT_EQ(find_helper(0), nullptr);
  EXPECT_EQ(find_helper(9), nullptr);
  EXPECT_EQ(find_helper(100000), nullptr);
}

struct ProtoCase {
  uint32_t id;
  RetKind ret;
  std::array<ArgKind, 5> args;
  bool gpl_only;
  Callback callback;
};

TEST(HelperProtos, MirrorLinuxFuncProtos) {
  using A = ArgKind;
  const ProtoCase cases[] = {
      {id::kMapLookupElem,
       RetKind::MapValueOrNull,
       {A::ConstMapPtr, A::PtrToMapKey},
       false,
       Callback::None},
      {id::kMapUpdateElem,
       RetKind::Integer,
       {A::ConstMapPtr, A::PtrToMapKey, A::PtrToMapValue, A::Anything},
       false,
       Callback::None},
      {id::kMapPopElem,
       RetKind::Integer,
       {A::ConstMapPtr, A::PtrToUninitMapValue},
       false,
       Callback::None},
      {id::kTracePrintk, RetKind::Integer, {A::PtrToMem, A::ConstSize}, true, Callback::None},
      {id::kTailCall,
       RetKind::Void,
       {A::PtrToCtx, A::ConstMapPtr, A::Anything},
       false,
       Callback::None},
      {id::kCsumDiff,
       RetKind::Integer,
       {A::PtrToMemOrNull, A::ConstSizeOrZero, A::PtrToMemOrNull, A::ConstSizeOrZero, A::Anything},
       false,
       Callback::None},
      {id::kProbeReadUserStr,
       RetKind::Integer,
       {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything},
       true,
       Callback::None},
      {id::kStrtol,
       RetKind::Integer,
       {A::PtrToMem, A::ConstSize, A::Anything, A::PtrToLong},
       false,
       Callback::None},
      {id::kSpinLock, RetKind::Void, {A::PtrToSpinLock}, false, Callback::None},
      {id::kRingbufReserve,
       RetKind::AllocMemOrNull,
       {A::ConstMapPtr, A::ConstAllocSizeOrZero, A::Anything},
       false,
       Callback::None},
      {id::kRingbufSubmit, RetKind::Void, {A::PtrToRingbufMem, A::Anything}, false, Callback::None},
      {id::kForEachMapElem,
       RetKind::Integer,
       {A::ConstMapPtr, A::PtrToFunc, A::PtrToStackOrNull, A::Anything},
       false,
       Callback::ForEachMapElem},
      {id::kSnprintf,
       RetKind::Integer,
       {A::PtrToWritableMemOrNull, A::ConstSizeOrZero, A::PtrToConstStr, A::PtrToMemOrNull,
        A::ConstSizeOrZero},
       true,
       Callback::None},
      {id::kLoop,
       RetKind::Integer,
       {A::Anything, A::PtrToFunc, A::PtrToStackOrNull, A::Anything},
       false,
       Callback::Loop},
      {id::kStrncmp,
       RetKind::Integer,
       {A::PtrToMem, A::ConstSize, A::PtrToConstStr},
       false,
       Callback::None},
      // net/core/filter.c: bpf_xdp_redirect_proto, bpf_xdp_adjust_{head,meta,tail}_proto,
      // bpf_xdp_redirect_map_proto, bpf_xdp_get_buff_len_proto, bpf_xdp_{load,store}_bytes_proto
      // (store reads its buffer: ARG_PTR_TO_MEM | MEM_RDONLY since Linux 6.0).
      {id::kRedirect, RetKind::Integer, {A::Anything, A::Anything}, false, Callback::None},
      {id::kXdpAdjustHead, RetKind::Integer, {A::PtrToCtx, A::Anything}, false, Callback::None},
      {id::kXdpAdjustMeta, RetKind::Integer, {A::PtrToCtx, A::Anything}, false, Callback::None},
      {id::kXdpAdjustTail, RetKind::Integer, {A::PtrToCtx, A::Anything}, false, Callback::None},
      {id::kRedirectMap,
       RetKind::Integer,
       {A::ConstMapPtr, A::Anything, A::Anything},
       false,
       Callback::None},
      {id::kXdpGetBuffLen, RetKind::Integer, {A::PtrToCtx}, false, Callback::None},
      {id::kXdpLoadBytes,
       RetKind::Integer,
       {A::PtrToCtx, A::Anything, A::PtrToUninitMem, A::ConstSize},
       false,
       Callback::None},
      {id::kXdpStoreBytes,
       RetKind::Integer,
       {A::PtrToCtx, A::Anything, A::PtrToMem, A::ConstSize},
       false,
       Callback::None},
  };
  for (const ProtoCase& c : cases) {
    const HelperProto* proto = find_helper(c.id);
    ASSERT_NE(proto, nullptr) << c.id;
    EXPECT_EQ(proto->ret, c.ret) << proto->name;
    EXPECT_EQ(proto->args, c.args) << proto->name;
    EXPECT_EQ(proto->gpl_only, c.gpl_only) << proto->name;
    EXPECT_EQ(proto->callback, c.callback) << proto->name;
  }
}

TEST(HelperProtos, EverySizeArgumentFollowsTheMemoryItSizes) {
  for (const HelperProto& proto : helper_protos()) {
    for (size_t i = 0; i < proto.args.size(); ++i) {
      ArgKind a = proto.args[i];
      bool is_size = a == ArgKind::ConstSize || a == ArgKind::ConstSizeOrZero;
      if (!is_size) continue;
      ASSERT_GT(i, 0u) << proto.name;
      ArgKind mem = proto.args[i - 1];
      EXPECT_TRUE(mem == ArgKind::PtrToMem || mem == ArgKind::PtrToMemOrNull ||
                  mem == ArgKind::PtrToWritableMemOrNull || mem == ArgKind::PtrToWritableMem ||
                  mem == ArgKind::PtrToUninitMem)
          << proto.name << " arg " << i + 1;
    }
  }
}

TEST(CheckHelperCalls, AcceptsKnownHelpers) {
  std::vector<isa::Insn> prog =
      assemble_or_fail("call 5\nlddw %r1, 0x123456789\ncall 1\nmov %r0, 0\nexit");
  EXPECT_TRUE(check_helper_calls(prog).ok());
}

TEST(CheckHelperCalls, RefusesAnUnknownIdAtItsInstruction) {
  std::vector<isa::Insn> prog = assemble_or_fail("call 5\nlddw %r1, 7\ncall 9\nexit");
  Result<void> r = check_helper_calls(prog);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::InvalidProgram);
  EXPECT_EQ(r.error().str(),
            "insn 3: call 9: unknown helper (no helper with Linux id 9 is implemented)");
}

TEST(CheckHelperCalls, IgnoresLocalCallsAndCallx) {
  std::vector<isa::Insn> prog =
      assemble_or_fail("call local f\nmov %r1, 999\ncallx %r1\nexit\nf:\nmov %r0, 0\nexit");
  EXPECT_TRUE(check_helper_calls(prog).ok());
}

}  // namespace
}  // namespace pollen::helpers::test

// SPDX-License-Identifier: MIT
// The prototype of every helper Pollen implements, as data and nothing else: what Linux's
// struct bpf_func_proto for the helper says (kernel/bpf/helpers.c, kernel/trace/bpf_trace.c,
// net/core/filter.c, kernel/bpf/ringbuf.c, kernel/bpf/bpf_iter.c), in Linux 6.x terms; the
// verifier reads these. Apart from them, the helper table the engines call through: every
// family's implementations gathered by Linux id, checked against the prototypes once, when the
// table is first built; and the load-time check that a program calls only helpers Pollen has.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "helpers/helpers_p.hpp"

namespace pollen::helpers {
namespace {

using A = ArgKind;
using R = RetKind;
constexpr bool kGpl = true;

// One row per helper: id, name, return kind, r1..r5, gpl_only, callback.
// clang-format off
constexpr HelperProto kProtos[] = {
    {id::kMapLookupElem, "bpf_map_lookup_elem", R::MapValueOrNull, {A::ConstMapPtr, A::PtrToMapKey}},
    {id::kMapUpdateElem, "bpf_map_update_elem", R::Integer,
     {A::ConstMapPtr, A::PtrToMapKey, A::PtrToMapValue, A::Anything}},
    {id::kMapDeleteElem, "bpf_map_delete_elem", R::Integer, {A::ConstMapPtr, A::PtrToMapKey}},
    {id::kProbeRead, "bpf_probe_read", R::Integer,
     {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything}, kGpl},
    {id::kKtimeGetNs, "bpf_ktime_get_ns", R::Integer, {}},
    // Linux types only the format; up to three more u64 arguments follow unchecked.
    {id::kTracePrintk, "bpf_trace_printk", R::Integer, {A::PtrToMem, A::ConstSize}, kGpl},
    {id::kGetPrandomU32, "bpf_get_prandom_u32", R::Integer, {}},
    {id::kGetSmpProcessorId, "bpf_get_smp_processor_id", R::Integer, {}},
    {id::kTailCall, "bpf_tail_call", R::Void, {A::PtrToCtx, A::ConstMapPtr, A::Anything}},
    {id::kGetCurrentPidTgid, "bpf_get_current_pid_tgid", R::Integer, {}},
    {id::kGetCurrentUidGid, "bpf_get_current_uid_gid", R::Integer, {}},
    {id::kGetCurrentComm, "bpf_get_current_comm", R::Integer, {A::PtrToUninitMem, A::ConstSize}},
    // XDP's bpf_xdp_redirect_proto (tc's bpf_redirect_proto has the same arguments).
    {id::kRedirect, "bpf_redirect", R::Integer, {A::Anything, A::Anything}},
    // XDP's bpf_xdp_event_output_proto.
    {id::kPerfEventOutput, "bpf_perf_event_output", R::Integer,
     {A::PtrToCtx, A::ConstMapPtr, A::Anything, A::PtrToMem, A::ConstSizeOrZero}, kGpl},
    {id::kCsumDiff, "bpf_csum_diff", R::Integer,
     {A::PtrToMemOrNull, A::ConstSizeOrZero, A::PtrToMemOrNull, A::ConstSizeOrZero, A::Anything}},
    // No task_struct outside the kernel: always 0 (see task_helpers.cpp).
    {id::kGetCurrentTask, "bpf_get_current_task", R::Integer, {}, kGpl},
    {id::kGetNumaNodeId, "bpf_get_numa_node_id", R::Integer, {}},
    {id::kXdpAdjustHead, "bpf_xdp_adjust_head", R::Integer, {A::PtrToCtx, A::Anything}},
    {id::kProbeReadStr, "bpf_probe_read_str", R::Integer,
     {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything}, kGpl},
    {id::kRedirectMap, "bpf_redirect_map", R::Integer, {A::ConstMapPtr, A::Anything, A::Anything}},
    {id::kXdpAdjustMeta, "bpf_xdp_adjust_meta", R::Integer, {A::PtrToCtx, A::Anything}},
    {id::kXdpAdjustTail, "bpf_xdp_adjust_tail", R::Integer, {A::PtrToCtx, A::Anything}},
    // XDP's bpf_xdp_fib_lookup_proto.
    {id::kFibLookup, "bpf_fib_lookup", R::Integer,
     {A::PtrToCtx, A::PtrToWritableMem, A::ConstSize, A::Anything}, kGpl},
    {id::kMapPushElem, "bpf_map_push_elem", R::Integer,
     {A::ConstMapPtr, A::PtrToMapValue, A::Anything}},
    {id::kMapPopElem, "bpf_map_pop_elem", R::Integer, {A::ConstMapPtr, A::PtrToUninitMapValue}},
    {id::kMapPeekElem, "bpf_map_peek_elem", R::Integer, {A::ConstMapPtr, A::PtrToUninitMapValue}},
    {id::kSpinLock, "bpf_spin_lock", R::Void, {A::PtrToSpinLock}},
    {id::kSpinUnlock, "bpf_spin_unlock", R::Void, {A::PtrToSpinLock}},
    {id::kStrtol, "bpf_strtol", R::Integer, {A::PtrToMem, A::ConstSize, A::Anything, A::PtrToLong}},
    {id::kStrtoul, "bpf_strtoul", R::Integer,
     {A::PtrToMem, A::ConstSize, A::Anything, A::PtrToLong}},
    {id::kProbeReadUser, "bpf_probe_read_user", R::Integer,
     {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything}, kGpl},
    {id::kProbeReadKernel, "bpf_probe_read_kernel", R::Integer,
     {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything}, kGpl},
    {id::kProbeReadUserStr, "bpf_probe_read_user_str", R::Integer,
     {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything}, kGpl},
    {id::kProbeReadKernelStr, "bpf_probe_read_kernel_str", R::Integer,
     {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything}, kGpl},
    {id::kJiffies64, "bpf_jiffies64", R::Integer, {}},
    {id::kGetNsCurrentPidTgid, "bpf_get_ns_current_pid_tgid", R::Integer,
     {A::Anything, A::Anything, A::PtrToUninitMem, A::ConstSize}},
    {id::kKtimeGetBootNs, "bpf_ktime_get_boot_ns", R::Integer, {}},
    {id::kRingbufOutput, "bpf_ringbuf_output", R::Integer,
     {A::ConstMapPtr, A::PtrToMem, A::ConstSizeOrZero, A::Anything}},
    {id::kRingbufReserve, "bpf_ringbuf_reserve", R::AllocMemOrNull,
     {A::ConstMapPtr, A::ConstAllocSizeOrZero, A::Anything}},
    {id::kRingbufSubmit, "bpf_ringbuf_submit", R::Void, {A::PtrToRingbufMem, A::Anything}},
    {id::kRingbufDiscard, "bpf_ringbuf_discard", R::Void, {A::PtrToRingbufMem, A::Anything}},
    {id::kRingbufQuery, "bpf_ringbuf_query", R::Integer, {A::ConstMapPtr, A::Anything}},
    {id::kKtimeGetCoarseNs, "bpf_ktime_get_coarse_ns", R::Integer, {}},
    // XDP's bpf_xdp_check_mtu_proto.
    {id::kCheckMtu, "bpf_check_mtu", R::Integer,
     {A::PtrToCtx, A::Anything, A::PtrToInt, A::Anything, A::Anything}, kGpl},
    {id::kForEachMapElem, "bpf_for_each_map_elem", R::Integer,
     {A::ConstMapPtr, A::PtrToFunc, A::PtrToStackOrNull, A::Anything}, false,
     Callback::ForEachMapElem},
    {id::kSnprintf, "bpf_snprintf", R::Integer,
     {A::PtrToWritableMemOrNull, A::ConstSizeOrZero, A::PtrToConstStr, A::PtrToMemOrNull,
      A::ConstSizeOrZero}, kGpl},
    {id::kTraceVprintk, "bpf_trace_vprintk", R::Integer,
     {A::PtrToMem, A::ConstSize, A::PtrToMemOrNull, A::ConstSizeOrZero}, kGpl},
    {id::kLoop, "bpf_loop", R::Integer,
     {A::Anything, A::PtrToFunc, A::PtrToStackOrNull, A::Anything}, false, Callback::Loop},
    {id::kStrncmp, "bpf_strncmp", R::Integer, {A::PtrToMem, A::ConstSize, A::PtrToConstStr}},
    {id::kXdpGetBuffLen, "bpf_xdp_get_buff_len", R::Integer, {A::PtrToCtx}},
    // store_bytes reads its buffer (ARG_PTR_TO_MEM | MEM_RDONLY; the first version said
    // ARG_PTR_TO_UNINIT_MEM): Linux 6.18 accepts a .rodata buffer there, and refuses it to
    // load_bytes ("write into map forbidden").
    {id::kXdpLoadBytes, "bpf_xdp_load_bytes", R::Integer,
     {A::PtrToCtx, A::Anything, A::PtrToUninitMem, A::ConstSize}},
    {id::kXdpStoreBytes, "bpf_xdp_store_bytes", R::Integer,
     {A::PtrToCtx, A::Anything, A::PtrToMem, A::ConstSize}},
    {id::kMapLookupPercpuElem, "bpf_map_lookup_percpu_elem", R::MapValueOrNull,
     {A::ConstMapPtr, A::PtrToMapKey, A::Anything}},
    {id::kKtimeGetTaiNs, "bpf_ktime_get_tai_ns", R::Integer, {}},
};
// clang-format on

static_assert(std::is_sorted(std::begin(kProtos), std::end(kProtos),
                             [](const HelperProto& a, const HelperProto& b) {
                               return a.id < b.id;
                             }),
              "sorted by id, for find_helper's binary search");
static_assert(std::end(kProtos)[-1].id < vm::kMaxHelperId, "every id fits a HelperTable");

// A helper without a prototype would be invisible to the verifier, a prototype without a
// helper a call that faults: both are build defects, caught by the first run of any test.
void add_family(vm::HelperTable& table, std::span<const detail::Implementation> family) {
  for (const detail::Implementation& impl : family) {
    if (find_helper(impl.id) == nullptr || table.fn[impl.id] != nullptr) {
      fmt::print(stderr, "pollen: helper {} has no prototype or two implementations\n", impl.id);
      std::abort();
    }
    table.fn[impl.id] = impl.fn;
  }
}

vm::HelperTable build_table() {
  vm::HelperTable table;
  for (auto family : {detail::map_helpers(), detail::ringbuf_helpers(), detail::control_helpers(),
                      detail::memory_helpers(), detail::string_helpers(), detail::format_helpers(),
                      detail::task_helpers(), detail::xdp_helpers()})
    add_family(table, family);
  for (const HelperProto& proto : helper_protos()) {
    if (table.fn[proto.id] == nullptr) {
      fmt::print(stderr, "pollen: helper {} ({}) has no implementation\n", proto.id, proto.name);
      std::abort();
    }
  }
  return table;
}

}  // namespace

std::span<const HelperProto> helper_protos() {
  return kProtos;
}

const HelperProto* find_helper(uint32_t id) {
  auto it = std::lower_bound(std::begin(kProtos), std::end(kProtos), id,
                             [](const HelperProto& p, uint32_t v) { return p.id < v; });
  return it != std::end(kProtos) && it->id == id ? &*it : nullptr;
}

const vm::HelperTable& default_helpers() {
  static const vm::HelperTable table = build_table();
  return table;
}

Result<void> check_helper_calls(std::span<const isa::Insn> prog) {
  for (size_t i = 0; i < prog.size(); ++i) {
    Result<isa::Decoded> d = isa::decode(prog, i);
    if (!d) return d.error();
    if (d->op == isa::Op::CallHelper && find_helper(static_cast<uint32_t>(d->imm)) == nullptr)
      return make_error(Errc::InvalidProgram, Location::insn(i),
                        fmt::format("call {}: unknown helper (no helper with Linux id {} is "
                                    "implemented)",
                                    d->imm, d->imm));
    if (isa::is_wide(d->op)) ++i;
  }
  return {};
}

}  // namespace pollen::helpers

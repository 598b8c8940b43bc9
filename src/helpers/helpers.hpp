// SPDX-License-Identifier: MIT
// Linux's BPF helpers, numbered by their Linux ids. Each helper's prototype is plain data
// (HelperProto: name, return kind, argument kinds, after Linux's struct bpf_func_proto); the
// verifier reads only these. The implementations are apart from them, in one file per family
// (maps, ring buffers, callbacks and tail calls, memory and checksums, strings, formatting, the
// task and its clocks, XDP packets and redirects), and reach a run loop through a vm::HelperTable. Map arguments are
// maps::Map pointers: the runtime links each `lddw rX, map` to the map object's address.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "isa/isa.hpp"
#include "pollen/result.hpp"
#include "vm/abi.hpp"

namespace pollen::helpers {

/// What a helper returns, after Linux's enum bpf_return_type.
enum class RetKind : uint8_t {
  Integer,         ///< RET_INTEGER: a scalar
  Void,            ///< RET_VOID: nothing; r0 is undefined afterwards
  MapValueOrNull,  ///< RET_PTR_TO_MAP_VALUE_OR_NULL: a value of the map argument, or 0 (for a
                   ///< map-in-map, the inner map: CONST_PTR_TO_MAP, or 0)
  /// RET_PTR_TO_RINGBUF_MEM_OR_NULL (RET_PTR_TO_ALLOC_MEM_OR_NULL before Linux 5.19): memory of
  /// the size the ConstAllocSizeOrZero argument gave, or 0; a reference the program must
  /// release (PtrToRingbufMem) on every path.
  AllocMemOrNull,
};

/// What a helper argument must be, after Linux's enum bpf_arg_type with its flags (MEM_RDONLY,
/// MEM_UNINIT, PTR_MAYBE_NULL, ...) folded into named kinds. A PtrTo*Mem argument is sized by
/// the ConstSize* argument right after it.
enum class ArgKind : uint8_t {
  None,                    ///< ARG_DONTCARE: not checked (unused, or trace_printk's varargs)
  Anything,                ///< ARG_ANYTHING: any initialized value
  ConstMapPtr,             ///< ARG_CONST_MAP_PTR: a map (from lddw with a map pseudo source)
  PtrToCtx,                ///< ARG_PTR_TO_CTX: the program's context
  PtrToMapKey,             ///< ARG_PTR_TO_MAP_KEY: readable, the map's key_size
  PtrToMapValue,           ///< ARG_PTR_TO_MAP_VALUE: readable, the map's value_size
  PtrToUninitMapValue,     ///< ARG_PTR_TO_MAP_VALUE | MEM_UNINIT: written, value_size
  PtrToMem,                ///< ARG_PTR_TO_MEM | MEM_RDONLY: readable memory
  PtrToMemOrNull,          ///< ARG_PTR_TO_MEM | MEM_RDONLY | PTR_MAYBE_NULL: the same, or 0
  PtrToWritableMem,        ///< ARG_PTR_TO_MEM: initialized memory the helper reads and writes
  PtrToWritableMemOrNull,  ///< ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_WRITE: initialized
                           ///< memory the helper writes, or 0
  PtrToUninitMem,          ///< ARG_PTR_TO_UNINIT_MEM: memory the helper writes, may be uninit
  ConstSize,               ///< ARG_CONST_SIZE: the size of the memory before it, > 0
  ConstSizeOrZero,         ///< ARG_CONST_SIZE_OR_ZERO: the same, or 0
  ConstAllocSizeOrZero,    ///< ARG_CONST_ALLOC_SIZE_OR_ZERO: the size of the returned memory
  PtrToConstStr,           ///< ARG_PTR_TO_CONST_STR: a NUL-terminated string in a read-only
                           ///< map value
  PtrToInt,                ///< ARG_PTR_TO_FIXED_SIZE_MEM | MEM_WRITE | MEM_ALIGNED of 4 bytes
                           ///< (was ARG_PTR_TO_INT): an initialized, aligned u32 the helper
                           ///< reads and writes
  PtrToLong,               ///< ARG_PTR_TO_LONG (Linux 6.12: ARG_PTR_TO_FIXED_SIZE_MEM |
                           ///< MEM_UNINIT | MEM_ALIGNED of 8 bytes): a written, aligned s64
  PtrToFunc,               ///< ARG_PTR_TO_FUNC: a static function (lddw, BPF_PSEUDO_FUNC)
  PtrToStackOrNull,        ///< ARG_PTR_TO_STACK_OR_NULL: the program's stack, or 0
  PtrToSpinLock,           ///< ARG_PTR_TO_SPIN_LOCK: the bpf_spin_lock of a map value
  PtrToRingbufMem,         ///< ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE: a reserved record,
                           ///< released by the call
};

/// The function a PtrToFunc argument names, as Linux's verifier sets up its frame
/// (set_loop_callback_state, set_map_elem_callback_state); it must return 0 or 1.
enum class Callback : uint8_t {
  None,
  Loop,            ///< long (*)(u32 index, void *ctx)
  ForEachMapElem,  ///< long (*)(struct bpf_map *map, const void *key, void *value, void *ctx)
};

/// A helper's prototype as data.
struct HelperProto {
  uint32_t id;  ///< Linux's helper id (enum bpf_func_id)
  std::string_view name;
  RetKind ret;
  std::array<ArgKind, 5> args;         ///< r1..r5; unused arguments are ArgKind::None
  bool gpl_only = false;               ///< only programs under a GPL-compatible license may call it
  Callback callback = Callback::None;  ///< what the PtrToFunc argument is called with
};

/// Every helper Pollen implements, sorted by id.
std::span<const HelperProto> helper_protos();

/// The prototype of helper `id`, or null when Pollen does not implement it.
const HelperProto* find_helper(uint32_t id);

/// The implementations of helper_protos(), indexed by id, for Interpreter::create.
const vm::HelperTable& default_helpers();

/// Load-time check of a program's helper calls: the first `call` to an id Pollen does not
/// implement is an error located at its instruction, so that an unknown helper never
/// surfaces as a fault at run time. `prog` must be structurally valid (isa::validate).
Result<void> check_helper_calls(std::span<const isa::Insn> prog);

/// Linux helper ids, from include/uapi/linux/bpf.h.
namespace id {
inline constexpr uint32_t kMapLookupElem = 1;
inline constexpr uint32_t kMapUpdateElem = 2;
inline constexpr uint32_t kMapDeleteElem = 3;
inline constexpr uint32_t kProbeRead = 4;
inline constexpr uint32_t kKtimeGetNs = 5;
inline constexpr uint32_t kTracePrintk = 6;
inline constexpr uint32_t kGetPrandomU32 = 7;
inline constexpr uint32_t kGetSmpProcessorId = 8;
inline constexpr uint32_t kTailCall = 12;
inline constexpr uint32_t kGetCurrentPidTgid = 14;
inline constexpr uint32_t kGetCurrentUidGid = 15;
inline constexpr uint32_t kGetCurrentComm = 16;
inline constexpr uint32_t kRedirect = 23;
inline constexpr uint32_t kPerfEventOutput = 25;
inline constexpr uint32_t kCsumDiff = 28;
inline constexpr uint32_t kGetCurrentTask = 35;
inline constexpr uint32_t kGetNumaNodeId = 42;
inline constexpr uint32_t kXdpAdjustHead = 44;
inline constexpr uint32_t kProbeReadStr = 45;
inline constexpr uint32_t kRedirectMap = 51;
inline constexpr uint32_t kFibLookup = 69;
inline constexpr uint32_t kXdpAdjustMeta = 54;
inline constexpr uint32_t kXdpAdjustTail = 65;
inline constexpr uint32_t kMapPushElem = 87;
inline constexpr uint32_t kMapPopElem = 88;
inline constexpr uint32_t kMapPeekElem = 89;
inline constexpr uint32_t kSpinLock = 93;
inline constexpr uint32_t kSpinUnlock = 94;
inline constexpr uint32_t kStrtol = 105;
inline constexpr uint32_t kStrtoul = 106;
inline constexpr uint32_t kProbeReadUser = 112;
inline constexpr uint32_t kProbeReadKernel = 113;
inline constexpr uint32_t kProbeReadUserStr = 114;
inline constexpr uint32_t kProbeReadKernelStr = 115;
inline constexpr uint32_t kJiffies64 = 118;
inline constexpr uint32_t kGetNsCurrentPidTgid = 120;
inline constexpr uint32_t kKtimeGetBootNs = 125;
inline constexpr uint32_t kRingbufOutput = 130;
inline constexpr uint32_t kRingbufReserve = 131;
inline constexpr uint32_t kRingbufSubmit = 132;
inline constexpr uint32_t kRingbufDiscard = 133;
inline constexpr uint32_t kRingbufQuery = 134;
inline constexpr uint32_t kKtimeGetCoarseNs = 160;
inline constexpr uint32_t kForEachMapElem = 164;
inline constexpr uint32_t kSnprintf = 165;
inline constexpr uint32_t kTraceVprintk = 177;
inline constexpr uint32_t kLoop = 181;
inline constexpr uint32_t kCheckMtu = 163;
inline constexpr uint32_t kStrncmp = 182;
inline constexpr uint32_t kXdpGetBuffLen = 188;
inline constexpr uint32_t kXdpLoadBytes = 189;
inline constexpr uint32_t kXdpStoreBytes = 190;
inline constexpr uint32_t kMapLookupPercpuElem = 195;
inline constexpr uint32_t kKtimeGetTaiNs = 208;
}  // namespace id

/// Jiffies tick at this rate (Linux's CONFIG_HZ; 250 is Debian's and Ubuntu's default). User
/// space cannot read the running kernel's HZ, and programs only compare jiffies to jiffies.
inline constexpr uint64_t kJiffiesHz = 250;

/// Linux's BPF_MAX_LOOPS: bpf_loop refuses more iterations with -E2BIG.
inline constexpr uint64_t kMaxLoops = 8 * 1024 * 1024;

}  // namespace pollen::helpers

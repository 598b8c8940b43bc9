// SPDX-License-Identifier: MIT
// The contract between JitProgram::run() and the generated code: the per-run state the code
// reads and writes through one register (JitState), how a fault is encoded in it, and the
// signature of the compiled entry point. run() fills the state from RunArgs and RunOptions; the
// code reads the precomputed bounds of checked mode and ld_abs from it, counts instructions in
// it, and leaves a fault in it. The functions at the end are what the code calls back into
// JitProgram for: tail calls and callbacks. Private to src/jit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "vm/abi.hpp"
#include "vm/fault.hpp"

namespace pollen::jit::detail {

/// Sizes of an access (1, 2, 4, 8 bytes) as an index 0..3.
inline constexpr size_t kAccessSizes = 4;
inline constexpr int size_index(int size) {
  return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
}

struct JitState {
  // Instructions the run may still execute (counting code only); ~0 when there is no budget.
  uint64_t remaining;
  // Checked mode, the fast bounds check against the run's first region: an access of size
  // 1 << k at `addr` is inside it when addr - region_begin < region_end[write][k] (unsigned).
  // A bound of 0 sends every access to the slow check (no region, or a write to a read-only one).
  uint64_t region_begin;
  uint64_t region_end[2][kAccessSizes];
  // Checked mode: the last address an access of size 1 << k may start at in the stack.
  uint64_t stack_last[kAccessSizes];
  // The lowest r10 from which a local call still fits in Linux's MAX_CALL_FRAMES.
  uint64_t call_floor;
  // ld_abs/ld_ind: the packet, and for loads of 1, 2, 4 bytes the bound an offset must be below.
  uint64_t packet;
  uint64_t packet_end[3];
  // Checked mode: the lowest stack frame zeroed so far in this run.
  uint64_t zeroed_floor;
  uint64_t entry_rsp;   ///< the host stack pointer after the prologue, to unwind on a fault
  uint64_t stack_top;   ///< r10 of the main function
  uint64_t call_r10;    ///< r10 of the latest helper call: a callback's frame goes below it
  /// r1..r5 of the code being entered: the main function's, a callback's, a tail call's target
  uint64_t args[5];
  uint64_t saved_r0;    ///< r0 across the check that follows a helper call
  uint64_t callx_id;    ///< the helper id of the callx being made, for its fault message
  uint64_t fault_word;  ///< 0, or fault_word() of the fault that stopped the run
  uint64_t fault_value;
  void* run;           ///< jit.cpp's record of the run: the running program, what it was given
  vm::RunContext ctx;  ///< what helpers see; ctx.stack_begin follows local calls in checked mode
};
static_assert(std::is_standard_layout_v<JitState>, "the generated code addresses fields by offset");

/// The generated code addresses the state through a register pointing this far into it, so that
/// the hot fields are within a signed 8-bit displacement.
inline constexpr int32_t kStateBias = 128;

/// Displacement of a field at byte `offset` of JitState from the state register.
inline constexpr int32_t state_disp(size_t offset) {
  return static_cast<int32_t>(offset) - kStateBias;
}

/// How the generated code stores a fault: the kind in the low byte, the instruction above it
/// (validate() caps programs at 1M instructions, so it fits in 32 bits).
inline constexpr uint32_t fault_word(vm::detail::FaultKind kind, size_t insn) {
  return static_cast<uint32_t>(insn) << 8 | static_cast<uint8_t>(kind);
}
inline vm::detail::Fault decode_fault(uint64_t word, uint64_t value) {
  return {static_cast<vm::detail::FaultKind>(word & 0xff), static_cast<size_t>(word >> 8), value};
}

/// The compiled program: takes the state, returns r0.
using EntryFn = uint64_t (*)(JitState* state);
/// The code's callback entry: runs the function whose code starts at `function` as a local
/// call made from r10 = `caller_r10`, with r1..r5 = state->args; returns its r0. A fault in it
/// returns to here (entry_rsp is the stub's while it runs) with state->fault_word set.
using CallbackFn = uint64_t (*)(JitState* state, uint64_t function, uint64_t caller_r10);

/// What continue_tail_call() returns besides the address to continue at.
inline constexpr uint64_t kTailCallEnded = 0;    ///< handed over and finished: r0 in saved_r0
inline constexpr uint64_t kTailCallRefused = 1;  ///< ctx.fault says why; the call faults
/// Made from a called function or a callback: the target ran in its place and returned its r0
/// (in saved_r0), which the function now returns.
inline constexpr uint64_t kTailCallReturned = 2;

/// Called by the code after a helper left RunContext::tail_call set, with r1..r5 in `args`:
/// makes the target the running program and returns the address of its first instruction's
/// code, or one of the three values above.
uint64_t continue_tail_call(JitState* state);

}  // namespace pollen::jit::detail

// SPDX-License-Identifier: MIT
// The interpreter's decoded form and run state, private to src/vm: a program becomes an array of
// Slots (threaded code: the handler's address plus operands extracted once), a run keeps its
// machine state in a Machine, and a run that stops early describes why in a Fault (fault.hpp),
// which fault.cpp turns into a located error message away from the hot loop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "isa/isa.hpp"
#include "pollen/result.hpp"
#include "vm/abi.hpp"
#include "vm/fault.hpp"

namespace pollen::vm::detail {

/// One instruction slot of threaded code.
struct Slot {
  const void* handler = nullptr;  ///< label of this instruction's handler in the run loop
  union Aux {
    uint64_t imm64;      ///< lddw: the joined 64-bit immediate
    const Slot* target;  ///< jumps and local calls: the destination slot
    HelperFn helper;     ///< helper calls: the resolved helper, or null when unknown
  } aux{0};
  uint8_t dst = 0;
  uint8_t src = 0;
  int16_t off = 0;
  int32_t imm = 0;
};

/// The registers and frames of local calls. r10 of a callee is its caller's r10 minus
/// kStackSize, so every function has its own frame, as in Linux.
struct CallStack {
  struct Frame {
    const Slot* ret;
    std::array<uint64_t, 4> saved;  ///< r6-r9 of the caller
  };
  std::array<Frame, kMaxCallFrames - 1> frames;
  size_t depth = 0;  ///< 0 while the main function runs
  /// Frames this run loop may push: fewer than `frames` in a callback's run loop, whose first
  /// frame already lies below its caller's.
  size_t limit = kMaxCallFrames - 1;
};

/// Everything one run needs besides its registers and stack (those live in the run loop's own
/// frame, so the hot path never goes through a pointer to them).
struct Machine {
  std::array<uint64_t, 5> args{};  ///< r1..r5 at entry
  const uint8_t* packet = nullptr;
  uint64_t packet_size = 0;
  const HelperTable* helpers = nullptr;
  uint64_t budget = 0;  ///< instructions allowed; ~0 means no limit
  RunContext ctx;
  // The running program, which bpf_tail_call replaces: its slot 0 (faults are located
  // relative to it), where its functions start and its instructions (for fault messages).
  const Slot* base = nullptr;
  std::span<const size_t> functions;  ///< the slots its functions start at (callbacks' too)
  std::span<const isa::Insn> insns;
  /// Makes `program` (a tail call's target) the running program; returns its first slot.
  const Slot* (*enter_program)(Machine& m, const void* program) = nullptr;
  // The stack, shared by nested run loops: r10 of the main function, r10 a run loop starts
  // with (the main function's, or a callback's one frame below its caller), and r10 of the
  // function that made the latest helper call (a callback's frame goes below it).
  uint64_t stack_top = 0;
  uint64_t entry_r10 = 0;
  uint64_t call_r10 = 0;
  /// Instructions the run may still execute; nested run loops hand it on.
  uint64_t remaining = 0;
  // Results of the run.
  Fault fault;
  const void* const* labels = nullptr;  ///< set instead of running when started without code
};

/// A tail call made from a called function or a callback (Linux's x86-64 JIT allows it): the
/// target replaces that function, so it runs as a run of its own (its own stack) from its
/// start with r1-r5 = `regs`, the run's memory and maps, the tail calls made so far and the
/// instruction budget left (`remaining`, which it spends), and its r0 is that function's
/// result. False when it stopped on a fault, which RunContext::fault then describes.
bool run_tail_call_target(Machine& m, const void* program, const uint64_t* regs,
                          uint64_t& remaining, uint64_t& r0);

/// Runs threaded code from `start` with r10 = m.entry_r10 until the exit of the function it
/// starts in, returning r0. With `start` null it only stores its label table (one handler
/// address per Op, in opcodes.def order) in `m.labels`.
template <bool Checked>
uint64_t execute(const Slot* start, Machine& m);

}  // namespace pollen::vm::detail

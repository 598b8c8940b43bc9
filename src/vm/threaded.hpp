// SPDX-License-Identifier: MIT
// The interpreter's decoded form and run state, private to src/vm: a program becomes an array of
// Slots (threaded code: the handler's address plus operands extracted once), a run keeps its
// machine state in a Machine, and a run that stops early describes why in a Fault, which
// fault.cpp turns into a located error message away from the hot loop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "isa/isa.hpp"
#include "pollen/result.hpp"
#include "vm/abi.hpp"

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

/// Why a run stopped before its final exit.
enum class FaultKind : uint8_t {
  None,
  Access,         ///< checked mode: a load, store or atomic outside the run's memory
  Misaligned,     ///< checked mode: an atomic at an address not aligned to its size
  CallDepth,      ///< a local call beyond Linux's MAX_CALL_FRAMES
  UnknownHelper,  ///< call or callx to a helper id with no entry in the table
  HelperFault,    ///< a helper refused its arguments (RunContext::fault)
  Budget,         ///< the instruction budget ran out
  Kfunc,          ///< a kfunc call, which Pollen does not support
};

struct Fault {
  FaultKind kind = FaultKind::None;
  size_t insn = 0;     ///< slot index of the faulting instruction
  uint64_t value = 0;  ///< Access/Misaligned: the address; UnknownHelper: the id
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
  // Results of the run.
  Fault fault;
  uint64_t executed = 0;
  const void* const* labels = nullptr;  ///< set instead of running when started without code
};

/// Runs threaded code from `start`, returning r0. With `start` null it only stores its label
/// table (one handler address per Op, in opcodes.def order) in `m.labels`.
template <bool Checked>
uint64_t execute(const Slot* start, Machine& m);

/// The error a Fault stands for: "insn 3: ldxw: out-of-bounds read of 4 bytes at ...".
Error describe_fault(const Fault& fault, std::span<const isa::Insn> prog, const RunContext& ctx,
                     uint64_t budget);

}  // namespace pollen::vm::detail

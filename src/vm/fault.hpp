// SPDX-License-Identifier: MIT
// Why a run stopped early, as every engine records it (the interpreter's run loop and the JIT's
// generated code alike), and the located error message fault.cpp builds from it, so that both
// engines report the same fault in the same words. Private to the engines (src/vm, src/jit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "isa/isa.hpp"
#include "pollen/result.hpp"
#include "vm/abi.hpp"

namespace pollen::vm::detail {

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

/// The error a Fault stands for: "insn 3: ldxw: out-of-bounds read of 4 bytes at ...".
Error describe_fault(const Fault& fault, std::span<const isa::Insn> prog, const RunContext& ctx,
                     uint64_t budget);

}  // namespace pollen::vm::detail

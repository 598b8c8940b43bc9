// SPDX-License-Identifier: MIT
// The interpreter: a structurally valid program is decoded once into threaded code (one
// handler address per slot, dispatched with computed goto) and then run any number of times,
// from any number of threads. Semantics follow Linux (kernel/bpf/core.c). In checked mode every
// load, store and atomic is checked against the regions the program was given and its live
// stack frames, so an unverified program can touch nothing else; unchecked mode is for verified
// programs and carries no checks at all. Helpers may run BPF callbacks of the program
// (RunContext::call_function) and make tail calls into other interpreters (RunContext::tail_call).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "isa/isa.hpp"
#include "vm/abi.hpp"

namespace pollen::vm {

struct RunOptions {
  bool checked = false;      ///< check every memory access against the regions
  uint64_t insn_budget = 0;  ///< stop with an error after this many instructions; 0 = no limit
  void* env = nullptr;       ///< handed to helpers through RunContext::env
  uint32_t slot = 0;         ///< execution slot of the calling worker (bpf_get_smp_processor_id)
  TraceSink trace;           ///< where bpf_trace_printk writes (stderr by default)
  /// Tail calls already made by the run this one continues (an engine handing a tail call
  /// over to the interpreter), so that the run as a whole stops at Linux's limit.
  uint32_t tail_call_count = 0;
};

/// The arguments of one run: r1..r5 and, for checked mode, the memory the program was given
/// (its stack frames are always allowed).
struct RunArgs {
  std::array<uint64_t, 5> r{};  ///< r1..r5 at entry
  std::vector<Region> regions;  ///< memory the program may touch besides its stack
  std::span<uint8_t> packet;    ///< what ld_abs/ld_ind read from (legacy packet loads)
  /// Checked mode: the maps the program was linked with (RunContext::maps); helpers refuse
  /// any other value as a map.
  std::vector<uint64_t> maps;
};

/// Builds the usual arguments: r1 = memory (or 0 when empty), r2 = its length; the memory is
/// the one writable region and the packet for ld_abs/ld_ind.
RunArgs memory_args(std::span<uint8_t> memory);

/// The fault of a tail call made from a called function or a callback whose target stopped on
/// `error` (the target runs as a run of its own there; both engines say it this way).
std::string tail_call_target_failed(const Error& error);

class Interpreter {
 public:
  /// Validates `prog` (isa::validate) and decodes it, keeping a copy of `helpers`. A call to an
  /// id with no entry is not an error here but a RuntimeFault when it runs (the verifier
  /// rejects it earlier). lddw loads its 64-bit immediate whatever its pseudo source:
  /// the loader must have written the resolved map address or value into it, as Linux does.
  /// The exception is BPF_PSEUDO_FUNC (src 4), whose imm is the callback's offset from the
  /// next slot, as libbpf writes it (isa::validate makes it a function start): lddw loads the
  /// callback's slot index, which is what RunContext::call_function takes.
  ///
  /// A tail call's target (what a PROG_ARRAY slot holds for bpf_tail_call) is an Interpreter:
  /// the runtime stores a std::shared_ptr<Interpreter> in the map. From the main function the
  /// run jumps to it (same registers and frame, no return). From a called function or a
  /// callback, as Linux's x86-64 JIT allows, the target takes that function's place: it runs as
  /// a run of its own (its own stack, the tail calls made so far, the budget left) and its r0
  /// is the function's result; calls the target makes are not added to the caller's count.
  static Result<Interpreter> create(std::span<const isa::Insn> prog, const HelperTable& helpers);

  /// Runs the program once and returns r0. Faults (checked mode, call depth, instruction
  /// budget, unknown helper, a helper refusing its arguments) are Errc::RuntimeFault errors
  /// located at the faulting instruction; a kfunc call is Errc::NotSupported. A legacy packet
  /// load outside RunArgs::packet ends the run with r0 = 0, as in Linux. The stack (512 bytes
  /// per frame, 8 frames) lives on the calling thread's stack; checked runs zero each frame
  /// before its first use so that no host data shows through.
  Result<uint64_t> run(const RunArgs& args, const RunOptions& options = {}) const;

  /// Instructions executed by the last run on this thread, in either mode (also when it
  /// faulted): lddw counts once, a call and its exit count once each. Counting shares the
  /// instruction-budget counter, so it costs nothing extra.
  static uint64_t last_insn_count();

  Interpreter(Interpreter&&) noexcept;
  Interpreter& operator=(Interpreter&&) noexcept;
  ~Interpreter();

 private:
  struct Code;
  explicit Interpreter(std::unique_ptr<Code> code);
  std::unique_ptr<Code> code_;
};

}  // namespace pollen::vm

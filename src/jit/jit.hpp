// SPDX-License-Identifier: MIT
// The JIT: compiles a structurally valid program to native code once (x86-64, through asmjit)
// and runs it any number of times, from any number of threads, with the interpreter's interface
// and semantics (Linux's). What the interpreter decides per run -- checked mode, counting
// instructions -- is code here, so it is chosen when compiling. Faults are reported with the
// interpreter's located messages. The code lives in memory that is never writable and
// executable at once. On hosts other than x86-64, compile() reports Errc::NotSupported.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "isa/isa.hpp"
#include "pollen/result.hpp"
#include "vm/abi.hpp"
#include "vm/interpreter.hpp"

namespace pollen::jit {

class JitProgram;

/// An ARRAY map (not per-CPU) the program is linked with, as the JIT needs it to inline
/// bpf_map_lookup_elem (helper 1) on it, as Linux's array_map_gen_lookup() does: the key's u32
/// is checked against max_entries and the value's address computed, with no call. The caller
/// vouches that helper 1 of its table is Linux's bpf_map_lookup_elem and that `map` is the
/// address the program's lddw loads for this map. jit/array_layout.hpp fills it from a map.
struct ArrayLayout {
  uint64_t map = 0;        ///< the map's address, as lddw loads it
  uint64_t values = 0;     ///< the address of element 0's value
  uint32_t elem_size = 0;  ///< bytes from one element's value to the next
  uint32_t max_entries = 0;
};

/// How a run finds the JIT code of a tail call's target. A PROG_ARRAY slot holds what the
/// runtime stored there (an Interpreter: src/runtime stores every program's interpreter, which
/// the interpreter jumps to); `find` returns the JitProgram compiled from the same program, for
/// the same mode and with the same counting, or null. JIT code continues in JIT code it is given
/// here; any other target is taken for a vm::Interpreter and the run is handed over to it.
struct TailCallTargets {
  const JitProgram* (*find)(void* arg, const void* target) = nullptr;
  void* arg = nullptr;
};

namespace detail {
struct Engine;
}

/// What JitProgram::compile() emits.
struct JitOptions {
  /// Checked mode, for programs no verifier has accepted (the explicit unsafe test mode): every
  /// load, store and atomic is bounds-checked against the run's regions and live stack frames,
  /// as the interpreter's checked mode does. Unchecked code carries no checks: only for
  /// verified or trusted programs.
  bool checked = false;
  /// Constant blinding, as Linux's bpf_jit_harden: no immediate of the program appears in the
  /// code; each is stored XORed with a random key and recovered at run time.
  bool harden = false;
  /// Keep a listing of the machine code next to the BPF instructions (listing()).
  bool listing = false;
  /// Count executed instructions, exactly as the interpreter counts them: needed for
  /// RunOptions::insn_budget and last_insn_count(). Costs one subtraction per basic block.
  bool count_insns = false;
  /// Use BMI2's shlx/shrx/sarx for shifts by a register when the host has them. Off: baseline
  /// x86-64 only (tests turn it off to cover that path on BMI2 hosts).
  bool use_bmi2 = true;
  /// Unchecked mode: ARRAY maps whose bpf_map_lookup_elem calls are inlined when the map is a
  /// constant (an lddw in the same basic block). Checked mode always calls the helper, which
  /// validates the key and hands the value out to the run.
  std::vector<ArrayLayout> arrays{};
};

/// True when this host can run JIT code (an x86-64 build).
bool host_supported();

class JitProgram {
 public:
  /// Validates `prog` (isa::validate) and compiles it, keeping a copy of `helpers` (callx looks
  /// ids up at run time; call resolves them now). A call to an id with no entry is a
  /// RuntimeFault when it runs, as in the interpreter. lddw loads its 64-bit immediate whatever
  /// its pseudo source (the loader has resolved it), except BPF_PSEUDO_FUNC, which loads the
  /// callback's slot index as the interpreter does.
  ///
  /// Callbacks (bpf_loop, bpf_for_each_map_elem: RunContext::call_function) run as JIT code in
  /// a frame below the helper caller's, as in the interpreter. The main function is compiled
  /// as a callee too when a local call or a BPF_PSEUDO_FUNC lddw names it; a callback at slot
  /// 0 that nothing names so (a plain constant) is refused when it runs. Tail calls
  /// (RunContext::tail_call) from the main function continue in the target's JIT code with the
  /// same registers, stack frame and tail-call count (see TailCallTargets); from a called
  /// function or a callback, the target runs in that function's place and its r0 is the
  /// function's result, as in the interpreter (vm::Interpreter::create).
  static Result<JitProgram> compile(std::span<const isa::Insn> prog, const vm::HelperTable& helpers,
                                    const JitOptions& options = {});

  /// Runs the program once and returns r0, with the interpreter's results and faults.
  /// `options.checked` must be the mode the program was compiled for, and an instruction budget
  /// needs a program compiled with JitOptions::count_insns (Errc::NotSupported otherwise).
  /// `targets` finds the JIT code of tail calls' targets. A target it does not find is a
  /// vm::Interpreter, to which the run is handed over: it runs the target from its start with
  /// the current r1-r5, the instruction budget left, the tail calls made so far and the run's
  /// memory. Faults in the interpreter are its own, located in the target. A run starts from
  /// options.tail_call_count tail calls already made.
  Result<uint64_t> run(const vm::RunArgs& args, const vm::RunOptions& options = {},
                       const TailCallTargets& targets = {}) const;
  /// run() `times` times in a row on the same arguments, as a test run's repeat does (what a
  /// run leaves in memory, the next one sees), preparing the run state once: the r0 of the
  /// last run, or the first run's fault, which stops it. last_insn_count() is the last run's.
  Result<uint64_t> run_times(const vm::RunArgs& args, uint64_t times,
                             const vm::RunOptions& options = {},
                             const TailCallTargets& targets = {}) const;

  /// The machine code next to the BPF instructions, when compiled with JitOptions::listing;
  /// empty otherwise.
  const std::string& listing() const;
  /// The code bytes, as mapped for execution (read + execute).
  std::span<const uint8_t> code() const;

  /// Instructions executed by the last run on this thread of a program compiled with
  /// JitOptions::count_insns, counted as the interpreter counts them; 0 after other runs.
  static uint64_t last_insn_count();

  JitProgram(JitProgram&&) noexcept;
  JitProgram& operator=(JitProgram&&) noexcept;
  ~JitProgram();

 private:
  struct Code;
  friend struct detail::Engine;
  explicit JitProgram(std::unique_ptr<Code> code);
  std::unique_ptr<Code> code_;
};

}  // namespace pollen::jit

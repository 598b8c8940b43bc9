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

#include "isa/isa.hpp"
#include "pollen/result.hpp"
#include "vm/abi.hpp"
#include "vm/interpreter.hpp"

namespace pollen::jit {

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
};

/// True when this host can run JIT code (an x86-64 build).
bool host_supported();

class JitProgram {
 public:
  /// Validates `prog` (isa::validate) and compiles it, keeping a copy of `helpers` (callx looks
  /// ids up at run time; call resolves them now). A call to an id with no entry is a
  /// RuntimeFault when it runs, as in the interpreter. lddw loads its 64-bit immediate whatever
  /// its pseudo source (the loader has resolved it), except BPF_PSEUDO_FUNC, which loads the
  /// callback's slot index as the interpreter does. The JIT runs no callbacks and makes no tail
  /// calls yet: helpers that would (bpf_loop, bpf_tail_call, ...) refuse, through RunContext.
  static Result<JitProgram> compile(std::span<const isa::Insn> prog, const vm::HelperTable& helpers,
                                    const JitOptions& options = {});

  /// Runs the program once and returns r0, with the interpreter's results and faults.
  /// `options.checked` must be the mode the program was compiled for, and an instruction budget
  /// needs a program compiled with JitOptions::count_insns (Errc::NotSupported otherwise).
  Result<uint64_t> run(const vm::RunArgs& args, const vm::RunOptions& options = {}) const;

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
  explicit JitProgram(std::unique_ptr<Code> code);
  std::unique_ptr<Code> code_;
};

}  // namespace pollen::jit

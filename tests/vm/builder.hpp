// SPDX-License-Identifier: MIT
// Test programs as instruction literals: I{op, dst, src, off, imm} with the selector field filled
// in from opcodes.def, so a test names the operation and its operands and nothing else. Also
// runs a program in checked or unchecked mode in one call, on the engine under test (Vm): the
// interpreter, or the JIT when tests/jit builds these same files with POLLEN_TEST_JIT (and, with
// POLLEN_TEST_JIT_HARDEN, with constant blinding and baseline x86-64 only).
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <span>
#include <vector>

#include "isa/isa.hpp"
#include "vm/interpreter.hpp"
#if POLLEN_TEST_JIT
#include "jit/jit.hpp"
#endif

namespace pollen::vm::test {

using isa::Op;

/// One instruction; imm64 is lddw's value.
struct I {
  Op op;
  uint8_t dst = 0;
  uint8_t src = 0;
  int16_t off = 0;
  int32_t imm = 0;
  uint64_t imm64 = 0;
};

inline I lddw(uint8_t dst, uint64_t value) {
  return {Op::Lddw, dst, 0, 0, 0, value};
}
inline I mov(uint8_t dst, int32_t imm) {
  return {Op::Mov64Imm, dst, 0, 0, imm};
}
inline I exit_insn() {
  return {Op::Exit};
}

inline std::vector<isa::Insn> program(std::initializer_list<I> insns) {
  std::vector<isa::Insn> out;
  for (I i : insns) {
    const isa::OpInfo& info = isa::info(i.op);
    // The field that selects the row carries the row's value, whatever the test wrote.
    if (info.sel == isa::Sel::Off) i.off = static_cast<int16_t>(info.sel_value);
    if (info.sel == isa::Sel::Imm) i.imm = info.sel_value;
    if (info.sel == isa::Sel::Src) i.src = static_cast<uint8_t>(info.sel_value);
    isa::Decoded d{i.op, i.dst, i.src, i.off, i.imm, i.imm64, 0};
    for (const isa::Insn& slot : isa::encode(d)) out.push_back(slot);
  }
  return out;
}

#if POLLEN_TEST_JIT
/// The JIT with the interpreter's interface: a program compiled for both modes, counting
/// instructions, run in the mode RunOptions asks for.
class JitVm {
 public:
  static Result<JitVm> create(std::span<const isa::Insn> prog, const HelperTable& helpers) {
    jit::JitOptions options;
    options.count_insns = true;
    options.harden = POLLEN_TEST_JIT_HARDEN;
    options.use_bmi2 = !POLLEN_TEST_JIT_HARDEN;
    POLLEN_TRY(jit::JitProgram unchecked, jit::JitProgram::compile(prog, helpers, options));
    options.checked = true;
    POLLEN_TRY(jit::JitProgram checked, jit::JitProgram::compile(prog, helpers, options));
    return JitVm(std::move(unchecked), std::move(checked));
  }
  Result<uint64_t> run(const RunArgs& args, const RunOptions& options = {}) const {
    return (options.checked ? checked_ : unchecked_).run(args, options);
  }
  static uint64_t last_insn_count() { return jit::JitProgram::last_insn_count(); }

 private:
  JitVm(jit::JitProgram unchecked, jit::JitProgram checked)
      : unchecked_(std::move(unchecked)), checked_(std::move(checked)) {}
  jit::JitProgram unchecked_;
  jit::JitProgram checked_;
};
using Vm = JitVm;
#else
using Vm = Interpreter;
#endif

/// Creates the engine for `prog` (failing the test if that fails) and runs it once.
inline Result<uint64_t> run(const std::vector<isa::Insn>& prog, const RunArgs& args,
                            const RunOptions& options, const HelperTable& helpers) {
  Result<Vm> interp = Vm::create(prog, helpers);
  if (!interp) {
    ADD_FAILURE() << "create failed: " << interp.error().str();
    return interp.error();
  }
  return interp->run(args, options);
}

inline Result<uint64_t> run(const std::vector<isa::Insn>& prog, std::span<uint8_t> memory = {},
                            bool checked = false) {
  static const HelperTable no_helpers;
  RunOptions options;
  options.checked = checked;
  return run(prog, memory_args(memory), options, no_helpers);
}

}  // namespace pollen::vm::test

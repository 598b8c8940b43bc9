// SPDX-License-Identifier: MIT
// Test programs as instruction literals: I{op, dst, src, off, imm} with the selector field filled
// in from opcodes.def, so a test names the operation and its operands and nothing else. Also
// runs a program in checked or unchecked mode in one call.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <span>
#include <vector>

#include "isa/isa.hpp"
#include "vm/interpreter.hpp"

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

/// Creates an interpreter for `prog` (failing the test if that fails) and runs it once.
inline Result<uint64_t> run(const std::vector<isa::Insn>& prog, const RunArgs& args,
                            const RunOptions& options, const HelperTable& helpers) {
  Result<Interpreter> interp = Interpreter::create(prog, helpers);
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

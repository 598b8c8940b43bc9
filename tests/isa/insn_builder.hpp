// SPDX-License-Identifier: MIT
// Shorthand for writing instruction slots in the isa tests: `slot(0x07, 1, 0, 0, 5)` is
// `add %r1, 5`, fields in struct bpf_insn order.
#pragma once

#include <cstdint>
#include <ostream>

#include <fmt/format.h>

#include "isa/isa.hpp"

namespace pollen::isa {

/// How GoogleTest prints a slot in failure messages: `{op 0x07 dst 1 src 0 off 0 imm 5}`.
inline void PrintTo(const Insn& insn, std::ostream* out) {
  *out << fmt::format("{{op {:#04x} dst {} src {} off {} imm {}}}", insn.opcode, insn.dst, insn.src,
                      insn.off, insn.imm);
}

}  // namespace pollen::isa

namespace pollen::isa::test {

inline Insn slot(uint8_t opcode, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0,
                 int32_t imm = 0) {
  Insn insn;
  insn.opcode = opcode;
  insn.dst = dst & 0xf;
  insn.src = src & 0xf;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

inline Insn exit_insn() {
  return slot(0x95);
}

}  // namespace pollen::isa::test

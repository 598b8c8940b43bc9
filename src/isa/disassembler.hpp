// SPDX-License-Identifier: MIT
// The disassembler: prints decoded instructions in the conformance suite's syntax (which the
// assembler reads back) or in llvm-objdump's C-like syntax (`r0 += 0x1`, `if r1 > r2 goto +3`).
#pragma once

#include <span>
#include <string>

#include "isa/isa.hpp"

namespace pollen::isa {

enum class Syntax : uint8_t {
  Conformance,  ///< `add %r0, 1`, `jeq %r1, 0, +2`, `ldxw %r0, [%r1+4]`
  Llvm,         ///< `r0 += 0x1`, `if r1 == 0x0 goto +2`, `r0 = *(u32 *)(r1 + 0x4)`
};

/// One instruction's text, without address or bytes. `index` is its slot; both syntaxes print
/// branch targets relative to the next slot (`+3`, `goto -0x2`), as their tools do.
std::string format(const Decoded& d, size_t index, Syntax syntax);

struct ListingOptions {
  Syntax syntax = Syntax::Llvm;
  bool addresses = true;  ///< prefix each line with its slot index, as llvm-objdump does
  bool raw_bytes = true;  ///< print the instruction's bytes after the address
};

/// A listing of a whole program, one instruction per line (lddw once, for both slots). Fails
/// at the first slot that does not decode. In Conformance syntax without addresses or bytes,
/// the listing assembles back to the same bytes.
Result<std::string> disassemble(std::span<const Insn> prog, const ListingOptions& options = {});

}  // namespace pollen::isa

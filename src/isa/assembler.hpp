// SPDX-License-Identifier: MIT
// The assembler for the bpf_conformance suite's textual syntax (see
// ../shared/conformance/README.md, "Assembly syntax"): one instruction per line, labels, `#`
// comments, the `exit` label defined at the first exit. Mnemonics come from opcodes.def. This
// header also describes the syntax's operand order per Form, which the disassembler prints from,
// so that printing and parsing cannot drift apart.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "isa/isa.hpp"

namespace pollen::isa {

/// Assembles a whole program. Errors are located at the 1-based source line, with `file_name`
/// (if given) as the file: "prog.s:4: unknown mnemonic 'ad'".
///
/// Beyond the suite's syntax it reads the table's spellings for what the suite cannot write:
/// `callx %rN` (as `call %rN`), `ldabsw 12`, `ldindh %r1, 4`, `call runtime N, OFF` (the BTF fd
/// index in off) and lddw with a pseudo source, `lddw %r1, map_fd 3`.
Result<std::vector<Insn>> assemble(std::string_view text, std::string_view file_name = {});

/// One operand of the conformance syntax and the instruction fields it fills.
enum class Operand : uint8_t {
  Dst,          ///< `%rN` into dst
  Src,          ///< `%rN` into src
  Imm,          ///< an s32 into imm (hex up to 0xffffffff is taken as a bit pattern)
  Imm64,        ///< lddw's 64-bit value, after the pseudo-source name if src is not 0
  MemDst,       ///< `[%rN+off]` into dst and off
  MemSrc,       ///< `[%rN+off]` into src and off
  TargetOff,    ///< `+N`, `-N` or a label, into off
  TargetImm,    ///< `+N`, `-N` or a label, into imm (ja32, call local)
  OptionalOff,  ///< an s16 into off that may be left out (0); only last
};

/// The operands a form takes in the conformance syntax, in the order they are written.
std::span<const Operand> operand_layout(Form form);

/// The conformance syntax's name for an lddw pseudo source (the src field): linux/bpf.h's
/// BPF_PSEUDO_* name in lower case without the prefix ("map_fd"); empty for the plain imm64.
std::string_view lddw_src_name(LddwSrc src);

}  // namespace pollen::isa

// SPDX-License-Identifier: MIT
// Rewriting context accesses to the runtime's layout. A context access uses the unmodified
// context pointer (the verifier requires it), so the instruction's offset is the field's offset
// in Linux's structure plus the position inside the field (narrow loads); both move to the
// runtime layout, and a field the runtime keeps wider (a pointer instead of a 32-bit offset)
// is loaded with its full width.
#include "verifier/ctx_rewrite.hpp"

namespace pollen::verifier {
namespace {

// The size field of a load/store opcode (RFC 9669: W=0x00, H=0x08, B=0x10, DW=0x18).
uint8_t size_bits(uint8_t size) {
  switch (size) {
    case 1: return 0x10;
    case 2: return 0x08;
    case 4: return 0x00;
    default: return 0x18;
  }
}

}  // namespace

std::vector<isa::Insn> rewrite_context(std::span<const isa::Insn> prog, const Facts& facts) {
  std::vector<isa::Insn> out(prog.begin(), prog.end());
  for (const CtxAccess& a : facts.ctx_accesses) {
    if (!a.field) continue;
    isa::Insn& insn = out[a.insn];
    int inside = a.offset - a.field->offset;
    insn.off = static_cast<int16_t>(a.field->runtime_offset + inside);
    if (a.field->runtime_size != a.field->size)
      insn.opcode = static_cast<uint8_t>((insn.opcode & ~0x18) | size_bits(a.field->runtime_size));
  }
  return out;
}

}  // namespace pollen::verifier

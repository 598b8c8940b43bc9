// SPDX-License-Identifier: MIT
// The disassembler. The conformance syntax prints each row's table mnemonic and its operands in
// the order operand_layout() gives, the same description the assembler reads with, so a listing
// assembles back to the same bytes. The llvm syntax follows what llvm-objdump prints for BPF with
// immediates in hex (LLVM 14 with --print-imm-hex, the default from LLVM 15); for instructions
// LLVM 14 cannot decode (v4 additions, jset, st with imm, mod) it follows the later LLVM releases
// that added them, and it prints the 32-bit atomics as LLVM does with +alu32 (w registers).
#include "isa/disassembler.hpp"

#include <fmt/format.h>

#include "isa/assembler.hpp"

namespace pollen::isa {
namespace {

uint64_t magnitude(int64_t value) {
  return value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
}

// ---- conformance syntax ----

std::string conformance_memory(uint8_t reg, int16_t off) {
  return off == 0 ? fmt::format("[%r{}]", reg) : fmt::format("[%r{}{:+}]", reg, off);
}

std::string conformance_imm64(const Decoded& d) {
  std::string_view pseudo = lddw_src_name(static_cast<LddwSrc>(d.src));
  return pseudo.empty() ? fmt::format("{:#x}", d.imm64) : fmt::format("{} {:#x}", pseudo, d.imm64);
}

std::string conformance_operand(Operand kind, const Decoded& d) {
  switch (kind) {
    case Operand::Dst: return fmt::format("%r{}", d.dst);
    case Operand::Src: return fmt::format("%r{}", d.src);
    case Operand::Imm: return fmt::format("{}", d.imm);
    case Operand::Imm64: return conformance_imm64(d);
    case Operand::MemDst: return conformance_memory(d.dst, d.off);
    case Operand::MemSrc: return conformance_memory(d.src, d.off);
    case Operand::TargetOff: return fmt::format("{:+}", d.off);
    case Operand::TargetImm: return fmt::format("{:+}", d.imm);
    case Operand::OptionalOff: return fmt::format("{}", d.off);
  }
  return {};
}

std::string format_conformance(const Decoded& d) {
  // The suite spells callx `call %rN`; its assembler has no `callx`.
  std::string text(d.op == Op::Callx ? "call" : d.info().mnemonic);
  std::string_view separator = " ";
  for (Operand kind : operand_layout(d.info().form)) {
    if (kind == Operand::OptionalOff && d.off == 0) continue;
    text += separator;
    text += conformance_operand(kind, d);
    separator = ", ";
  }
  return text;
}

// ---- llvm-objdump syntax ----

std::string hex(int64_t value) {
  return fmt::format("{}{:#x}", value < 0 ? "-" : "", magnitude(value));
}

std::string target(int64_t delta) {
  return fmt::format("{}{:#x}", delta < 0 ? "-" : "+", magnitude(delta));
}

std::string reg(uint8_t number, bool w) {
  return fmt::format("{}{}", w ? 'w' : 'r', number);
}

// `(r1 + 0x8)`, `(r10 - 0x8)`.
std::string address(uint8_t base, int16_t off) {
  return fmt::format("(r{} {} {:#x})", base, off < 0 ? '-' : '+', magnitude(off));
}

std::string_view size_type(Op op) {
  switch (access_size(op)) {
    case 1: return "u8";
    case 2: return "u16";
    case 4: return "u32";
    default: return "u64";
  }
}

// The C operator of the ALU operation an atomic performs: its imm carries the ALU op code in the
// same bits as the opcode byte (RFC 9669 section 5.3), so the ALU64 imm row names it. Empty for
// xchg and cmpxchg, which have no ALU counterpart.
std::string_view atomic_alu_operator(const OpInfo& row) {
  auto opcode = static_cast<uint8_t>((row.sel_value & 0xf0) | kClassAlu64);
  for (const OpInfo& alu : kOps)
    if (alu.opcode == opcode && alu.form == Form::AluImm) return alu.c_op;
  return {};
}

std::string llvm_atomic(const Decoded& d) {
  const OpInfo& row = d.info();
  bool w = access_size(d.op) == 4;  // 32-bit atomics print on w registers, as with +alu32
  std::string where = address(d.dst, d.off);
  std::string_view alu = atomic_alu_operator(row);
  bool fetch = row.sel_value & 0x01;
  if (!alu.empty() && !fetch)
    return fmt::format("lock *({} *){} {}= {}", size_type(d.op), where, alu, reg(d.src, w));
  if (!alu.empty())
    return fmt::format("{0} = atomic_fetch_{1}(({2} *){3}, {0})", reg(d.src, w), row.c_op,
                       size_type(d.op), where);
  // xchg_64 / xchg32_32 and cmpxchg_64 / cmpxchg32_32, without the parentheses of `where`.
  std::string bare = where.substr(1, where.size() - 2);
  std::string name = fmt::format("{}{}", row.c_op, w ? "32_32" : "_64");
  if (d.op == Op::AtomicCmpxchg32 || d.op == Op::AtomicCmpxchg64)
    return fmt::format("{0} = {1}({2}, {0}, {3})", reg(0, w), name, bare, reg(d.src, w));
  return fmt::format("{0} = {1}({2}, {0})", reg(d.src, w), name, bare);
}

// A plain imm64 prints as a signed value with `ll`; pseudo sources print as LLVM's ld_pseudo
// (LLVM 14 drops the second slot's imm there; this prints the whole 64-bit value, which is the
// same whenever that imm is 0).
std::string llvm_lddw(const Decoded& d) {
  auto value = static_cast<int64_t>(d.imm64);
  if (d.src == 0) return fmt::format("r{} = {} ll", d.dst, hex(value));
  return fmt::format("ld_pseudo\tr{}, {:#x}, {}", d.dst, d.src, hex(value));
}

// LLVM 14 prints `skb[r1]` and drops the imm; the imm is added here when it is not 0.
std::string llvm_ld_ind(const Decoded& d) {
  if (d.imm == 0) return fmt::format("r0 = *({} *)skb[r{}]", d.info().c_op, d.src);
  return fmt::format("r0 = *({} *)skb[r{} {} {:#x}]", d.info().c_op, d.src, d.imm < 0 ? '-' : '+',
                     magnitude(d.imm));
}

std::string llvm_alu(const Decoded& d) {
  const OpInfo& row = d.info();
  bool w = is_alu32(d.op);
  switch (row.form) {
    case Form::AluImm: return fmt::format("{} {}= {}", reg(d.dst, w), row.c_op, hex(d.imm));
    case Form::AluReg: return fmt::format("{} {}= {}", reg(d.dst, w), row.c_op, reg(d.src, w));
    case Form::AluNeg: return fmt::format("{0} = -{0}", reg(d.dst, w));
    // be/le are class ALU but LLVM prints them on r registers.
    case Form::Endian: return fmt::format("r{0} = {1} r{0}", d.dst, row.c_op);
    default: return fmt::format("{} = ({}){}", reg(d.dst, w), row.c_op, reg(d.src, w));
  }
}

std::string llvm_jump(const Decoded& d) {
  const OpInfo& row = d.info();
  bool w = is_jmp32(d.op);
  std::string rhs = row.form == Form::JmpImm ? hex(d.imm) : reg(d.src, w);
  return fmt::format("if {} {} {} goto {}", reg(d.dst, w), row.c_op, rhs, target(d.off));
}

std::string format_llvm(const Decoded& d) {
  const OpInfo& row = d.info();
  switch (row.form) {
    case Form::AluImm:
    case Form::AluReg:
    case Form::AluNeg:
    case Form::Endian:
    case Form::MovsxReg: return llvm_alu(d);
    case Form::Lddw: return llvm_lddw(d);
    case Form::LdAbs: return fmt::format("r0 = *({} *)skb[{}]", row.c_op, hex(d.imm));
    case Form::LdInd: return llvm_ld_ind(d);
    case Form::Ldx: return fmt::format("r{} = *({} *){}", d.dst, row.c_op, address(d.src, d.off));
    case Form::St:
      return fmt::format("*({} *){} = {}", row.c_op, address(d.dst, d.off), hex(d.imm));
    case Form::Stx: return fmt::format("*({} *){} = r{}", row.c_op, address(d.dst, d.off), d.src);
    case Form::Atomic: return llvm_atomic(d);
    case Form::JmpImm:
    case Form::JmpReg: return llvm_jump(d);
    case Form::Ja: return "goto " + target(d.off);
    case Form::Ja32: return "gotol " + target(d.imm);
    // LLVM prints helper, local and kfunc calls alike, as the imm.
    case Form::CallHelper:
    case Form::CallLocal:
    case Form::CallKfunc: return "call " + hex(d.imm);
    // LLVM 14 reads callx's register from imm; the conformance suite puts it in dst.
    case Form::Callx: return fmt::format("callx r{}", d.dst);
    case Form::Exit: return "exit";
  }
  return {};
}

std::string raw_bytes(std::span<const Insn> slots) {
  std::string out;
  for (uint8_t byte : to_bytes(slots)) out += fmt::format("{}{:02x}", out.empty() ? "" : " ", byte);
  return out;
}

}  // namespace

std::string format(const Decoded& d, size_t /*index*/, Syntax syntax) {
  return syntax == Syntax::Conformance ? format_conformance(d) : format_llvm(d);
}

Result<std::string> disassemble(std::span<const Insn> prog, const ListingOptions& options) {
  std::string out;
  for (size_t i = 0; i < prog.size();) {
    POLLEN_TRY(Decoded d, decode(prog, i));
    size_t width = is_wide(d.op) ? 2 : 1;
    if (options.addresses) out += fmt::format("{:>8}:\t", i);
    if (options.raw_bytes) out += raw_bytes(prog.subspan(i, width)) + "\t";
    out += format(d, i, options.syntax);
    out += '\n';
    i += width;
  }
  return out;
}

}  // namespace pollen::isa

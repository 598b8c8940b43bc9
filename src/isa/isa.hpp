// SPDX-License-Identifier: MIT
// The eBPF instruction set as types derived from the one table in opcodes.def: the raw 8-byte
// instruction slot, the Op enum, per-op facts (OpInfo), classification of a slot into an Op,
// decoding of a whole program, and structural validation with located errors.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "pollen/result.hpp"

namespace pollen::isa {

/// One 8-byte instruction slot, laid out as Linux's struct bpf_insn (little-endian).
struct Insn {
  uint8_t opcode = 0;
  uint8_t dst : 4 = 0;
  uint8_t src : 4 = 0;
  int16_t off = 0;
  int32_t imm = 0;

  friend bool operator==(const Insn&, const Insn&) = default;
};
static_assert(sizeof(Insn) == 8);

/// Every instruction kind, one enumerator per row of opcodes.def.
enum class Op : uint8_t {
#define POLLEN_OP(id, ...) id,
#include "isa/opcodes.def"
#undef POLLEN_OP
};

inline constexpr size_t kOpCount = 0
#define POLLEN_OP(...) +1
#include "isa/opcodes.def"
#undef POLLEN_OP
    ;

/// Which field tells rows that share an opcode byte apart.
enum class Sel : uint8_t { None, Off, Imm, Src };

/// Operand form: which fields are operands, which must be zero, how assembly spells them.
enum class Form : uint8_t {
  AluImm,      ///< dst, imm
  AluReg,      ///< dst, src
  AluNeg,      ///< dst
  Endian,      ///< dst; imm is the width (selector)
  MovsxReg,    ///< dst, src; off is the source width (selector)
  Lddw,        ///< dst, imm64 over two slots; src is the pseudo source (selector)
  LdAbs,       ///< imm (legacy packet load, result in r0)
  LdInd,       ///< src, imm (legacy packet load, result in r0)
  Ldx,         ///< dst, [src + off]
  St,          ///< [dst + off], imm
  Stx,         ///< [dst + off], src
  Atomic,      ///< [dst + off], src; imm is the operation (selector)
  JmpImm,      ///< dst, imm, off (target)
  JmpReg,      ///< dst, src, off (target)
  Ja,          ///< off (target)
  Ja32,        ///< imm (target), "gotol"
  CallHelper,  ///< imm = helper id
  CallLocal,   ///< imm = relative target
  CallKfunc,   ///< imm = BTF id, off = BTF fd index
  Callx,       ///< dst holds the helper id (as the conformance suite defines callx)
  Exit,
};

/// bpf_conformance groups: a runtime declares which it supports.
enum class Group : uint8_t { Base32, Base64, Atomic32, Atomic64, Divmul32, Divmul64, Callx, Packet };

/// The pseudo sources of lddw (src field), as in linux/bpf.h.
enum class LddwSrc : uint8_t {
  Imm64 = 0,        ///< plain 64-bit immediate
  MapFd = 1,        ///< BPF_PSEUDO_MAP_FD
  MapValue = 2,     ///< BPF_PSEUDO_MAP_VALUE
  BtfId = 3,        ///< BPF_PSEUDO_BTF_ID
  Func = 4,         ///< BPF_PSEUDO_FUNC
  MapIdx = 5,       ///< BPF_PSEUDO_MAP_IDX
  MapIdxValue = 6,  ///< BPF_PSEUDO_MAP_IDX_VALUE
};

struct OpInfo {
  Op op;
  uint8_t opcode;
  Sel sel;
  int32_t sel_value;
  Form form;
  Group group;
  uint8_t version;  ///< cpu version 1..4 that introduced the instruction
  std::string_view mnemonic;
  std::string_view c_op;
};

inline constexpr std::array<OpInfo, kOpCount> kOps = {{
#define POLLEN_OP(id, opcode, sel, sel_value, form, group, version, mnemonic, c_op) \
  {Op::id, opcode, Sel::sel, sel_value, Form::form, Group::group, version, mnemonic, c_op},
#include "isa/opcodes.def"
#undef POLLEN_OP
}};

inline constexpr const OpInfo& info(Op op) { return kOps[static_cast<size_t>(op)]; }

// Fields of the opcode byte (RFC 9669 section 3).
inline constexpr uint8_t kClassLd = 0x00, kClassLdx = 0x01, kClassSt = 0x02, kClassStx = 0x03,
                         kClassAlu = 0x04, kClassJmp = 0x05, kClassJmp32 = 0x06,
                         kClassAlu64 = 0x07;
inline constexpr uint8_t op_class(uint8_t opcode) { return opcode & 0x07; }

/// Bytes a load or store accesses (1, 2, 4, 8), from the size field; 0 for other ops.
inline constexpr int access_size(Op op) {
  switch (info(op).form) {
    case Form::Ldx: case Form::St: case Form::Stx: case Form::Atomic:
    case Form::LdAbs: case Form::LdInd:
      switch (info(op).opcode & 0x18) {
        case 0x00: return 4;
        case 0x08: return 2;
        case 0x10: return 1;
        default: return 8;
      }
    default: return 0;
  }
}

/// True for ALU ops that compute on 32 bits and zero-extend (class ALU, not ALU64).
inline constexpr bool is_alu32(Op op) { return op_class(info(op).opcode) == kClassAlu; }
inline constexpr bool is_jmp32(Op op) { return op_class(info(op).opcode) == kClassJmp32; }
/// True when the instruction takes two slots (lddw).
inline constexpr bool is_wide(Op op) { return info(op).form == Form::Lddw; }

/// Whether the instruction writes its dst register, as Linux's check_reg_arg(dst, DST_OP): the
/// ALU forms, lddw and ldx. Fetching atomics (which write src or r0), calls and legacy packet
/// loads (which write r0) do not count: their dst field names no written register.
inline constexpr bool writes_dst(Op op) {
  switch (info(op).form) {
    case Form::AluImm: case Form::AluReg: case Form::AluNeg: case Form::Endian:
    case Form::MovsxReg: case Form::Lddw: case Form::Ldx:
      return true;
    default:
      return false;
  }
}

/// The row a slot belongs to, or nothing when no row matches (unknown opcode or selector).
std::optional<Op> classify(const Insn& insn);

/// One instruction with its operands, as the disassembler, interpreter and verifier see it.
struct Decoded {
  Op op;
  uint8_t dst;
  uint8_t src;
  int16_t off;
  int32_t imm;
  uint64_t imm64;  ///< lddw: the full 64-bit immediate; otherwise imm sign-extended
  uint32_t next_imm;  ///< lddw: the second slot's imm; otherwise 0
  const OpInfo& info() const { return isa::info(op); }
};

/// Decodes slot `index` of `prog` (both slots for lddw). Fails on an unknown opcode or a
/// truncated lddw; does not check the other structural rules (see validate()).
Result<Decoded> decode(std::span<const Insn> prog, size_t index);

/// Encodes one instruction back to its slot(s): one, or two for lddw.
std::vector<Insn> encode(const Decoded& d);

/// Slots from little-endian bytes; the size must be a multiple of 8.
Result<std::vector<Insn>> from_bytes(std::span<const uint8_t> bytes);
std::vector<uint8_t> to_bytes(std::span<const Insn> prog);

/// Jump or local-call target (slot index) of the instruction at `index`, if it has one.
std::optional<int64_t> branch_target(const Decoded& d, size_t index);

struct ValidateOptions {
  size_t max_insns = 1'000'000;  ///< Linux's BPF_COMPLEXITY_LIMIT_INSNS for privileged loads
};

/// Structural validation, as Linux does before the verifier proper: every slot decodes, reserved
/// fields are zero, registers exist, r10 is never written, lddw has its second slot, jumps and
/// local calls land on an instruction inside the same function, and no function falls off its
/// end. The first broken rule is returned, located at its instruction.
Result<void> validate(std::span<const Insn> prog, const ValidateOptions& options = {});

/// Start slots of the program's functions: 0, every local-call target and every function
/// named by lddw with BPF_PSEUDO_FUNC (callbacks), sorted.
std::vector<size_t> function_starts(std::span<const Insn> prog);

/// The function a local call or a BPF_PSEUDO_FUNC lddw at `index` names, if `op` is one.
std::optional<int64_t> function_target(const Insn& insn, Op op, size_t index);

}  // namespace pollen::isa

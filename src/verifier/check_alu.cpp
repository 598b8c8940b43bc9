// SPDX-License-Identifier: MIT
// ALU instructions and lddw: scalar arithmetic through the scalar domain's transfer functions,
// the constant-operand rules of Linux's check_alu_op() (a constant shift must be below the
// width, a constant divisor must not be zero), moves that keep copies tied for later bounds
// checks (assign_scalar_id_before_mov), and pointer arithmetic as adjust_ptr_min_max_vals()
// allows it for a privileged load: add and subtract on most pointers, the result's offsets kept
// and sane, a variable change of a packet pointer cutting its proven range.
#include <algorithm>
#include <bit>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "verifier/checker.hpp"
#include "verifier/map_rules.hpp"

namespace pollen::verifier {
namespace {

using isa::Op;

// Linux's BPF_MAX_VAR_OFF: pointer offsets stay well inside int32.
constexpr int64_t kMaxVarOff = int64_t{1} << 29;

AluOp alu_op(const isa::Decoded& d) {
  bool sign = d.off == 1;
  switch (d.info().opcode & 0xf0) {
    case 0x00: return AluOp::Add;
    case 0x10: return AluOp::Sub;
    case 0x20: return AluOp::Mul;
    case 0x30: return sign ? AluOp::SDiv : AluOp::Div;
    case 0x40: return AluOp::Or;
    case 0x50: return AluOp::And;
    case 0x60: return AluOp::Lsh;
    case 0x70: return AluOp::Rsh;
    case 0x90: return sign ? AluOp::SMod : AluOp::Mod;
    case 0xa0: return AluOp::Xor;
    default: return AluOp::Arsh;  // 0xc0; mov (0xb0) never gets here
  }
}

const char* alu_name(AluOp op) {
  switch (op) {
    case AluOp::Add: return "+=";
    case AluOp::Sub: return "-=";
    case AluOp::Mul: return "*=";
    case AluOp::Div: return "/=";
    case AluOp::SDiv: return "s/=";
    case AluOp::Mod: return "%=";
    case AluOp::SMod: return "s%=";
    case AluOp::Or: return "|=";
    case AluOp::And: return "&=";
    case AluOp::Xor: return "^=";
    case AluOp::Lsh: return "<<=";
    case AluOp::Rsh: return ">>=";
    case AluOp::Arsh: return "s>>=";
  }
  return "?";
}

bool is_shift(AluOp op) {
  return op == AluOp::Lsh || op == AluOp::Rsh || op == AluOp::Arsh;
}
bool is_division(AluOp op) {
  return op == AluOp::Div || op == AluOp::SDiv || op == AluOp::Mod || op == AluOp::SMod;
}

// The low 32 bits of a value, zero-extended: a 32-bit move.
Scalar low32(Scalar v) {
  v.zext32();
  if (!v.sync()) return Scalar::of_size(4);
  return v;
}

// The immediate operand: sign-extended to 64 bits (its low half is the 32-bit operand).
RegState immediate(const isa::Decoded& d) {
  return RegState::known(static_cast<uint64_t>(static_cast<int64_t>(d.imm)));
}

}  // namespace

Checker::Step Checker::check_alu(State& s, uint32_t pc, const isa::Decoded& d) {
  if ((d.info().opcode & 0xf0) == 0xb0) return check_mov(s, pc, d);
  bool alu32 = isa::is_alu32(d.op), by_reg = d.info().form == isa::Form::AluReg;
  if (auto e = require_init(pc, s, d.dst)) return *e;
  if (by_reg)
    if (auto e = require_init(pc, s, d.src)) return *e;
  AluOp op = alu_op(d);
  int width = alu32 ? 32 : 64;
  if (!by_reg && is_division(op) && d.imm == 0)
    return fail(pc, s, "division by zero: the divisor is the constant 0", {});
  if (!by_reg && is_shift(op) && (d.imm < 0 || d.imm >= width))
    return fail(pc, s,
                fmt::format("invalid shift {}: a constant shift count must be in [0, {}]", d.imm,
                            width - 1),
                {});
  RegState src = by_reg ? s.reg(d.src) : immediate(d);
  RegState& dst = s.reg(d.dst);
  if (is_pointer(dst.type) || is_pointer(src.type)) return check_pointer_alu(s, pc, d, src);
  dst.value = scalar_alu(op, dst.value, src.value, alu32);
  dst.id = 0;
  return next(pc);
}

Checker::Step Checker::check_mov(State& s, uint32_t pc, const isa::Decoded& d) {
  bool alu32 = isa::is_alu32(d.op);
  if (d.info().form == isa::Form::AluImm) {
    s.reg(d.dst) =
        RegState::known(alu32 ? static_cast<uint32_t>(d.imm) : immediate(d).value.const_value());
    return next(pc);
  }
  if (auto e = require_init(pc, s, d.src)) return *e;
  RegState& src = s.reg(d.src);
  if (alu32 && !src.is_scalar()) {
    // A privileged load may copy the low half of a pointer: it becomes a number.
    s.reg(d.dst) = RegState::scalar(Scalar::of_size(4));
    return next(pc);
  }
  // Tie the copy to its source so that a later check of one bounds the other
  // (assign_scalar_id_before_mov); a 32-bit copy is the same value only when it fits.
  bool same_value = !alu32 || src.value.umax <= std::numeric_limits<uint32_t>::max();
  if (src.is_scalar() && same_value && src.id == 0 && !src.value.is_const()) src.id = new_id();
  RegState copy = src;
  if (alu32) {
    copy.value = low32(copy.value);
    if (!same_value) copy.id = 0;
  }
  s.reg(d.dst) = copy;
  return next(pc);
}

Checker::Step Checker::check_unary(State& s, uint32_t pc, const isa::Decoded& d) {
  bool movsx = d.info().form == isa::Form::MovsxReg;
  int operand = movsx ? d.src : d.dst;
  if (auto e = require_init(pc, s, operand)) return *e;
  // A privileged load may turn a pointer into a number this way: Linux marks the result
  // unknown, all 64 bits of it, whatever the operation's width.
  if (!s.reg(operand).is_scalar()) {
    s.reg(d.dst) = RegState::unknown();
    return next(pc);
  }
  const Scalar in = s.reg(operand).value;
  bool alu32 = isa::is_alu32(d.op);
  Scalar v;
  if (movsx) {
    v = scalar_sign_extend(in, static_cast<unsigned>(d.off));
    if (alu32) v = low32(v);
  } else if (d.info().form == isa::Form::AluNeg) {
    v = scalar_neg(in, alu32);
  } else {
    // le/be convert between host order and the named one; bswap always swaps.
    bool little = std::endian::native == std::endian::little;
    uint8_t code = d.info().opcode;
    bool swap = code == 0xd7 || (code == 0xd4 ? !little : little);
    v = scalar_endian(in, static_cast<unsigned>(d.imm), swap);
  }
  s.reg(d.dst) = RegState::scalar(v);
  return next(pc);
}

Checker::Step Checker::check_pointer_alu(State& s, uint32_t pc, const isa::Decoded& d,
                                         const RegState& src) {
  bool alu32 = isa::is_alu32(d.op);
  AluOp op = alu_op(d);
  RegState& dst = s.reg(d.dst);
  bool dst_ptr = is_pointer(dst.type), src_ptr = is_pointer(src.type);
  // A privileged load may subtract pointers (the distance is a number), even in 32 bits,
  // where Linux forgets the zero extension too (__mark_reg_unknown): any 64-bit number.
  if ((dst_ptr && src_ptr) || alu32) {
    if (op == AluOp::Sub) {
      dst = RegState::unknown();
      return next(pc);
    }
    if (dst_ptr && src_ptr)
      return fail(pc, s, fmt::format("pointer {} pointer is prohibited", alu_name(op)),
                  {d.dst, d.src});
    return fail(pc, s, "32-bit pointer arithmetic is prohibited", {d.dst, d.src});
  }
  int ptr_reg = dst_ptr ? d.dst : d.src;
  int off_reg = dst_ptr ? (d.info().form == isa::Form::AluReg ? d.src : -1) : d.dst;
  const Scalar offset = (dst_ptr ? src : dst).value;
  if (auto e = pointer_alu_refusal(pc, s, op, ptr_reg, offset, dst_ptr)) return *e;
  if (auto e = offset_refusal(pc, s, s.reg(ptr_reg), offset, ptr_reg, off_reg)) return *e;
  RegState result = s.reg(ptr_reg);
  int64_t sign = op == AluOp::Add ? 1 : -1;
  int64_t off =
      result.off + (offset.is_const() ? sign * static_cast<int64_t>(offset.const_value()) : 0);
  result.off = static_cast<int32_t>(off);
  if (!offset.is_const()) {
    result.value = scalar_alu(op, result.value, offset, false);
    // A packet pointer moved by an unknown amount: no proven range, and only the pointers
    // derived from it share its variable offset (Linux: new id, range 0).
    if (is_packet(result.type)) {
      result.id = new_id();
      result.range = 0;
    }
  }
  if (std::abs(off) >= kMaxVarOff || result.value.smin <= -kMaxVarOff ||
      result.value.smax >= kMaxVarOff)
    return fail(pc, s,
                fmt::format("the result would make the {} pointer's offset out of bounds",
                            reg_type_name(result.type)),
                {ptr_reg});
  s.reg(d.dst) = result;
  return next(pc);
}

std::optional<Checker::Step> Checker::pointer_alu_refusal(uint32_t pc, const State& s, AluOp op,
                                                          int ptr_reg, const Scalar& offset,
                                                          bool dst_ptr) const {
  const RegState& ptr = s.reg(ptr_reg);
  if (maybe_null(ptr.type))
    return fail(pc, s, "pointer arithmetic on a pointer that may be null is prohibited", {ptr_reg},
                fmt::format("check `if (r{} == 0) goto ...` first", ptr_reg));
  bool map_ptr_noop = ptr.type == RegType::MapPtr && op == AluOp::Add && offset.is_zero();
  if (ptr.type == RegType::PacketEnd || ptr.type == RegType::Func ||
      (ptr.type == RegType::MapPtr && !map_ptr_noop))
    return fail(pc, s,
                fmt::format("pointer arithmetic on {} is prohibited", reg_type_name(ptr.type)),
                {ptr_reg});
  if (op == AluOp::Sub && !dst_ptr)
    return fail(pc, s, "tried to subtract a pointer from a number", {ptr_reg});
  if (op == AluOp::And || op == AluOp::Or || op == AluOp::Xor)
    return fail(pc, s, fmt::format("bitwise operator {} on a pointer is prohibited", alu_name(op)),
                {ptr_reg});
  if (op != AluOp::Add && op != AluOp::Sub)
    return fail(pc, s,
                fmt::format("pointer arithmetic with operator {} is prohibited", alu_name(op)),
                {ptr_reg});
  // Linux refuses subtraction from stack pointers (JITs of some architectures cannot handle
  // it); compilers add a negative constant instead.
  if (op == AluOp::Sub && ptr.type == RegType::Stack)
    return fail(pc, s, "subtraction from a stack pointer is prohibited", {ptr_reg},
                fmt::format("add a negative number instead: r{} += -N", ptr_reg));
  return std::nullopt;
}

// check_reg_sane_offset: the number moving a pointer, and the pointer's fixed offset, stay far
// from overflow.
std::optional<Checker::Step> Checker::offset_refusal(uint32_t pc, const State& s,
                                                     const RegState& ptr, const Scalar& v,
                                                     int ptr_reg, int off_reg) const {
  if (v.smin > -kMaxVarOff && v.smax < kMaxVarOff) return std::nullopt;
  const char* type = reg_type_name(ptr.type);
  if (v.is_const())
    return fail(pc, s,
                fmt::format("math between a {} pointer and {} is not allowed", type,
                            static_cast<int64_t>(v.const_value())),
                {ptr_reg});
  std::string what = fmt::format(
      "math between a {} pointer and a register with unbounded {} value "
      "is not allowed",
      type, v.smin <= -kMaxVarOff ? "min" : "max");
  return fail(
      pc, s, what, {ptr_reg, off_reg},
      fmt::format("bound r{0} first, e.g. `r{0} &= 0xff` or `if (r{0} > N) goto ...`", off_reg));
}

Checker::Step Checker::check_lddw(State& s, uint32_t pc, const isa::Decoded& d) {
  using isa::LddwSrc;
  auto src = static_cast<LddwSrc>(d.src);
  RegState& dst = s.reg(d.dst);
  switch (src) {
    case LddwSrc::Imm64: dst = RegState::known(d.imm64); return next(pc);
    case LddwSrc::BtfId:
      return fail(pc, s, "lddw of a BTF id (src=3) is not supported: Pollen has no kernel BTF", {});
    case LddwSrc::Func:
      // A callback for bpf_loop or bpf_for_each_map_elem; validate() checked that it names
      // the start of a function.
      dst = RegState::pointer(RegType::Func);
      dst.mem_size = static_cast<uint32_t>(static_cast<int64_t>(pc) + 1 + d.imm);
      if (func_info) {
        auto f = std::find_if(func_info->begin(), func_info->end(),
                              [&](const FunctionInfo& x) { return x.insn == dst.mem_size; });
        if (f == func_info->end())
          return fail(pc, s, "missing btf func_info: Linux needs BTF to take a function's address",
                      {}, "compile with -g");
        if (f->global)
          return fail(pc, s, fmt::format("callback function not static (insn {})", dst.mem_size),
                      {}, "declare the callback `static`");
      }
      return next(pc);
    default: break;
  }
  bool by_index = src == LddwSrc::MapIdx || src == LddwSrc::MapIdxValue;
  std::optional<uint32_t> map = platform_.map_of(src, d.imm);
  const MapInfo* info = map ? platform_.map_info(*map) : nullptr;
  if (!info)
    return fail(pc, s, fmt::format("no map with {} {}", by_index ? "index" : "fd", d.imm), {},
                "load the program with the maps it names");
  if (auto e = check_map_program_rules(s, pc, *map)) return *e;
  if (src == LddwSrc::MapFd || src == LddwSrc::MapIdx) {
    dst = RegState::pointer(RegType::MapPtr);
    dst.map = *map;
    return next(pc);
  }
  if (!info->direct_value)
    return fail(pc, s,
                fmt::format("map {} cannot be addressed directly (only array maps with "
                            "one entry and global data can)",
                            *map),
                {});
  if (d.next_imm >= info->value_size)
    return fail(pc, s,
                fmt::format("direct value offset {} is outside the map value ({} bytes)",
                            d.next_imm, info->value_size),
                {});
  dst = RegState::pointer(RegType::MapValue);
  dst.map = *map;
  dst.off = static_cast<int32_t>(d.next_imm);
  return next(pc);
}

// Linux's check_map_prog_compatibility, for the map an lddw names.
std::optional<Checker::Step> Checker::check_map_program_rules(const State& s, uint32_t pc,
                                                              uint32_t map) const {
  const MapInfo* info = platform_.map_info(map);
  std::string why = map_program_refusal(*info, type_, sleepable);
  if (why.empty()) return std::nullopt;
  return fail(pc, s, why, {});
}

}  // namespace pollen::verifier

// SPDX-License-Identifier: MIT
// x86-64 lowering of the ALU and ALU64 classes and lddw, with Linux's semantics (what
// src/vm/semantics.hpp computes). 32-bit operations write 32-bit host registers, which
// zero-extends for free; shift counts are masked by the hardware exactly as BPF masks them;
// division handles a zero divisor and INT_MIN / -1 explicitly, since x86's div traps on both.
// Constant operands are folded where the result is known (x * 1, x / 2^k, x & -1, ...), except
// under constant blinding, where every immediate becomes a blinded register operand.
#include <bit>
#include <climits>
#include <optional>

#include "jit/x86_compiler_p.hpp"

namespace pollen::jit::x86 {

namespace asmx = asmjit::x86;

namespace {

// Every ALU row's opcode names one of the operations AluOp knows, and each form gets only the
// operations it can carry: a new row that breaks this does not compile.
constexpr bool alu_rows_are_known() {
  for (const isa::OpInfo& info : isa::kOps) {
    AluOp op = alu_op(info);
    switch (info.form) {
      case isa::Form::AluImm:
      case isa::Form::AluReg:
        if (op == AluOp::Neg || op == AluOp::End || op > AluOp::End) return false;
        break;
      case isa::Form::AluNeg:
        if (op != AluOp::Neg) return false;
        break;
      case isa::Form::Endian:
        if (op != AluOp::End) return false;
        break;
      case isa::Form::MovsxReg:
        if (op != AluOp::Mov) return false;
        break;
      default: break;
    }
  }
  return true;
}
static_assert(alu_rows_are_known(), "an ALU row of opcodes.def has no x86 lowering");

// sdiv and smod are div and mod with off = 1 (the v4 encoding).
bool is_signed(const isa::OpInfo& info) {
  return info.sel == isa::Sel::Off && info.sel_value == 1;
}

bool is_same(const Gp& a, const Gp& b) {
  return a.id() == b.id();
}

}  // namespace

void Compiler::zero_extend(const Gp& dst, bool wide) {
  if (!wide) a_.mov(dst.r32(), dst.r32());
}

namespace {

// An ALU or ALU64 instruction, for the peepholes below.
struct AluInsn {
  AluOp op;
  bool wide;
  bool has_imm;
  uint8_t dst, src;
  int32_t imm;
};

std::optional<AluInsn> alu_insn(const std::optional<isa::Decoded>& d) {
  if (!d) return std::nullopt;
  const isa::Form form = d->info().form;
  if ((form != isa::Form::AluImm && form != isa::Form::AluReg) || is_signed(d->info()))
    return std::nullopt;
  return AluInsn{
      alu_op(d->info()), !isa::is_alu32(d->op), form == isa::Form::AluImm, d->dst, d->src, d->imm};
}

bool is_shift32(const std::optional<AluInsn>& i, AluOp op, uint8_t dst) {
  return i && i->op == op && i->wide && i->has_imm && i->imm == 32 && i->dst == dst;
}

}  // namespace

// Two or three instructions of one block that x86 says in one: the zero- and sign-extension
// of a u32 that clang writes as `<<= 32; >>= 32` (mov eax, eax; movsxd), also into a copy when
// the shifted register is not read again, and a copy followed by an addition, as address
// arithmetic is written (lea). Returns the slots used, 0 for none. Immediates stay out of it
// under constant blinding.
size_t Compiler::fuse(size_t slot, size_t end) {
  auto insn = [&](size_t k) { return slot + k < end ? alu_insn(insns_[slot + k]) : std::nullopt; };
  const std::optional<AluInsn> a = insn(0);
  if (!a) return 0;
  const std::optional<AluInsn> b = insn(1);
  if (!b) return 0;
  auto listed = [&](size_t n) {
    for (size_t k = 0; k < n; ++k) list_insn(slot + k);
  };
  const Gp dst = reg(a->dst);
  // `to` gets the low half of `from`, zero-extended after `>>= 32`, sign-extended after `s>>=`.
  auto extend = [&](size_t n, AluOp shift, const Gp& to, const Gp& from) {
    listed(n);
    if (shift == AluOp::Rsh)
      a_.mov(to.r32(), from.r32());
    else
      a_.movsxd(to, from.r32());
    return n;
  };
  auto shift_back = [](const std::optional<AluInsn>& i, uint8_t r) {
    return is_shift32(i, AluOp::Rsh, r) || is_shift32(i, AluOp::Arsh, r);
  };
  // rD = rS; rD <<= 32; rD >>= 32 (or s>>= 32)
  if (a->op == AluOp::Mov && a->wide && !a->has_imm && is_shift32(b, AluOp::Lsh, a->dst)) {
    const std::optional<AluInsn> c = insn(2);
    if (shift_back(c, a->dst)) return extend(3, c->op, dst, reg(a->src));
  }
  // rS <<= 32; rD = rS; rD >>= 32 (or s>>= 32), rS read no more before it is written: the
  // shift of rS is dead, and rD gets its low half.
  if (is_shift32(a, AluOp::Lsh, a->dst) && b->op == AluOp::Mov && b->wide && !b->has_imm &&
      b->src == a->dst && b->dst != a->dst) {
    const std::optional<AluInsn> c = insn(2);
    const bool source_dead = slot + 2 < end && !((live_out_[slot + 2] >> a->dst) & 1);
    if (source_dead && shift_back(c, b->dst)) return extend(3, c->op, reg(b->dst), dst);
  }
  // rD <<= 32; rD >>= 32 (or s>>= 32)
  if (is_shift32(a, AluOp::Lsh, a->dst) && shift_back(b, a->dst))
    return extend(2, b->op, dst, dst);
  // rD = rS; rD += rT or imm (rD -= imm)
  if (a->op == AluOp::Mov && !a->has_imm && a->dst != a->src && b->dst == a->dst &&
      b->wide == a->wide) {
    const Gp d = width(dst, a->wide);
    const Gp src = reg(a->src);
    if (b->op == AluOp::Add && !b->has_imm) {
      listed(2);
      a_.lea(d, asmx::ptr(src, b->src == a->dst ? src : reg(b->src)));
      return 2;
    }
    const bool add = b->op == AluOp::Add, sub = b->op == AluOp::Sub && b->imm != INT32_MIN;
    if (b->has_imm && (add || sub) && !options_.harden) {
      listed(2);
      a_.lea(d, asmx::ptr(src, add ? b->imm : -b->imm));
      return 2;
    }
  }
  return 0;
}

void Compiler::lower_AluImm(const isa::Decoded& d) {
  const bool wide = !isa::is_alu32(d.op);
  const AluOp op = alu_op(d.info());
  if (!options_.harden) return alu_imm(op, wide, is_signed(d.info()), reg(d.dst), d.imm);
  // Linux blinds mov of 0 into a xor, which has no immediate; other movs need no scratch.
  if (op == AluOp::Mov && d.imm == 0) return (void)a_.xor_(reg(d.dst).r32(), reg(d.dst).r32());
  if (op == AluOp::Mov) return (void)blinded(d.imm, wide, reg(d.dst));
  alu_reg(op, wide, is_signed(d.info()), reg(d.dst), blinded(d.imm, wide));
}

void Compiler::lower_AluReg(const isa::Decoded& d) {
  alu_reg(alu_op(d.info()), !isa::is_alu32(d.op), is_signed(d.info()), reg(d.dst), reg(d.src));
}

void Compiler::lower_AluNeg(const isa::Decoded& d) {
  a_.neg(width(reg(d.dst), !isa::is_alu32(d.op)));
}

// le on this little-endian host only truncates; be and bswap (ALU64) swap.
void Compiler::lower_Endian(const isa::Decoded& d) {
  const bool swap = isa::op_class(d.info().opcode) == isa::kClassAlu64 || (d.info().opcode & 0x08);
  const Gp dst = reg(d.dst);
  switch (d.info().sel_value) {
    case 16:
      if (!swap) return (void)a_.movzx(dst.r32(), dst.r16());
      // The swapped low half lands in the top half of the 32-bit swap.
      a_.bswap(dst.r32());
      a_.shr(dst.r32(), 16);
      return;
    case 32:
      if (swap) return (void)a_.bswap(dst.r32());
      return zero_extend(dst, false);
    default:
      if (swap) a_.bswap(dst.r64());
  }
}

void Compiler::lower_MovsxReg(const isa::Decoded& d) {
  const Gp dst = width(reg(d.dst), !isa::is_alu32(d.op));
  const Gp src = reg(d.src);
  switch (d.info().sel_value) {
    case 8: return (void)a_.movsx(dst, src.r8Lo());
    case 16: return (void)a_.movsx(dst, src.r16());
    default: a_.movsxd(dst, src.r32());
  }
}

void Compiler::lower_Lddw(const isa::Decoded& d) {
  // BPF_PSEUDO_FUNC loads the callback's slot index (imm is its offset from the next slot, as
  // libbpf writes it), which is what RunContext::call_function takes; as the interpreter does.
  const uint64_t value = d.op == isa::Op::LddwFunc
                             ? static_cast<uint64_t>(static_cast<int64_t>(next_) - 1 + d.imm)
                             : d.imm64;
  if (options_.harden) return mov_blinded(reg(d.dst), value);
  mov_imm(reg(d.dst), value);
}

void Compiler::alu_imm(AluOp op, bool wide, bool is_signed, const Gp& dst, int32_t imm) {
  // What the operation sees: imm sign-extended for ALU64, its 32 bits for ALU.
  const uint64_t value =
      wide ? static_cast<uint64_t>(static_cast<int64_t>(imm)) : static_cast<uint32_t>(imm);
  const Gp d = width(dst, wide);
  switch (op) {
    case AluOp::Add:
    case AluOp::Sub:
    case AluOp::Or:
    case AluOp::Xor:
      if (imm == 0) return zero_extend(dst, wide);
      if (op == AluOp::Add) return (void)a_.add(d, imm);
      if (op == AluOp::Sub) return (void)a_.sub(d, imm);
      if (op == AluOp::Or) return (void)a_.or_(d, imm);
      if (imm == -1) return (void)a_.not_(d);
      return (void)a_.xor_(d, imm);
    case AluOp::And:
      if (imm == -1) return zero_extend(dst, wide);
      if (imm == 0) return (void)a_.xor_(dst.r32(), dst.r32());
      return (void)a_.and_(d, imm);
    case AluOp::Mul: return mul_imm(wide, dst, value);
    case AluOp::Div:
    case AluOp::Mod: return divmod_imm(op, wide, is_signed, dst, value);
    case AluOp::Lsh:
    case AluOp::Rsh:
    case AluOp::Arsh:
      return shift_imm(op, wide, dst, static_cast<uint32_t>(imm) & (wide ? 63 : 31));
    case AluOp::Mov: return mov_imm(dst, value);
    case AluOp::Neg:
    case AluOp::End: break;  // other forms (alu_rows_are_known)
  }
}

void Compiler::mul_imm(bool wide, const Gp& dst, uint64_t value) {
  const Gp d = width(dst, wide);
  if (value == 0) return (void)a_.xor_(dst.r32(), dst.r32());
  if (value == 1) return zero_extend(dst, wide);
  if (std::has_single_bit(value)) return (void)a_.shl(d, std::countr_zero(value));
  // x * 3, 5, 9 = x + x * 2, 4, 8: one lea, one cycle instead of imul's three.
  if (value == 3 || value == 5 || value == 9)
    return (void)a_.lea(d, asmx::ptr(dst, dst, std::countr_zero(value - 1)));
  // The 3-operand imul sign-extends its immediate, as ALU64 does; the low 32 bits of the
  // product do not depend on signedness.
  a_.imul(d, d, static_cast<int64_t>(static_cast<int32_t>(value)));
}

// Division by a constant: the divisor's special values are known now, so their cases (Linux's
// do_misc_fixups) need no run-time test; powers of two become shifts and masks.
void Compiler::divmod_imm(AluOp op, bool wide, bool is_signed, const Gp& dst, uint64_t value) {
  const bool div = op == AluOp::Div;
  const uint64_t minus_one = wide ? ~uint64_t{0} : UINT32_MAX;
  const Gp d = width(dst, wide);
  if (value == 0) {
    // x / 0 = 0; x % 0 = x.
    if (div) return (void)a_.xor_(dst.r32(), dst.r32());
    return zero_extend(dst, wide);
  }
  if (value == 1) return div ? zero_extend(dst, wide) : (void)a_.xor_(dst.r32(), dst.r32());
  if (is_signed && value == minus_one) {
    // INT_MIN / -1 = INT_MIN and INT_MIN % -1 = 0, as negation and zero give.
    if (div) return (void)a_.neg(d);
    return (void)a_.xor_(dst.r32(), dst.r32());
  }
  if (!is_signed && std::has_single_bit(value)) {
    if (div) return (void)a_.shr(d, std::countr_zero(value));
    return (void)a_.and_(d, static_cast<int64_t>(value - 1));
  }
  mov_imm(asmx::r11, value);
  divide(op, wide, is_signed, dst, asmx::r11);
}

void Compiler::shift_imm(AluOp op, bool wide, const Gp& dst, uint32_t count) {
  const Gp d = width(dst, wide);
  if (count == 0) return zero_extend(dst, wide);
  if (op == AluOp::Lsh) return (void)a_.shl(d, count);
  if (op == AluOp::Rsh) return (void)a_.shr(d, count);
  a_.sar(d, count);
}

void Compiler::alu_reg(AluOp op, bool wide, bool is_signed, const Gp& dst, const Gp& src) {
  const Gp d = width(dst, wide);
  const Gp s = width(src, wide);
  switch (op) {
    case AluOp::Add: return (void)a_.add(d, s);
    case AluOp::Sub: return (void)a_.sub(d, s);
    case AluOp::Mul: return (void)a_.imul(d, s);
    case AluOp::Or: return (void)a_.or_(d, s);
    case AluOp::And: return (void)a_.and_(d, s);
    case AluOp::Xor: return (void)a_.xor_(d, s);
    // A 64-bit move to itself is nothing; a 32-bit one still zero-extends.
    case AluOp::Mov:
      if (!wide || !is_same(dst, src)) a_.mov(d, s);
      return;
    case AluOp::Div:
    case AluOp::Mod: return divide(op, wide, is_signed, dst, src);
    case AluOp::Lsh:
    case AluOp::Rsh:
    case AluOp::Arsh: return shift_reg(op, wide, dst, src);
    case AluOp::Neg:
    case AluOp::End: break;  // other forms (alu_rows_are_known)
  }
}

// dst = dst / src or dst % src through rdx:rax, which hold r3 and r0: those are parked in r9
// and r10 unless dst is one of them. Zero and (signed) -1 divisors take cold paths.
void Compiler::divide(AluOp op, bool wide, bool is_signed, const Gp& dst, const Gp& src) {
  const bool div = op == AluOp::Div;
  const bool src_in_use = is_same(src, asmx::rax) || is_same(src, asmx::rdx);
  if (src_in_use) a_.mov(asmx::r11, src.r64());
  const Gp divisor = width(src_in_use ? asmx::r11 : src, wide);
  const Gp d = width(dst, wide);
  Label done = a_.newLabel();
  a_.test(divisor, divisor);
  if (!div && wide) {
    a_.jz(done);  // x % 0 = x
  } else {
    a_.jz(cold([this, div, dst, done] {
      if (div)
        a_.xor_(dst.r32(), dst.r32());  // x / 0 = 0
      else
        zero_extend(dst, false);  // x % 0 = x, zero-extended (ALU)
      a_.jmp(done);
    }));
  }
  if (is_signed) {
    a_.cmp(divisor, -1);
    a_.je(cold([this, div, d, dst, done] {
      if (div)
        a_.neg(d);  // INT_MIN / -1 = INT_MIN, without idiv's trap
      else
        a_.xor_(dst.r32(), dst.r32());
      a_.jmp(done);
    }));
  }
  const bool keep_rax = !is_same(dst, asmx::rax);
  const bool keep_rdx = !is_same(dst, asmx::rdx);
  if (keep_rax) a_.mov(asmx::r10, asmx::rax);
  if (keep_rdx) a_.mov(asmx::r9, asmx::rdx);
  if (keep_rax) a_.mov(width(asmx::rax, wide), d);
  if (is_signed) {
    if (wide)
      a_.cqo();
    else
      a_.cdq();
    a_.idiv(divisor);
  } else {
    a_.xor_(asmx::edx, asmx::edx);
    a_.div(divisor);
  }
  const Gp result = div ? asmx::rax : asmx::rdx;
  if (!is_same(dst, result)) a_.mov(d, width(result, wide));
  if (keep_rdx) a_.mov(asmx::rdx, asmx::r9);
  if (keep_rax) a_.mov(asmx::rax, asmx::r10);
  a_.bind(done);
}

// With BMI2 the count may be in any register. Without, it must be in cl, and r4 lives in rcx:
// rcx is parked in r10 around the shift.
void Compiler::shift_reg(AluOp op, bool wide, const Gp& dst, const Gp& src) {
  auto shift = [&](const Gp& target, const Gp& count) {
    if (op == AluOp::Lsh) return bmi2_ ? a_.shlx(target, target, count) : a_.shl(target, count);
    if (op == AluOp::Rsh) return bmi2_ ? a_.shrx(target, target, count) : a_.shr(target, count);
    return bmi2_ ? a_.sarx(target, target, count) : a_.sar(target, count);
  };
  if (bmi2_) return (void)shift(width(dst, wide), width(src, wide));
  if (is_same(src, asmx::rcx)) return (void)shift(width(dst, wide), asmx::cl);
  a_.mov(asmx::r10, asmx::rcx);
  a_.mov(asmx::rcx, src.r64());
  if (is_same(dst, asmx::rcx)) {
    // The value to shift is r4's, now in r10.
    shift(width(asmx::r10, wide), asmx::cl);
    a_.mov(asmx::rcx, asmx::r10);
    return;
  }
  shift(width(dst, wide), asmx::cl);
  a_.mov(asmx::rcx, asmx::r10);
}

}  // namespace pollen::jit::x86

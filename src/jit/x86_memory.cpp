// SPDX-License-Identifier: MIT
// x86-64 lowering of loads, stores, atomics and the legacy packet loads. x86 allows unaligned
// accesses, as BPF does on x86 and arm64; atomics map to lock-prefixed instructions (xadd for
// fetch-add, a cmpxchg loop for the other fetch forms), as Linux's x86 JIT emits them. Checked
// mode tests each access inline against the run's first region, then in a cold path against
// the live stack frames, then asks RunContext::allows() about the other regions: the same
// answer the interpreter's checked mode gives, and the same located fault when it is no.
#include "jit/x86_compiler_p.hpp"

namespace pollen::jit::x86 {

namespace asmx = asmjit::x86;
using detail::JitState;

namespace {

// The operation of an Atomic row: the high nibble of its imm (Linux's BPF_ADD, BPF_OR, BPF_AND,
// BPF_XOR; 0xe is BPF_XCHG and 0xf BPF_CMPXCHG); bit 0 of imm is BPF_FETCH.
enum class AtomicOp : uint8_t {
  Add = 0x0,
  Or = 0x4,
  And = 0x5,
  Xor = 0xa,
  Xchg = 0xe,
  Cmpxchg = 0xf
};
constexpr AtomicOp atomic_op(const isa::OpInfo& info) {
  return static_cast<AtomicOp>(info.sel_value >> 4);
}

constexpr bool atomic_rows_are_known() {
  for (const isa::OpInfo& info : isa::kOps) {
    if (info.form != isa::Form::Atomic) continue;
    switch (atomic_op(info)) {
      case AtomicOp::Add:
      case AtomicOp::Or:
      case AtomicOp::And:
      case AtomicOp::Xor: break;
      // xchg and cmpxchg exist only as fetch forms.
      case AtomicOp::Xchg:
      case AtomicOp::Cmpxchg:
        if (!(info.sel_value & 1)) return false;
        break;
      default: return false;
    }
  }
  return true;
}
static_assert(atomic_rows_are_known(), "an atomic row of opcodes.def has no x86 lowering");

bool is_same(const Gp& a, const Gp& b) {
  return a.id() == b.id();
}

}  // namespace

// The operand of a load, store or atomic at [base + off], after checked mode's checks.
Mem Compiler::access(uint8_t base, int16_t off, int size, bool write, bool atomic) {
  const Mem m = asmx::ptr(reg(base), off, static_cast<uint32_t>(size));
  if (!options_.checked) return m;
  // The current frame, [r10 - 512, r10), is always allowed: a constant offset into it needs no
  // test. Every frame is 16-byte aligned, so such an access is aligned when its offset is.
  const auto frame = static_cast<int>(vm::kStackSize);
  const bool in_frame = base == 10 && off >= -frame && off + size <= 0;
  if (!in_frame) bounds_check(m, size, write);
  if (atomic && !(in_frame && off % size == 0)) {
    // Linux rejects misaligned atomics; the interpreter faults on them after the bounds check.
    a_.lea(asmx::r11, m);
    a_.test(asmx::r11b, size - 1);
    a_.jnz(fault_stub(FaultKind::Misaligned));  // r11 holds the address
  }
  return m;
}

// The address tested against the first region inline: addr - begin < bound, where the bound
// already accounts for the size and for writes to a read-only region (JitState). Everything
// else -- the stack, the other regions, the fault -- is in the cold path.
void Compiler::bounds_check(const Mem& m, int size, bool write) {
  const size_t k = static_cast<size_t>(detail::size_index(size));
  if (m.offset() == 0)
    a_.mov(asmx::r10, asmx::gpq(m.baseId()));
  else
    a_.lea(asmx::r10, m);
  a_.sub(asmx::r10, state(offsetof(JitState, region_begin)));
  a_.cmp(asmx::r10, state(offsetof(JitState, region_end) + 8 * (write * detail::kAccessSizes + k)));
  Label back = a_.newLabel();
  const size_t insn = cur_;
  const uint64_t refund = refund_;
  a_.jae(cold([this, m, k, size, write, back, insn, refund] {
    // The live stack frames, [ctx.stack_begin, stack top).
    Label regions = a_.newLabel();
    a_.lea(asmx::r11, m);
    a_.cmp(asmx::r11, state(kCtxStackBegin));
    a_.jb(regions);
    a_.cmp(asmx::r11, state(offsetof(JitState, stack_last) + 8 * k));
    a_.jbe(back);
    a_.bind(regions);
    a_.mov(asmx::r10d, size | write << 4);
    a_.call(slow_check());
    a_.test(asmx::r10d, asmx::r10d);
    a_.jnz(back);
    cur_ = insn;
    refund_ = refund;
    emit_fault(FaultKind::Access);  // r11 holds the address
  }));
  a_.bind(back);
}

void Compiler::lower_Ldx(const isa::Decoded& d) {
  const int size = isa::access_size(d.op);
  const Mem m = access(d.src, d.off, size, false, false);
  const Gp dst = reg(d.dst);
  // BPF_MEMSX (mode 0x80): ldsx sign-extends to 64 bits; ldx zero-extends, which a 32-bit
  // destination does by itself.
  const bool sign_extend = (d.info().opcode & 0xe0) == 0x80;
  switch (size) {
    case 1:
    case 2:
      if (sign_extend) return (void)a_.movsx(dst, m);
      return (void)a_.movzx(dst.r32(), m);
    case 4:
      if (sign_extend) return (void)a_.movsxd(dst, m);
      return (void)a_.mov(dst.r32(), m);
    default: a_.mov(dst, m);
  }
}

void Compiler::lower_St(const isa::Decoded& d) {
  const int size = isa::access_size(d.op);
  const Mem m = access(d.dst, d.off, size, true, false);
  if (options_.harden) return (void)a_.mov(m, sized(blinded(d.imm, size == 8), size));
  // The store takes imm's low bytes; stdw's imm32 is sign-extended, as BPF's is.
  switch (size) {
    case 1: return (void)a_.mov(m, static_cast<int8_t>(d.imm));
    case 2: return (void)a_.mov(m, static_cast<int16_t>(d.imm));
    default: a_.mov(m, d.imm);
  }
}

void Compiler::lower_Stx(const isa::Decoded& d) {
  const int size = isa::access_size(d.op);
  const Mem m = access(d.dst, d.off, size, true, false);
  a_.mov(m, sized(reg(d.src), size));
}

void Compiler::lower_Atomic(const isa::Decoded& d) {
  const int size = isa::access_size(d.op);
  const bool fetch = d.info().sel_value & 1;
  const Mem m = access(d.dst, d.off, size, true, true);
  const Gp src = sized(reg(d.src), size);
  switch (atomic_op(d.info())) {
    case AtomicOp::Add:
      if (fetch) return (void)a_.lock().xadd(m, src);  // src = old, zero-extended when 32-bit
      return (void)a_.lock().add(m, src);
    case AtomicOp::Or:
      if (fetch) return atomic_fetch_loop(AluOp::Or, m, size, reg(d.src));
      return (void)a_.lock().or_(m, src);
    case AtomicOp::And:
      if (fetch) return atomic_fetch_loop(AluOp::And, m, size, reg(d.src));
      return (void)a_.lock().and_(m, src);
    case AtomicOp::Xor:
      if (fetch) return atomic_fetch_loop(AluOp::Xor, m, size, reg(d.src));
      return (void)a_.lock().xor_(m, src);
    case AtomicOp::Xchg: return (void)a_.xchg(m, src);  // xchg with memory is always locked
    case AtomicOp::Cmpxchg:
      // r0 is rax, cmpxchg's comparand and result; the 32-bit form leaves rax's upper half
      // alone when it stores, and BPF zero-extends r0 (as Linux's JIT does with a mov).
      a_.lock().cmpxchg(m, src);
      if (size == 4) a_.mov(asmx::eax, asmx::eax);
      return;
  }
}

// Fetch-or/and/xor, which x86 has no single instruction for: load, compute, cmpxchg until no
// other writer came in between. cmpxchg needs rax (r0), which is parked in r10.
void Compiler::atomic_fetch_loop(AluOp op, const Mem& m, int size, const Gp& src) {
  const bool wide = size == 8;
  a_.lea(asmx::r11, m);
  const Mem at = asmx::ptr(asmx::r11, 0, static_cast<uint32_t>(size));
  a_.mov(asmx::r10, asmx::rax);
  const Gp value = width(is_same(src, asmx::rax) ? asmx::r10 : src, wide);
  const Gp old = width(asmx::rax, wide);
  const Gp next = width(asmx::r9, wide);
  a_.mov(old, at);
  Label retry = a_.newLabel();
  a_.bind(retry);
  a_.mov(next, old);
  if (op == AluOp::Or) a_.or_(next, value);
  if (op == AluOp::And) a_.and_(next, value);
  if (op == AluOp::Xor) a_.xor_(next, value);
  a_.lock().cmpxchg(at, next);
  a_.jnz(retry);
  // src = the old value; when src is r0 that is all, otherwise r0 comes back.
  if (is_same(src, asmx::rax)) return;
  a_.mov(src.r64(), asmx::rax);
  a_.mov(asmx::rax, asmx::r10);
}

void Compiler::lower_LdAbs(const isa::Decoded& d) {
  const int size = isa::access_size(d.op);
  if (!options_.harden) return load_packet(size, d.imm);
  blinded(d.imm, true);
  load_packet(size, std::nullopt);
}

// Linux's bpf_load_pointer takes `int off`: src + imm is truncated to 32 bits and sign-extended,
// which a 32-bit lea and movsxd do.
void Compiler::lower_LdInd(const isa::Decoded& d) {
  if (options_.harden) {
    blinded(d.imm, false);
    a_.add(asmx::r11d, reg(d.src).r32());
  } else {
    a_.lea(asmx::r11d, asmx::ptr(reg(d.src), d.imm));
  }
  a_.movsxd(asmx::r11, asmx::r11d);
  load_packet(isa::access_size(d.op), std::nullopt);
}

// r0 = the big-endian value at the packet's offset (a constant, or r11); outside the packet the
// program ends with r0 = 0, as Linux's does.
void Compiler::load_packet(int size, std::optional<int32_t> constant_offset) {
  const size_t k = static_cast<size_t>(detail::size_index(size));
  const Mem end = state(offsetof(JitState, packet_end) + 8 * k);
  Mem at;
  if (constant_offset) {
    if (*constant_offset < 0) return (void)a_.jmp(packet_exit_stub());
    a_.cmp(end, *constant_offset);
    a_.jbe(packet_exit_stub());
    a_.mov(asmx::r10, state(offsetof(JitState, packet)));
    at = asmx::ptr(asmx::r10, *constant_offset, static_cast<uint32_t>(size));
  } else {
    a_.cmp(asmx::r11, end);
    a_.jae(packet_exit_stub());
    a_.mov(asmx::r10, state(offsetof(JitState, packet)));
    at = asmx::ptr(asmx::r10, asmx::r11, 0, 0, static_cast<uint32_t>(size));
  }
  switch (size) {
    case 1: return (void)a_.movzx(asmx::eax, at);
    case 2:
      a_.movzx(asmx::eax, at);
      a_.rol(asmx::ax, 8);
      return;
    default: a_.mov(asmx::eax, at); a_.bswap(asmx::eax);
  }
}

}  // namespace pollen::jit::x86

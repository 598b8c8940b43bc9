// SPDX-License-Identifier: MIT
// x86-64 lowering of jumps, calls and exit. A conditional jump is one compare (or test) and one
// jcc; a jump to the next instruction emits nothing. Helper calls need no argument moves (r1-r5
// are SysV's argument registers) and save only the r1-r5 read after them; a local call is a native
// call into the callee's own prologue, after checking Linux's MAX_CALL_FRAMES, so that the return
// address stays in the host stack and out of the program's reach.
#include "jit/x86_compiler_p.hpp"

namespace pollen::jit::x86 {

namespace asmx = asmjit::x86;
using detail::JitState;

namespace {

// The condition of a JMP or JMP32 row, from the high nibble of its opcode (RFC 9669, section
// 4.3); jset tests bits instead of comparing.
struct JumpKind {
  asmx::CondCode cc;
  bool test;
};

constexpr std::optional<JumpKind> jump_kind(const isa::OpInfo& info) {
  switch (info.opcode >> 4) {
    case 0x1: return JumpKind{asmx::CondCode::kE, false};   // jeq
    case 0x2: return JumpKind{asmx::CondCode::kA, false};   // jgt
    case 0x3: return JumpKind{asmx::CondCode::kAE, false};  // jge
    case 0x4: return JumpKind{asmx::CondCode::kNZ, true};   // jset
    case 0x5: return JumpKind{asmx::CondCode::kNE, false};  // jne
    case 0x6: return JumpKind{asmx::CondCode::kG, false};   // jsgt
    case 0x7: return JumpKind{asmx::CondCode::kGE, false};  // jsge
    case 0xa: return JumpKind{asmx::CondCode::kB, false};   // jlt
    case 0xb: return JumpKind{asmx::CondCode::kBE, false};  // jle
    case 0xc: return JumpKind{asmx::CondCode::kL, false};   // jslt
    case 0xd: return JumpKind{asmx::CondCode::kLE, false};  // jsle
    default: return std::nullopt;
  }
}

constexpr bool jump_rows_are_known() {
  for (const isa::OpInfo& info : isa::kOps)
    if ((info.form == isa::Form::JmpImm || info.form == isa::Form::JmpReg) && !jump_kind(info))
      return false;
  return true;
}
static_assert(jump_rows_are_known(), "a jump row of opcodes.def has no x86 condition");

// Called by the generated code after each helper call: whether the helper refused its
// arguments (RunContext::fault), which ends the run.
bool helper_failed(const vm::RunContext* ctx) {
  return !ctx->fault.empty();
}

uint64_t sign_extended(int32_t imm) {
  return static_cast<uint64_t>(static_cast<int64_t>(imm));
}

}  // namespace

void Compiler::lower_JmpImm(const isa::Decoded& d) {
  const auto target = static_cast<size_t>(*isa::branch_target(d, cur_));
  if (target == next_) return;  // taken or not, the next instruction runs
  const JumpKind kind = *jump_kind(d.info());
  // 64-bit jumps compare with imm sign-extended, which x86's imm32 operands are too.
  const bool wide = !isa::is_jmp32(d.op);
  const Gp dst = width(reg(d.dst), wide);
  if (options_.harden) {
    const Gp value = blinded(d.imm, wide);
    kind.test ? a_.test(dst, value) : a_.cmp(dst, value);
  } else if (kind.test) {
    if (d.imm == 0) return;  // no bit is ever set in x & 0
    a_.test(dst, d.imm);
  } else if (d.imm == 0) {
    a_.test(dst, dst);  // the flags of cmp dst, 0 in one byte less
  } else {
    a_.cmp(dst, d.imm);
  }
  a_.j(kind.cc, labels_[target]);
}

void Compiler::lower_JmpReg(const isa::Decoded& d) {
  const auto target = static_cast<size_t>(*isa::branch_target(d, cur_));
  if (target == next_) return;
  const JumpKind kind = *jump_kind(d.info());
  const bool wide = !isa::is_jmp32(d.op);
  const Gp dst = width(reg(d.dst), wide);
  const Gp src = width(reg(d.src), wide);
  kind.test ? a_.test(dst, src) : a_.cmp(dst, src);
  a_.j(kind.cc, labels_[target]);
}

void Compiler::lower_Ja(const isa::Decoded& d) {
  const auto target = static_cast<size_t>(*isa::branch_target(d, cur_));
  if (target != next_) a_.jmp(labels_[target]);
}

void Compiler::lower_Ja32(const isa::Decoded& d) {
  lower_Ja(d);  // gotol differs only in where its offset is (imm); branch_target() knows
}

void Compiler::lower_Exit(const isa::Decoded&) {
  if (function_ == 0) return main_epilogue();
  callee_epilogue(functions_[function_]);
}

void Compiler::lower_CallLocal(const isa::Decoded& d) {
  const auto target = static_cast<size_t>(*isa::branch_target(d, cur_));
  // r10 is exactly one frame lower per level, so the depth check is one compare.
  a_.cmp(reg(10), state(offsetof(JitState, call_floor)));
  a_.jb(fault_stub(FaultKind::CallDepth));
  a_.call(entries_[function_at(target)]);
}

void Compiler::lower_CallKfunc(const isa::Decoded& d) {
  emit_fault(FaultKind::Kfunc, sign_extended(d.imm));
}

void Compiler::lower_CallHelper(const isa::Decoded& d) {
  // Resolved now; an id with no entry faults when the call is reached, as in the interpreter.
  const uint64_t id = sign_extended(d.imm);
  const vm::HelperFn fn = helpers_.find(id);
  if (fn == nullptr) return emit_fault(FaultKind::UnknownHelper, id);
  call_helper(asmjit::Imm(reinterpret_cast<uint64_t>(fn)), [this, id] { mov_imm(asmx::r11, id); });
}

// The conformance suite's callx: dst holds a helper id (not an address, as in Linux's JITs),
// looked up in the program's copy of the table when the call runs.
void Compiler::lower_Callx(const isa::Decoded& d) {
  a_.mov(asmx::r11, reg(d.dst));
  const Label unknown = fault_stub(FaultKind::UnknownHelper);  // r11 holds the id
  a_.cmp(asmx::r11, static_cast<int32_t>(vm::kMaxHelperId - 1));
  a_.ja(unknown);
  a_.mov(asmx::r10, reinterpret_cast<uint64_t>(helpers_.fn.data()));
  a_.mov(asmx::r10, asmx::qword_ptr(asmx::r10, asmx::r11, 3));
  a_.test(asmx::r10, asmx::r10);
  a_.jz(unknown);
  a_.mov(state(offsetof(JitState, callx_id)), asmx::r11);
  // A refusal names the id the call was made with, which the call may have overwritten.
  call_helper(asmx::r10, [this] { a_.mov(asmx::r11, state(offsetof(JitState, callx_id))); });
}

// r1-r5 are already the first five SysV arguments; the sixth is the RunContext. The call
// clobbers r1-r5, so those the program reads afterwards are kept on the host stack (the
// interpreter keeps them all). Afterwards the run stops if the helper refused its arguments.
void Compiler::call_helper(const asmjit::Operand& target,
                           const std::function<void()>& fault_value) {
  std::vector<Gp> kept;
  for (uint8_t r = 1; r <= 5; ++r)
    if (live_out_[cur_] & (1u << r)) kept.push_back(reg(r));
  for (const Gp& r : kept) a_.push(r);
  const bool pad = kept.size() % 2 != 0;  // keep the stack 16-byte aligned for the call
  if (pad) a_.sub(asmx::rsp, 8);
  a_.lea(asmx::r9, state(kCtx));
  a_.emit(asmx::Inst::kIdCall, target);
  a_.mov(state(offsetof(JitState, saved_r0)), asmx::rax);
  a_.lea(asmx::rdi, state(kCtx));
  a_.call(asmjit::Imm(reinterpret_cast<uint64_t>(&helper_failed)));
  a_.test(asmx::al, asmx::al);
  a_.mov(asmx::rax, state(offsetof(JitState, saved_r0)));
  const size_t insn = cur_;
  const uint64_t refund = refund_;
  a_.jnz(cold([this, fault_value, insn, refund] {
    fault_value();
    cur_ = insn;
    refund_ = refund;
    emit_fault(FaultKind::HelperFault);
  }));
  if (pad) a_.add(asmx::rsp, 8);
  for (size_t i = kept.size(); i-- > 0;) a_.pop(kept[i]);
}

}  // namespace pollen::jit::x86

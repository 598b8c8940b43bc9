// SPDX-License-Identifier: MIT
// x86-64 lowering of jumps, calls and exit. A conditional jump is one compare (or test) and one
// jcc; a jump to the next instruction emits nothing. Helper calls need no argument moves (r1-r5
// are SysV's argument registers) and save only the r1-r5 read after them (all of them where a
// tail call may follow); one test of three words afterwards sends a refusal, a callback's fault
// or a tail call to cold code. bpf_map_lookup_elem on a constant ARRAY map is inlined. A local
// call is a native call into the callee's own prologue, after checking Linux's MAX_CALL_FRAMES,
// so that the return address stays in the host stack and out of the program's reach.
#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

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

// Called by the generated code after a helper call that asked for more than returning: whether
// the helper refused its arguments (RunContext::fault), which ends the run.
bool helper_failed(const vm::RunContext* ctx) {
  return !ctx->fault.empty();
}

// Called after every helper call when std::string's length cannot be read inline: whether the
// helper asked for more than returning (a refusal, a tail call, a callback's fault).
bool helper_event(const JitState* st) {
  return !st->ctx.fault.empty() || st->ctx.tail_call != nullptr || st->fault_word != 0;
}

// Where std::string keeps its length, if it keeps it in a word of its own: then the check after
// a helper call reads RunContext::fault's length inline instead of calling fault.empty(), which
// is most of what a call to a trivial helper costs. Found by looking at strings of several
// lengths, short and long: a layout that does not show its length in exactly one word keeps
// the call.
std::optional<int32_t> string_length_offset() {
  static const std::optional<int32_t> offset = []() -> std::optional<int32_t> {
    const std::string probes[] = {std::string(), std::string(1, 'x'), std::string(13, 'y'),
                                  std::string(100, 'z'), std::string(4097, 'w')};
    std::optional<int32_t> found;
    for (size_t at = 0; at + 8 <= sizeof(std::string); at += 8) {
      bool all = true;
      for (const std::string& p : probes) {
        uint64_t word = 0;
        std::memcpy(&word, reinterpret_cast<const unsigned char*>(&p) + at, 8);
        all = all && word == p.size();
      }
      if (!all) continue;
      if (found) return std::nullopt;
      found = static_cast<int32_t>(at);
    }
    return found;
  }();
  return offset;
}

// Linux's helper ids the JIT treats specially.
constexpr uint64_t kMapLookupElem = 1;  // bpf_map_lookup_elem: inlined on ARRAY maps
constexpr uint64_t kTailCall = 12;      // bpf_tail_call: its target starts with r1-r5

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
  if (function_ == 0 && !main_is_called_) return main_epilogue();
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
  if (id == kMapLookupElem && inline_array_lookup()) return;
  call_helper(asmjit::Imm(reinterpret_cast<uint64_t>(fn)), [this, id] { mov_imm(asmx::r11, id); },
              id == kTailCall);
}

// bpf_map_lookup_elem(map, key) with r1 an ARRAY map of JitOptions::arrays loaded by an lddw
// earlier in the basic block, as Linux's array_map_gen_lookup() inlines it: r0 = the address of
// value *(u32 *)key, or 0 when the index is not below max_entries. r1-r5 stay as they are, as
// the interpreter keeps them. Unchecked mode only: checked mode's helper also validates the key
// and the map, and hands the value out to the run.
bool Compiler::inline_array_lookup() {
  if (options_.checked || options_.arrays.empty()) return false;
  std::optional<uint64_t> map;
  for (size_t slot = cur_; slot-- > 0 && !map;) {
    if (!insns_[slot]) continue;
    const isa::Decoded& d = *insns_[slot];
    const isa::Form form = d.info().form;
    if (form == isa::Form::Lddw && d.dst == 1 && d.op != isa::Op::LddwFunc) {
      map = d.imm64;
    } else if ((isa::writes_dst(d.op) && d.dst == 1) ||
               (form == isa::Form::Atomic && d.src == 1) || form == isa::Form::CallHelper ||
               form == isa::Form::Callx || block_start_[slot]) {
      return false;
    }
  }
  auto it = std::find_if(options_.arrays.begin(), options_.arrays.end(),
                         [&](const ArrayLayout& a) { return map && a.map == *map; });
  if (it == options_.arrays.end()) return false;
  const Label done = a_.newLabel();
  a_.mov(asmx::r11d, asmx::dword_ptr(reg(2)));
  a_.xor_(asmx::eax, asmx::eax);
  a_.cmp(asmx::r11d, it->max_entries);
  a_.jae(done);
  if (std::has_single_bit(it->elem_size)) {
    a_.shl(asmx::r11, std::countr_zero(it->elem_size));
  } else if (it->elem_size <= INT32_MAX) {
    a_.imul(asmx::r11, asmx::r11, static_cast<int32_t>(it->elem_size));
  } else {
    a_.mov(asmx::r10d, it->elem_size);
    a_.imul(asmx::r11, asmx::r10);
  }
  mov_imm(asmx::rax, it->values);
  a_.add(asmx::rax, asmx::r11);
  a_.bind(done);
  return true;
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
  call_helper(asmx::r10, [this] { a_.mov(asmx::r11, state(offsetof(JitState, callx_id))); },
              true);
}

// r1-r5 are already the first five SysV arguments; the sixth is the RunContext. The call
// clobbers r1-r5, so those the program reads afterwards are kept on the host stack (the
// interpreter keeps them all), and all of them where the helper may make a tail call, whose
// target starts with them. r10 is noted first: a callback's frame goes below it. Afterwards,
// one test of three words tells whether the helper asked for anything but returning.
void Compiler::call_helper(const asmjit::Operand& target, const std::function<void()>& fault_value,
                           bool may_tail_call) {
  std::vector<Gp> kept;
  for (uint8_t r = 1; r <= 5; ++r)
    if (may_tail_call || (live_out_[cur_] & (1u << r))) kept.push_back(reg(r));
  for (const Gp& r : kept) a_.push(r);
  const bool pad = kept.size() % 2 != 0;  // keep the stack 16-byte aligned for the call
  if (pad) a_.sub(asmx::rsp, 8);
  a_.mov(state(offsetof(JitState, call_r10)), reg(10));
  a_.lea(asmx::r9, state(kCtx));
  a_.emit(asmx::Inst::kIdCall, target);
  const size_t insn = cur_, function = function_;
  const uint64_t refund = refund_;
  const Label event = cold([this, kept, pad, fault_value, insn, function, refund] {
    cur_ = insn;
    function_ = function;
    refund_ = refund;
    after_helper_event(kept, pad, fault_value);
  });
  if (std::optional<int32_t> length = string_length_offset()) {
    a_.mov(asmx::r11, state(kCtx + offsetof(vm::RunContext, fault) + *length));
    a_.or_(asmx::r11, state(kCtx + offsetof(vm::RunContext, tail_call)));
  } else {
    a_.mov(state(offsetof(JitState, saved_r0)), asmx::rax);
    a_.lea(asmx::rdi, state(0));
    a_.call(asmjit::Imm(reinterpret_cast<uint64_t>(&helper_event)));
    a_.movzx(asmx::r11d, asmx::al);
    a_.mov(asmx::rax, state(offsetof(JitState, saved_r0)));
  }
  a_.or_(asmx::r11, state(offsetof(JitState, fault_word)));
  a_.jnz(event);
  if (pad) a_.add(asmx::rsp, 8);
  for (size_t i = kept.size(); i-- > 0;) a_.pop(kept[i]);
}

// Cold: what the helper asked for, in the interpreter's order. A callback it ran faulted (the
// fault is recorded where it happened): the run stops. It refused its arguments: the run stops
// with a fault here. Otherwise it asked for a tail call: with r1-r5 as they were, the engine
// makes the target the running program and the code jumps to it, or the run ended in an
// interpreter it was handed over to, or the target ran in place of this function (a called
// one or a callback) and this function returns its r0, or the engine refused.
void Compiler::after_helper_event(const std::vector<Gp>& kept, bool pad,
                                  const std::function<void()>& fault_value) {
  const Label stopped = a_.newLabel(), refused = a_.newLabel(), ended = a_.newLabel();
  a_.mov(state(offsetof(JitState, saved_r0)), asmx::rax);
  a_.cmp(state(offsetof(JitState, fault_word)), 0);
  a_.jne(stopped);
  a_.lea(asmx::rdi, state(kCtx));
  a_.call(asmjit::Imm(reinterpret_cast<uint64_t>(&helper_failed)));
  a_.test(asmx::al, asmx::al);
  a_.jnz(refused);
  if (pad) a_.add(asmx::rsp, 8);
  for (size_t i = kept.size(); i-- > 0;) a_.pop(kept[i]);
  for (uint8_t r = 1; r <= 5; ++r) a_.mov(state(offsetof(JitState, args) + 8 * (r - 1)), reg(r));
  // The target's first block counts itself; this block's instructions after the call never run.
  if (refund_ != 0) a_.add(state(kRemaining), static_cast<int32_t>(refund_));
  a_.lea(asmx::rdi, state(0));
  a_.call(asmjit::Imm(reinterpret_cast<uint64_t>(&detail::continue_tail_call)));
  a_.cmp(asmx::rax, static_cast<int32_t>(detail::kTailCallRefused));
  a_.jb(ended);
  const Label refused_after_refund = a_.newLabel(), returned = a_.newLabel();
  a_.je(refused_after_refund);
  a_.cmp(asmx::rax, static_cast<int32_t>(detail::kTailCallReturned));
  a_.je(returned);
  a_.mov(asmx::r11, asmx::rax);
  // The target's frame on the host stack is the main function's own (a main function compiled
  // as a callee has its caller's frame below it).
  a_.mov(asmx::rsp, state(kEntryRsp));
  for (uint8_t r = 1; r <= 5; ++r) a_.mov(reg(r), state(offsetof(JitState, args) + 8 * (r - 1)));
  a_.mov(asmx::rax, state(offsetof(JitState, saved_r0)));
  a_.jmp(asmx::r11);

  a_.bind(returned);
  a_.mov(reg(0), state(offsetof(JitState, saved_r0)));
  lower_Exit({});

  a_.bind(ended);
  a_.mov(asmx::rax, state(offsetof(JitState, saved_r0)));
  a_.jmp(stop_);
  a_.bind(stopped);
  if (refund_ != 0) a_.add(state(kRemaining), static_cast<int32_t>(refund_));
  a_.jmp(stop_);
  a_.bind(refused);
  fault_value();
  emit_fault(FaultKind::HelperFault);
  a_.bind(refused_after_refund);
  fault_value();
  refund_ = 0;
  emit_fault(FaultKind::HelperFault);
}

}  // namespace pollen::jit::x86

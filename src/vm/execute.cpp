// SPDX-License-Identifier: MIT
// The run loop: threaded code dispatched with computed goto (a GCC/clang extension). Each slot
// holds its handler's label address, so an instruction costs one indirect jump and no decoding.
// The label table is built from opcodes.def, so a new row does not compile until it has a
// handler here. Handlers only dispatch; what an operation computes is in semantics.hpp. The loop
// is instantiated twice: checked (every memory access tested against the run's memory) and
// unchecked (for verified programs), so the unchecked loop carries no checks at all. A helper's
// callback runs in a nested run loop on the same stack; a tail call switches the running
// program in place.
#include <cstring>

#include "vm/semantics.hpp"
#include "vm/threaded.hpp"

namespace pollen::vm::detail {
namespace {

// A local call: saves the caller's r6-r9 and return slot, and moves r10 down one frame.
// Returns false when the call would exceed Linux's MAX_CALL_FRAMES.
inline bool push_frame(CallStack& calls, uint64_t* reg, const Slot* ret) {
  if (calls.depth == calls.limit) return false;
  calls.frames[calls.depth++] = {ret, {reg[6], reg[7], reg[8], reg[9]}};
  reg[10] -= kStackSize;
  return true;
}

// Exit from a local call: restores r6-r9 and r10 (r0 carries the result) and returns the slot
// after the call.
inline const Slot* pop_frame(CallStack& calls, uint64_t* reg) {
  const CallStack::Frame& f = calls.frames[--calls.depth];
  reg[6] = f.saved[0];
  reg[7] = f.saved[1];
  reg[8] = f.saved[2];
  reg[9] = f.saved[3];
  reg[10] += kStackSize;
  return f.ret;
}

// Checked mode, after a local call: the callee's frame joins the stack the program may touch.
// Each frame is zeroed the first time a run reaches its depth.
inline void enter_checked_frame(RunContext& ctx, uint64_t r10, size_t depth, size_t& zeroed) {
  ctx.stack_begin = r10 - kStackSize;
  if (depth >= zeroed) {
    std::memset(reinterpret_cast<void*>(ctx.stack_begin), 0, kStackSize);
    zeroed = depth + 1;
  }
}

inline uint64_t call_helper(HelperFn fn, const uint64_t* reg, RunContext& ctx) {
  return fn(reg[1], reg[2], reg[3], reg[4], reg[5], &ctx);
}

// Whether a helper asked for more than returning to the next instruction: a fault (its own or
// one inside a callback it ran) or a tail call.
inline bool helper_event(const Machine& m) {
  return !m.ctx.fault.empty() || m.ctx.tail_call != nullptr || m.fault.kind != FaultKind::None;
}

// ld_ind's offset is src + imm truncated to a signed 32-bit int, as Linux's `int off` in
// bpf_load_pointer(); a negative offset is outside the packet.
inline int64_t ind_offset(uint64_t src, int32_t imm) {
  return static_cast<int32_t>(static_cast<uint32_t>(src + static_cast<uint64_t>(imm)));
}

}  // namespace

template <bool Checked>
uint64_t execute(const Slot* start, Machine& m) {
  static const void* const kLabels[] = {
#define POLLEN_OP(id, ...) &&op_##id,
#include "isa/opcodes.def"
#undef POLLEN_OP
  };
  if (start == nullptr) {
    m.labels = kLabels;
    return 0;
  }

  uint64_t reg[11] = {0, m.args[0], m.args[1], m.args[2], m.args[3], m.args[4]};
  // The stack holds the frames of all call levels (Interpreter::run provides it); this loop's
  // first frame is the one below entry_r10, and the frames above it count against the limit.
  // Checked mode zeroes each frame before first use, so an unverified program cannot read
  // stale host stack data.
  reg[10] = m.entry_r10;
  CallStack calls;
  calls.limit = kMaxCallFrames - 1 - (m.stack_top - m.entry_r10) / kStackSize;
  [[maybe_unused]] size_t zeroed_frames = 1;
  if constexpr (Checked) {
    std::memset(reinterpret_cast<void*>(m.entry_r10 - kStackSize), 0, kStackSize);
    m.ctx.stack_end = m.stack_top;
    m.ctx.stack_begin = m.entry_r10 - kStackSize;
  }
  uint64_t remaining = m.remaining;
  uint64_t helper_id = 0;  // of the helper call whose event is being handled
  const Slot* pc = start;

// Operands of the current slot. IMM is imm sign-extended to 64 bits, which is what 64-bit
// operations use; 32-bit operations take its low half (semantics.hpp).
#define D reg[pc->dst]
#define S reg[pc->src]
#define IMM static_cast<uint64_t>(static_cast<int64_t>(pc->imm))
// Every dispatch spends one unit of the budget; with no budget the counter starts at ~0 and
// only counts, which gives last_insn_count() for the price of one decrement.
#define DISPATCH                                                                 \
  do {                                                                           \
    if (__builtin_sub_overflow(remaining, 1, &remaining)) goto budget_exhausted; \
    goto * pc->handler;                                                          \
  } while (0)
#define NEXT  \
  do {        \
    ++pc;     \
    DISPATCH; \
  } while (0)
#define JUMP_IF(cond)                      \
  do {                                     \
    pc = (cond) ? pc->aux.target : pc + 1; \
    DISPATCH;                              \
  } while (0)
#define CHECK_ACCESS(addr, size, write)                          \
  do {                                                           \
    if constexpr (Checked) {                                     \
      if (!m.ctx.allows(addr, size, write)) FAULT(Access, addr); \
    }                                                            \
  } while (0)
// Atomics must also be naturally aligned: Linux rejects misaligned atomics, and the host's
// atomic instructions need the alignment.
#define CHECK_ATOMIC(addr, size)                         \
  do {                                                   \
    CHECK_ACCESS(addr, size, true);                      \
    if constexpr (Checked) {                             \
      if ((addr) % (size) != 0) FAULT(Misaligned, addr); \
    }                                                    \
  } while (0)
#define LDX(load, T)                    \
  do {                                  \
    uint64_t a_ = S + pc->off;          \
    CHECK_ACCESS(a_, sizeof(T), false); \
    D = sem::load<T>(a_);               \
    NEXT;                               \
  } while (0)
#define STORE(T, value)                \
  do {                                 \
    uint64_t a_ = D + pc->off;         \
    CHECK_ACCESS(a_, sizeof(T), true); \
    sem::store<T>(a_, value);          \
    NEXT;                              \
  } while (0)
#define ATOMIC(T, statement)     \
  do {                           \
    uint64_t a_ = D + pc->off;   \
    CHECK_ATOMIC(a_, sizeof(T)); \
    statement;                   \
    NEXT;                        \
  } while (0)
#define LD_PACKET(T, off)                                                             \
  do {                                                                                \
    if (!sem::load_packet<T>(m.packet, m.packet_size, off, reg[0])) goto packet_exit; \
    NEXT;                                                                             \
  } while (0)
#define LDDW           \
  do {                 \
    D = pc->aux.imm64; \
    pc += 2;           \
    DISPATCH;          \
  } while (0)
#define FAULT(kind_, value_)                                                \
  do {                                                                      \
    m.fault = {FaultKind::kind_, static_cast<size_t>(pc - m.base), value_}; \
    goto stop;                                                              \
  } while (0)
// A helper call: the helper may run callbacks in a nested loop, which needs the caller's r10
// and the budget left, and hands the budget back.
#define CALL_HELPER(fn, id)                 \
  do {                                      \
    helper_id = (id);                       \
    m.call_r10 = reg[10];                   \
    m.remaining = remaining;                \
    reg[0] = call_helper(fn, reg, m.ctx);   \
    remaining = m.remaining;                \
    if (helper_event(m)) goto after_helper; \
    NEXT;                                   \
  } while (0)

  DISPATCH;

  // clang-format off
  op_Add64Imm: D = sem::add64(D, IMM); NEXT;
  op_Add64Reg: D = sem::add64(D, S); NEXT;
  op_Sub64Imm: D = sem::sub64(D, IMM); NEXT;
  op_Sub64Reg: D = sem::sub64(D, S); NEXT;
  op_Mul64Imm: D = sem::mul64(D, IMM); NEXT;
  op_Mul64Reg: D = sem::mul64(D, S); NEXT;
  op_Div64Imm: D = sem::div64(D, IMM); NEXT;
  op_SDiv64Imm: D = sem::sdiv64(D, IMM); NEXT;
  op_Div64Reg: D = sem::div64(D, S); NEXT;
  op_SDiv64Reg: D = sem::sdiv64(D, S); NEXT;
  op_Or64Imm: D = sem::or64(D, IMM); NEXT;
  op_Or64Reg: D = sem::or64(D, S); NEXT;
  op_And64Imm: D = sem::and64(D, IMM); NEXT;
  op_And64Reg: D = sem::and64(D, S); NEXT;
  op_Lsh64Imm: D = sem::lsh64(D, IMM); NEXT;
  op_Lsh64Reg: D = sem::lsh64(D, S); NEXT;
  op_Rsh64Imm: D = sem::rsh64(D, IMM); NEXT;
  op_Rsh64Reg: D = sem::rsh64(D, S); NEXT;
  op_Mod64Imm: D = sem::mod64(D, IMM); NEXT;
  op_SMod64Imm: D = sem::smod64(D, IMM); NEXT;
  op_Mod64Reg: D = sem::mod64(D, S); NEXT;
  op_SMod64Reg: D = sem::smod64(D, S); NEXT;
  op_Xor64Imm: D = sem::xor64(D, IMM); NEXT;
  op_Xor64Reg: D = sem::xor64(D, S); NEXT;
  op_Mov64Imm: D = IMM; NEXT;
  op_Mov64Reg: D = S; NEXT;
  op_Arsh64Imm: D = sem::arsh64(D, IMM); NEXT;
  op_Arsh64Reg: D = sem::arsh64(D, S); NEXT;
  op_Neg64: D = sem::neg64(D); NEXT;
  op_Movsx8_64: D = sem::movsx8(S); NEXT;
  op_Movsx16_64: D = sem::movsx16(S); NEXT;
  op_Movsx32_64: D = sem::movsx32(S); NEXT;
  op_Bswap16: D = sem::bswap16(D); NEXT;
  op_Bswap32: D = sem::bswap32(D); NEXT;
  op_Bswap64: D = sem::bswap64(D); NEXT;
  op_Add32Imm: D = sem::add32(D, IMM); NEXT;
  op_Add32Reg: D = sem::add32(D, S); NEXT;
  op_Sub32Imm: D = sem::sub32(D, IMM); NEXT;
  op_Sub32Reg: D = sem::sub32(D, S); NEXT;
  op_Mul32Imm: D = sem::mul32(D, IMM); NEXT;
  op_Mul32Reg: D = sem::mul32(D, S); NEXT;
  op_Div32Imm: D = sem::div32(D, IMM); NEXT;
  op_SDiv32Imm: D = sem::sdiv32(D, IMM); NEXT;
  op_Div32Reg: D = sem::div32(D, S); NEXT;
  op_SDiv32Reg: D = sem::sdiv32(D, S); NEXT;
  op_Or32Imm: D = sem::or32(D, IMM); NEXT;
  op_Or32Reg: D = sem::or32(D, S); NEXT;
  op_And32Imm: D = sem::and32(D, IMM); NEXT;
  op_And32Reg: D = sem::and32(D, S); NEXT;
  op_Lsh32Imm: D = sem::lsh32(D, IMM); NEXT;
  op_Lsh32Reg: D = sem::lsh32(D, S); NEXT;
  op_Rsh32Imm: D = sem::rsh32(D, IMM); NEXT;
  op_Rsh32Reg: D = sem::rsh32(D, S); NEXT;
  op_Mod32Imm: D = sem::mod32(D, IMM); NEXT;
  op_SMod32Imm: D = sem::smod32(D, IMM); NEXT;
  op_Mod32Reg: D = sem::mod32(D, S); NEXT;
  op_SMod32Reg: D = sem::smod32(D, S); NEXT;
  op_Xor32Imm: D = sem::xor32(D, IMM); NEXT;
  op_Xor32Reg: D = sem::xor32(D, S); NEXT;
  op_Mov32Imm: D = sem::mov32(IMM); NEXT;
  op_Mov32Reg: D = sem::mov32(S); NEXT;
  op_Arsh32Imm: D = sem::arsh32(D, IMM); NEXT;
  op_Arsh32Reg: D = sem::arsh32(D, S); NEXT;
  op_Neg32: D = sem::neg32(D); NEXT;
  op_Movsx8_32: D = sem::movsx8_32(S); NEXT;
  op_Movsx16_32: D = sem::movsx16_32(S); NEXT;
  op_Le16: D = sem::le16(D); NEXT;
  op_Le32: D = sem::le32(D); NEXT;
  op_Le64: D = sem::le64(D); NEXT;
  op_Be16: D = sem::be16(D); NEXT;
  op_Be32: D = sem::be32(D); NEXT;
  op_Be64: D = sem::be64(D); NEXT;
  op_Ja: pc = pc->aux.target; DISPATCH;
  op_Ja32: pc = pc->aux.target; DISPATCH;
  op_JeqImm: JUMP_IF(sem::jeq(D, IMM));
  op_JeqReg: JUMP_IF(sem::jeq(D, S));
  op_JgtImm: JUMP_IF(sem::jgt(D, IMM));
  op_JgtReg: JUMP_IF(sem::jgt(D, S));
  op_JgeImm: JUMP_IF(sem::jge(D, IMM));
  op_JgeReg: JUMP_IF(sem::jge(D, S));
  op_JsetImm: JUMP_IF(sem::jset(D, IMM));
  op_JsetReg: JUMP_IF(sem::jset(D, S));
  op_JneImm: JUMP_IF(sem::jne(D, IMM));
  op_JneReg: JUMP_IF(sem::jne(D, S));
  op_JsgtImm: JUMP_IF(sem::jsgt(D, IMM));
  op_JsgtReg: JUMP_IF(sem::jsgt(D, S));
  op_JsgeImm: JUMP_IF(sem::jsge(D, IMM));
  op_JsgeReg: JUMP_IF(sem::jsge(D, S));
  op_JltImm: JUMP_IF(sem::jlt(D, IMM));
  op_JltReg: JUMP_IF(sem::jlt(D, S));
  op_JleImm: JUMP_IF(sem::jle(D, IMM));
  op_JleReg: JUMP_IF(sem::jle(D, S));
  op_JsltImm: JUMP_IF(sem::jslt(D, IMM));
  op_JsltReg: JUMP_IF(sem::jslt(D, S));
  op_JsleImm: JUMP_IF(sem::jsle(D, IMM));
  op_JsleReg: JUMP_IF(sem::jsle(D, S));
  op_Jeq32Imm: JUMP_IF(sem::jeq32(D, IMM));
  op_Jeq32Reg: JUMP_IF(sem::jeq32(D, S));
  op_Jgt32Imm: JUMP_IF(sem::jgt32(D, IMM));
  op_Jgt32Reg: JUMP_IF(sem::jgt32(D, S));
  op_Jge32Imm: JUMP_IF(sem::jge32(D, IMM));
  op_Jge32Reg: JUMP_IF(sem::jge32(D, S));
  op_Jset32Imm: JUMP_IF(sem::jset32(D, IMM));
  op_Jset32Reg: JUMP_IF(sem::jset32(D, S));
  op_Jne32Imm: JUMP_IF(sem::jne32(D, IMM));
  op_Jne32Reg: JUMP_IF(sem::jne32(D, S));
  op_Jsgt32Imm: JUMP_IF(sem::jsgt32(D, IMM));
  op_Jsgt32Reg: JUMP_IF(sem::jsgt32(D, S));
  op_Jsge32Imm: JUMP_IF(sem::jsge32(D, IMM));
  op_Jsge32Reg: JUMP_IF(sem::jsge32(D, S));
  op_Jlt32Imm: JUMP_IF(sem::jlt32(D, IMM));
  op_Jlt32Reg: JUMP_IF(sem::jlt32(D, S));
  op_Jle32Imm: JUMP_IF(sem::jle32(D, IMM));
  op_Jle32Reg: JUMP_IF(sem::jle32(D, S));
  op_Jslt32Imm: JUMP_IF(sem::jslt32(D, IMM));
  op_Jslt32Reg: JUMP_IF(sem::jslt32(D, S));
  op_Jsle32Imm: JUMP_IF(sem::jsle32(D, IMM));
  op_Jsle32Reg: JUMP_IF(sem::jsle32(D, S));
  op_CallHelper:
    if (pc->aux.helper == nullptr) FAULT(UnknownHelper, IMM);
    CALL_HELPER(pc->aux.helper, IMM);
  op_Callx: {
    // The conformance suite's callx: dst holds a helper id (not an address, as in Linux JITs).
    HelperFn fn = m.helpers->find(D);
    if (fn == nullptr) FAULT(UnknownHelper, D);
    CALL_HELPER(fn, D);
  }
  op_CallLocal:
    if (!push_frame(calls, reg, pc + 1)) FAULT(CallDepth, 0);
    if constexpr (Checked) enter_checked_frame(m.ctx, reg[10], calls.depth, zeroed_frames);
    pc = pc->aux.target; DISPATCH;
  op_CallKfunc: FAULT(Kfunc, IMM);
  op_Exit:
    if (calls.depth == 0) goto stop;
    pc = pop_frame(calls, reg);
    if constexpr (Checked) m.ctx.stack_begin = reg[10] - kStackSize;
    DISPATCH;
  // lddw loads its joined immediate whatever the pseudo source: the loader has already
  // replaced map fds and indices with addresses, as Linux's verifier does before running.
  op_Lddw: LDDW;
  op_LddwMapFd: LDDW;
  op_LddwMapValue: LDDW;
  op_LddwBtfId: LDDW;
  op_LddwFunc: LDDW;
  op_LddwMapIdx: LDDW;
  op_LddwMapIdxValue: LDDW;
  op_LdAbsB: LD_PACKET(uint8_t, pc->imm);
  op_LdIndB: LD_PACKET(uint8_t, ind_offset(S, pc->imm));
  op_LdAbsH: LD_PACKET(uint16_t, pc->imm);
  op_LdIndH: LD_PACKET(uint16_t, ind_offset(S, pc->imm));
  op_LdAbsW: LD_PACKET(uint32_t, pc->imm);
  op_LdIndW: LD_PACKET(uint32_t, ind_offset(S, pc->imm));
  op_LdxB: LDX(load, uint8_t);
  op_StB: STORE(uint8_t, IMM);
  op_StxB: STORE(uint8_t, S);
  op_LdxsB: LDX(load_sx, int8_t);
  op_LdxH: LDX(load, uint16_t);
  op_StH: STORE(uint16_t, IMM);
  op_StxH: STORE(uint16_t, S);
  op_LdxsH: LDX(load_sx, int16_t);
  op_LdxW: LDX(load, uint32_t);
  op_StW: STORE(uint32_t, IMM);
  op_StxW: STORE(uint32_t, S);
  op_LdxsW: LDX(load_sx, int32_t);
  op_LdxDW: LDX(load, uint64_t);
  op_StDW: STORE(uint64_t, IMM);
  op_StxDW: STORE(uint64_t, S);
  op_AtomicAdd32: ATOMIC(uint32_t, sem::atomic_add<uint32_t>(a_, S));
  op_AtomicFetchAdd32: ATOMIC(uint32_t, S = sem::atomic_fetch_add<uint32_t>(a_, S));
  op_AtomicOr32: ATOMIC(uint32_t, sem::atomic_or<uint32_t>(a_, S));
  op_AtomicFetchOr32: ATOMIC(uint32_t, S = sem::atomic_fetch_or<uint32_t>(a_, S));
  op_AtomicAnd32: ATOMIC(uint32_t, sem::atomic_and<uint32_t>(a_, S));
  op_AtomicFetchAnd32: ATOMIC(uint32_t, S = sem::atomic_fetch_and<uint32_t>(a_, S));
  op_AtomicXor32: ATOMIC(uint32_t, sem::atomic_xor<uint32_t>(a_, S));
  op_AtomicFetchXor32: ATOMIC(uint32_t, S = sem::atomic_fetch_xor<uint32_t>(a_, S));
  op_AtomicXchg32: ATOMIC(uint32_t, S = sem::atomic_xchg<uint32_t>(a_, S));
  op_AtomicCmpxchg32: ATOMIC(uint32_t, reg[0] = sem::atomic_cmpxchg<uint32_t>(a_, reg[0], S));
  op_AtomicAdd64: ATOMIC(uint64_t, sem::atomic_add<uint64_t>(a_, S));
  op_AtomicFetchAdd64: ATOMIC(uint64_t, S = sem::atomic_fetch_add<uint64_t>(a_, S));
  op_AtomicOr64: ATOMIC(uint64_t, sem::atomic_or<uint64_t>(a_, S));
  op_AtomicFetchOr64: ATOMIC(uint64_t, S = sem::atomic_fetch_or<uint64_t>(a_, S));
  op_AtomicAnd64: ATOMIC(uint64_t, sem::atomic_and<uint64_t>(a_, S));
  op_AtomicFetchAnd64: ATOMIC(uint64_t, S = sem::atomic_fetch_and<uint64_t>(a_, S));
  op_AtomicXor64: ATOMIC(uint64_t, sem::atomic_xor<uint64_t>(a_, S));
  op_AtomicFetchXor64: ATOMIC(uint64_t, S = sem::atomic_fetch_xor<uint64_t>(a_, S));
  op_AtomicXchg64: ATOMIC(uint64_t, S = sem::atomic_xchg<uint64_t>(a_, S));
  op_AtomicCmpxchg64: ATOMIC(uint64_t, reg[0] = sem::atomic_cmpxchg<uint64_t>(a_, reg[0], S));
  // clang-format on

after_helper:
  // A fault inside a callback is already recorded where it happened.
  if (m.fault.kind != FaultKind::None) goto stop;
  if (!m.ctx.fault.empty()) FAULT(HelperFault, helper_id);
  // bpf_tail_call succeeded. From a called function or a callback, the target takes that
  // function's place: its r0 is the function's result (run_tail_call_target).
  if (calls.depth != 0 || m.entry_r10 != m.stack_top) {
    const void* target = m.ctx.tail_call;
    m.ctx.tail_call = nullptr;
    if (!run_tail_call_target(m, target, reg, remaining, reg[0])) FAULT(HelperFault, helper_id);
    if (calls.depth == 0) goto stop;  // a callback's function returns to its helper
    pc = pop_frame(calls, reg);
    if constexpr (Checked) m.ctx.stack_begin = reg[10] - kStackSize;
    DISPATCH;
  }
  // From the main function, the target runs from its first instruction with the same
  // registers and stack frame, and never returns here (Linux's JMP_TAIL_CALL).
  pc = m.enter_program(m, m.ctx.tail_call);
  m.ctx.tail_call = nullptr;
  DISPATCH;
packet_exit:
  // Linux: a legacy packet load outside the packet ends the program with r0 = 0.
  reg[0] = 0;
  goto stop;
budget_exhausted:
  m.fault = {FaultKind::Budget, static_cast<size_t>(pc - m.base), 0};
  m.remaining = 0;
  return reg[0];
stop:
  m.remaining = remaining;
  return reg[0];

#undef D
#undef S
#undef IMM
#undef DISPATCH
#undef NEXT
#undef JUMP_IF
#undef CHECK_ACCESS
#undef CHECK_ATOMIC
#undef LDX
#undef STORE
#undef ATOMIC
#undef LD_PACKET
#undef LDDW
#undef FAULT
#undef CALL_HELPER
}

template uint64_t execute<false>(const Slot*, Machine&);
template uint64_t execute<true>(const Slot*, Machine&);

}  // namespace pollen::vm::detail

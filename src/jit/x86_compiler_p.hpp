// SPDX-License-Identifier: MIT
// The x86-64 code generator's shared state and vocabulary: the BPF-to-host register map, the
// operand helpers (state fields, blinded immediates, short constant loads), deferred cold code
// (fault stubs, slow paths), and one lowering function per operand form of opcodes.def. The
// driver (x86_compiler.cpp) lays out functions, basic blocks and the instruction counting; the
// lowering functions live in x86_alu.cpp, x86_memory.cpp and x86_control.cpp. The only files
// that include asmjit. Private to src/jit.
#pragma once

#include <asmjit/x86.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "isa/isa.hpp"
#include "jit/jit.hpp"
#include "jit/state_p.hpp"
#include "pollen/result.hpp"
#include "vm/abi.hpp"
#include "vm/fault.hpp"

namespace pollen::jit::x86 {

using asmjit::Label;
using asmjit::x86::Gp;
using asmjit::x86::Mem;
using vm::detail::FaultKind;

/// The operation of an ALU or ALU64 row: the high nibble of its opcode (RFC 9669, section 4.1).
enum class AluOp : uint8_t { Add, Sub, Mul, Div, Or, And, Lsh, Rsh, Neg, Mod, Xor, Mov, Arsh, End };
inline constexpr AluOp alu_op(const isa::OpInfo& info) {
  return static_cast<AluOp>(info.opcode >> 4);
}

// Fields of JitState the code reaches from several places.
inline constexpr size_t kRemaining = offsetof(detail::JitState, remaining);
inline constexpr size_t kEntryRsp = offsetof(detail::JitState, entry_rsp);
inline constexpr size_t kCtx = offsetof(detail::JitState, ctx);
inline constexpr size_t kCtxStackBegin = kCtx + offsetof(vm::RunContext, stack_begin);

/// Records the first error asmjit reports, so that emission can go on unchecked and compile()
/// fails once at the end.
class ErrorCollector : public asmjit::ErrorHandler {
 public:
  void handleError(asmjit::Error error, const char* message, asmjit::BaseEmitter*) override;
  asmjit::Error error = asmjit::kErrorOk;
  std::string message;
};

class Compiler {
 public:
  Compiler(std::span<const isa::Insn> prog, const vm::HelperTable& helpers,
           const JitOptions& options);
  Compiler(const Compiler&) = delete;
  Compiler& operator=(const Compiler&) = delete;

  /// Emits the whole program; fails with the first error asmjit reported.
  Result<void> emit();
  asmjit::CodeHolder& code() { return code_; }
  std::string listing() const { return logger_.data(); }
  /// After emit(): where a tail call continues, the CallbackFn stub, and each function's entry
  /// (invalid for the main function) by its start slot.
  Label tail_entry() const { return tail_entry_; }
  Label callback_entry() const { return callback_entry_; }
  std::vector<std::pair<size_t, Label>> function_entries() const;

 private:
  struct Function {
    size_t begin;     ///< first slot
    size_t end;       ///< one past its last slot
    uint16_t writes;  ///< BPF registers its instructions write (bit r)
  };

  // --- Driver (x86_compiler.cpp) ---------------------------------------------------------
  void analyse();
  std::vector<uint32_t> cycles() const;  ///< by slot: its strongly connected component
  void analyse_liveness(const Function& f);
  void emit_function(size_t f);
  void emit_block(size_t begin, size_t end);
  void emit_range(size_t begin, size_t end, bool precise);
  void emit_insn(size_t slot);
  /// With JitOptions::listing: the instruction at `slot`, as a comment in the listing.
  void list_insn(size_t slot);
  void main_prologue();
  void enter_from_host();
  void main_epilogue();
  void emit_callback_entry();
  void callee_prologue(const Function& f);
  void callee_epilogue(const Function& f);
  void zero_new_frames();
  size_t insn_count(size_t begin, size_t end) const;
  size_t function_at(size_t slot) const;

  // --- Cold code and faults (x86_compiler.cpp) --------------------------------------------
  /// A label in the cold section whose code `body` emits once the hot code is done.
  Label cold(std::function<void()> body);
  /// Ends the run with `kind` at the current instruction. With a value, puts it in r11 first;
  /// without, r11 already holds the fault's value (an address, a helper id) or it has none.
  void emit_fault(FaultKind kind, std::optional<uint64_t> value = std::nullopt);
  Label fault_stub(FaultKind kind, std::optional<uint64_t> value = std::nullopt);
  /// Ends the run with r0 = 0, as a legacy packet load outside the packet does.
  Label packet_exit_stub();
  /// The checked-mode routine that asks RunContext::allows() about [r11, r11 + size).
  Label slow_check();

  // --- Operands (x86_compiler.cpp) --------------------------------------------------------
  static Gp reg(uint8_t bpf_reg);
  static Gp sized(const Gp& r, int bytes);
  static Gp width(const Gp& r, bool wide) { return sized(r, wide ? 8 : 4); }
  static Mem state(size_t offset, uint32_t size = 8);
  void mov_imm(const Gp& dst, uint64_t value);
  /// `into` (r11 by default) = imm, sign-extended when wide, without imm appearing in the code;
  /// returns `into` at the width used.
  Gp blinded(int32_t imm, bool wide, const Gp& into = asmjit::x86::r11);
  void mov_blinded(const Gp& dst, uint64_t value);

  // --- Lowering: one function per operand form of opcodes.def ----------------------------
  // x86_alu.cpp
  size_t fuse(size_t slot, size_t end);
  void lower_AluImm(const isa::Decoded& d);
  void lower_AluReg(const isa::Decoded& d);
  void lower_AluNeg(const isa::Decoded& d);
  void lower_Endian(const isa::Decoded& d);
  void lower_MovsxReg(const isa::Decoded& d);
  void lower_Lddw(const isa::Decoded& d);
  void alu_imm(AluOp op, bool wide, bool is_signed, const Gp& dst, int32_t imm);
  void alu_reg(AluOp op, bool wide, bool is_signed, const Gp& dst, const Gp& src);
  void mul_imm(bool wide, const Gp& dst, uint64_t value);
  void divmod_imm(AluOp op, bool wide, bool is_signed, const Gp& dst, uint64_t value);
  void divide(AluOp op, bool wide, bool is_signed, const Gp& dst, const Gp& src);
  void shift_imm(AluOp op, bool wide, const Gp& dst, uint32_t count);
  void shift_reg(AluOp op, bool wide, const Gp& dst, const Gp& src);
  void zero_extend(const Gp& dst, bool wide);
  // x86_memory.cpp
  void lower_Ldx(const isa::Decoded& d);
  void lower_St(const isa::Decoded& d);
  void lower_Stx(const isa::Decoded& d);
  void lower_Atomic(const isa::Decoded& d);
  void lower_LdAbs(const isa::Decoded& d);
  void lower_LdInd(const isa::Decoded& d);
  Mem access(uint8_t base, int16_t off, int size, bool write, bool atomic);
  void bounds_check(const Mem& m, int size, bool write);
  void atomic_fetch_loop(AluOp op, const Mem& m, int size, const Gp& src);
  void load_packet(int size, std::optional<int32_t> constant_offset);
  // x86_control.cpp
  void lower_JmpImm(const isa::Decoded& d);
  void lower_JmpReg(const isa::Decoded& d);
  void lower_Ja(const isa::Decoded& d);
  void lower_Ja32(const isa::Decoded& d);
  void lower_CallHelper(const isa::Decoded& d);
  void lower_CallLocal(const isa::Decoded& d);
  void lower_CallKfunc(const isa::Decoded& d);
  void lower_Callx(const isa::Decoded& d);
  void lower_Exit(const isa::Decoded& d);
  void call_helper(const asmjit::Operand& target, const std::function<void()>& fault_value,
                   bool may_tail_call);
  void after_helper_event(const std::vector<Gp>& kept, bool pad,
                          const std::function<void()>& fault_value);
  bool inline_array_lookup();

  std::span<const isa::Insn> prog_;
  const vm::HelperTable& helpers_;
  JitOptions options_;
  bool bmi2_;

  asmjit::CodeHolder code_;
  asmjit::StringLogger logger_;
  ErrorCollector errors_;
  asmjit::x86::Assembler a_;
  asmjit::Section* cold_ = nullptr;

  std::vector<std::optional<isa::Decoded>> insns_;  ///< by slot; empty for lddw's second slot
  std::vector<Label> labels_;       ///< by slot: jump targets, and block starts when counting
  std::vector<bool> block_start_;   ///< by slot
  std::vector<uint8_t> loop_head_;  ///< by slot: a small loop's head: its alignment, or 0
  std::vector<uint16_t> live_out_;  ///< by slot: BPF registers read after it before a write
  std::vector<Function> functions_;
  std::vector<Label> entries_;                   ///< by function: where a local call enters it
  std::vector<std::function<void()>> deferred_;  ///< cold code, emitted after the hot code
  Label fault_exit_, stop_, packet_exit_, slow_check_, tail_entry_, callback_entry_;

  /// A local call or a callback names the main function: it is compiled as a callee too.
  bool main_is_called_ = false;
  size_t cur_ = 0;       ///< slot of the instruction being lowered
  size_t next_ = 0;      ///< slot after it
  size_t function_ = 0;  ///< the function it belongs to
  uint64_t refund_ = 0;  ///< counting: instructions of its block after it, given back on exit
  std::mt19937_64 rng_;  ///< constant blinding keys
};

}  // namespace pollen::jit::x86

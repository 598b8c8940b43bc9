// SPDX-License-Identifier: MIT
// The per-instruction half of the verifier: given the state before an instruction, check what
// must hold for it to be safe and compute the state(s) after it. One function per instruction
// kind (dispatch on the operand form from opcodes.def, so a new form does not compile until it
// is handled here); the rules are Linux's do_check() for a privileged load, with the
// exceptions documented where they are made. The path exploration (analyzer.cpp) calls step()
// and decides what to explore next.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/cfg.hpp"
#include "verifier/program_types.hpp"
#include "verifier/state.hpp"

namespace pollen::verifier {

struct Options {
  /// Linux's BPF_COMPLEXITY_LIMIT_INSNS: instructions processed over all paths.
  uint64_t max_insns_processed = 1'000'000;
  /// Raw programs: the bytes r1 points to; r2 holds the same number.
  uint32_t raw_memory_size = 0;
  /// Keep the path that led to a rejection.
  bool record_path = false;
};

/// An argument of a global function, from its BTF prototype (Linux's btf_prepare_func_args).
struct GlobalArg {
  enum class Kind : uint8_t {
    Scalar,       ///< an integer or enum
    Ctx,          ///< a pointer to the program type's context structure
    MemOrNull,    ///< a pointer to `size` bytes, or null
    Unsupported,  ///< anything else: Linux refuses the function
  } kind = Kind::Scalar;
  uint32_t size = 0;
};

/// A function of the program as BTF func_info describes it (the loader's FuncInfo).
struct FunctionInfo {
  uint32_t insn = 0;    ///< its first instruction
  bool global = false;  ///< BTF_FUNC_GLOBAL linkage (else static)
  /// Global functions: the arguments and whether it returns nothing (void).
  std::array<GlobalArg, 5> args{};
  uint8_t arg_count = 0;
  bool returns_void = false;
};

/// One context load or store, for the rewrite to the runtime's context (ctx_rewrite.hpp).
struct CtxAccess {
  uint32_t insn = 0;
  const CtxField* field = nullptr;  ///< the field touched (Fields model)
  uint16_t offset = 0;              ///< the byte offset accessed in Linux's context
};

/// What the analysis learns for the stages after it.
struct Facts {
  std::vector<CtxAccess> ctx_accesses;  ///< sorted by insn once the analysis ends
  uint32_t max_ctx_offset = 0;          ///< Buffer contexts: the end of the furthest access
  std::vector<uint32_t> stack_depth;    ///< by function: bytes of stack it uses
  std::vector<uint32_t> function_starts;  ///< by function: its first instruction
  /// By function: the stack bytes [first, second) (offsets from r10, negative) that some path
  /// reads before writing them in the function's frame; first == second when there are none.
  /// Linux lets a root load read them (allow_uninit_stack) and they hold whatever the stack
  /// held; Pollen's engines zero them when the function is entered (rewrite_for_run), so that
  /// a program never sees host data or an earlier run's, and reads the same on every engine.
  std::vector<std::pair<int, int>> unwritten_reads;
};

class Checker {
 public:
  Checker(const Cfg& cfg, const ProgramTypeInfo& type, const Platform& platform,
          const Options& options);

  /// What happens after one instruction.
  struct Step {
    enum class Kind : uint8_t { Next, Fork, End, Fail } kind = Kind::Next;
    uint32_t next = 0;           ///< Next, Fork: where the state (fall-through side) goes
    std::optional<State> taken;  ///< Fork: the state of the jump-taken side ...
    uint32_t taken_pc = 0;       ///< ... and where it goes
    std::optional<Failure> failure;
    /// Next: a callback's exit, going back to the helper call that calls it (a loop head).
    bool callback_return = false;

    /// Continue at `pc`.
    static Step to(uint32_t pc) {
      Step s;
      s.next = pc;
      return s;
    }
    /// The path ends (the program exits, or the state cannot happen).
    static Step done() {
      Step s;
      s.kind = Kind::End;
      return s;
    }
  };

  /// Linux's program facts that are not in the program type: the license (gpl_only helpers)
  /// and BPF_F_SLEEPABLE (map types). Set before the analysis.
  std::string_view license = "GPL";
  bool sleepable = false;
  /// The program's func_info when it comes from an object (possibly empty: no BTF); Linux
  /// then wants every callback described there, and static.
  std::optional<std::span<const FunctionInfo>> func_info = std::nullopt;

  /// The state at the program's entry.
  State initial_state();
  /// The state at the entry of global function `f` when it is verified on its own (Linux's
  /// do_check_common for a global subprogram): its arguments as its BTF prototype says.
  State global_entry_state(const FunctionInfo& f);
  /// The global function being verified on its own, or null for the program itself.
  const FunctionInfo* global_entry = nullptr;
  /// The global function at `insn`, if func_info describes one there.
  const FunctionInfo* global_function(uint32_t insn) const;
  /// Checks the instruction at `pc` against `state` and moves `state` past it.
  Step step(State& state, uint32_t pc);
  /// The facts learnt; call once the analysis has ended.
  Facts take_facts();
  /// Linux's check_abnormal_return: without BTF (func_info or line info), a called function
  /// may not make a tail call.
  std::optional<Failure> check_tail_calls_have_btf(bool has_btf) const;
  /// A static rule Linux checks over the whole program: stack frames along every chain of
  /// local calls fit in 512 bytes together, and a function making a tail call has callers
  /// holding less than 256 bytes (check_max_stack_depth).
  std::optional<Failure> check_combined_stack() const;

 private:
  using Kind = Step::Kind;
  struct MemAccess;
  /// Linux's changes_pkt_data of each function: it calls a helper that changes packet data,
  /// makes a tail call (the target may change it), or calls a function that does.
  std::vector<bool> changes_packet_;
  void compute_changes_packet();
  /// The packet may have moved or shrunk: every pointer into it, in every frame and on the
  /// stack, is a number now (Linux: clear_all_pkt_pointers; a root load keeps the bits).
  static void clear_packet_pointers(State& s);
  uint32_t function_end(uint32_t f) const;
  /// The first bpf_tail_call in function `f`, if it has one.
  std::optional<uint32_t> tail_call_in(uint32_t f) const;

  /// The stack bytes an access may touch: [lo, hi) of one frame; `fixed` when exactly [lo, hi).
  struct StackSpan {
    FrameState* frame;
    uint32_t frame_index;
    int lo, hi;
    bool fixed;
  };

  // checker.cpp: failures and common checks
  Step fail(uint32_t pc, const State& s, std::string what, std::initializer_list<int> regs,
            std::string hint = {}) const;
  std::optional<Step> require_init(uint32_t pc, const State& s, int r) const;
  uint32_t new_id() { return ++next_id_; }
  Step next(uint32_t pc) const;

  // check_alu.cpp
  Step check_alu(State& s, uint32_t pc, const isa::Decoded& d);
  Step check_mov(State& s, uint32_t pc, const isa::Decoded& d);
  Step check_unary(State& s, uint32_t pc, const isa::Decoded& d);
  Step check_pointer_alu(State& s, uint32_t pc, const isa::Decoded& d, const RegState& src);
  std::optional<Step> pointer_alu_refusal(uint32_t pc, const State& s, AluOp op, int ptr_reg,
                                          const Scalar& offset, bool dst_ptr) const;
  std::optional<Step> offset_refusal(uint32_t pc, const State& s, const RegState& ptr,
                                     const Scalar& v, int ptr_reg, int off_reg) const;
  Step check_lddw(State& s, uint32_t pc, const isa::Decoded& d);

  // check_mem.cpp
  Step check_load(State& s, uint32_t pc, const isa::Decoded& d);
  Step check_store(State& s, uint32_t pc, const isa::Decoded& d);
  Step check_atomic(State& s, uint32_t pc, const isa::Decoded& d);
  std::optional<Step> check_access(State& s, const MemAccess& a, RegState* loaded);
  std::optional<Step> access_stack(State& s, const MemAccess& a, RegState* loaded);
  std::optional<Step> stack_store(State& s, const MemAccess& a, const StackSpan& span);
  /// Notes the bytes of [lo, hi) of `frame` never written on this path (unwritten_reads).
  void note_unwritten_read(const FrameState& frame, int lo, int hi);
  std::optional<Step> stack_load(State& s, const MemAccess& a, const StackSpan& span,
                                 RegState* loaded);
  std::optional<Step> access_ctx(State& s, const MemAccess& a, RegState* loaded);
  std::optional<Step> access_packet(State& s, const MemAccess& a, RegState* loaded);
  std::optional<Step> access_sized(State& s, const MemAccess& a, RegState* loaded);
  std::optional<Step> note_pointer_class(uint32_t pc, const State& s, int reg, bool ctx);

  /// Helper memory arguments: a read or write of [0, size) at register `reg`, where size is
  /// in [min_size, max_size].
  std::optional<Step> check_helper_memory(State& s, uint32_t pc, int reg, uint64_t min_size,
                                          uint64_t max_size, bool write);
  std::optional<Step> helper_stack_memory(State& s, uint32_t pc, int reg, uint64_t min_size,
                                          uint64_t max_size, bool write);

  // check_jmp.cpp
  Step check_cond_jump(State& s, uint32_t pc, const isa::Decoded& d);
  Step scalar_branch(State& s, uint32_t pc, const isa::Decoded& d, RegState b);
  Step pointer_branch(State& s, uint32_t pc, const isa::Decoded& d, const RegState& b);
  Step fork(State& s, uint32_t pc, const isa::Decoded& d, std::optional<State> taken,
            std::optional<State> fallthrough);

  // check_call.cpp
  Step check_helper_call(State& s, uint32_t pc, const isa::Decoded& d);
  Step check_local_call(State& s, uint32_t pc, const isa::Decoded& d);
  Step check_exit(State& s, uint32_t pc);
  Step check_callback_exit(State& s, uint32_t pc);
  Step check_global_call(State& s, uint32_t pc, const FunctionInfo& f);
  Step check_callback_call(State& s, State before, uint32_t pc, const helpers::HelperProto& p,
                           const std::optional<uint32_t>& map);
  std::optional<Step> check_call_rules(const State& s, uint32_t pc, const helpers::HelperProto& p);
  std::optional<Step> check_func_arg(State& s, uint32_t pc, const helpers::HelperProto& p, int r);
  std::optional<Step> check_release_arg(State& s, uint32_t pc, const helpers::HelperProto& p,
                                        int r);
  std::optional<Step> check_spin_lock_arg(State& s, uint32_t pc, const helpers::HelperProto& p,
                                          int r);
  std::optional<Step> check_const_str_arg(State& s, uint32_t pc, const helpers::HelperProto& p,
                                          int r);
  std::optional<Step> check_map_program_rules(const State& s, uint32_t pc, uint32_t map) const;
  bool in_bounds_key(const State& s, uint32_t map) const;
  void set_return(State& s, uint32_t pc, const helpers::HelperProto& p,
                  const std::optional<uint32_t>& map);
  Step check_legacy_load(State& s, uint32_t pc, const isa::Decoded& d);
  std::optional<Step> check_helper_args(State& s, uint32_t pc, const helpers::HelperProto& p,
                                        std::optional<uint32_t>& map);
  std::optional<Step> check_helper_arg(State& s, uint32_t pc, const helpers::HelperProto& p, int r,
                                       std::optional<uint32_t>& map);
  std::optional<Step> check_map_compatibility(const State& s, uint32_t pc,
                                              const helpers::HelperProto& p, int r,
                                              uint32_t map) const;
  std::optional<Step> check_map_arg(State& s, uint32_t pc, const helpers::HelperProto& p, int r,
                                    const std::optional<uint32_t>& map);
  std::optional<Step> check_size_arg(State& s, uint32_t pc, const helpers::HelperProto& p, int r);

  const Cfg& cfg_;
  const ProgramTypeInfo& type_;
  const Platform& platform_;
  const Options& options_;
  uint32_t next_id_ = 0;
  /// The helper being checked may be given packet memory (Linux's pkt_access).
  bool helper_packet_access_ = false;
  /// The helper being checked: its reference argument (released), its allocation size.
  uint32_t release_ref_ = 0;
  uint64_t alloc_size_ = 0;
  Facts facts_;
  /// By slot: 0 not a memory access yet, 1 through the context, 2 through another pointer.
  std::vector<uint8_t> pointer_class_;
  /// By slot: the context field a context access touched, and the offset it used.
  std::vector<const CtxField*> ctx_field_;
  std::vector<uint16_t> ctx_offset_;
};

}  // namespace pollen::verifier

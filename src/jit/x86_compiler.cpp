// SPDX-License-Identifier: MIT
// The x86-64 code generator's driver. A program is emitted function by function, each as its
// basic blocks in program order, so that the hot path falls through as the BPF code does; fault
// stubs and slow paths go to a cold section after all hot code. Every BPF register lives in a
// host register for the whole run (the map is Linux's arch/x86/net/bpf_jit_comp.c reg2hex), the
// per-run state is reached through r12, and r9-r11 are scratch. Two entries besides the main
// one: after the main function's prologue, where a tail call's jump lands, and the callback stub
// through which the engine runs a function as bpf_loop's callback.
//
// Counting (JitOptions::count_insns) is per basic block: a block of N instructions subtracts N
// from the remaining budget on entry. When fewer than N remain, it runs instead a cold copy of
// itself that counts one instruction at a time, so that the budget runs out at exactly the
// interpreter's instruction, with exactly its side effects. An exit from the middle of a block
// (a fault, a packet load outside the packet) gives back the instructions it did not run.
#include "jit/x86_compiler_p.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>

#include "isa/disassembler.hpp"
#include "jit/backend_p.hpp"

namespace pollen::jit::x86 {

namespace asmx = asmjit::x86;
using detail::JitState;

namespace {

// Linux's reg2hex: r1-r5 are SysV's argument registers in order, so a helper call needs no
// moves; r6-r9 and r10 are callee-saved, so helpers keep them.
constexpr Gp kRegs[11] = {asmx::rax, asmx::rdi, asmx::rsi, asmx::rdx, asmx::rcx, asmx::r8,
                          asmx::rbx, asmx::r13, asmx::r14, asmx::r15, asmx::rbp};
// The state register (callee-saved, so helpers keep it too).
constexpr Gp kState = asmx::r12;
// Host registers the prologue saves (SysV callee-saved).
constexpr Gp kSaved[] = {asmx::rbx, asmx::rbp, asmx::r12, asmx::r13, asmx::r14, asmx::r15};

// BPF registers an instruction surely writes (bit r), for liveness: dst as isa::writes_dst()
// says, and r0 for the legacy packet loads and helper calls (a kfunc call never returns).
uint16_t defines(const isa::Decoded& d) {
  if (isa::writes_dst(d.op)) return static_cast<uint16_t>(1u << d.dst);
  switch (d.info().form) {
    case isa::Form::LdAbs:
    case isa::Form::LdInd:
    case isa::Form::CallHelper:
    case isa::Form::Callx: return 1u;
    default: return 0;
  }
}

// BPF registers an instruction may write (bit r), for the r6-r9 a callee must save: those it
// surely writes, and the fetching atomics' src (cmpxchg's r0).
uint16_t writes(const isa::Decoded& d) {
  if (d.info().form == isa::Form::Atomic) return static_cast<uint16_t>(1u << d.src | 1u);
  if (d.info().form == isa::Form::CallKfunc) return 1u;
  return defines(d);
}

// BPF registers an instruction may read (bit r), for liveness. A local call and a callee's
// exit let another function run, which may read any register.
uint16_t reads(const isa::Decoded& d, bool in_main) {
  constexpr uint16_t kAll = 0x7ff, kArgs = 0x3e;
  const auto dst = static_cast<uint16_t>(1u << d.dst), src = static_cast<uint16_t>(1u << d.src);
  switch (d.info().form) {
    case isa::Form::AluImm: return alu_op(d.info()) == AluOp::Mov ? 0 : dst;
    case isa::Form::AluReg: return alu_op(d.info()) == AluOp::Mov ? src : dst | src;
    case isa::Form::AluNeg:
    case isa::Form::Endian:
    case isa::Form::St:
    case isa::Form::JmpImm: return dst;
    case isa::Form::MovsxReg:
    case isa::Form::Ldx:
    case isa::Form::LdInd: return src;
    case isa::Form::Stx:
    case isa::Form::JmpReg: return dst | src;
    case isa::Form::Atomic: return dst | src | 1u;  // cmpxchg compares with r0
    case isa::Form::CallHelper: return kArgs;
    case isa::Form::Callx: return kArgs | dst;
    case isa::Form::CallLocal: return kAll;
    case isa::Form::Exit: return in_main ? 1u : kAll;
    default: return 0;
  }
}

// The longest backward jumps (in instructions) whose target is aligned as a loop's head: to
// 16 bytes, and to a whole cache line.
constexpr size_t kAlignedLoopSpan = 32;
constexpr size_t kLineAlignedLoopSpan = 16;

// Instructions after which a new basic block starts. When counting, a helper call ends one too:
// a callback it runs spends the same budget, which must not hold the instructions after the
// call before they run.
bool ends_block(const isa::Decoded& d, bool counting) {
  switch (d.info().form) {
    case isa::Form::JmpImm:
    case isa::Form::JmpReg:
    case isa::Form::Ja:
    case isa::Form::Ja32:
    case isa::Form::Exit:
    case isa::Form::CallLocal: return true;
    case isa::Form::CallHelper:
    case isa::Form::Callx: return counting;
    default: return false;
  }
}

// Called by the generated code: checked mode's slow bounds check, for what the inline checks
// of the first region and the stack did not allow. `size_write` is size | write << 4.
bool region_allows(const JitState* st, uint64_t addr, uint32_t size_write) {
  return st->ctx.allows(addr, size_write & 0xf, (size_write >> 4) != 0);
}

}  // namespace

void ErrorCollector::handleError(asmjit::Error error, const char* message, asmjit::BaseEmitter*) {
  if (this->error != asmjit::kErrorOk) return;
  this->error = error;
  this->message = message;
}

Compiler::Compiler(std::span<const isa::Insn> prog, const vm::HelperTable& helpers,
                   const JitOptions& options)
    : prog_(prog),
      helpers_(helpers),
      options_(options),
      bmi2_(options.use_bmi2 && asmjit::CpuInfo::host().features().x86().hasBMI2()) {
  // Only blinding needs randomness, and seeding from the OS costs a system call.
  if (options_.harden) rng_.seed(std::random_device{}());
  code_.init(asmjit::Environment::host());
  code_.setErrorHandler(&errors_);
  if (options_.listing) {
    logger_.addFlags(asmjit::FormatFlags::kMachineCode | asmjit::FormatFlags::kHexImms |
                     asmjit::FormatFlags::kHexOffsets);
    // BPF instructions (comments) flush left; the machine code that implements each is indented
    // under it, with its bytes after the ';'.
    logger_.setIndentation(asmjit::FormatIndentationGroup::kCode, 8);
    logger_.setIndentation(asmjit::FormatIndentationGroup::kLabel, 4);
    code_.setLogger(&logger_);
  }
  code_.attach(&a_);
  code_.newSection(&cold_, ".cold", SIZE_MAX, asmjit::SectionFlags::kExecutable, 1, 1);
}

Result<void> Compiler::emit() {
  analyse();
  deferred_.reserve(prog_.size());
  fault_exit_ = a_.newLabel();
  stop_ = a_.newLabel();
  tail_entry_ = a_.newLabel();
  callback_entry_ = a_.newLabel();
  for (size_t f = 0; f < functions_.size(); ++f) emit_function(f);
  // Every run that faults ends here: r10 holds fault_word(), r11 the fault's value. Within a
  // callback, entry_rsp is its stub's, so the fault returns to the engine that called it.
  a_.section(cold_);
  if (options_.listing) a_.comment("; every fault ends here");
  a_.bind(fault_exit_);
  a_.mov(state(offsetof(JitState, fault_word)), asmx::r10);
  a_.mov(state(offsetof(JitState, fault_value)), asmx::r11);
  a_.bind(stop_);
  a_.mov(asmx::rsp, state(kEntryRsp));
  main_epilogue();
  emit_callback_entry();
  // Deferred code may defer more (the precise copy of a block has fault stubs of its own), so
  // each is moved out before it runs: the vector may grow under it.
  for (size_t i = 0; i < deferred_.size(); ++i) {
    std::function<void()> body = std::move(deferred_[i]);
    body();
  }
  if (errors_.error != asmjit::kErrorOk)
    return make_error(Errc::NotSupported, Location::none(),
                      fmt::format("JIT: asmjit error {}: {}", errors_.error, errors_.message));
  return {};
}

void Compiler::analyse() {
  const size_t n = prog_.size();
  insns_.resize(n);
  labels_.resize(n);
  block_start_.assign(n, false);
  loop_head_.assign(n, 0);
  std::vector<std::pair<size_t, size_t>> back_jumps;
  for (size_t slot = 0; slot < n;) {
    insns_[slot] = *isa::decode(prog_, slot);  // validate() passed: every slot decodes
    slot += isa::is_wide(insns_[slot]->op) ? 2 : 1;
  }
  std::vector<size_t> starts = isa::function_starts(prog_);
  for (size_t slot = 0; slot < n; ++slot) {
    const std::optional<isa::Decoded>& d = insns_[slot];
    if (d && isa::function_target(prog_[slot], d->op, slot) == 0) main_is_called_ = true;
  }
  for (size_t f = 0; f < starts.size(); ++f) {
    functions_.push_back({starts[f], f + 1 < starts.size() ? starts[f + 1] : n, 0});
    entries_.push_back(a_.newLabel());
    block_start_[starts[f]] = true;
  }
  for (size_t slot = 0; slot < n; ++slot) {
    if (!insns_[slot]) continue;
    const isa::Decoded& d = *insns_[slot];
    functions_[function_at(slot)].writes |= writes(d);
    size_t next = slot + (isa::is_wide(d.op) ? 2 : 1);
    if (ends_block(d, options_.count_insns) && next < n) block_start_[next] = true;
    if (d.op == isa::Op::CallLocal) continue;
    if (std::optional<int64_t> target = isa::branch_target(d, slot)) {
      block_start_[static_cast<size_t>(*target)] = true;
      if (static_cast<size_t>(*target) <= slot)
        back_jumps.emplace_back(slot, static_cast<size_t>(*target));
      labels_[static_cast<size_t>(*target)] = a_.newLabel();
    }
  }
  // Small loops get their head aligned: up to 16 instructions (about 64 bytes of code) to a
  // cache line, up to 32 to a 16-byte fetch block, so that how they run does not depend on
  // where the code before them happened to end. A backward jump out of its cycle (to a shared
  // `return`) heads no loop, and a bigger loop's head is left where it is: there the padding
  // only spreads the hot code out (a `switch` whose cases clang placed before the dispatch
  // ran 40% slower with its case blocks aligned; bench_compare's switch_dispatch).
  if (!back_jumps.empty()) {
    std::vector<uint32_t> cycle = cycles();
    for (const auto& [from, to] : back_jumps) {
      if (cycle[from] != cycle[to] || from - to > kAlignedLoopSpan) continue;
      uint8_t bytes = from - to <= kLineAlignedLoopSpan ? 64 : 16;
      loop_head_[to] = std::max(loop_head_[to], bytes);
    }
  }
  if (options_.count_insns)
    for (size_t slot = 0; slot < n; ++slot)
      if (block_start_[slot] && !labels_[slot].isValid()) labels_[slot] = a_.newLabel();
  live_out_.assign(n, 0);
  for (const Function& f : functions_) analyse_liveness(f);
}

// By slot: the strongly connected component of the control flow graph it is in (Tarjan's
// algorithm, without recursion), so that a backward jump within one component closes a
// loop, and one out of it (to a shared `return`) does not.
std::vector<uint32_t> Compiler::cycles() const {
  const size_t n = prog_.size();
  constexpr uint32_t kNone = UINT32_MAX;
  auto successors = [&](size_t slot, std::array<size_t, 2>& out) {
    size_t count = 0;
    const isa::Decoded& d = *insns_[slot];
    isa::Form form = d.info().form;
    size_t next = slot + (isa::is_wide(d.op) ? 2 : 1);
    if (form != isa::Form::Exit && form != isa::Form::Ja && form != isa::Form::Ja32 && next < n)
      out[count++] = next;
    if (d.op != isa::Op::CallLocal)
      if (std::optional<int64_t> target = isa::branch_target(d, slot))
        out[count++] = static_cast<size_t>(*target);
    return count;
  };
  std::vector<uint32_t> index(n, kNone), low(n, 0), component(n, kNone);
  std::vector<size_t> stack, work;  // work: slots whose successors are being walked
  std::vector<uint8_t> next_edge(n, 0);
  uint32_t counter = 0, components = 0;
  for (size_t root = 0; root < n; ++root) {
    if (!insns_[root] || index[root] != kNone) continue;
    work.push_back(root);
    while (!work.empty()) {
      size_t v = work.back();
      if (index[v] == kNone) {
        index[v] = low[v] = counter++;
        stack.push_back(v);
      }
      std::array<size_t, 2> succ{};
      size_t count = successors(v, succ);
      if (next_edge[v] < count) {
        size_t w = succ[next_edge[v]++];
        if (index[w] == kNone)
          work.push_back(w);
        else if (component[w] == kNone)
          low[v] = std::min(low[v], index[w]);
        continue;
      }
      work.pop_back();
      if (!work.empty()) low[work.back()] = std::min(low[work.back()], low[v]);
      if (low[v] == index[v]) {
        size_t w;
        do {
          w = stack.back();
          stack.pop_back();
          component[w] = components;
        } while (w != v);
        ++components;
      }
    }
  }
  return component;
}

// Which registers each instruction leaves live, by backward dataflow over the function until
// nothing changes. A helper call clobbers r1-r5 on x86 (SysV); the interpreter keeps them, so
// the JIT saves around a call those that are live after it. A verified program never reads
// them after a call (Linux's verifier marks them unreadable), so for it nothing is saved.
void Compiler::analyse_liveness(const Function& f) {
  const bool in_main = f.begin == 0 && !main_is_called_;
  std::vector<uint16_t> live_in(f.end - f.begin, 0);
  auto in = [&](size_t slot) -> uint16_t { return slot < f.end ? live_in[slot - f.begin] : 0; };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t slot = f.end; slot-- > f.begin;) {
      if (!insns_[slot]) continue;
      const isa::Decoded& d = *insns_[slot];
      const size_t next = slot + (isa::is_wide(d.op) ? 2 : 1);
      std::optional<int64_t> target = isa::branch_target(d, slot);
      uint16_t out = 0;
      if (d.op != isa::Op::Exit && d.op != isa::Op::Ja && d.op != isa::Op::Ja32) out = in(next);
      if (target && d.op != isa::Op::CallLocal) out |= in(static_cast<size_t>(*target));
      live_out_[slot] = out;
      const auto live = static_cast<uint16_t>(reads(d, in_main) | (out & ~defines(d)));
      changed |= live != live_in[slot - f.begin];
      live_in[slot - f.begin] = live;
    }
  }
}

size_t Compiler::function_at(size_t slot) const {
  auto after = std::upper_bound(functions_.begin(), functions_.end(), slot,
                                [](size_t s, const Function& f) { return s < f.begin; });
  return static_cast<size_t>(after - functions_.begin()) - 1;
}

size_t Compiler::insn_count(size_t begin, size_t end) const {
  size_t count = 0;
  for (size_t slot = begin; slot < end; ++slot) count += insns_[slot].has_value();
  return count;
}

void Compiler::emit_function(size_t f) {
  const Function& fn = functions_[f];
  function_ = f;
  if (options_.listing) a_.comment(fmt::format("; function at insn {}", fn.begin).c_str());
  if (f == 0 && !main_is_called_) {
    main_prologue();
    a_.bind(tail_entry_);
  } else if (f == 0) {
    // The main function is also called (recursion, a callback): it is compiled as a callee, and
    // the entry calls it from one frame above the stack top, as a tail call's target does.
    main_prologue();
    a_.bind(tail_entry_);
    a_.add(reg(10), static_cast<int32_t>(vm::kStackSize));
    a_.call(entries_[0]);
    main_epilogue();
    a_.bind(entries_[0]);
    callee_prologue(fn);
  } else {
    a_.bind(entries_[f]);
    callee_prologue(fn);
  }
  for (size_t begin = fn.begin; begin < fn.end;) {
    size_t end = begin + 1;
    while (end < fn.end && !block_start_[end]) ++end;
    emit_block(begin, end);
    begin = end;
  }
}

void Compiler::emit_block(size_t begin, size_t end) {
  if (loop_head_[begin]) a_.align(asmjit::AlignMode::kCode, loop_head_[begin]);
  if (labels_[begin].isValid()) a_.bind(labels_[begin]);
  if (!options_.count_insns) return emit_range(begin, end, false);
  const auto n = static_cast<int32_t>(insn_count(begin, end));
  Label precise = a_.newLabel();
  a_.sub(state(kRemaining), n);
  a_.jb(precise);
  emit_range(begin, end, false);
  const size_t f = function_;
  deferred_.push_back([this, begin, end, n, precise, f] {
    function_ = f;
    a_.bind(precise);
    if (options_.listing)
      a_.comment(
          fmt::format("; insns {}-{} again, counting one by one (budget)", begin, end - 1).c_str());
    a_.add(state(kRemaining), n);
    emit_range(begin, end, true);
    // The hot copy falls through into the next block; this one must jump there.
    size_t last = begin;
    for (size_t slot = begin; slot < end; ++slot) last = insns_[slot] ? slot : last;
    const isa::Decoded& d = *insns_[last];
    bool jumps_away =
        d.op == isa::Op::Exit || ((d.op == isa::Op::Ja || d.op == isa::Op::Ja32) &&
                                  static_cast<size_t>(*isa::branch_target(d, last)) != end);
    if (!jumps_away) a_.jmp(labels_[end]);
  });
}

void Compiler::emit_range(size_t begin, size_t end, bool precise) {
  uint64_t left = insn_count(begin, end);
  for (size_t slot = begin; slot < end; ++slot) {
    if (!insns_[slot]) continue;
    cur_ = slot;
    refund_ = precise ? 0 : --left;
    if (precise) {
      // The interpreter spends a unit of budget before each instruction.
      a_.sub(state(kRemaining), 1);
      a_.jb(fault_stub(FaultKind::Budget));
    } else if (!options_.count_insns) {
      // Counting code keeps one x86 sequence per instruction, to refund exactly.
      if (const size_t used = fuse(slot, end)) {
        slot += used - 1;
        continue;
      }
    }
    emit_insn(slot);
  }
}

void Compiler::list_insn(size_t slot) {
  if (options_.listing)
    a_.comment(fmt::format("{:>4}: {}", slot, isa::format(*insns_[slot], slot, isa::Syntax::Llvm))
                   .c_str());
}

void Compiler::emit_insn(size_t slot) {
  const isa::Decoded& d = *insns_[slot];
  cur_ = slot;
  next_ = slot + (isa::is_wide(d.op) ? 2 : 1);
  list_insn(slot);
  // One case per row of opcodes.def: a row whose form has no lowering does not compile.
  switch (d.op) {
#define POLLEN_OP(id, opcode, sel, sel_value, form, ...) \
  case isa::Op::id:                                      \
    return lower_##form(d);
#include "isa/opcodes.def"
#undef POLLEN_OP
  }
}

// --- Prologues and epilogues ----------------------------------------------------------------

// Entered from C++ with the state in rdi: saves the host's registers, and marks where a fault
// unwinds to.
void Compiler::enter_from_host() {
  for (const Gp& r : kSaved) a_.push(r);
  // Six pushes and the return address: 8 more bytes keep the stack 16-byte aligned for calls.
  a_.sub(asmx::rsp, 8);
  a_.lea(kState, asmx::ptr(asmx::rdi, detail::kStateBias));
  a_.mov(state(kEntryRsp), asmx::rsp);
}

void Compiler::main_prologue() {
  enter_from_host();
  a_.mov(reg(10), state(offsetof(JitState, stack_top)));
  for (uint8_t r = 1; r <= 5; ++r) a_.mov(reg(r), state(offsetof(JitState, args) + 8 * (r - 1)));
  // The interpreter starts r0 and r6-r9 at 0; an unverified program may read them.
  for (uint8_t r : {0, 6, 7, 8, 9}) a_.xor_(reg(r).r32(), reg(r).r32());
}

// The CallbackFn stub: a callback is a local call made from the helper caller's r10, with
// registers as the interpreter starts a callback's run loop (r1-r5 the arguments, the others
// 0). The callee's own prologue moves r10 down a frame and, in checked mode, zeroes it.
void Compiler::emit_callback_entry() {
  if (options_.listing) a_.comment("; callback entry (CallbackFn)");
  a_.bind(callback_entry_);
  enter_from_host();
  a_.mov(asmx::r11, asmx::rsi);
  a_.mov(reg(10), asmx::rdx);
  for (uint8_t r = 1; r <= 5; ++r) a_.mov(reg(r), state(offsetof(JitState, args) + 8 * (r - 1)));
  for (uint8_t r : {0, 6, 7, 8, 9}) a_.xor_(reg(r).r32(), reg(r).r32());
  a_.call(asmx::r11);
  main_epilogue();
}

std::vector<std::pair<size_t, Label>> Compiler::function_entries() const {
  std::vector<std::pair<size_t, Label>> out;
  for (size_t f = 0; f < functions_.size(); ++f)
    out.emplace_back(functions_[f].begin, f == 0 && !main_is_called_ ? Label() : entries_[f]);
  return out;
}

void Compiler::main_epilogue() {
  a_.add(asmx::rsp, 8);
  for (size_t i = std::size(kSaved); i-- > 0;) a_.pop(kSaved[i]);
  a_.ret();
}

// A callee keeps its caller's r6-r9 by saving those it writes (the interpreter's frames save
// them all; only the written ones can change). r10 moves down one frame, as in Linux.
void Compiler::callee_prologue(const Function& f) {
  int pushed = 0;
  for (uint8_t r = 6; r <= 9; ++r)
    if (f.writes & (1u << r)) a_.push(reg(r)), ++pushed;
  // The call pushed 8 bytes: an even number of pushes leaves the stack misaligned by 8.
  if (pushed % 2 == 0) a_.sub(asmx::rsp, 8);
  a_.sub(reg(10), static_cast<int32_t>(vm::kStackSize));
  if (options_.checked) zero_new_frames();
}

// Checked mode: the new frame becomes the bottom of the stack the program may touch; the first
// time a run reaches this depth it is zeroed, as the interpreter does.
void Compiler::zero_new_frames() {
  a_.lea(asmx::r11, asmx::ptr(reg(10), -static_cast<int32_t>(vm::kStackSize)));
  a_.mov(state(kCtxStackBegin), asmx::r11);
  a_.cmp(asmx::r11, state(offsetof(JitState, zeroed_floor)));
  Label back = a_.newLabel();
  a_.jb(cold([this, back] {
    a_.mov(state(offsetof(JitState, zeroed_floor)), asmx::r11);
    a_.mov(asmx::r10d, static_cast<int32_t>(vm::kStackSize - 8));
    Label loop = a_.newLabel();
    a_.bind(loop);
    a_.mov(asmx::qword_ptr(asmx::r11, asmx::r10), 0);
    a_.sub(asmx::r10, 8);
    a_.jns(loop);
    a_.jmp(back);
  }));
  a_.bind(back);
}

void Compiler::callee_epilogue(const Function& f) {
  a_.add(reg(10), static_cast<int32_t>(vm::kStackSize));
  if (options_.checked) {
    a_.lea(asmx::r11, asmx::ptr(reg(10), -static_cast<int32_t>(vm::kStackSize)));
    a_.mov(state(kCtxStackBegin), asmx::r11);
  }
  int pushed = 0;
  for (uint8_t r = 6; r <= 9; ++r) pushed += (f.writes >> r) & 1;
  if (pushed % 2 == 0) a_.add(asmx::rsp, 8);
  for (uint8_t r = 9; r >= 6; --r)
    if (f.writes & (1u << r)) a_.pop(reg(r));
  a_.ret();
}

// --- Cold code and faults ---------------------------------------------------------------------

Label Compiler::cold(std::function<void()> body) {
  Label label = a_.newLabel();
  deferred_.push_back([this, label, body = std::move(body)] {
    a_.bind(label);
    body();
  });
  return label;
}

void Compiler::emit_fault(FaultKind kind, std::optional<uint64_t> value) {
  if (refund_ != 0) a_.add(state(kRemaining), static_cast<int32_t>(refund_));
  if (value) mov_imm(asmx::r11, *value);
  a_.mov(asmx::r10d, detail::fault_word(kind, cur_));
  a_.jmp(fault_exit_);
}

Label Compiler::fault_stub(FaultKind kind, std::optional<uint64_t> value) {
  const size_t insn = cur_;
  const uint64_t refund = refund_;
  return cold([this, kind, value, insn, refund] {
    cur_ = insn;
    refund_ = refund;
    emit_fault(kind, value);
  });
}

Label Compiler::packet_exit_stub() {
  if (!packet_exit_.isValid()) {
    packet_exit_ = cold([this] {
      a_.xor_(asmx::eax, asmx::eax);
      a_.mov(asmx::rsp, state(kEntryRsp));
      main_epilogue();
    });
  }
  if (refund_ == 0) return packet_exit_;
  const auto refund = static_cast<int32_t>(refund_);
  return cold([this, refund] {
    a_.add(state(kRemaining), refund);
    a_.jmp(packet_exit_);
  });
}

Label Compiler::slow_check() {
  if (slow_check_.isValid()) return slow_check_;
  slow_check_ = cold([this] {
    // Keeps every register but r10, which becomes 1 when the access is allowed.
    constexpr Gp kKeep[] = {asmx::rax, asmx::rcx, asmx::rdx, asmx::rsi,
                            asmx::rdi, asmx::r8,  asmx::r9,  asmx::r11};
    for (const Gp& r : kKeep) a_.push(r);
    a_.sub(asmx::rsp, 8);  // called from an aligned stack: 8 + 8 pushes + 8 is aligned again
    a_.lea(asmx::rdi, asmx::ptr(kState, -detail::kStateBias));
    a_.mov(asmx::rsi, asmx::r11);
    a_.mov(asmx::edx, asmx::r10d);
    a_.call(asmjit::Imm(reinterpret_cast<uint64_t>(&region_allows)));
    a_.movzx(asmx::r10d, asmx::al);
    a_.add(asmx::rsp, 8);
    for (size_t i = std::size(kKeep); i-- > 0;) a_.pop(kKeep[i]);
    a_.ret();
  });
  return slow_check_;
}

// --- Operands -----------------------------------------------------------------------------------

Gp Compiler::reg(uint8_t bpf_reg) {
  return kRegs[bpf_reg];
}

Gp Compiler::sized(const Gp& r, int bytes) {
  switch (bytes) {
    case 1: return r.r8Lo();
    case 2: return r.r16();
    case 4: return r.r32();
    default: return r.r64();
  }
}

Mem Compiler::state(size_t offset, uint32_t size) {
  return asmx::ptr(kState, detail::state_disp(offset), size);
}

// The shortest load of a constant: xor for 0, a 32-bit mov (which zero-extends) below 2^32, a
// sign-extended 32-bit immediate, and only then the 10-byte movabs.
void Compiler::mov_imm(const Gp& dst, uint64_t value) {
  if (value == 0)
    a_.xor_(dst.r32(), dst.r32());
  else if (value <= UINT32_MAX)
    a_.mov(dst.r32(), value);
  else
    a_.mov(dst.r64(), static_cast<int64_t>(value));
}

// Constant blinding as Linux's bpf_jit_blind_insn: the code holds imm ^ key and key, with a
// fresh random key per instruction, and XORs them together at run time.
Gp Compiler::blinded(int32_t imm, bool wide, const Gp& into) {
  uint32_t key = 0;
  const auto raw = static_cast<uint32_t>(imm);
  while (key == 0 || key == raw) key = static_cast<uint32_t>(rng_());
  const auto hidden = static_cast<int32_t>(raw ^ key);
  if (!wide) {
    a_.mov(into.r32(), static_cast<uint32_t>(hidden));
    a_.xor_(into.r32(), key);
    return into.r32();
  }
  // Both immediates are sign-extended, so their XOR is imm sign-extended.
  a_.mov(into.r64(), static_cast<int64_t>(hidden));
  a_.xor_(into.r64(), static_cast<int64_t>(static_cast<int32_t>(key)));
  return into.r64();
}

// lddw's 64-bit immediate, blinded: neither half of the value, nor the value, appears.
void Compiler::mov_blinded(const Gp& dst, uint64_t value) {
  auto halves = [](uint64_t v) { return std::array<uint32_t, 2>{uint32_t(v), uint32_t(v >> 32)}; };
  auto shows = [&](uint64_t v) {
    for (uint32_t half : halves(v))
      if (half == 0 || half == uint32_t(value) || half == uint32_t(value >> 32)) return true;
    return false;
  };
  uint64_t key = 0;
  while (shows(key) || shows(key ^ value)) key = rng_();
  mov_imm(dst, value ^ key);
  mov_imm(asmx::r11, key);
  a_.xor_(dst.r64(), asmx::r11);
}

}  // namespace pollen::jit::x86

namespace pollen::jit::detail {

bool native_supported() {
  return true;
}

Result<NativeCode> compile_native(std::span<const isa::Insn> prog, const vm::HelperTable& helpers,
                                  const JitOptions& options) {
  x86::Compiler compiler(prog, helpers, options);
  POLLEN_CHECK(compiler.emit());
  asmjit::CodeHolder& code = compiler.code();
  if (asmjit::Error e = code.flatten() | code.resolveUnresolvedLinks())
    return make_error(Errc::NotSupported, Location::none(),
                      fmt::format("JIT: asmjit cannot lay out the code (error {})", e));
  const size_t size = code.codeSize();
  POLLEN_TRY(CodeMemory memory, CodeMemory::create(size, [&](uint8_t* base) -> Result<void> {
               // Calls to helpers further than 2 GiB away go through asmjit's address table, which
               // codeSize() already counts.
               asmjit::Error e = code.relocateToBase(reinterpret_cast<uint64_t>(base));
               if (e != asmjit::kErrorOk || code.codeSize() > size)
                 return make_error(
                     Errc::NotSupported, Location::none(),
                     fmt::format("JIT: asmjit cannot relocate the code (error {})", e));
               code.copyFlattenedData(base, size, asmjit::CopySectionFlags::kPadSectionBuffer);
               return {};
             }));
  NativeCode native{
      std::move(memory), options.listing ? compiler.listing() : std::string(), 0, 0, {}, {}};
  native.tail_entry = code.labelOffsetFromBase(compiler.tail_entry());
  native.callback_entry = code.labelOffsetFromBase(compiler.callback_entry());
  for (const auto& [slot, label] : compiler.function_entries()) {
    native.function_slots.push_back(slot);
    native.function_entries.push_back(label.isValid() ? code.labelOffsetFromBase(label)
                                                      : NativeCode::kNoEntry);
  }
  return native;
}

}  // namespace pollen::jit::detail

// SPDX-License-Identifier: MIT
// The checker's dispatch and what every instruction kind shares: the entry state of each
// program type, failures that carry the state of the registers involved, the "register never
// written" rule (Linux's check_reg_arg: "R%d !read_ok"), and the whole-program stack rule.
#include "verifier/checker.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace pollen::verifier {

using isa::Form;

Checker::Checker(const Cfg& cfg, const ProgramTypeInfo& type, const Platform& platform,
                 const Options& options)
    : cfg_(cfg),
      type_(type),
      platform_(platform),
      options_(options),
      pointer_class_(cfg.size(), 0),
      ctx_field_(cfg.size(), nullptr),
      ctx_offset_(cfg.size(), 0) {
  facts_.stack_depth.assign(cfg.function_starts.size(), 0);
  facts_.function_starts.assign(cfg.function_starts.begin(), cfg.function_starts.end());
  facts_.unwritten_reads.assign(cfg.function_starts.size(), {0, 0});
  compute_changes_packet();
}

void Checker::compute_changes_packet() {
  const size_t n = cfg_.function_starts.size();
  changes_packet_.assign(n, false);
  std::vector<std::vector<uint32_t>> callees(n);
  for (uint32_t f = 0; f < n; ++f)
    for (uint32_t pc = cfg_.function_starts[f]; pc < function_end(f); ++pc) {
      const isa::Decoded& d = cfg_.at(pc);
      if (d.op == isa::Op::CallHelper && d.imm >= 0 &&
          (helper_changes_packet(static_cast<uint32_t>(d.imm)) ||
           d.imm == static_cast<int32_t>(helpers::id::kTailCall)))
        changes_packet_[f] = true;
      if (d.op == isa::Op::CallLocal)
        if (std::optional<uint32_t> target = called_function(cfg_, pc))
          callees[f].push_back(cfg_.function_of[*target]);
    }
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t f = 0; f < n; ++f)
      if (!changes_packet_[f])
        for (uint32_t c : callees[f])
          if (changes_packet_[c]) {
            changes_packet_[f] = changed = true;
            break;
          }
  }
}

void Checker::clear_packet_pointers(State& s) {
  s.for_each_reg([](RegState& r) {
    if (is_packet(r.type) || r.type == RegType::PacketEnd) r = RegState::unknown();
  });
}

State Checker::initial_state() {
  State s;
  s.frames.emplace_back();
  FrameState& f = s.top();
  f.regs[kFp] = RegState::pointer(RegType::Stack);
  switch (type_.ctx_model) {
    case CtxModel::Fields:
    case CtxModel::Buffer: f.regs[1] = RegState::pointer(RegType::Ctx); break;
    case CtxModel::Memory:
      // Without memory, r1 is 0, as pollen::exec passes it.
      if (options_.raw_memory_size == 0) {
        f.regs[1] = RegState::known(0);
      } else {
        f.regs[1] = RegState::pointer(RegType::Mem);
        f.regs[1].mem_size = options_.raw_memory_size;
      }
      f.regs[2] = RegState::known(options_.raw_memory_size);
      break;
  }
  return s;
}

const FunctionInfo* Checker::global_function(uint32_t insn) const {
  if (!func_info) return nullptr;
  for (const FunctionInfo& f : *func_info)
    if (f.insn == insn && f.global) return &f;
  return nullptr;
}

State Checker::global_entry_state(const FunctionInfo& f) {
  State s;
  s.frames.emplace_back();
  FrameState& frame = s.top();
  frame.function = cfg_.function_of[f.insn];
  frame.regs[kFp] = RegState::pointer(RegType::Stack);
  for (int r = 1; r <= f.arg_count && r <= 5; ++r) {
    const GlobalArg& a = f.args[static_cast<size_t>(r - 1)];
    RegState& reg = frame.regs[static_cast<size_t>(r)];
    switch (a.kind) {
      case GlobalArg::Kind::Scalar:
      case GlobalArg::Kind::Unsupported: reg = RegState::unknown(); break;
      case GlobalArg::Kind::Ctx: reg = RegState::pointer(RegType::Ctx); break;
      case GlobalArg::Kind::MemOrNull:
        reg = RegState::pointer(RegType::MemOrNull);
        reg.mem_size = a.size;
        reg.id = new_id();
        break;
    }
  }
  return s;
}

Checker::Step Checker::step(State& s, uint32_t pc) {
  const isa::Decoded& d = cfg_.at(pc);
  switch (d.info().form) {
    case Form::AluImm:
    case Form::AluReg: return check_alu(s, pc, d);
    case Form::AluNeg:
    case Form::Endian:
    case Form::MovsxReg: return check_unary(s, pc, d);
    case Form::Lddw: return check_lddw(s, pc, d);
    case Form::LdAbs:
    case Form::LdInd: return check_legacy_load(s, pc, d);
    case Form::Ldx: return check_load(s, pc, d);
    case Form::St:
    case Form::Stx: return check_store(s, pc, d);
    case Form::Atomic: return check_atomic(s, pc, d);
    case Form::JmpImm:
    case Form::JmpReg: return check_cond_jump(s, pc, d);
    case Form::Ja:
    case Form::Ja32: return Step::to(static_cast<uint32_t>(*isa::branch_target(d, pc)));
    case Form::CallHelper: return check_helper_call(s, pc, d);
    case Form::CallLocal: return check_local_call(s, pc, d);
    case Form::CallKfunc:
      return fail(pc, s, "kfunc calls are not supported (Pollen has no kernel functions)", {});
    case Form::Callx:
      return fail(pc, s,
                  "callx is not supported: it is the conformance suite's extension, not a Linux "
                  "instruction, and its target cannot be checked",
                  {static_cast<int>(d.dst)});
    case Form::Exit: return check_exit(s, pc);
  }
  return fail(pc, s, "unknown instruction form", {});
}

Checker::Step Checker::fail(uint32_t pc, const State& s, std::string what,
                            std::initializer_list<int> regs, std::string hint) const {
  std::string facts;
  for (int r : regs) {
    if (!facts.empty()) facts += ", ";
    facts += fmt::format("r{}: {}", r, s.reg(r).str());
  }
  Step step;
  step.kind = Kind::Fail;
  step.failure =
      Failure{pc, facts.empty() ? what : fmt::format("{} ({})", what, facts), std::move(hint)};
  return step;
}

std::optional<Checker::Step> Checker::require_init(uint32_t pc, const State& s, int r) const {
  if (s.reg(r).type != RegType::NotInit) return std::nullopt;
  return fail(pc, s, fmt::format("r{} is read but was never written on this path", r), {});
}

Checker::Step Checker::next(uint32_t pc) const {
  return Step::to(pc + (isa::is_wide(cfg_.at(pc).op) ? 2u : 1u));
}

Facts Checker::take_facts() {
  for (uint32_t pc = 0; pc < ctx_field_.size(); ++pc)
    if (ctx_field_[pc]) facts_.ctx_accesses.push_back({pc, ctx_field_[pc], ctx_offset_[pc]});
  return std::move(facts_);
}

uint32_t Checker::function_end(uint32_t f) const {
  return f + 1 < cfg_.function_starts.size() ? cfg_.function_starts[f + 1]
                                             : static_cast<uint32_t>(cfg_.size());
}

std::optional<uint32_t> Checker::tail_call_in(uint32_t f) const {
  for (uint32_t pc = cfg_.function_starts[f]; pc < function_end(f); ++pc)
    if (cfg_.at(pc).op == isa::Op::CallHelper && cfg_.at(pc).imm == helpers::id::kTailCall)
      return pc;
  return std::nullopt;
}

std::optional<Failure> Checker::check_tail_calls_have_btf(bool has_btf) const {
  if (has_btf) return std::nullopt;
  for (uint32_t f = 1; f < cfg_.function_starts.size(); ++f)
    if (std::optional<uint32_t> pc = tail_call_in(f))
      return Failure{*pc, "tail_call is not allowed in subprogs without BTF",
                     "build the object with -g, so that it carries BTF for its functions"};
  return std::nullopt;
}

std::optional<Failure> Checker::check_combined_stack() const {
  // Linux rounds each frame up to 16 bytes when the program is JIT-compiled.
  auto frame_size = [&](uint32_t f) { return (facts_.stack_depth[f] + 15) / 16 * 16; };
  // Depth-first over the call graph; the analysis has already refused recursion deeper than
  // the frame limit, so the walk ends.
  std::function<std::optional<Failure>(uint32_t, uint32_t, uint32_t)> walk =
      [&](uint32_t f, uint32_t total, uint32_t calls) -> std::optional<Failure> {
    // A tail call replaces its function's frame but not its callers': Linux caps what they
    // hold at 256 bytes, so that 33 tail calls stay within 8 KiB.
    if (f != 0 && total >= kStackSize / 2)
      if (std::optional<uint32_t> pc = tail_call_in(f))
        return Failure{*pc,
                       fmt::format("tail_calls are not allowed when call stack of previous "
                                   "frames is {} bytes. Too large",
                                   total),
                       "use less stack in the callers of this function, or make the tail call "
                       "from the main function"};
    total += frame_size(f);
    if (total > kStackSize)
      return Failure{cfg_.function_starts[f],
                     fmt::format("combined stack size of {} calls is {} bytes (limit {})", calls,
                                 total, kStackSize),
                     "use less stack in the functions of this chain of calls, or inline them"};
    for (uint32_t pc = cfg_.function_starts[f]; pc < function_end(f); ++pc) {
      // Callbacks (lddw src=4) count as calls, as Linux's check_max_stack_depth counts them.
      std::optional<uint32_t> target = called_function(cfg_, pc);
      if (!target) continue;
      uint32_t callee = cfg_.function_of[*target];
      if (callee == f) continue;
      if (calls + 1 > kMaxFrames) continue;
      if (auto failure = walk(callee, total, calls + 1)) return failure;
    }
    return std::nullopt;
  };
  return walk(0, 0, 1);
}

}  // namespace pollen::verifier

// SPDX-License-Identifier: MIT
// Path exploration, as Linux's do_check() and is_state_visited() do it: follow one path at a
// time, depth first, pushing the other side of every undecided branch; at prune points compare
// the state with the states already explored there and stop when one of them covers it. A state
// is only used for pruning once every path from it has been explored (Linux's branch counts);
// meeting a state still being explored with an identical state means the program can loop
// without end. Every instruction processed counts against a budget of one million, like Linux's
// BPF_COMPLEXITY_LIMIT_INSNS, which also ends bounded loops that are too long to prove. A helper
// call that takes a callback heads a loop too (the callback's exit comes back to it): there a
// state covered by one still being explored has converged and is pruned (Linux:
// is_state_visited for calls_callback() instructions), and the scalars that changed since the
// previous time round are widened to unknown so that the iteration converges. The times round
// are told apart (Linux's callback_unroll_depth): the same state in two of them is not a loop
// without end, the callback's exit just comes back to the call.
#include <algorithm>
#include <chrono>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

#include "isa/disassembler.hpp"
#include "verifier/verifier.hpp"

namespace pollen::verifier {
namespace {

// Linux's BPF_COMPLEXITY_LIMIT_JMP_SEQ: branches waiting to be explored.
constexpr size_t kMaxPending = 8192;
// A checkpoint that keeps failing to prune (Linux: miss_cnt > hit_cnt * 3 + 3) is dropped.
constexpr uint32_t kMissFactor = 3;
// The most instructions of the path a rejection shows: the end of a path that ran out of
// budget is what explains it, not its million instructions.
constexpr size_t kMaxPathShown = 2000;

struct Checkpoint {
  State state;
  std::shared_ptr<Checkpoint> parent;
  uint32_t pc = 0;
  uint64_t key = 0;       ///< state_hash mixed with pc: where it is among the unfinished
  uint32_t branches = 1;  ///< paths from here not yet fully explored
  uint32_t hits = 0;
  uint32_t misses = 0;
  uint32_t unroll = 0;  ///< callback calls on the path to it (Linux's callback_unroll_depth)

  Checkpoint(State s, std::shared_ptr<Checkpoint> up, uint32_t at, uint64_t k, uint32_t u)
      : state(std::move(s)), parent(std::move(up)), pc(at), key(k), unroll(u) {}
  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;
  // A path of a long loop holds a chain of many checkpoints; releasing it link by link here
  // keeps the destruction from recursing once per link.
  ~Checkpoint() {
    std::shared_ptr<Checkpoint> up = std::move(parent);
    while (up && up.use_count() == 1) up = std::move(up->parent);
  }
};
using CheckpointPtr = std::shared_ptr<Checkpoint>;

struct Pending {
  State state;
  uint32_t pc;
  CheckpointPtr parent;
  size_t path_len;        ///< the recorded path up to and including the jump
  std::string jump_line;  ///< the jump as recorded, to be marked as taken
  uint32_t unroll;        ///< callback calls on the path, the jump's own included
};

class Explorer {
 public:
  Explorer(const Input& in, const Cfg& cfg, Checker& checker, Stats& stats)
      : in_(in),
        cfg_(cfg),
        checker_(checker),
        explored_(cfg.size()),
        unfinished_at_(cfg.size(), 0),
        stats_(stats) {}

  /// Explores every path from `cur` at `pc`; a failure becomes out.rejection.
  void run(Analysis& out, State cur, uint32_t pc);

 private:
  enum class Visit : uint8_t { Continue, Pruned, Loop };

  std::optional<Failure> follow(State& cur, uint32_t& pc, CheckpointPtr& parent);
  Visit visit(State& cur, uint32_t pc, CheckpointPtr& parent, bool callback_return);
  bool converged(State& cur, uint32_t pc, bool widen_scalars);
  bool keeps_checkpoint(uint32_t pc) const;
  void add_checkpoint(const State& cur, uint32_t pc, uint64_t key, CheckpointPtr& parent);
  void clean(State& s, uint32_t pc) const;
  void end_path(const CheckpointPtr& parent);
  void finished(Checkpoint* cp);
  void record(uint32_t pc, const State& after, const Checker::Step& step);
  Rejection reject(const Failure& f, const State* state) const;

  const Input& in_;
  const Cfg& cfg_;
  Checker& checker_;
  /// By slot: checkpoints every path from which has been explored; they prune.
  std::vector<std::vector<CheckpointPtr>> explored_;
  /// Checkpoints still being explored (on the current path), by key; they detect loops.
  std::unordered_multimap<uint64_t, CheckpointPtr> unfinished_;
  std::vector<uint32_t> unfinished_at_;  ///< by slot: how many
  std::vector<Pending> pending_;
  std::vector<std::string> path_;
  uint32_t unroll_ = 0;  ///< callback calls on the current path
  Stats& stats_;
  uint64_t insns_at_checkpoint_ = 0;
  uint64_t jumps_ = 0;
  uint64_t jumps_at_checkpoint_ = 0;
};

void Explorer::clean(State& s, uint32_t pc) const {
  // Registers no path from here reads are forgotten, so that states differing only in dead
  // registers prune each other. A caller's frame resumes after its call: there r0 is the
  // callee's result and r1-r5 are lost.
  for (size_t f = 0; f < s.frames.size(); ++f) {
    bool top = f + 1 == s.frames.size();
    // Under a callback the caller resumes at the helper call itself, arguments and all.
    bool under_callback = !top && s.frames[f + 1].callback;
    RegSet live = top              ? cfg_.live_in[pc]
                  : under_callback ? cfg_.live_in[s.frames[f + 1].callsite]
                                   : cfg_.live_in[s.frames[f + 1].callsite + 1];
    if (!top && !under_callback) live &= static_cast<RegSet>(~0x3fu);
    for (int r = 0; r < kFp; ++r)
      if (!(live & (1u << r))) s.frames[f].regs[static_cast<size_t>(r)] = RegState::not_init();
  }
}

// Scalars of `cur` that a still-explored state at this callback call does not cover become
// unknown (widening), frame by frame where the shapes match.
void widen(const State& old, State& cur) {
  if (old.frames.size() != cur.frames.size()) return;
  auto widen_reg = [](const RegState& o, RegState& c) {
    if (o.is_scalar() && c.is_scalar() && !o.value.includes(c.value)) c = RegState::unknown();
  };
  for (size_t f = 0; f < old.frames.size(); ++f) {
    const FrameState& o = old.frames[f];
    FrameState& c = cur.frames[f];
    if (o.callsite != c.callsite || o.function != c.function) return;
    for (size_t r = 0; r < o.regs.size(); ++r) widen_reg(o.regs[r], c.regs[r]);
    auto& cs = c.stack.slots();
    const auto& os = o.stack.slots();
    for (size_t i = 0; i < std::min(os.size(), cs.size()); ++i) {
      if (os[i].has_spill() && cs[i].has_spill() && os[i].spill_size == cs[i].spill_size)
        widen_reg(os[i].spilled, cs[i].spilled);
      // A byte known zero before and some number now is some number.
      for (size_t b = 0; b < 8; ++b)
        if (os[i].bytes[b] == SlotType::Misc && cs[i].bytes[b] == SlotType::Zero)
          cs[i].bytes[b] = SlotType::Misc;
    }
  }
}

bool Explorer::converged(State& cur, uint32_t pc, bool widen_scalars) {
  // A state still being explored here that covers this one has already got (or will get)
  // every path from it. Back from the callback's exit, what changed since is widened.
  const Checkpoint* latest = nullptr;
  for (const auto& [key, cp] : unfinished_) {
    if (cp->pc != pc) continue;
    if (subsumes(cp->state, cur)) return true;
    if (!latest || cp->state.frames.size() == cur.frames.size()) latest = cp.get();
  }
  if (latest && widen_scalars) widen(latest->state, cur);
  return false;
}

Explorer::Visit Explorer::visit(State& cur, uint32_t pc, CheckpointPtr& parent,
                                bool callback_return) {
  // At a callback call, a state still being explored that covers this one has converged;
  // nothing there is an infinite loop (Linux skips that check for calls_callback()).
  bool callback_site = cfg_.callback_site[pc];
  if (callback_site && converged(cur, pc, callback_return)) return Visit::Pruned;
  // A state still being explored is on the current path: meeting it again, identical, is a
  // loop that nothing in the state can end.
  uint64_t key = state_hash(cur) ^ (uint64_t{pc} * 0x9e3779b97f4a7c15u);
  auto [first, last] = unfinished_.equal_range(key);
  for (auto it = first; it != last && !callback_site; ++it) {
    const Checkpoint& cp = *it->second;
    if (cp.pc == pc && cp.unroll == unroll_ && subsumes(cp.state, cur) &&
        subsumes(cur, cp.state))
      return Visit::Loop;
  }
  // A miss counts against a checkpoint only when this visit keeps a state of its own (Linux:
  // miss_cnt grows only with add_new_state): in a loop, where few states are kept, every later
  // iteration misses the states of earlier ones, and counting those misses would evict a
  // state before the paths it can prune (the other branches of its own iteration) come back.
  const bool keeps = keeps_checkpoint(pc);
  std::vector<CheckpointPtr>& list = explored_[pc];
  for (size_t i = 0; i < list.size();) {
    Checkpoint& cp = *list[i];
    if (subsumes(cp.state, cur)) {
      ++cp.hits;
      return Visit::Pruned;
    }
    if (keeps && ++cp.misses > cp.hits * kMissFactor + kMissFactor) {
      list[i] = std::move(list.back());
      list.pop_back();
      continue;
    }
    ++i;
  }
  if (keeps) add_checkpoint(cur, pc, key, parent);
  return Visit::Continue;
}

bool Explorer::keeps_checkpoint(uint32_t pc) const {
  // Like Linux, keep a new state only every few jumps and instructions, and far less often
  // inside a loop, whose iterations differ and would not prune each other anyway. Callback
  // calls always keep one: their iterations converge only against it.
  if (cfg_.callback_site[pc]) return true;
  bool in_loop = unfinished_at_[pc] > 0;
  uint64_t min_jumps = in_loop ? 20 : 2, min_insns = in_loop ? 100 : 8;
  return jumps_ - jumps_at_checkpoint_ >= min_jumps &&
         stats_.insns_processed - insns_at_checkpoint_ >= min_insns;
}

void Explorer::add_checkpoint(const State& cur, uint32_t pc, uint64_t key, CheckpointPtr& parent) {
  auto cp = std::make_shared<Checkpoint>(cur, parent, pc, key, unroll_);
  unfinished_.emplace(key, cp);
  ++unfinished_at_[pc];
  parent = std::move(cp);
  ++stats_.states;
  jumps_at_checkpoint_ = jumps_;
  insns_at_checkpoint_ = stats_.insns_processed;
}

void Explorer::finished(Checkpoint* cp) {
  auto [first, last] = unfinished_.equal_range(cp->key);
  for (auto it = first; it != last; ++it) {
    if (it->second.get() != cp) continue;
    explored_[cp->pc].push_back(std::move(it->second));
    unfinished_.erase(it);
    --unfinished_at_[cp->pc];
    return;
  }
}

void Explorer::end_path(const CheckpointPtr& parent) {
  for (Checkpoint* cp = parent.get(); cp; cp = cp->parent.get()) {
    if (--cp->branches > 0) break;
    finished(cp);
  }
}

void Explorer::record(uint32_t pc, const State& after, const Checker::Step& step) {
  const isa::Decoded& d = cfg_.at(pc);
  std::string line = fmt::format("{}: {}", pc, isa::format(d, pc, isa::Syntax::Llvm));
  RegSet def = reg_use(d, *in_.platform).def;
  if (step.kind == Checker::Step::Kind::Next || step.kind == Checker::Step::Kind::Fork) {
    for (int r = 0; r < kFp; ++r)
      if (def & (1u << r)) {
        line += fmt::format("  ; r{}={}", r, after.reg(r).str());
        break;
      }
  }
  if (step.kind == Checker::Step::Kind::Fork) line += "  (falls through)";
  path_.push_back(std::move(line));
}

std::optional<Failure> Explorer::follow(State& cur, uint32_t& pc, CheckpointPtr& parent) {
  using Kind = Checker::Step::Kind;
  bool callback_return = false;
  for (;;) {
    if (++stats_.insns_processed > in_.options.max_insns_processed)
      return Failure{pc,
                     fmt::format("the program is too complex to verify: {} instructions "
                                 "processed without finishing (limit {})",
                                 stats_.insns_processed, in_.options.max_insns_processed),
                     "a loop may not end, or its bound is too large to prove; bound loops with a "
                     "small constant, or split the program"};
    if (cfg_.prune_point[pc]) {
      clean(cur, pc);
      Visit v = visit(cur, pc, parent, callback_return);
      if (v == Visit::Pruned) return std::nullopt;
      if (v == Visit::Loop)
        return Failure{pc,
                       "infinite loop detected: this instruction is reached again with the "
                       "same state",
                       "make sure every loop changes a value its exit condition tests"};
    }
    uint8_t cls = isa::op_class(cfg_.at(pc).info().opcode);
    if (cls == isa::kClassJmp || cls == isa::kClassJmp32) ++jumps_;
    Checker::Step step = checker_.step(cur, pc);
    if (in_.options.record_path) record(pc, cur, step);
    callback_return = step.callback_return;
    switch (step.kind) {
      case Kind::Fail: return step.failure;
      case Kind::End: return std::nullopt;
      case Kind::Next: pc = step.next; break;
      case Kind::Fork:
        if (pending_.size() >= kMaxPending)
          return Failure{
              pc,
              fmt::format("the sequence of {} pending branches is too complex", pending_.size()),
              "reduce the number of branches one path goes through"};
        if (parent) ++parent->branches;
        // The callback's side of a callback call is one more time round: meeting a state
        // again there is not a loop that nothing can end (Linux: callback_unroll_depth).
        pending_.push_back({std::move(*step.taken), step.taken_pc, parent, path_.size(),
                            path_.empty() ? std::string{} : path_.back(),
                            unroll_ + (cfg_.callback_site[pc] ? 1u : 0u)});
        pc = step.next;
        break;
    }
  }
}

void Explorer::run(Analysis& out, State cur, uint32_t pc) {
  CheckpointPtr parent;
  for (;;) {
    if (std::optional<Failure> failure = follow(cur, pc, parent)) {
      out.rejection = reject(*failure, &cur);
      break;
    }
    end_path(parent);
    if (pending_.empty()) break;
    Pending next = std::move(pending_.back());
    pending_.pop_back();
    cur = std::move(next.state);
    pc = next.pc;
    parent = std::move(next.parent);
    unroll_ = next.unroll;
    if (in_.options.record_path && next.path_len > 0) {
      path_.resize(next.path_len);
      std::string& jump = path_.back() = next.jump_line;
      if (jump.ends_with("  (falls through)")) jump.resize(jump.size() - 17);
      jump += "  (jump taken)";
    }
  }
}

Rejection Explorer::reject(const Failure& f, const State* state) const {
  Rejection r;
  r.insn = f.insn;
  r.text = isa::format(cfg_.at(f.insn), f.insn, isa::Syntax::Llvm);
  r.reason = f.reason;
  r.hint = f.hint;
  if (state) r.state = describe(*state);
  size_t skipped = path_.size() > kMaxPathShown ? path_.size() - kMaxPathShown : 0;
  if (skipped) r.path.push_back(fmt::format("... ({} earlier instructions of the path)", skipped));
  r.path.insert(r.path.end(), path_.begin() + static_cast<ptrdiff_t>(skipped), path_.end());
  const SourceLine* line = nullptr;
  for (const SourceLine& l : in_.lines)
    if (l.insn <= f.insn) line = &l;
  if (line) r.source = fmt::format("{}:{}", line->file, line->line);
  return r;
}

}  // namespace

namespace {

// The program from its entry, then each global function on its own (Linux's do_check_subprogs
// and do_check_main), with one checker so that the facts of all of them add up.
Rejection static_rejection(const Input& in, const Cfg& cfg, const Failure& failure) {
  Rejection r;
  r.insn = failure.insn;
  r.text = isa::format(cfg.at(failure.insn), failure.insn, isa::Syntax::Llvm);
  r.reason = failure.reason;
  r.hint = failure.hint;
  for (const SourceLine& l : in.lines)
    if (l.insn <= r.insn) r.source = fmt::format("{}:{}", l.file, l.line);
  return r;
}

void verify_program(const Input& in, const Cfg& cfg, Analysis& out) {
  Checker checker(cfg, *in.type, *in.platform, in.options);
  const bool has_btf = (in.func_info && !in.func_info->empty()) || !in.lines.empty();
  if (std::optional<Failure> failure = checker.check_tail_calls_have_btf(has_btf)) {
    out.rejection = static_rejection(in, cfg, *failure);
    out.facts = checker.take_facts();
    return;
  }
  checker.license = in.license;
  checker.func_info = in.func_info;
  // libbpf loads syscall programs sleepable, and Linux runs them so.
  checker.sleepable = in.sleepable || in.type->linux_type == 31u;
  Explorer(in, cfg, checker, out.stats).run(out, checker.initial_state(), 0);
  if (in.func_info)
    for (const FunctionInfo& f : *in.func_info) {
      if (out.rejection) break;
      if (!f.global || f.insn == 0 || f.insn >= cfg.size() || cfg.second_slot[f.insn]) continue;
      checker.global_entry = &f;
      Explorer(in, cfg, checker, out.stats).run(out, checker.global_entry_state(f), f.insn);
    }
  checker.global_entry = nullptr;
  if (!out.rejection)
    if (std::optional<Failure> failure = checker.check_combined_stack())
      out.rejection = static_rejection(in, cfg, *failure);
  out.facts = checker.take_facts();
}

}  // namespace

bool license_is_gpl_compatible(std::string_view license) {
  for (std::string_view gpl : {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL",
                               "Dual MIT/GPL", "Dual MPL/GPL"})
    if (license == gpl) return true;
  return false;
}

std::string Rejection::message() const {
  std::string m = text.empty() ? reason : fmt::format("{}: {}", text, reason);
  if (!hint.empty()) m += "; hint: " + hint;
  return m;
}

std::string Rejection::str() const {
  std::string where =
      source.empty() ? fmt::format("insn {}", insn) : fmt::format("insn {} ({})", insn, source);
  return fmt::format("{}: {}", where, message());
}

Analysis verify(const Input& in) {
  auto start = std::chrono::steady_clock::now();
  Analysis out;
  Cfg cfg;
  if (!in.type) {
    out.rejection = Rejection{};
    out.rejection->reason = "no program type was given";
  } else if (std::optional<Failure> failure = build_cfg(in.insns, *in.platform, cfg)) {
    Rejection r;
    r.insn = failure->insn;
    r.text = failure->insn < cfg.size()
                 ? isa::format(cfg.at(failure->insn), failure->insn, isa::Syntax::Llvm)
                 : "";
    r.reason = failure->reason;
    r.hint = failure->hint;
    out.rejection = std::move(r);
  } else {
    verify_program(in, cfg, out);
  }
  out.stats.time_us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::steady_clock::now() - start)
                                                .count());
  return out;
}

}  // namespace pollen::verifier

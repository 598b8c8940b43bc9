// SPDX-License-Identifier: MIT
// Path exploration, as Linux's do_check() and is_state_visited() do it: follow one path at a
// time, depth first, pushing the other side of every undecided branch; at prune points compare
// the state with the states already explored there and stop when one of them covers it. A state
// is only used for pruning once every path from it has been explored (Linux's branch counts);
// meeting a state still being explored with an identical state means the program can loop
// without end. Every instruction processed counts against a budget of one million, like Linux's
// BPF_COMPLEXITY_LIMIT_INSNS, which also ends bounded loops that are too long to prove.
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

struct Checkpoint {
  State state;
  std::shared_ptr<Checkpoint> parent;
  uint32_t pc = 0;
  uint64_t key = 0;       ///< state_hash mixed with pc: where it is among the unfinished
  uint32_t branches = 1;  ///< paths from here not yet fully explored
  uint32_t hits = 0;
  uint32_t misses = 0;

  Checkpoint(State s, std::shared_ptr<Checkpoint> up, uint32_t at, uint64_t k)
      : state(std::move(s)), parent(std::move(up)), pc(at), key(k) {}
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
};

class Explorer {
 public:
  Explorer(const Input& in, const Cfg& cfg)
      : in_(in),
        cfg_(cfg),
        checker_(cfg, *in.type, *in.platform, in.options),
        explored_(cfg.size()),
        unfinished_at_(cfg.size(), 0) {}

  void run(Analysis& out);

 private:
  enum class Visit : uint8_t { Continue, Pruned, Loop };

  std::optional<Failure> follow(State& cur, uint32_t& pc, CheckpointPtr& parent);
  Visit visit(const State& cur, uint32_t pc, CheckpointPtr& parent);
  void add_checkpoint(const State& cur, uint32_t pc, uint64_t key, CheckpointPtr& parent);
  void clean(State& s, uint32_t pc) const;
  void end_path(const CheckpointPtr& parent);
  void finished(Checkpoint* cp);
  void record(uint32_t pc, const State& after, const Checker::Step& step);
  Rejection reject(const Failure& f, const State* state) const;

  const Input& in_;
  const Cfg& cfg_;
  Checker checker_;
  /// By slot: checkpoints every path from which has been explored; they prune.
  std::vector<std::vector<CheckpointPtr>> explored_;
  /// Checkpoints still being explored (on the current path), by key; they detect loops.
  std::unordered_multimap<uint64_t, CheckpointPtr> unfinished_;
  std::vector<uint32_t> unfinished_at_;  ///< by slot: how many
  std::vector<Pending> pending_;
  std::vector<std::string> path_;
  Stats stats_;
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
    RegSet live = top ? cfg_.live_in[pc] : cfg_.live_in[s.frames[f + 1].callsite + 1];
    if (!top) live &= static_cast<RegSet>(~0x3fu);
    for (int r = 0; r < kFp; ++r)
      if (!(live & (1u << r))) s.frames[f].regs[static_cast<size_t>(r)] = RegState::not_init();
  }
}

Explorer::Visit Explorer::visit(const State& cur, uint32_t pc, CheckpointPtr& parent) {
  // A state still being explored is on the current path: meeting it again, identical, is a
  // loop that nothing in the state can end.
  uint64_t key = state_hash(cur) ^ (uint64_t{pc} * 0x9e3779b97f4a7c15u);
  auto [first, last] = unfinished_.equal_range(key);
  for (auto it = first; it != last; ++it) {
    const Checkpoint& cp = *it->second;
    if (cp.pc == pc && subsumes(cp.state, cur) && subsumes(cur, cp.state)) return Visit::Loop;
  }
  std::vector<CheckpointPtr>& list = explored_[pc];
  for (size_t i = 0; i < list.size();) {
    Checkpoint& cp = *list[i];
    if (subsumes(cp.state, cur)) {
      ++cp.hits;
      return Visit::Pruned;
    }
    if (++cp.misses > cp.hits * kMissFactor + kMissFactor) {
      list[i] = std::move(list.back());
      list.pop_back();
      continue;
    }
    ++i;
  }
  add_checkpoint(cur, pc, key, parent);
  return Visit::Continue;
}

void Explorer::add_checkpoint(const State& cur, uint32_t pc, uint64_t key, CheckpointPtr& parent) {
  // Like Linux, keep a new state only every few jumps and instructions, and far less often
  // inside a loop, whose iterations differ and would not prune each other anyway.
  bool in_loop = unfinished_at_[pc] > 0;
  uint64_t min_jumps = in_loop ? 20 : 2, min_insns = in_loop ? 100 : 8;
  if (jumps_ - jumps_at_checkpoint_ < min_jumps ||
      stats_.insns_processed - insns_at_checkpoint_ < min_insns)
    return;
  auto cp = std::make_shared<Checkpoint>(cur, parent, pc, key);
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
      Visit v = visit(cur, pc, parent);
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
        pending_.push_back({std::move(*step.taken), step.taken_pc, parent, path_.size(),
                            path_.empty() ? std::string{} : path_.back()});
        pc = step.next;
        break;
    }
  }
}

void Explorer::run(Analysis& out) {
  State cur = checker_.initial_state();
  uint32_t pc = 0;
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
    if (in_.options.record_path && next.path_len > 0) {
      path_.resize(next.path_len);
      std::string& jump = path_.back() = next.jump_line;
      if (jump.ends_with("  (falls through)")) jump.resize(jump.size() - 17);
      jump += "  (jump taken)";
    }
  }
  if (!out.rejection)
    if (std::optional<Failure> failure = checker_.check_combined_stack())
      out.rejection = reject(*failure, nullptr);
  out.stats = stats_;
  out.facts = checker_.take_facts();
}

Rejection Explorer::reject(const Failure& f, const State* state) const {
  Rejection r;
  r.insn = f.insn;
  r.text = isa::format(cfg_.at(f.insn), f.insn, isa::Syntax::Llvm);
  r.reason = f.reason;
  r.hint = f.hint;
  if (state) r.state = describe(*state);
  r.path = path_;
  const SourceLine* line = nullptr;
  for (const SourceLine& l : in_.lines)
    if (l.insn <= f.insn) line = &l;
  if (line) r.source = fmt::format("{}:{}", line->file, line->line);
  return r;
}

}  // namespace

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
    Explorer(in, cfg).run(out);
  }
  out.stats.time_us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::steady_clock::now() - start)
                                                .count());
  return out;
}

}  // namespace pollen::verifier

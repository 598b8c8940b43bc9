// SPDX-License-Identifier: MIT
// Static facts of a program: decoding, functions, reachability (Linux's check_cfg: every
// instruction must be reachable from the entry through jumps and calls), prune points and a
// backward register liveness analysis per function. Liveness is conservative: an instruction
// "reads" every register it might read (all five arguments of a local call, the arguments a
// helper's prototype names, all five for an unknown helper), so forgetting a register that is
// not live can never hide a read of it.
#include "verifier/cfg.hpp"

#include <fmt/format.h>

namespace pollen::verifier {
namespace {

using isa::Form;
using isa::Op;

constexpr RegSet bit(int r) {
  return static_cast<RegSet>(1u << r);
}
constexpr RegSet kArgs = bit(1) | bit(2) | bit(3) | bit(4) | bit(5);
constexpr RegSet kCallerSaved = bit(0) | kArgs;

bool is_conditional(const isa::Decoded& d) {
  return d.info().form == Form::JmpImm || d.info().form == Form::JmpReg;
}

RegUse atomic_use(const isa::Decoded& d) {
  RegUse u{static_cast<RegSet>(bit(d.dst) | bit(d.src)), 0};
  bool cmpxchg = d.op == Op::AtomicCmpxchg32 || d.op == Op::AtomicCmpxchg64;
  if (cmpxchg) {
    u.use |= bit(0);
    u.def |= bit(0);
  } else if (d.imm & 0x01) {  // BPF_FETCH: the old value comes back in src
    u.def |= bit(d.src);
  }
  return u;
}

RegUse helper_use(const isa::Decoded& d, const Platform& platform) {
  const helpers::HelperProto* proto = platform.helper(static_cast<uint32_t>(d.imm));
  RegSet args = kArgs;
  if (proto) {
    args = 0;
    for (size_t i = 0; i < proto->args.size(); ++i)
      if (proto->args[i] != helpers::ArgKind::None) args |= bit(static_cast<int>(i) + 1);
  }
  return {args, kCallerSaved};
}

// Successors inside the function (a local call continues after itself; exit has none).
std::vector<uint32_t> successors(const Cfg& cfg, uint32_t pc) {
  const isa::Decoded& d = cfg.at(pc);
  uint32_t next = pc + (isa::is_wide(d.op) ? 2 : 1);
  auto target = [&] { return static_cast<uint32_t>(isa::branch_target(d, pc).value_or(0)); };
  switch (d.info().form) {
    case Form::Exit: return {};
    case Form::Ja:
    case Form::Ja32: return {target()};
    case Form::JmpImm:
    case Form::JmpReg: return {next, target()};
    default: return {next};
  }
}

}  // namespace

std::optional<uint32_t> called_function(const Cfg& cfg, uint32_t pc) {
  if (cfg.second_slot[pc]) return std::nullopt;
  const isa::Decoded& d = cfg.at(pc);
  if (d.op == Op::CallLocal) return static_cast<uint32_t>(*isa::branch_target(d, pc));
  if (d.op == Op::LddwFunc) return static_cast<uint32_t>(static_cast<int64_t>(pc) + 1 + d.imm);
  return std::nullopt;
}

namespace {

std::optional<Failure> check_reachable(const Cfg& cfg) {
  std::vector<bool> seen(cfg.size(), false);
  std::vector<uint32_t> work{0};
  seen[0] = true;
  while (!work.empty()) {
    uint32_t pc = work.back();
    work.pop_back();
    std::vector<uint32_t> next = successors(cfg, pc);
    // A function is reached through a call, or through lddw src=4 naming it (a callback).
    if (std::optional<uint32_t> f = called_function(cfg, pc)) next.push_back(*f);
    for (uint32_t n : next)
      if (!seen[n]) {
        seen[n] = true;
        work.push_back(n);
      }
  }
  for (uint32_t pc = 0; pc < cfg.size(); ++pc)
    if (!seen[pc] && !cfg.second_slot[pc])
      return Failure{pc,
                     fmt::format("unreachable instruction: no path from the entry leads to "
                                 "insn {}",
                                 pc),
                     "remove dead code; Linux refuses it too (\"unreachable insn\")"};
  return std::nullopt;
}

// A helper call whose prototype takes a callback: the callback's exit comes back to it, so
// it heads a loop (Linux marks it with mark_force_checkpoint).
bool calls_callback(const isa::Decoded& d, const Platform& platform) {
  if (d.op != Op::CallHelper) return false;
  const helpers::HelperProto* proto = platform.helper(static_cast<uint32_t>(d.imm));
  return proto && proto->callback != helpers::Callback::None;
}

void mark_prune_points(Cfg& cfg, const Platform& platform) {
  cfg.prune_point.assign(cfg.size(), false);
  for (uint32_t start : cfg.function_starts) cfg.prune_point[start] = true;
  for (uint32_t pc = 0; pc < cfg.size(); ++pc) {
    if (cfg.second_slot[pc]) continue;
    const isa::Decoded& d = cfg.at(pc);
    if (is_conditional(d)) cfg.prune_point[pc] = true;
    if (calls_callback(d, platform)) cfg.prune_point[pc] = cfg.callback_site[pc] = true;
    if (d.op == Op::CallLocal) {
      cfg.prune_point[pc] = true;
      cfg.prune_point[pc + 1] = true;
    }
    if (d.op != Op::CallLocal)
      if (std::optional<int64_t> t = isa::branch_target(d, pc))
        cfg.prune_point[static_cast<size_t>(*t)] = true;
  }
}

void compute_liveness(Cfg& cfg, const Platform& platform) {
  std::vector<RegUse> uses(cfg.size());
  for (uint32_t pc = 0; pc < cfg.size(); ++pc) uses[pc] = reg_use(cfg.at(pc), platform);
  cfg.live_in.assign(cfg.size(), 0);
  // Round-robin backwards until nothing changes; loops need more than one round.
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t pc = static_cast<uint32_t>(cfg.size()); pc-- > 0;) {
      if (cfg.second_slot[pc]) continue;
      RegSet out = 0;
      for (uint32_t s : successors(cfg, pc)) out |= cfg.live_in[s];
      auto in = static_cast<RegSet>(uses[pc].use | (out & ~uses[pc].def));
      if (in != cfg.live_in[pc]) {
        cfg.live_in[pc] = in;
        changed = true;
      }
    }
  }
}

}  // namespace

RegUse reg_use(const isa::Decoded& d, const Platform& platform) {
  RegSet dst = bit(d.dst), src = bit(d.src);
  bool mov =
      d.op == Op::Mov64Imm || d.op == Op::Mov32Imm || d.op == Op::Mov64Reg || d.op == Op::Mov32Reg;
  switch (d.info().form) {
    case Form::AluImm: return {mov ? RegSet{0} : dst, dst};
    case Form::AluReg: return {static_cast<RegSet>(mov ? src : dst | src), dst};
    case Form::AluNeg:
    case Form::Endian: return {dst, dst};
    case Form::MovsxReg:
    case Form::Ldx: return {src, dst};
    case Form::Lddw: return {0, dst};
    // Legacy packet loads read the context in r6 and clobber r1-r5 (Linux: check_ld_abs).
    case Form::LdAbs: return {bit(6), kCallerSaved};
    case Form::LdInd: return {static_cast<RegSet>(bit(6) | src), kCallerSaved};
    case Form::St: return {dst, 0};
    case Form::Stx: return {static_cast<RegSet>(dst | src), 0};
    case Form::Atomic: return atomic_use(d);
    case Form::JmpImm: return {dst, 0};
    case Form::JmpReg: return {static_cast<RegSet>(dst | src), 0};
    case Form::Ja:
    case Form::Ja32: return {0, 0};
    case Form::CallHelper: return helper_use(d, platform);
    case Form::CallLocal:
    case Form::CallKfunc: return {kArgs, kCallerSaved};
    case Form::Callx: return {static_cast<RegSet>(kArgs | dst), kCallerSaved};
    case Form::Exit: return {bit(0), 0};
  }
  return {0x7ff, 0};
}

std::optional<Failure> build_cfg(std::span<const isa::Insn> prog, const Platform& platform,
                                 Cfg& cfg) {
  cfg.insns.clear();
  cfg.second_slot.assign(prog.size(), false);
  for (size_t i = 0; i < prog.size(); ++i) {
    isa::Decoded d = *isa::decode(prog, i);  // validate() has passed: every slot decodes
    cfg.insns.push_back(d);
    if (isa::is_wide(d.op)) {
      cfg.insns.push_back(d);
      cfg.second_slot[++i] = true;
    }
  }
  for (size_t s : isa::function_starts(prog))
    cfg.function_starts.push_back(static_cast<uint32_t>(s));
  cfg.function_of.assign(prog.size(), 0);
  for (uint32_t f = 0, pc = 0; pc < prog.size(); ++pc) {
    if (f + 1 < cfg.function_starts.size() && pc == cfg.function_starts[f + 1]) ++f;
    cfg.function_of[pc] = f;
  }
  if (std::optional<Failure> failure = check_reachable(cfg)) return failure;
  cfg.callback_site.assign(cfg.size(), false);
  mark_prune_points(cfg, platform);
  compute_liveness(cfg, platform);
  return std::nullopt;
}

}  // namespace pollen::verifier

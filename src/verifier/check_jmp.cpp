// SPDX-License-Identifier: MIT
// Conditional jumps, after Linux's check_cond_jmp_op(): a decided condition follows one side
// only; otherwise each side gets what it learns. Scalars are refined through the scalar domain
// (reg_set_min_max) and the refinement reaches every tied copy (find_equal_scalars); a null
// check turns every copy of a map lookup's result into a value or into 0
// (mark_ptr_or_null_regs); comparing a packet pointer with data_end proves a range for every
// pointer that shares its variable offset (find_good_pkt_pointers). Other pointer comparisons
// are allowed, as for a privileged load, and teach nothing.
#include <fmt/format.h>

#include "verifier/branch.hpp"
#include "verifier/checker.hpp"

namespace pollen::verifier {
namespace {

// Linux's MAX_PACKET_OFF: ranges are only proven for offsets a packet can have.
constexpr uint64_t kMaxPacketOff = 0xffff;

// Sets a scalar register and every register tied to it.
void assign_scalar(State& s, int reg, const Scalar& v) {
  RegState& r = s.reg(reg);
  r.value = v;
  if (r.id == 0) return;
  uint32_t id = r.id;
  s.for_each_reg([&](RegState& x) {
    if (x.is_scalar() && x.id == id) x.value = v;
  });
}

// A null check's outcome for every copy of the checked pointer (Linux's
// mark_ptr_or_null_regs): null, they are 0, and a reference they held is gone with them; not
// null, a map lookup's result is a map value (or, from a map-in-map, its inner map) and a ring
// buffer reservation is the record. A map value keeps its id where the value has a spin lock,
// which the id names.
void mark_null(State& s, const Platform& platform, uint32_t id, bool is_null) {
  uint32_t released = 0;
  s.for_each_reg([&](RegState& x) {
    if (!maybe_null(x.type) || x.id != id) return;
    if (is_null) {
      released = x.ref;
      x = RegState::known(0);
      return;
    }
    if (x.type == RegType::MemOrNull) {
      x.type = RegType::Mem;
      return;
    }
    const MapInfo* info = platform.map_info(x.map);
    if (info && info->inner) {
      x = RegState::pointer(RegType::MapPtr);
      x.map = *info->inner;
      return;
    }
    x.type = RegType::MapValue;
    if (!info || !info->spin_lock_off) x.id = 0;
  });
  if (released) std::erase_if(s.refs, [&](const Reference& r) { return r.id == released; });
}

// Every pointer of `type` sharing `id` (hence the variable offset) gets at least `range`.
void mark_range(State& s, RegType type, uint32_t id, int32_t range) {
  s.for_each_reg([&](RegState& x) {
    if (x.type == type && x.id == id) x.range = std::max(x.range, range);
  });
}

bool is_order(Cond c) {
  return c == Cond::Gt || c == Cond::Ge || c == Cond::Lt || c == Cond::Le;
}

// A packet pointer compared with the end it is bounded by: data_end for packet pointers,
// data itself (unmodified) for metadata pointers.
bool bounded_by(const RegState& p, const RegState& end) {
  if (p.type == RegType::Packet) return end.type == RegType::PacketEnd;
  return p.type == RegType::PacketMeta && end.type == RegType::Packet && end.off == 0 &&
         end.value.is_zero();
}

// When `pkt c end` holds, the range it proves for pkt's base (find_good_pkt_pointers: `<=`
// proves off bytes, `<` one more), or 0.
int32_t proven_range(Cond c, const RegState& pkt) {
  if (c != Cond::Le && c != Cond::Lt) return 0;
  if (pkt.off < 0 || pkt.value.umax > kMaxPacketOff ||
      pkt.value.umax + static_cast<uint64_t>(pkt.off) > kMaxPacketOff)
    return 0;
  return pkt.off + (c == Cond::Lt ? 1 : 0);
}

// Whether `pkt c end` is decided, as Linux's is_pkt_ptr_branch_taken() decides it: only for a
// pointer an earlier comparison proved at or beyond the end. (A proven range could also decide
// the opposite comparisons; Linux does not use it, so neither does Pollen.)
std::optional<bool> packet_outcome(Cond c, const RegState& pkt) {
  bool beyond = pkt.range == kBeyondPacketEnd;
  bool at_or_beyond = beyond || pkt.range == kAtPacketEnd;
  switch (c) {
    case Cond::Gt:
      if (beyond) return true;
      break;
    case Cond::Le:
      if (beyond) return false;
      break;
    case Cond::Ge:
      if (at_or_beyond) return true;
      break;
    case Cond::Lt:
      if (at_or_beyond) return false;
      break;
    default: break;
  }
  return std::nullopt;
}

// When `pkt c end` holds with c one of > and >=, the pointer is past or at the end (Linux's
// mark_pkt_end); this marks the pointer compared, not its copies.
void mark_end(State& s, int reg, Cond c) {
  RegState& pkt = s.reg(reg);
  if (pkt.type != RegType::Packet) return;
  if (c == Cond::Gt) pkt.range = kBeyondPacketEnd;
  if (c == Cond::Ge) pkt.range = kAtPacketEnd;
}

}  // namespace

Checker::Step Checker::fork(State& s, uint32_t pc, const isa::Decoded& d,
                            std::optional<State> taken, std::optional<State> fallthrough) {
  auto target = static_cast<uint32_t>(*isa::branch_target(d, pc));
  if (!taken && !fallthrough) return Step::done();  // the state itself cannot happen
  if (!taken) {
    s = std::move(*fallthrough);
    return Step::to(pc + 1);
  }
  if (!fallthrough) {
    s = std::move(*taken);
    return Step::to(target);
  }
  s = std::move(*fallthrough);
  Step step = Step::to(pc + 1);
  step.kind = Kind::Fork;
  step.taken = std::move(taken);
  step.taken_pc = target;
  return step;
}

Checker::Step Checker::check_cond_jump(State& s, uint32_t pc, const isa::Decoded& d) {
  bool by_reg = d.info().form == isa::Form::JmpReg;
  if (auto e = require_init(pc, s, d.dst)) return *e;
  if (by_reg)
    if (auto e = require_init(pc, s, d.src)) return *e;
  RegState b =
      by_reg ? s.reg(d.src) : RegState::known(static_cast<uint64_t>(static_cast<int64_t>(d.imm)));
  if (s.reg(d.dst).is_scalar() && b.is_scalar()) return scalar_branch(s, pc, d, b);
  return pointer_branch(s, pc, d, b);
}

Checker::Step Checker::scalar_branch(State& s, uint32_t pc, const isa::Decoded& d, RegState b) {
  Cond c = *jump_condition(d.op);
  bool is32 = isa::is_jmp32(d.op);
  bool by_reg = d.info().form == isa::Form::JmpReg;
  auto target = static_cast<uint32_t>(*isa::branch_target(d, pc));
  const Scalar a = s.reg(d.dst).value;
  if (std::optional<bool> decided = branch_outcome(c, a, b.value, is32))
    return Step::to(*decided ? target : pc + 1);
  std::optional<State> taken, fallthrough;
  for (bool side : {true, false}) {
    Scalar x = a, y = b.value;
    if (!refine(side ? c : negate(c), x, y, is32)) continue;
    State branch = side ? State(s) : State(std::move(s));
    assign_scalar(branch, d.dst, x);
    if (by_reg) assign_scalar(branch, d.src, y);
    (side ? taken : fallthrough) = std::move(branch);
  }
  return fork(s, pc, d, std::move(taken), std::move(fallthrough));
}

Checker::Step Checker::pointer_branch(State& s, uint32_t pc, const isa::Decoded& d,
                                      const RegState& b) {
  Cond c = *jump_condition(d.op);
  bool is32 = isa::is_jmp32(d.op);
  bool by_reg = d.info().form == isa::Form::JmpReg;
  auto target = static_cast<uint32_t>(*isa::branch_target(d, pc));
  const RegState a = s.reg(d.dst);
  if (!is32 && (c == Cond::Eq || c == Cond::Ne)) {
    // A null check of a map lookup's result (either operand may be the pointer).
    const RegState* ptr = maybe_null(a.type) && b.is_known(0)   ? &a
                          : maybe_null(b.type) && a.is_known(0) ? &b
                                                                : nullptr;
    if (ptr) {
      State other = s;
      uint32_t id = ptr->id;
      mark_null(c == Cond::Eq ? other : s, platform_, id, true);
      mark_null(c == Cond::Eq ? s : other, platform_, id, false);
      return fork(s, pc, d, std::move(other), std::move(s));
    }
    // A pointer that cannot be null is never equal to 0.
    bool nonnull_vs_zero = (is_pointer(a.type) && !maybe_null(a.type) && b.is_known(0)) ||
                           (is_pointer(b.type) && !maybe_null(b.type) && a.is_known(0));
    if (nonnull_vs_zero) return Step::to(c == Cond::Ne ? target : pc + 1);
  }
  if (!is32 && by_reg && is_order(c)) {
    bool dst_is_pkt = bounded_by(a, b), src_is_pkt = bounded_by(b, a);
    if (dst_is_pkt || src_is_pkt) {
      const RegState& pkt = dst_is_pkt ? a : b;
      Cond pc_cond = dst_is_pkt ? c : mirror(c);  // as `pkt pc_cond end`
      if (std::optional<bool> decided = packet_outcome(pc_cond, pkt))
        return Step::to(*decided ? target : pc + 1);
      State taken = s;
      if (int32_t r = proven_range(pc_cond, pkt)) mark_range(taken, pkt.type, pkt.id, r);
      if (int32_t r = proven_range(negate(pc_cond), pkt)) mark_range(s, pkt.type, pkt.id, r);
      int pkt_reg = dst_is_pkt ? d.dst : d.src;
      mark_end(taken, pkt_reg, pc_cond);
      mark_end(s, pkt_reg, negate(pc_cond));
      return fork(s, pc, d, std::move(taken), std::move(s));
    }
  }
  State other = s;
  return fork(s, pc, d, std::move(other), std::move(s));
}

}  // namespace pollen::verifier

// SPDX-License-Identifier: MIT
// Walks over a path's state and the subsumption test of state pruning, after Linux's
// states_equal(), regsafe(), stacksafe() and check_ids(): an explored state proves the current
// one safe when each of its registers and stack bytes stands for at least the values of the
// current one, and every tie between registers it relied on (same id) also holds now.
#include "verifier/state.hpp"

#include <fmt/format.h>

namespace pollen::verifier {
namespace {

// Maps the explored state's ids to the current state's. A tie in the explored state (two
// registers with one id) must be a tie in the current one; extra ties in the current state only
// make it more precise. Linux also refuses the reverse; that is not needed for soundness.
class IdMap {
 public:
  bool match(uint32_t old_id, uint32_t cur_id) {
    for (const auto& [o, c] : pairs_)
      if (o == old_id) return c == cur_id;
    pairs_.emplace_back(old_id, cur_id);
    return true;
  }
  // Pointer ids: 0 means "no variable offset" (packet) or "no tie", and must match exactly.
  // Reference ids: 0 (no reference) only matches 0.
  bool ref_ids(uint32_t old_id, uint32_t cur_id) {
    if (old_id == 0 || cur_id == 0) return old_id == cur_id;
    return refs_.match(old_id, cur_id);
  }
  bool pointer_ids(uint32_t old_id, uint32_t cur_id) {
    if (old_id == 0 || cur_id == 0) return old_id == cur_id;
    return match(old_id, cur_id);
  }
  // Scalar ids: an untied old scalar accepts anything; a tied one needs a tie now, and an
  // untied current scalar gets an id of its own that cannot match any other.
  bool scalar_ids(uint32_t old_id, uint32_t cur_id) {
    if (old_id == 0) return true;
    return match(old_id, cur_id ? cur_id : kTempIds + ++temp_);
  }

 private:
  static constexpr uint32_t kTempIds = 0x80000000u;
  std::vector<std::pair<uint32_t, uint32_t>> pairs_;
  uint32_t temp_ = 0;
  struct Pairs {
    std::vector<std::pair<uint32_t, uint32_t>> pairs;
    bool match(uint32_t o, uint32_t c) {
      for (const auto& [a, b] : pairs)
        if (a == o || b == c) return a == o && b == c;
      pairs.emplace_back(o, c);
      return true;
    }
  } refs_;
};

bool regsafe(const RegState& old, const RegState& cur, IdMap& ids) {
  if (old.type == RegType::NotInit) return true;
  if (old.type != cur.type) return false;
  if (old.type != RegType::Scalar && !ids.ref_ids(old.ref, cur.ref)) return false;
  switch (old.type) {
    case RegType::NotInit: return true;
    case RegType::Scalar: return old.value.includes(cur.value) && ids.scalar_ids(old.id, cur.id);
    case RegType::Ctx:
    case RegType::PacketEnd: return old.off == cur.off && old.value == cur.value;
    // fp-8 in one frame is not fp-8 in another (Linux: regs_exact plus frameno).
    case RegType::Stack:
      return old.off == cur.off && old.value == cur.value && old.frame == cur.frame;
    case RegType::MapPtr: return old.map == cur.map;
    case RegType::MapValue:
    case RegType::MapValueOrNull:
      return old.map == cur.map && old.off == cur.off && old.value.includes(cur.value) &&
             ids.pointer_ids(old.id, cur.id);
    // At least the range proven before, the same fixed offset (alignment and range are
    // relative to it), and the same ties.
    case RegType::Packet:
    case RegType::PacketMeta:
      return old.range <= cur.range && old.off == cur.off && old.value.includes(cur.value) &&
             ids.pointer_ids(old.id, cur.id);
    case RegType::Mem:
    case RegType::MapKey:
      return old.map == cur.map && old.mem_size == cur.mem_size && old.off == cur.off &&
             old.value.includes(cur.value);
    case RegType::MemOrNull:
      return old.mem_size == cur.mem_size && old.off == cur.off && old.value == cur.value &&
             ids.pointer_ids(old.id, cur.id);
    case RegType::Func: return old.mem_size == cur.mem_size;
  }
  return false;
}

bool byte_safe(SlotType old, SlotType cur, const StackSlot* cur_slot) {
  switch (old) {
    case SlotType::Invalid: return true;  // never read on the explored paths
    case SlotType::Misc:
      // Some number: zero, or bytes of a spilled scalar, are numbers too.
      return cur == SlotType::Misc || cur == SlotType::Zero ||
             (cur == SlotType::Spill && cur_slot->spilled.is_scalar());
    case SlotType::Zero: return cur == SlotType::Zero;
    case SlotType::Spill: return cur == SlotType::Spill;
  }
  return false;
}

bool stacksafe(const StackState& old, const StackState& cur, IdMap& ids) {
  for (size_t i = 0; i < old.slots().size(); ++i) {
    const StackSlot& o = old.slots()[i];
    const StackSlot* c = i < cur.slots().size() ? &cur.slots()[i] : nullptr;
    if (o.has_spill()) {
      if (!c || !c->has_spill() || c->spill_size != o.spill_size ||
          !regsafe(o.spilled, c->spilled, ids))
        return false;
    }
    for (size_t b = 0; b < 8; ++b) {
      SlotType cb = c ? c->bytes[b] : SlotType::Invalid;
      if (!byte_safe(o.bytes[b], cb, c)) return false;
    }
  }
  return true;
}

void mix(uint64_t& h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15u + (h << 6) + (h >> 2);
}

void hash_reg(uint64_t& h, const RegState& r) {
  mix(h, static_cast<uint64_t>(r.type));
  if (r.type == RegType::NotInit) return;
  const Scalar& v = r.value;
  for (uint64_t x : {v.var_off.value, v.var_off.mask, static_cast<uint64_t>(v.smin),
                     static_cast<uint64_t>(v.smax), v.umin, v.umax})
    mix(h, x);
  mix(h, (uint64_t{v.u32_min} << 32) | v.u32_max);
  mix(h, (static_cast<uint64_t>(static_cast<uint32_t>(v.s32_min)) << 32) |
             static_cast<uint32_t>(v.s32_max));
  mix(h,
      (static_cast<uint64_t>(static_cast<uint32_t>(r.off)) << 32) | static_cast<uint32_t>(r.range));
  mix(h, (uint64_t{r.map} << 32) | r.mem_size);
  mix(h, r.frame);
  mix(h, r.ref != 0);
}

}  // namespace

uint64_t state_hash(const State& state) {
  uint64_t h = state.frames.size();
  mix(h, state.refs.size());
  mix(h, state.lock ? state.lock->map + 1 : 0);
  for (const FrameState& f : state.frames) {
    mix(h, (uint64_t{f.callsite} << 32) | f.function);
    mix(h, f.callback);
    for (const RegState& r : f.regs) hash_reg(h, r);
    // Slots never written are skipped: a state with more of them is the same state.
    for (size_t i = 0; i < f.stack.slots().size(); ++i) {
      const StackSlot& slot = f.stack.slots()[i];
      uint64_t bytes = 0;
      for (SlotType t : slot.bytes) bytes = bytes << 8 | static_cast<uint8_t>(t);
      if (bytes == 0) continue;
      mix(h, i);
      mix(h, bytes);
      if (slot.has_spill()) {
        mix(h, slot.spill_size);
        hash_reg(h, slot.spilled);
      }
    }
  }
  return h;
}

void State::for_each_reg(const std::function<void(RegState&)>& fn) {
  for (FrameState& frame : frames) {
    for (RegState& r : frame.regs) fn(r);
    for (StackSlot& slot : frame.stack.slots())
      if (slot.has_spill()) fn(slot.spilled);
  }
}

bool subsumes(const State& old, const State& cur) {
  if (old.frames.size() != cur.frames.size()) return false;
  if (old.refs.size() != cur.refs.size()) return false;
  if (old.lock.has_value() != cur.lock.has_value()) return false;
  IdMap ids;
  // The same references held, acquired in the same order (Linux's refsafe).
  for (size_t i = 0; i < old.refs.size(); ++i)
    if (!ids.ref_ids(old.refs[i].id, cur.refs[i].id)) return false;
  if (old.lock && (old.lock->map != cur.lock->map || !ids.pointer_ids(old.lock->id, cur.lock->id)))
    return false;
  for (size_t f = 0; f < old.frames.size(); ++f) {
    const FrameState& o = old.frames[f];
    const FrameState& c = cur.frames[f];
    if (o.callsite != c.callsite || o.function != c.function || o.callback != c.callback)
      return false;
    for (size_t r = 0; r < o.regs.size(); ++r)
      if (!regsafe(o.regs[r], c.regs[r], ids)) return false;
    if (!stacksafe(o.stack, c.stack, ids)) return false;
  }
  return true;
}

std::string describe(const State& state) {
  std::string out;
  for (size_t f = 0; f < state.frames.size(); ++f) {
    const FrameState& frame = state.frames[f];
    std::string line = state.frames.size() > 1 ? fmt::format("frame {}:", f) : "";
    for (size_t r = 0; r < frame.regs.size(); ++r)
      if (frame.regs[r].type != RegType::NotInit)
        line += fmt::format("{}r{}={}", line.empty() ? "" : " ", r, frame.regs[r].str());
    std::string stack = frame.stack.str();
    if (!stack.empty()) line += " " + stack;
    out += (out.empty() ? "" : "\n") + line;
  }
  return out;
}

}  // namespace pollen::verifier

// SPDX-License-Identifier: MIT
// Stack reads and writes with Linux's spill/fill rules: an 8-byte aligned store of any register
// keeps its full state, a narrower aligned store of a scalar keeps it too (the load narrows it
// again), a store of a known zero marks zero bytes, any other store marks numbers and destroys a
// spill it touches; a load of a whole spill gets the register back, a load of part of a spilled
// pointer is refused, and a load of bytes never written gets some number (Linux for root:
// allow_uninit_stack; the checker has the engines zero such bytes, see Facts::unwritten_reads).
#include "verifier/stack_state.hpp"

#include <bit>

#include <fmt/format.h>

namespace pollen::verifier {
namespace {

// Slot index and byte position of stack offset `off` (-512 <= off < 0).
int slot_index(int off) {
  return (-off - 1) / 8;
}
int byte_index(int off) {
  return off + 8 * (slot_index(off) + 1);
}

char byte_char(SlotType t) {
  switch (t) {
    case SlotType::Invalid: return '?';
    case SlotType::Misc: return 'm';
    case SlotType::Zero: return '0';
    case SlotType::Spill: return 'r';
  }
  return '?';
}

}  // namespace

SlotType StackState::byte(int off) const {
  const StackSlot* slot = slot_at(off);
  return slot ? slot->bytes[static_cast<size_t>(byte_index(off))] : SlotType::Invalid;
}

const StackSlot* StackState::slot_at(int off) const {
  auto i = static_cast<size_t>(slot_index(off));
  return i < slots_.size() ? &slots_[i] : nullptr;
}

StackSlot& StackState::grow_to(int off) {
  auto i = static_cast<size_t>(slot_index(off));
  if (i >= slots_.size()) slots_.resize(i + 1);
  return slots_[i];
}

void StackState::drop_spill(StackSlot& slot) {
  if (!slot.has_spill()) return;
  for (SlotType& b : slot.bytes)
    if (b == SlotType::Spill) b = SlotType::Misc;
  slot.spill_size = 0;
  slot.spilled = RegState::not_init();
}

void StackState::write(int off, int size, const RegState& value) {
  StackSlot& slot = grow_to(off);
  int b = byte_index(off);
  // Spills: save_register_state() for a pointer (8 bytes, aligned: the caller checked), or
  // for a scalar stored at the start of a slot.
  if (b == 0 && (is_pointer(value.type) || value.is_scalar())) {
    drop_spill(slot);
    for (int i = 0; i < size; ++i) slot.bytes[static_cast<size_t>(i)] = SlotType::Spill;
    slot.spill_size = static_cast<uint8_t>(size);
    slot.spilled = value;
    return;
  }
  drop_spill(slot);
  SlotType t = value.is_known(0) ? SlotType::Zero : SlotType::Misc;
  for (int i = b; i < b + size; ++i) slot.bytes[static_cast<size_t>(i)] = t;
}

void StackState::write_somewhere(int lo, int hi) {
  for (int off = lo; off < hi; ++off) {
    StackSlot& slot = grow_to(off);
    drop_spill(slot);
    SlotType& t = slot.bytes[static_cast<size_t>(byte_index(off))];
    if (t != SlotType::Invalid) t = SlotType::Misc;
  }
}

void StackState::fill(int lo, int hi) {
  for (int off = lo; off < hi; ++off) {
    StackSlot& slot = grow_to(off);
    drop_spill(slot);
    slot.bytes[static_cast<size_t>(byte_index(off))] = SlotType::Misc;
  }
}

std::optional<std::pair<int, int>> StackState::unwritten(int lo, int hi) const {
  std::optional<std::pair<int, int>> range;
  for (int off = lo; off < hi; ++off) {
    if (byte(off) != SlotType::Invalid) continue;
    if (!range) range = {off, off};
    range->second = off + 1;
  }
  return range;
}

std::optional<RegState> StackState::read(int off, int size, StackReadError& error) const {
  const StackSlot* slot = slot_at(off);
  int b = byte_index(off);
  if (slot && slot->has_spill() && b < slot->spill_size) {
    const RegState& spilled = slot->spilled;
    if (is_pointer(spilled.type)) {
      if (b == 0 && size == 8) return spilled;
      error.off = off;
      return std::nullopt;
    }
    // A scalar read from where it was spilled, no wider than the spill: the low bytes of the
    // register, on a little-endian host (Linux: bpf_stack_narrow_access_ok).
    if (b == 0 && size <= slot->spill_size && std::endian::native == std::endian::little) {
      RegState r = spilled;
      r.value.truncate(static_cast<unsigned>(size));
      if (!(r.value == spilled.value)) r.id = 0;  // narrowed: no longer a copy
      return r;
    }
  }
  return read_somewhere(off, off + size);
}

std::optional<RegState> StackState::read_somewhere(int lo, int hi) const {
  bool all_zero = true;
  for (int off = lo; off < hi; ++off) all_zero = all_zero && byte(off) == SlotType::Zero;
  if (all_zero) return RegState::known(0);
  int size = hi - lo;
  return RegState::scalar(size >= 8 ? Scalar::unknown()
                                    : Scalar::of_size(static_cast<unsigned>(size)));
}

std::string StackState::str() const {
  std::string out;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const StackSlot& slot = slots_[i];
    bool any = false;
    for (SlotType t : slot.bytes) any = any || t != SlotType::Invalid;
    if (!any) continue;
    std::string what;
    if (slot.has_spill() && slot.spill_size == 8) {
      what = slot.spilled.str();
    } else {
      // Highest address first, as Linux prints slot_type.
      for (size_t b = 8; b-- > 0;) what += byte_char(slot.bytes[b]);
      if (slot.has_spill()) what += "(" + slot.spilled.str() + ")";
    }
    out += fmt::format("{}fp-{}={}", out.empty() ? "" : " ", (i + 1) * 8, what);
  }
  return out;
}

}  // namespace pollen::verifier

// SPDX-License-Identifier: MIT
// One frame's stack as the verifier sees it, after Linux's struct bpf_stack_state: per byte,
// whether it was never written, holds some number, holds zero, or is part of a spilled
// register; per 8-byte slot, the full state of the register spilled there. Reads and writes
// here assume the caller has checked bounds and alignment (check_mem.cpp); they apply Linux's
// spill and fill rules (check_stack_write_fixed_off, check_stack_read_fixed_off) for a root
// load: a byte never written reads as some number (allow_uninit_stack).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "verifier/reg_state.hpp"

namespace pollen::verifier {

/// Linux's MAX_BPF_STACK.
inline constexpr int kStackSize = 512;

/// What one stack byte holds (Linux's STACK_INVALID, STACK_MISC, STACK_ZERO, STACK_SPILL).
enum class SlotType : uint8_t { Invalid, Misc, Zero, Spill };

/// Eight bytes of stack, [-(i+1)*8, -i*8) for slot i.
struct StackSlot {
  std::array<SlotType, 8> bytes{};  ///< bytes[b] is the byte at the slot's lowest address + b
  uint8_t spill_size = 0;           ///< a spill fills bytes [0, spill_size)
  RegState spilled;                 ///< the spilled register when bytes[0] is Spill

  bool has_spill() const { return bytes[0] == SlotType::Spill; }
  friend bool operator==(const StackSlot&, const StackSlot&) = default;
};

/// Why a stack read failed: it reads part of the pointer spilled at `off`'s slot.
struct StackReadError {
  int off = 0;  ///< the first offending byte
};

class StackState {
 public:
  /// Bytes in use: the deepest slot ever written, times 8.
  int depth() const { return static_cast<int>(slots_.size()) * 8; }
  const std::vector<StackSlot>& slots() const { return slots_; }
  std::vector<StackSlot>& slots() { return slots_; }

  SlotType byte(int off) const;
  /// The slot holding byte `off` (-512 <= off < 0), or null when it was never written.
  const StackSlot* slot_at(int off) const;

  /// A store of `size` bytes at `off` (aligned to size) of the register `value`; `value` is a
  /// known scalar for a store of an immediate.
  void write(int off, int size, const RegState& value);
  /// A store at an offset somewhere in [lo, hi) (variable offset): written bytes become
  /// numbers, spills they touch are lost, bytes never written stay unwritten (they may not be).
  void write_somewhere(int lo, int hi);
  /// A helper filled [lo, hi): every byte becomes a number.
  void fill(int lo, int hi);

  /// A load of `size` bytes at `off` (aligned to size): the spilled register, a number, or
  /// zero; the caller narrows the result to the load's size. Bytes never written are some
  /// number. Fails on part of a spilled pointer.
  std::optional<RegState> read(int off, int size, StackReadError& error) const;
  /// A load from somewhere in [lo, hi): a number, or zero when every byte is zero.
  std::optional<RegState> read_somewhere(int lo, int hi) const;
  /// The bytes of [lo, hi) never written, as [first, last + 1); none when all were.
  std::optional<std::pair<int, int>> unwritten(int lo, int hi) const;

  friend bool operator==(const StackState&, const StackState&) = default;

  /// Written slots, as Linux prints them: "fp-8=map_value(map=0) fp-16=mmmm0000".
  std::string str() const;

 private:
  StackSlot& grow_to(int off);
  void drop_spill(StackSlot& slot);

  std::vector<StackSlot> slots_;
};

}  // namespace pollen::verifier

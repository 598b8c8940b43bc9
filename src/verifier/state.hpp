// SPDX-License-Identifier: MIT
// The verifier's state on one path: one frame per active function (registers, stack, the call
// that made it), after Linux's struct bpf_verifier_state and bpf_func_state, with the walks the
// checks need (every register and spilled register of every frame, for null checks and bounds
// checks that reach all copies) and the subsumption test of state pruning (states_equal).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "verifier/reg_state.hpp"
#include "verifier/stack_state.hpp"

namespace pollen::verifier {

inline constexpr int kRegCount = 11;  ///< r0..r10
inline constexpr int kFp = 10;        ///< the read-only frame pointer
/// Linux's MAX_CALL_FRAMES: the main function and up to seven nested local calls.
inline constexpr uint32_t kMaxFrames = 8;

struct FrameState {
  std::array<RegState, kRegCount> regs;
  StackState stack;
  uint32_t callsite = 0;  ///< frames above 0: the slot of the call that made this frame
  uint32_t function = 0;  ///< index of the function (subprogram) that runs in it
  /// A callback's frame (bpf_loop, bpf_for_each_map_elem): its exit goes back to the helper
  /// call at `callsite`, which may call it again, and r0 there must be 0 or 1.
  bool callback = false;
  uint32_t refs_at_entry = 0;  ///< callbacks: references held when it was called

  friend bool operator==(const FrameState&, const FrameState&) = default;
};

/// A reference the program holds (Linux's bpf_reference_state): a ring buffer record.
struct Reference {
  uint32_t id = 0;
  uint32_t insn = 0;  ///< the call that acquired it
  friend bool operator==(const Reference&, const Reference&) = default;
};

/// The bpf_spin_lock held (Linux's active_lock): the map value's map and the id of the pointer
/// it was taken through (0 for global data, which has no lookup).
struct HeldLock {
  uint32_t map = 0;
  uint32_t id = 0;
  friend bool operator==(const HeldLock&, const HeldLock&) = default;
};

struct State {
  std::vector<FrameState> frames;  ///< frames.back() is the running function's
  std::vector<Reference> refs;     ///< references not yet released, in acquisition order
  std::optional<HeldLock> lock;    ///< the spin lock held, if any

  FrameState& top() { return frames.back(); }
  const FrameState& top() const { return frames.back(); }
  RegState& reg(int r) { return top().regs[static_cast<size_t>(r)]; }
  const RegState& reg(int r) const { return top().regs[static_cast<size_t>(r)]; }
  uint32_t frame_index() const { return static_cast<uint32_t>(frames.size() - 1); }

  /// Calls `fn` on every register and every spilled register of every frame.
  void for_each_reg(const std::function<void(RegState&)>& fn);

  friend bool operator==(const State&, const State&) = default;
};

/// True when every concrete state `cur` stands for is one `old` stands for, so that what was
/// proven from `old` holds for `cur` (Linux's states_equal / regsafe / stacksafe, with ids
/// matched up to renaming). Registers `old` never initialised are ignored, as are stack bytes
/// it never wrote.
bool subsumes(const State& old, const State& cur);

/// A hash of everything subsumes() compares except ids, so that states equal up to renaming
/// ids hash alike: a quick test before the exact comparison of loop detection.
uint64_t state_hash(const State& state);

/// The registers that are not NotInit in every frame, one line per frame, for diagnostics.
std::string describe(const State& state);

}  // namespace pollen::verifier

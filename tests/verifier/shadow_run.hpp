// SPDX-License-Identifier: MIT
// A shadow run for soundness checks: a small, slow interpreter that tracks, next to every
// register and every stack byte, whether it was ever written, and stops at the first read of
// something never written, at any access outside the run's regions and live stack frames, and
// at the instruction budget. The interpreter's checked mode catches out-of-bounds accesses but
// zeroes stacks and registers, so it cannot see uninitialised reads; this does. Used on every
// program the verifier accepts in the tests and the fuzz target.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "isa/isa.hpp"
#include "verifier/platform.hpp"
#include "vm/abi.hpp"

namespace pollen::test {

struct ShadowInput {
  std::span<const isa::Insn> prog;  ///< as it runs: context rewritten, map values patched
  std::array<uint64_t, 5> args{};   ///< r1..r5
  std::array<bool, 5> defined{};    ///< which of r1..r5 the program type sets at entry
  std::vector<vm::Region> regions;  ///< memory besides the stack
  std::span<uint8_t> packet;        ///< for ld_abs / ld_ind
  const vm::HelperTable* helpers = nullptr;
  const verifier::Platform* platform = nullptr;  ///< prototypes: which memory helpers write
  void* env = nullptr;                           ///< RunContext::env for the helpers
  uint64_t budget = 10'000'000;
};

struct ShadowResult {
  std::string fault;  ///< empty when the run reached its exit
  uint64_t r0 = 0;
  bool r0_in_stack = false;  ///< r0 is an address in (or a frame around) the shadow's stack
};

ShadowResult shadow_run(const ShadowInput& in);

}  // namespace pollen::test

// SPDX-License-Identifier: MIT
// What the verifier knows of a program before following any path: its decoded instructions,
// its functions, which instructions are reachable at all (Linux's check_cfg rejects
// unreachable ones), where states are compared for pruning (jump targets, conditional jumps,
// calls and their return points, as Linux's mark_prune_point places them), and which registers
// each instruction may still read (a backward liveness analysis, used to forget dead registers
// before comparing states, as Linux's clean_live_states does with its read marks).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "isa/isa.hpp"
#include "verifier/platform.hpp"

namespace pollen::verifier {

/// A rejection: the instruction, the failed condition in words with the facts that failed,
/// and a hint when one helps.
struct Failure {
  uint32_t insn = 0;
  std::string reason;
  std::string hint;
};

/// Registers as a bit set: bit r for rN.
using RegSet = uint16_t;

struct Cfg {
  std::vector<isa::Decoded> insns;  ///< by slot; lddw's second slot repeats the first
  std::vector<bool> second_slot;    ///< true for lddw's second slot
  std::vector<uint32_t> function_starts;
  std::vector<uint32_t> function_of;  ///< by slot
  std::vector<bool> prune_point;
  std::vector<bool> callback_site;  ///< helper calls that take a callback
  std::vector<RegSet> live_in;      ///< registers some path from the slot may read before writing

  const isa::Decoded& at(uint32_t pc) const { return insns[pc]; }
  size_t size() const { return insns.size(); }
};

/// Builds the facts of a structurally valid program (isa::validate passed). Fails on an
/// unreachable instruction, as Linux does.
std::optional<Failure> build_cfg(std::span<const isa::Insn> prog, const Platform& platform,
                                 Cfg& cfg);

/// The function (its first slot) a local call or a lddw src=4 at `pc` names, if it is one.
std::optional<uint32_t> called_function(const Cfg& cfg, uint32_t pc);

/// The registers an instruction reads and writes, for liveness.
struct RegUse {
  RegSet use = 0;
  RegSet def = 0;
};
RegUse reg_use(const isa::Decoded& d, const Platform& platform);

}  // namespace pollen::verifier

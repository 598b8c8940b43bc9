// SPDX-License-Identifier: MIT
// The rewrites between verification and running (see rewrite.hpp). The zeroing stores go in
// front of each function's first instruction; a function's own jumps never cross them (jumps
// stay inside their function), so only what names a function from elsewhere moves: local calls
// and BPF_PSEUDO_FUNC lddw, both relative to the slot after them.
#include "verifier/rewrite.hpp"

#include <algorithm>

#include "verifier/ctx_rewrite.hpp"

namespace pollen::verifier {
namespace {

constexpr uint8_t kStoreImmDw = 0x7a;  // BPF_ST | BPF_MEM | BPF_DW
constexpr int kSlot = 8;

// The zeroing stores for one function: whole 8-byte slots covering [lo, hi). At entry nothing
// of the frame is written yet, so zeroing more than the bytes read changes nothing.
std::vector<isa::Insn> zeroing(std::pair<int, int> range) {
  std::vector<isa::Insn> stores;
  if (range.first >= range.second) return stores;
  const int lo = -((-range.first + kSlot - 1) / kSlot) * kSlot;
  const int hi = -((-range.second) / kSlot) * kSlot;
  for (int off = lo; off < hi; off += kSlot) {
    isa::Insn store;
    store.opcode = kStoreImmDw;
    store.dst = 10;
    store.off = static_cast<int16_t>(off);
    stores.push_back(store);
  }
  return stores;
}

}  // namespace

std::vector<isa::Insn> zero_unwritten_stack(std::span<const isa::Insn> prog, const Facts& facts) {
  const size_t functions = std::min(facts.function_starts.size(), facts.unwritten_reads.size());
  std::vector<std::vector<isa::Insn>> blocks(functions);
  bool any = false;
  for (size_t f = 0; f < functions; ++f) {
    blocks[f] = zeroing(facts.unwritten_reads[f]);
    any = any || !blocks[f].empty();
  }
  if (!any) return {prog.begin(), prog.end()};

  // Where each old slot lands, and where the function starting at it now starts.
  std::vector<int64_t> moved(prog.size() + 1), entry(prog.size() + 1);
  int64_t shift = 0;
  size_t f = 0;
  for (size_t i = 0; i <= prog.size(); ++i) {
    entry[i] = static_cast<int64_t>(i) + shift;
    if (f < functions && facts.function_starts[f] == i) shift += static_cast<int64_t>(blocks[f++].size());
    moved[i] = static_cast<int64_t>(i) + shift;
  }

  std::vector<isa::Insn> out;
  out.reserve(prog.size() + static_cast<size_t>(shift));
  f = 0;
  for (size_t i = 0; i < prog.size(); ++i) {
    if (f < functions && facts.function_starts[f] == i) {
      out.insert(out.end(), blocks[f].begin(), blocks[f].end());
      ++f;
    }
    isa::Insn insn = prog[i];
    std::optional<isa::Op> op = isa::classify(insn);
    if (op) {
      std::optional<int64_t> target = isa::function_target(insn, *op, i);
      if (target && *target >= 0 && *target < static_cast<int64_t>(prog.size()))
        insn.imm = static_cast<int32_t>(entry[static_cast<size_t>(*target)] - (moved[i] + 1));
    }
    out.push_back(insn);
  }
  return out;
}

std::vector<isa::Insn> rewrite_for_run(std::span<const isa::Insn> prog, const Facts& facts) {
  return zero_unwritten_stack(rewrite_context(prog, facts), facts);
}

}  // namespace pollen::verifier

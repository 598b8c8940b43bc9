// SPDX-License-Identifier: MIT
// What the verifier's facts change in a program before it runs, as Linux's fixups after
// do_check (convert_ctx_accesses and friends): context accesses moved to the runtime's layout
// (ctx_rewrite.hpp), and stores of zero at the entry of every function over the stack bytes
// one of its paths reads before writing them (Facts::unwritten_reads).
#pragma once

#include <span>
#include <vector>

#include "isa/isa.hpp"
#include "verifier/checker.hpp"

namespace pollen::verifier {

/// `prog` with, at the start of each function that has unwritten_reads, one `*(u64 *)(r10 +
/// off) = 0` per 8-byte slot of that range. Calls and callback addresses (lddw
/// BPF_PSEUDO_FUNC) go to the stores; jumps inside a function keep their offsets, so a loop
/// back to a function's first instruction does not zero again. Without unwritten_reads the
/// program comes back as it was.
std::vector<isa::Insn> zero_unwritten_stack(std::span<const isa::Insn> prog, const Facts& facts);

/// Both rewrites, in the order the runtime needs them: what an accepted program runs as.
std::vector<isa::Insn> rewrite_for_run(std::span<const isa::Insn> prog, const Facts& facts);

}  // namespace pollen::verifier

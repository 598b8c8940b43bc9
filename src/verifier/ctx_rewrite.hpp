// SPDX-License-Identifier: MIT
// The context rewrite that follows verification, as Linux's convert_ctx_accesses() does it:
// programs are written against Linux's context structures (struct xdp_md with 32-bit packet
// offsets, struct __sk_buff), Pollen's runtime keeps its own context (64-bit pointers); every
// load or store the verifier saw go to a context field is moved to where the runtime keeps it.
#pragma once

#include <span>
#include <vector>

#include "isa/isa.hpp"
#include "verifier/checker.hpp"

namespace pollen::verifier {

/// `prog` with each context access in `facts` moved to the program type's runtime layout
/// (CtxField::runtime_offset / runtime_size). Instructions keep their positions.
std::vector<isa::Insn> rewrite_context(std::span<const isa::Insn> prog, const Facts& facts);

}  // namespace pollen::verifier

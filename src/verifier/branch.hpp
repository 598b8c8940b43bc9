// SPDX-License-Identifier: MIT
// Conditional jumps on scalars: whether a condition is decided by what is known of its operands
// (Linux's is_scalar_branch_taken) and what each side of the branch learns about them (Linux's
// reg_set_min_max / regs_refine_cond_op), for every JMP and JMP32 condition.
#pragma once

#include <optional>

#include "isa/isa.hpp"
#include "verifier/scalar.hpp"

namespace pollen::verifier {

/// A jump condition. NotSet is the negation of Set (the false side of jset).
enum class Cond : uint8_t { Eq, Ne, Gt, Ge, Lt, Le, Sgt, Sge, Slt, Sle, Set, NotSet };

/// The condition of a conditional jump (either class), or nothing for other operations.
std::optional<Cond> jump_condition(isa::Op op);
/// The condition that holds when `c` does not (the fall-through side).
Cond negate(Cond c);
/// The condition with its operands swapped: a > b is b < a.
Cond mirror(Cond c);
/// The C operator of a condition, for messages: "==", "s<", "&".
const char* cond_operator(Cond c);

/// Whether `a c b` holds for every value (true), for none (false), or depends on the values.
/// `is32` compares the low 32 bits only (JMP32).
std::optional<bool> branch_outcome(Cond c, const Scalar& a, const Scalar& b, bool is32);

/// Narrows `a` and `b` to the values for which `a c b` holds. Returns false when there are
/// none: that side of the branch cannot be reached.
[[nodiscard]] bool refine(Cond c, Scalar& a, Scalar& b, bool is32);

}  // namespace pollen::verifier

// SPDX-License-Identifier: MIT
// The inside of pollen::Program, private to the runtime: the slots of a program that passed
// isa::validate(). program.cpp builds it; exec.cpp hands the slots to an engine.
#pragma once

#include <vector>

#include "isa/isa.hpp"
#include "pollen/pollen.hpp"

namespace pollen {

struct Program::Impl {
  std::vector<isa::Insn> insns;  ///< structurally valid (isa::validate passed)
};

}  // namespace pollen

// SPDX-License-Identifier: MIT
// The inside of pollen::Object, private to the runtime: the ObjectSpec it came from, the maps
// created from its MapSpecs (same order), and its programs linked against them. object.cpp
// builds it; test_run.cpp runs its programs; map_access.cpp gives the host its maps.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "isa/isa.hpp"
#include "jit/jit.hpp"
#include "loader/spec.hpp"
#include "maps/map.hpp"
#include "pollen/object.hpp"
#include "vm/abi.hpp"
#include "vm/interpreter.hpp"

namespace pollen {

/// A program whose lddw map relocations hold live addresses: a Map* (src=1) or the address of
/// a global-data value plus its offset (src=2), so the engine loads them as plain constants.
/// A PROG_ARRAY slot holds its interpreter (the tail-call target, as src/vm expects).
struct LinkedProgram {
  std::string name;
  std::string section;
  loader::ProgramType type = loader::ProgramType::Unspec;
  bool raw = false;  ///< a bare bytecode file: r1 = data, r2 = length
  std::vector<isa::Insn> insns;
  std::vector<loader::LineInfo> line_info;
  std::shared_ptr<const vm::Interpreter> interpreter;
  /// Compiled (checked mode) on the first run with Engine::Jit.
  std::shared_ptr<const jit::JitProgram> jit;
};

struct Object::Impl {
  loader::ObjectSpec spec;
  std::vector<std::shared_ptr<maps::Map>> maps;  ///< by index in spec.maps
  std::vector<std::shared_ptr<LinkedProgram>> programs;
  uint32_t slots = 1;  ///< execution slots: one, so per-CPU maps hold one value per element
  /// Checked mode, for every program of the object (a tail call may reach any of them): the
  /// global-data values, and the maps helpers may be handed (RunArgs::maps).
  std::vector<vm::Region> regions;
  std::vector<uint64_t> map_addresses;

  /// The map called `name`, or an InvalidArgument error naming it.
  Result<maps::Map*> find_map(std::string_view name) const;
  /// The program called `name`; empty names the only program.
  Result<LinkedProgram*> find_program(std::string_view name) const;
};

/// "ENOENT" for -ENOENT (or ENOENT), for messages that name Linux's errno.
std::string errno_name(long error);

}  // namespace pollen

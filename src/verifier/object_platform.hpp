// SPDX-License-Identifier: MIT
// The verifier's view of a program from an ELF object: the object's maps, described from its
// MapSpecs (the same facts Linux reads from struct bpf_map), and the program's instructions with
// each map lddw naming its map by index in ObjectSpec::maps, as libbpf's relocations do before
// the kernel turns them into map pointers. The runtime verifies this view and applies the facts
// (context rewrite) to its linked copy, whose instructions sit at the same positions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "loader/spec.hpp"
#include "verifier/platform.hpp"
#include "verifier/verifier.hpp"

namespace pollen::verifier {

class ObjectPlatform : public Platform {
 public:
  explicit ObjectPlatform(const loader::ObjectSpec& spec);
  /// MapFd and MapValue lddw of a program_input(): imm is the map's index.
  std::optional<uint32_t> map_of(isa::LddwSrc src, int32_t imm) const override;
  const MapInfo* map_info(uint32_t map) const override;

 private:
  std::vector<MapInfo> maps_;  ///< the object's maps, then the inner maps of its map-in-maps
  size_t outer_count_ = 0;
};

/// What the verifier reads of one program of an object.
struct ProgramInput {
  std::vector<isa::Insn> insns;  ///< the ProgramSpec's, map lddw holding the map's index
  std::vector<SourceLine> lines;
  std::string license;                  ///< the object's (ObjectSpec::license), for Input::license
  bool sleepable = false;               ///< the program's BPF_F_SLEEPABLE, for Input::sleepable
  std::vector<FunctionInfo> functions;  ///< its BTF func_info, for Input::func_info
};
/// The program's instructions, source lines and sleepable flag; license and functions stay
/// empty (use the form below to have them).
ProgramInput program_input(const loader::ProgramSpec& program);
/// The same, with the object's license and the program's functions as the object's BTF
/// describes them (linkage, global functions' prototypes). Pass all of it on: an Input with
/// license, sleepable and func_info = functions verifies as Linux does.
ProgramInput program_input(const loader::ProgramSpec& program, const loader::ObjectSpec& object);

/// The verifier's table entry for a loaded program's type, or null when Pollen cannot verify
/// that type yet.
const ProgramTypeInfo* program_type_of(const loader::ProgramSpec& program);

}  // namespace pollen::verifier

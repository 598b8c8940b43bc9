// SPDX-License-Identifier: MIT
// Private: the state shared by the steps of load_object() — which ELF sections play which libbpf
// role, the BTF, and the indexes the map step builds for the program step (which map a symbol
// names, which map backs a data section, where a BTF map's initial values lie). Each step is a
// function over this context and adds to the ObjectSpec it holds.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loader/btf.hpp"
#include "loader/elf_file_p.hpp"
#include "loader/spec.hpp"

namespace pollen::loader {

// Linux numbers the Spec uses (linux/bpf.h); copied so the loader needs no Linux header.
inline constexpr uint32_t kMapTypeArray = 2;
inline constexpr uint32_t kMapTypeProgArray = 3;
inline constexpr uint32_t kMapTypeArrayOfMaps = 12;
inline constexpr uint32_t kMapTypeHashOfMaps = 13;
inline constexpr uint32_t kMapFlagRdonlyProg = 1u << 7;  // BPF_F_RDONLY_PROG
inline constexpr uint32_t kMapFlagMmapable = 1u << 10;   // BPF_F_MMAPABLE
inline constexpr uint8_t kPseudoMapFd = 1, kPseudoMapValue = 2, kPseudoCall = 1, kPseudoFunc = 4;
inline constexpr uint8_t kOpLddw = 0x18, kOpCall = 0x85;

/// Where a BTF-defined map lies in .maps, for the relocations that give its initial values.
struct BtfMapLayout {
  uint32_t map = 0;  ///< index in ObjectSpec::maps
  uint64_t offset = 0;
  uint64_t size = 0;
  std::optional<uint64_t> values_offset;  ///< byte offset of the `values` member in the map
};

struct LoadContext {
  LoadContext(const ElfFile& file, ObjectSpec& out) : elf(file), spec(out) {}

  const ElfFile& elf;
  ObjectSpec& spec;
  const Btf* btf = nullptr;
  const BtfExt* ext = nullptr;

  uint32_t text_section = 0;            ///< .text, 0 when absent
  uint32_t legacy_maps_section = 0;     ///< `maps`
  uint32_t btf_maps_section = 0;        ///< `.maps`
  std::vector<uint32_t> code_sections;  ///< executable PROGBITS sections, in index order
  std::vector<uint32_t> data_sections;  ///< .data*, .rodata*, .bss*, in index order

  /// (section, offset) of a legacy or BTF map definition → map index.
  std::map<std::pair<uint32_t, uint64_t>, uint32_t> map_at;
  /// data section → index of the global-data map that holds it.
  std::map<uint32_t, uint32_t> data_map_of;
  std::vector<BtfMapLayout> btf_map_layouts;

  /// "prog.o: section 'xdp'"
  std::string where_section(uint32_t index) const {
    return elf.name() + ": section '" + elf.section_name(index) + "'";
  }
};

/// Legacy `maps`, then BTF `.maps`, then global data (map_loader.cpp).
Result<void> load_maps(LoadContext& ctx);
/// Initial values of prog arrays and maps of maps from .rel.maps; needs the programs.
Result<void> load_initial_slots(LoadContext& ctx);
/// Programs with their subprograms, relocations and BTF.ext records (program_loader.cpp).
Result<void> load_programs(LoadContext& ctx);

}  // namespace pollen::loader

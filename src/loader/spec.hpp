// SPDX-License-Identifier: MIT
// The Spec types: what a BPF ELF object says, as plain data. An ObjectSpec holds the programs
// (instructions already linked with their .text subprograms, as libbpf links them), the maps
// (BTF-defined, legacy and global data), the license, and the BTF with per-program func_info and
// line_info. Building one has no side effects and gives the same result on every OS; everything
// that depends on the environment (map handles, kernel features, page sizes) happens later, when
// the runtime turns a Spec into live objects. Map and program numbers (types, flags) are Linux's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "isa/isa.hpp"
#include "loader/btf.hpp"
#include "loader/program_type.hpp"

namespace pollen::loader {

/// What an lddw relocated against a map loads.
enum class MapRelocKind : uint8_t {
  MapFd,     ///< the map itself: lddw src=1 (BPF_PSEUDO_MAP_FD)
  MapValue,  ///< an address inside the map's single value: lddw src=2 (BPF_PSEUDO_MAP_VALUE),
             ///< the byte offset in the second slot's imm
};

/// An lddw that refers to a map. Its first slot's imm is 0 until the runtime fills in a handle.
struct MapReloc {
  uint32_t insn = 0;  ///< index of the lddw's first slot in ProgramSpec::insns
  uint32_t map = 0;   ///< index in ObjectSpec::maps
  MapRelocKind kind = MapRelocKind::MapFd;
  friend bool operator==(const MapReloc&, const MapReloc&) = default;
};

/// .BTF.ext func_info, rebased to the program's instruction indices (the kernel's layout).
struct FuncInfo {
  uint32_t insn = 0;
  uint32_t type_id = 0;  ///< a BTF Func
  std::string name;      ///< the Func's name
};

/// .BTF.ext line_info, rebased to the program's instruction indices.
struct LineInfo {
  uint32_t insn = 0;
  std::string file;         ///< source file as clang recorded it
  std::string source_line;  ///< text of the source line
  uint32_t line = 0;
  uint32_t column = 0;
};

/// A CO-RE relocation (struct bpf_core_relo) rebased to the program; the loader applies it
/// against the program's own BTF (core_relo.hpp).
struct CoreRelo {
  uint32_t insn = 0;
  uint32_t type_id = 0;
  std::string access;  ///< access string, "0:1:2"
  uint32_t kind = 0;   ///< enum bpf_core_relo_kind
};

struct ProgramSpec {
  std::string name;     ///< the entry function's symbol, as libbpf names programs
  std::string section;  ///< its ELF section, "xdp", "tracepoint/syscalls/sys_enter_write"
  ProgramType type = ProgramType::Unspec;  ///< from the section name; Unspec when unknown
  std::optional<AttachType> expected_attach_type;
  std::string attach_target;   ///< what follows the section's prefix: "syscalls/sys_enter_write"
  bool sleepable = false;      ///< loaded with BPF_F_SLEEPABLE
  bool xdp_has_frags = false;  ///< loaded with BPF_F_XDP_HAS_FRAGS
  /// The entry function followed by every .text function it reaches, in the order libbpf appends
  /// them; bpf-to-bpf calls and lddw src=4 (BPF_PSEUDO_FUNC) have their imm set relative to the
  /// new positions; lddw of maps and global data have their src set (see MapReloc).
  std::vector<isa::Insn> insns;
  std::vector<MapReloc> map_relocs;  ///< sorted by insn
  std::vector<FuncInfo> func_info;   ///< sorted by insn; empty without BTF
  std::vector<LineInfo> line_info;   ///< sorted by insn; empty without BTF
  std::vector<CoreRelo> core_relos;  ///< sorted by insn

  /// The line_info record that covers instruction `insn` (the last one at or before it).
  const LineInfo* line_of(uint32_t insn) const;
};

/// Where a map's definition came from.
enum class MapSource : uint8_t {
  BtfMaps,     ///< a variable in .maps, described by BTF (libbpf's __uint/__type/__array)
  LegacyMaps,  ///< a struct bpf_map_def in the legacy `maps` section
  Data,        ///< a .data or .data.* section
  Rodata,      ///< a .rodata or .rodata.* section (string literals included)
  Bss,         ///< a .bss or .bss.* section
};

/// A program or map that a slot of a prog array or map-in-map holds when the map is created.
struct MapSlot {
  uint32_t slot = 0;
  std::string name;  ///< a ProgramSpec name (prog array) or a MapSpec name (map-in-map)
  friend bool operator==(const MapSlot&, const MapSlot&) = default;
};

struct MapSpec {
  /// The variable's name; for global data, the ELF section name (".rodata", ".data.custom",
  /// ".rodata.str1.1"), which libbpf calls the map's real_name.
  std::string name;
  MapSource source = MapSource::BtfMaps;
  uint32_t type = 0;  ///< enum bpf_map_type
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t flags = 0;    ///< map_flags; global data gets BPF_F_RDONLY_PROG / BPF_F_MMAPABLE
  uint32_t pinning = 0;  ///< 0 none, 1 by name (LIBBPF_PIN_BY_NAME)
  uint32_t numa_node = 0;
  uint64_t map_extra = 0;
  uint32_t key_type_id = 0;    ///< BTF type of the key, 0 when only its size is known
  uint32_t value_type_id = 0;  ///< BTF type of the value (a Datasec for global data), or 0
  /// The definition of the maps a map-in-map holds (named "<name>.inner"), null otherwise.
  std::shared_ptr<const MapSpec> inner;
  std::vector<uint8_t> initial_data;   ///< global data: the section's bytes (.bss: zeros)
  std::vector<MapSlot> initial_slots;  ///< prog array or map-in-map initial values, by slot

  bool is_global_data() const {
    return source == MapSource::Data || source == MapSource::Rodata || source == MapSource::Bss;
  }
};

struct ObjectSpec {
  std::vector<ProgramSpec> programs;  ///< in ELF order: by section, then by offset
  std::vector<MapSpec> maps;          ///< legacy maps, BTF maps (both by offset), global data
  std::string license;
  uint32_t kern_version = 0;  ///< the `version` section, 0 when absent
  std::optional<Btf> btf;     ///< .BTF with libbpf's Datasec fix-ups applied

  const ProgramSpec* program(std::string_view name) const;
  const MapSpec* map(std::string_view name) const;
  std::optional<uint32_t> map_index(std::string_view name) const;
};

}  // namespace pollen::loader

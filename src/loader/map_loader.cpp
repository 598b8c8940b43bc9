// SPDX-License-Identifier: MIT
// The map step of load_object(): MapSpecs from the legacy `maps` section (struct bpf_map_def,
// one per symbol, as libbpf 0.x read it), from BTF-defined `.maps` (libbpf 1.1's
// parse_btf_map_def: each map is a struct whose members encode integers as the element count of
// a pointed-to array, key/value as pointed-to types, and `values` as the initial contents of a
// prog array or map of maps), and one single-element array per global data section, named after
// the section as libbpf's real_name. .rel.maps relocations then fill the initial slots.
#include <algorithm>
#include <array>
#include <set>

#include <elf.h>
#include <fmt/format.h>

#include "loader/common_p.hpp"
#include "loader/loader_p.hpp"

namespace pollen::loader {
namespace {

constexpr size_t kLegacyDefMin = 16;   // type, key_size, value_size, max_entries
constexpr size_t kLegacyDefFull = 20;  // ... and map_flags: all of struct bpf_map_def
constexpr uint64_t kMaxGlobalData = 256u << 20;

// The legacy map symbols: every named non-section symbol of the section, sorted by offset.
std::vector<const ElfSymbol*> legacy_map_symbols(const LoadContext& ctx) {
  std::vector<const ElfSymbol*> syms;
  for (const ElfSymbol& s : ctx.elf.symbols())
    if (s.shndx == ctx.legacy_maps_section && s.type != STT_SECTION && !s.name.empty())
      syms.push_back(&s);
  std::stable_sort(syms.begin(), syms.end(),
                   [](const ElfSymbol* a, const ElfSymbol* b) { return a->value < b->value; });
  return syms;
}

Result<MapSpec> legacy_map(const ElfSection& sec, const ElfSymbol& sym, size_t def_size,
                           const std::string& where) {
  if (!fits(sec.data.size(), sym.value, def_size))
    return invalid(where, fmt::format("definition [{}, +{}) outside the section ({} bytes)",
                                      sym.value, def_size, sec.data.size()));
  std::span<const uint8_t> def(sec.data.data() + sym.value, def_size);
  for (size_t i = kLegacyDefFull; i < def_size; ++i)
    if (def[i] != 0)
      return not_supported(where, fmt::format("fields past struct bpf_map_def (byte {} of {} is "
                                              "0x{:02x}; only the first {} bytes are read)",
                                              i, def_size, def[i], kLegacyDefFull));
  MapSpec m;
  m.name = sym.name;
  m.source = MapSource::LegacyMaps;
  m.type = load_le32(def, 0);
  m.key_size = load_le32(def, 4);
  m.value_size = load_le32(def, 8);
  m.max_entries = load_le32(def, 12);
  if (def_size >= kLegacyDefFull) m.flags = load_le32(def, 16);
  return m;
}

Result<void> load_legacy_maps(LoadContext& ctx) {
  if (ctx.legacy_maps_section == 0) return {};
  const ElfSection& sec = *ctx.elf.section(ctx.legacy_maps_section);
  std::string where = ctx.where_section(sec.index);
  std::vector<const ElfSymbol*> syms = legacy_map_symbols(ctx);
  if (syms.empty()) return {};
  // libbpf 0.x: every definition has the same size, the section's size over the map count.
  size_t def_size = sec.data.size() / syms.size();
  if (sec.data.size() % syms.size() != 0 || def_size < kLegacyDefMin)
    return invalid(where, fmt::format("{} bytes do not hold {} map definitions of at least {} "
                                      "bytes each",
                                      sec.data.size(), syms.size(), kLegacyDefMin));
  for (const ElfSymbol* sym : syms) {
    POLLEN_TRY(MapSpec m, legacy_map(sec, *sym, def_size, where + ", map '" + sym->name + "'"));
    ctx.map_at[{sec.index, sym->value}] = static_cast<uint32_t>(ctx.spec.maps.size());
    ctx.spec.maps.push_back(std::move(m));
  }
  return {};
}

// A member written with __uint(name, N): a pointer to an array of N ints.
Result<uint32_t> int_field(const Btf& btf, const BtfMember& m, const std::string& where) {
  const BtfType* ptr = btf.type(btf.skip_modifiers(m.type));
  const BtfType* arr = ptr && ptr->kind == BtfKind::Ptr ? btf.type(ptr->size_or_type) : nullptr;
  if (!arr || arr->kind != BtfKind::Array)
    return invalid(where, fmt::format("'{}' is not __uint(): expected a pointer to an array "
                                      "(type {})",
                                      btf.string(m.name_off), m.type));
  return arr->array().nelems;
}

Result<void> set_size(uint32_t& field, uint64_t size, std::string_view what,
                      const std::string& where) {
  if (size > UINT32_MAX || (field != 0 && field != size))
    return invalid(where, fmt::format("conflicting {} ({} and {})", what, field, size));
  field = static_cast<uint32_t>(size);
  return {};
}

// A member written with __type(key, T): a pointer to T, whose size gives key_size.
Result<void> typed_field(const Btf& btf, const BtfMember& m, MapSpec& map, bool is_key,
                         const std::string& where) {
  std::string_view what = is_key ? "key size" : "value size";
  const BtfType* ptr = btf.type(m.type);
  if (!ptr || ptr->kind != BtfKind::Ptr)
    return invalid(where, fmt::format("'{}' is not __type(): expected a pointer (type {})",
                                      btf.string(m.name_off), m.type));
  std::optional<uint64_t> size = btf.size_of(ptr->size_or_type);
  if (!size)
    return invalid(where,
                   fmt::format("cannot determine the {} of type {}", what, ptr->size_or_type));
  POLLEN_CHECK(set_size(is_key ? map.key_size : map.value_size, *size, what, where));
  (is_key ? map.key_type_id : map.value_type_id) = ptr->size_or_type;
  return {};
}

Result<void> parse_map_def(const Btf& btf, const BtfType& def, MapSpec& map, bool outer,
                           const std::string& where, std::optional<uint64_t>* values_offset);

// `values`: __array(values, T) — an empty array of pointers to the inner map's definition
// (map of maps) or to a function prototype (prog array). It must be the last member.
Result<void> values_field(const Btf& btf, const BtfType& def, size_t index, MapSpec& map,
                          const std::string& where) {
  bool in_maps = map.type == kMapTypeArrayOfMaps || map.type == kMapTypeHashOfMaps;
  if (index + 1 != def.vlen) return invalid(where, "'values' must be the last member");
  if (!in_maps && map.type != kMapTypeProgArray)
    return not_supported(where, fmt::format("'values' in a map of type {} (only prog arrays and "
                                            "maps of maps take initial values)",
                                            map.type));
  POLLEN_CHECK(set_size(map.value_size, 4, "value size", where));
  const BtfType* arr = btf.type(def.member(index).type);
  if (!arr || arr->kind != BtfKind::Array || arr->array().nelems != 0)
    return invalid(where, "'values' is not a zero-sized array");
  const BtfType* ptr = btf.type(btf.skip_modifiers(arr->array().type));
  if (!ptr || ptr->kind != BtfKind::Ptr)
    return invalid(where, "'values' is not an array of pointers");
  const BtfType* target = btf.type(btf.skip_modifiers(ptr->size_or_type));
  BtfKind want = in_maps ? BtfKind::Struct : BtfKind::FuncProto;
  if (!target || target->kind != want)
    return invalid(
        where, fmt::format("'values' points to {} (expected {})",
                           target ? btf_kind_name(target->kind) : "nothing", btf_kind_name(want)));
  if (!in_maps) return {};
  MapSpec inner;
  inner.name = map.name + ".inner";
  inner.source = map.source;
  POLLEN_CHECK(parse_map_def(btf, *target, inner, false, where + ".inner", nullptr));
  map.inner = std::make_shared<const MapSpec>(std::move(inner));
  return {};
}

struct IntField {
  std::string_view name;
  uint32_t MapSpec::*field;
};
constexpr std::array<IntField, 5> kIntFields = {{{"type", &MapSpec::type},
                                                 {"max_entries", &MapSpec::max_entries},
                                                 {"map_flags", &MapSpec::flags},
                                                 {"numa_node", &MapSpec::numa_node},
                                                 {"pinning", &MapSpec::pinning}}};

Result<void> member(const Btf& btf, const BtfType& def, size_t i, MapSpec& map, bool outer,
                    const std::string& where) {
  const BtfMember m = def.member(i);
  std::string_view name = btf.string(m.name_off);
  if (name == "key" || name == "value") return typed_field(btf, m, map, name == "key", where);
  if (name == "values") {
    if (!outer) return not_supported(where, "'values' in an inner map (multi-level maps of maps)");
    return values_field(btf, def, i, map, where);
  }
  bool is_size = name == "key_size" || name == "value_size";
  auto field = std::find_if(kIntFields.begin(), kIntFields.end(),
                            [&](const IntField& f) { return f.name == name; });
  if (!is_size && name != "map_extra" && field == kIntFields.end())
    return not_supported(where, fmt::format("unknown map definition field '{}'", name));
  POLLEN_TRY(uint32_t value, int_field(btf, m, where));
  if (is_size)
    return set_size(name == "key_size" ? map.key_size : map.value_size, value, name, where);
  if (name == "map_extra") {
    map.map_extra = value;
    return {};
  }
  if (name == "pinning" && (!outer || value > 1))
    return invalid(where, fmt::format("bad pinning {} (0 or 1, and none for inner maps)", value));
  map.*(field->field) = value;
  return {};
}

Result<void> parse_map_def(const Btf& btf, const BtfType& def, MapSpec& map, bool outer,
                           const std::string& where, std::optional<uint64_t>* values_offset) {
  for (size_t i = 0; i < def.vlen; ++i) {
    POLLEN_CHECK(member(btf, def, i, map, outer, where));
    if (values_offset && btf.string(def.member(i).name_off) == "values") {
      uint32_t bits = def.member(i).offset & (def.kind_flag ? 0xffffffu : ~0u);
      *values_offset = bits / 8;
    }
  }
  if (map.type == 0) return invalid(where, "map type is not specified");
  return {};
}

Result<void> btf_map(LoadContext& ctx, const ElfSection& sec, BtfVarSecinfo vsi) {
  const Btf& btf = *ctx.btf;
  const BtfType* var = btf.type(vsi.type);
  std::string where =
      ctx.where_section(sec.index) + ", map '" + std::string(btf.name_of(vsi.type)) + "'";
  if (!var || var->kind != BtfKind::Var || btf.string(var->name_off).empty())
    return invalid(where, fmt::format("type {} is not a named VAR", vsi.type));
  if (var->var_linkage() != BtfLinkage::GlobalAllocated)
    return not_supported(where, fmt::format("map variable linkage {} (maps must be global)",
                                            static_cast<uint32_t>(var->var_linkage())));
  const BtfType* def = btf.type(btf.skip_modifiers(var->size_or_type));
  if (!fits(sec.size, vsi.offset, vsi.size) || !def || def->kind != BtfKind::Struct ||
      def->size_or_type > vsi.size)
    return invalid(where, fmt::format("definition [{}, +{}) is not a struct inside the section "
                                      "({} bytes)",
                                      vsi.offset, vsi.size, sec.size));
  MapSpec map;
  map.name = btf.string(var->name_off);
  BtfMapLayout layout{static_cast<uint32_t>(ctx.spec.maps.size()), vsi.offset, vsi.size, {}};
  POLLEN_CHECK(parse_map_def(btf, *def, map, true, where, &layout.values_offset));
  ctx.map_at[{sec.index, vsi.offset}] = layout.map;
  ctx.btf_map_layouts.push_back(layout);
  ctx.spec.maps.push_back(std::move(map));
  return {};
}

Result<void> load_btf_maps(LoadContext& ctx) {
  if (ctx.btf_maps_section == 0) return {};
  std::string where = ctx.where_section(ctx.btf_maps_section);
  if (!ctx.btf) return invalid(where, "BTF-defined maps without a .BTF section (compile with -g)");
  std::optional<uint32_t> id = ctx.btf->find(BtfKind::Datasec, ".maps");
  if (!id) return invalid(where, "no BTF DATASEC '.maps' describes the section");
  const BtfType& datasec = *ctx.btf->type(*id);
  for (size_t i = 0; i < datasec.vlen; ++i)
    POLLEN_CHECK(btf_map(ctx, *ctx.elf.section(ctx.btf_maps_section), datasec.var_secinfo(i)));
  return {};
}

// libbpf's map_is_mmapable(): a data section with a non-static variable can be mapped.
bool has_global_var(const Btf& btf, uint32_t datasec) {
  const BtfType& t = *btf.type(datasec);
  for (size_t i = 0; i < t.vlen; ++i) {
    const BtfType* var = btf.type(t.var_secinfo(i).type);
    if (var && var->kind == BtfKind::Var && var->var_linkage() != BtfLinkage::Static) return true;
  }
  return false;
}

Result<void> load_data_map(LoadContext& ctx, const ElfSection& sec) {
  if (sec.size > kMaxGlobalData)
    return not_supported(
        ctx.where_section(sec.index),
        fmt::format("{} bytes of global data (limit {})", sec.size, kMaxGlobalData));
  MapSpec m;
  m.name = sec.name;
  m.source = sec.type == SHT_NOBITS            ? MapSource::Bss
             : sec.name.starts_with(".rodata") ? MapSource::Rodata
                                               : MapSource::Data;
  m.type = kMapTypeArray;
  m.key_size = 4;
  m.value_size = static_cast<uint32_t>(sec.size);
  m.max_entries = 1;
  if (m.source == MapSource::Rodata) m.flags |= kMapFlagRdonlyProg;
  if (std::optional<uint32_t> id =
          ctx.btf ? ctx.btf->find(BtfKind::Datasec, sec.name) : std::nullopt) {
    m.value_type_id = *id;
    if (has_global_var(*ctx.btf, *id)) m.flags |= kMapFlagMmapable;
  }
  m.initial_data = sec.type == SHT_NOBITS ? std::vector<uint8_t>(sec.size) : sec.data;
  ctx.data_map_of[sec.index] = static_cast<uint32_t>(ctx.spec.maps.size());
  ctx.spec.maps.push_back(std::move(m));
  return {};
}

Result<void> check_unique_names(const LoadContext& ctx) {
  std::set<std::string_view> seen;
  for (const MapSpec& m : ctx.spec.maps)
    if (!seen.insert(m.name).second)
      return invalid(ctx.elf.name() + ": map '" + m.name + "'",
                     "defined twice (map names must be unique)");
  return {};
}

const BtfMapLayout* layout_at(const LoadContext& ctx, uint64_t offset) {
  for (const BtfMapLayout& l : ctx.btf_map_layouts)
    if (l.offset <= offset && fits(l.offset + l.size, offset, 8)) return &l;
  return nullptr;
}

// What slot `slot` of `map` is initialised with: the entry program or BTF map `sym` names.
Result<MapSlot> slot_value(const LoadContext& ctx, const MapSpec& map, const ElfSymbol& sym,
                           uint32_t slot, const std::string& where) {
  if (map.type == kMapTypeProgArray) {
    const ProgramSpec* prog = ctx.spec.program(sym.name);
    if (sym.type != STT_FUNC || !prog || prog->section != ctx.elf.section_name(sym.shndx))
      return invalid(where, fmt::format("symbol '{}' is not an entry-point program", sym.name));
    return MapSlot{slot, sym.name};
  }
  if (sym.shndx != ctx.btf_maps_section || !ctx.spec.map(sym.name))
    return invalid(where, fmt::format("symbol '{}' is not a BTF-defined map", sym.name));
  if (map.type == kMapTypeHashOfMaps && map.key_size != 4)
    return invalid(where, fmt::format("hash of maps '{}' has key size {} (must be 4)", map.name,
                                      map.key_size));
  return MapSlot{slot, sym.name};
}

Result<void> initial_slot(LoadContext& ctx, const ElfRel& rel, const std::string& where) {
  if (rel.symbol >= ctx.elf.symbols().size())
    return invalid(where, fmt::format("symbol {} out of range ({} symbols)", rel.symbol,
                                      ctx.elf.symbols().size()));
  const ElfSymbol& sym = ctx.elf.symbols()[rel.symbol];
  const BtfMapLayout* layout = layout_at(ctx, rel.offset);
  if (!layout) return invalid(where, fmt::format("no map at offset {}", rel.offset));
  MapSpec& map = ctx.spec.maps[layout->map];
  // Slot i of `values` is the 8-byte pointer at values_offset + 8 * i inside the map variable.
  std::optional<uint64_t> values;
  if (layout->values_offset) values = layout->offset + *layout->values_offset;
  if (!values || rel.offset < *values || (rel.offset - *values) % 8 != 0)
    return invalid(where, fmt::format("offset {} is not a slot of the 'values' of map '{}'",
                                      rel.offset, map.name));
  auto slot = static_cast<uint32_t>((rel.offset - *values) / 8);
  POLLEN_TRY(MapSlot value, slot_value(ctx, map, sym, slot, where));
  std::erase_if(map.initial_slots, [&](const MapSlot& s) { return s.slot == slot; });
  auto pos = std::find_if(map.initial_slots.begin(), map.initial_slots.end(),
                          [&](const MapSlot& s) { return s.slot > slot; });
  map.initial_slots.insert(pos, std::move(value));
  return {};
}

}  // namespace

Result<void> load_maps(LoadContext& ctx) {
  POLLEN_CHECK(load_legacy_maps(ctx));
  POLLEN_CHECK(load_btf_maps(ctx));
  for (uint32_t index : ctx.data_sections) {
    const ElfSection& sec = *ctx.elf.section(index);
    if (sec.size > 0) POLLEN_CHECK(load_data_map(ctx, sec));
  }
  return check_unique_names(ctx);
}

Result<void> load_initial_slots(LoadContext& ctx) {
  const ElfRelSection* rels =
      ctx.btf_maps_section ? ctx.elf.rels_for(ctx.btf_maps_section) : nullptr;
  if (!rels) return {};
  for (size_t i = 0; i < rels->rels.size(); ++i)
    POLLEN_CHECK(
        initial_slot(ctx, rels->rels[i],
                     fmt::format("{}, reloc {}", ctx.where_section(ctx.btf_maps_section), i)));
  return {};
}

}  // namespace pollen::loader

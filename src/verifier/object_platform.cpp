// SPDX-License-Identifier: MIT
// ObjectPlatform and program_input(): an ObjectSpec's maps and programs as the verifier reads
// them. Map facts follow Linux: BPF_F_RDONLY_PROG makes values read-only to programs, and only
// an ARRAY of exactly one element (global data is one) may be addressed directly by lddw src=2
// (array_map_direct_value_addr()). A map-in-map's inner map is described after the object's
// maps; a value with a struct bpf_spin_lock (found in BTF, as btf_find_field does for a
// value's own members or a data section's variables) says where it is.
#include "verifier/object_platform.hpp"

#include <algorithm>

namespace pollen::verifier {
namespace {

constexpr uint32_t kMapTypeArray = 2;
constexpr uint32_t kMapTypeDevmap = 14;
constexpr uint32_t kMapTypeXskmap = 17;
constexpr uint32_t kMapTypeDevmapHash = 25;
constexpr uint32_t kBpfFRdonlyProg = 1u << 7;

// The offset of the value's struct bpf_spin_lock, if it has one at its top level and the map
// type may hold one (Linux's map_check_btf: hash, array and the local storages; in the others
// it refuses the BTF, and libbpf creates the map without: the lock is then plain bytes).
std::optional<uint32_t> spin_lock_off(const loader::MapSpec& spec, const loader::Btf* btf) {
  constexpr uint32_t kLockMapTypes[] = {1, 2, 19, 24, 28, 29};  // hash, array, storages
  if (std::find(std::begin(kLockMapTypes), std::end(kLockMapTypes), spec.type) ==
      std::end(kLockMapTypes))
    return std::nullopt;
  if (!btf || spec.value_type_id == 0) return std::nullopt;
  auto is_lock = [&](uint32_t id) {
    const loader::BtfType* t = btf->type(btf->skip_modifiers(id));
    return t && t->kind == loader::BtfKind::Struct && btf->string(t->name_off) == "bpf_spin_lock";
  };
  const loader::BtfType* value = btf->type(btf->skip_modifiers(spec.value_type_id));
  if (!value) return std::nullopt;
  for (size_t i = 0; i < value->vlen; ++i) {
    if (value->kind == loader::BtfKind::Struct) {
      loader::BtfMember m = value->member(i);
      uint32_t bits = value->kind_flag ? (m.offset & 0xffffff) : m.offset;
      if (is_lock(m.type)) return bits / 8;
    } else if (value->kind == loader::BtfKind::Datasec) {
      loader::BtfVarSecinfo v = value->var_secinfo(i);
      const loader::BtfType* var = btf->type(v.type);
      if (var && var->kind == loader::BtfKind::Var && is_lock(var->size_or_type)) return v.offset;
    }
  }
  return std::nullopt;
}

MapInfo map_info_of(const loader::MapSpec& spec) {
  MapInfo info;
  info.type = spec.type;
  info.key_size = spec.key_size;
  info.value_size = spec.value_size;
  info.max_entries = spec.max_entries;
  // Linux makes device map values read-only to programs (dev_map_alloc sets
  // BPF_F_RDONLY_PROG), and what an XSKMAP lookup returns is a socket they may only read.
  info.read_only = (spec.flags & kBpfFRdonlyProg) != 0 || spec.type == kMapTypeDevmap ||
                   spec.type == kMapTypeDevmapHash || spec.type == kMapTypeXskmap;
  info.direct_value = spec.type == kMapTypeArray && spec.max_entries == 1;
  if (info.read_only) info.data = spec.initial_data;
  return info;
}

}  // namespace

ObjectPlatform::ObjectPlatform(const loader::ObjectSpec& spec) : outer_count_(spec.maps.size()) {
  const loader::Btf* btf = spec.btf ? &*spec.btf : nullptr;
  maps_.reserve(spec.maps.size());
  for (const loader::MapSpec& map : spec.maps) {
    maps_.push_back(map_info_of(map));
    maps_.back().spin_lock_off = spin_lock_off(map, btf);
  }
  for (size_t i = 0; i < spec.maps.size(); ++i) {
    if (!spec.maps[i].inner) continue;
    maps_[i].inner = static_cast<uint32_t>(maps_.size());
    maps_.push_back(map_info_of(*spec.maps[i].inner));
    maps_.back().spin_lock_off = spin_lock_off(*spec.maps[i].inner, btf);
  }
}

std::optional<uint32_t> ObjectPlatform::map_of(isa::LddwSrc src, int32_t imm) const {
  if (src != isa::LddwSrc::MapFd && src != isa::LddwSrc::MapValue) return std::nullopt;
  if (imm < 0 || static_cast<size_t>(imm) >= outer_count_) return std::nullopt;
  return static_cast<uint32_t>(imm);
}

const MapInfo* ObjectPlatform::map_info(uint32_t map) const {
  return map < maps_.size() ? &maps_[map] : nullptr;
}

ProgramInput program_input(const loader::ProgramSpec& program) {
  ProgramInput input;
  input.insns = program.insns;
  for (const loader::MapReloc& reloc : program.map_relocs)
    input.insns[reloc.insn].imm = static_cast<int32_t>(reloc.map);
  for (const loader::LineInfo& line : program.line_info) {
    // Line 0 is clang's mark for code with no source line of its own (a loop's latch, spills):
    // such instructions take the line before them instead of naming line 0.
    if (line.line == 0) continue;
    if (!input.lines.empty() && input.lines.back().insn == line.insn) input.lines.pop_back();
    input.lines.push_back({line.insn, line.file, line.line});
  }
  input.sleepable = program.sleepable;
  return input;
}

namespace {

// The context structure each program type's functions may take (Linux's
// btf_is_prog_ctx_type), by enum bpf_prog_type.
std::string_view ctx_struct(uint32_t prog_type) {
  switch (prog_type) {
    case 1: return "__sk_buff";  // socket_filter
    case 6: return "xdp_md";     // xdp
    default: return {};
  }
}

// A global function's prototype as Linux's btf_prepare_func_args reads it.
void describe_global(const loader::Btf& btf, uint32_t func_type, uint32_t prog_type,
                     FunctionInfo& f) {
  using loader::BtfKind;
  const loader::BtfType* func = btf.type(func_type);
  const loader::BtfType* proto = func ? btf.type(func->size_or_type) : nullptr;
  if (!proto || proto->kind != BtfKind::FuncProto) return;
  auto is_scalar = [&](uint32_t id) {
    const loader::BtfType* t = btf.type(btf.skip_modifiers(id));
    return t && (t->kind == BtfKind::Int || t->kind == BtfKind::Enum || t->kind == BtfKind::Enum64);
  };
  f.returns_void = proto->size_or_type == 0;
  f.arg_count = static_cast<uint8_t>(std::min<size_t>(proto->vlen, 5));
  for (size_t i = 0; i < f.arg_count; ++i) {
    // A FuncProto's params are (name_off, type) pairs.
    uint32_t type = i * 2 + 1 < proto->data.size() ? proto->data[i * 2 + 1] : 0;
    GlobalArg& a = f.args[i];
    if (is_scalar(type)) continue;
    a.kind = GlobalArg::Kind::Unsupported;
    const loader::BtfType* t = btf.type(btf.skip_modifiers(type));
    if (!t || t->kind != BtfKind::Ptr) continue;
    uint32_t pointee = btf.skip_modifiers(t->size_or_type);
    const loader::BtfType* p = btf.type(pointee);
    if (p && p->kind == BtfKind::Struct && !ctx_struct(prog_type).empty() &&
        btf.string(p->name_off) == ctx_struct(prog_type)) {
      a.kind = GlobalArg::Kind::Ctx;
    } else if (std::optional<uint64_t> size = btf.size_of(pointee); size && *size > 0) {
      a.kind = GlobalArg::Kind::MemOrNull;
      a.size = static_cast<uint32_t>(*size);
    }
  }
}

}  // namespace

ProgramInput program_input(const loader::ProgramSpec& program, const loader::ObjectSpec& object) {
  ProgramInput input = program_input(program);
  input.license = object.license;
  for (const loader::FuncInfo& f : program.func_info) {
    const loader::BtfType* t = object.btf ? object.btf->type(f.type_id) : nullptr;
    FunctionInfo info;
    info.insn = f.insn;
    // A Func's vlen is its linkage (BTF_FUNC_STATIC 0, BTF_FUNC_GLOBAL 1). The entry function
    // is verified as the program, whatever its linkage.
    info.global = t && t->kind == loader::BtfKind::Func && t->vlen != 0 && f.insn != 0;
    if (info.global)
      describe_global(*object.btf, f.type_id, static_cast<uint32_t>(program.type), info);
    input.functions.push_back(info);
  }
  return input;
}

const ProgramTypeInfo* program_type_of(const loader::ProgramSpec& program) {
  return find_program_type(static_cast<uint32_t>(program.type));
}

}  // namespace pollen::verifier

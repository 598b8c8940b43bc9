// SPDX-License-Identifier: MIT
// CO-RE relocation values from the program's own BTF (see core_relo.hpp), after libbpf's
// relo_core.c: the access string "0:1:2" indexes first the base pointer as an array, then
// members of structs and unions and elements of arrays; a bitfield is loaded with the smallest
// power-of-two size, from its type's size up, that holds it, and the shifts extract it from a
// little-endian u64.
#include "loader/core_relo.hpp"

#include <fmt/format.h>

#include <charconv>

namespace pollen::loader {
namespace {

Error relo_error(const CoreRelo& relo, std::string what) {
  return make_error(Errc::InvalidProgram, Location::insn(relo.insn),
                    fmt::format("CO-RE relocation (kind {}, type {}, access \"{}\"): {}",
                                relo.kind, relo.type_id, relo.access, what));
}

Result<std::vector<uint32_t>> parse_access(const CoreRelo& relo) {
  std::vector<uint32_t> out;
  const std::string& s = relo.access;
  for (size_t i = 0; i <= s.size();) {
    uint32_t n = 0;
    auto [end, ec] = std::from_chars(s.data() + i, s.data() + s.size(), n);
    if (ec != std::errc{} || (end != s.data() + s.size() && *end != ':'))
      return relo_error(relo, "the access string is not a list of numbers");
    out.push_back(n);
    i = static_cast<size_t>(end - s.data()) + 1;
  }
  return out;
}

// The field an access string names: where it starts, in bits, and its type.
struct Field {
  uint64_t bit_offset = 0;
  uint32_t type = 0;
  uint32_t bitfield_size = 0;  ///< 0 when not a bitfield
};

Result<Field> find_field(const CoreRelo& relo, const Btf& btf,
                         const std::vector<uint32_t>& access) {
  Field f;
  f.type = relo.type_id;
  std::optional<uint64_t> base_size = btf.size_of(relo.type_id);
  if (!base_size) return relo_error(relo, "the type has no size");
  f.bit_offset = uint64_t{access[0]} * *base_size * 8;
  for (size_t i = 1; i < access.size(); ++i) {
    const BtfType* t = btf.type(btf.skip_modifiers(f.type));
    if (t && (t->kind == BtfKind::Struct || t->kind == BtfKind::Union)) {
      if (access[i] >= t->vlen) return relo_error(relo, "a member index past the members");
      const BtfMember m = t->member(access[i]);
      f.bit_offset += t->kind_flag ? (m.offset & 0xffffff) : m.offset;
      f.bitfield_size = t->kind_flag ? m.offset >> 24 : 0;
      f.type = m.type;
    } else if (t && t->kind == BtfKind::Array) {
      std::optional<uint64_t> elem = btf.size_of(t->array().type);
      if (!elem) return relo_error(relo, "an array of elements without a size");
      f.bit_offset += uint64_t{access[i]} * *elem * 8;
      f.bitfield_size = 0;
      f.type = t->array().type;
    } else {
      return relo_error(relo, "an index into a type that is no struct, union or array");
    }
  }
  return f;
}

uint64_t field_number(const CoreRelo& relo, const Btf& btf, CoreReloKind kind, const Field& f,
                      uint64_t byte_size, uint64_t byte_offset, uint64_t bit_size);

Result<CoreValue> field_value(const CoreRelo& relo, const Btf& btf, CoreReloKind kind) {
  POLLEN_TRY(std::vector<uint32_t> access, parse_access(relo));
  POLLEN_TRY(Field f, find_field(relo, btf, access));
  if (kind == CoreReloKind::FieldExists) return CoreValue{1, true};
  std::optional<uint64_t> size = btf.size_of(f.type);
  if (!size) return relo_error(relo, "the field has no size");
  uint64_t byte_size = *size, byte_offset = f.bit_offset / 8;
  const uint64_t bit_size = f.bitfield_size != 0 ? f.bitfield_size : byte_size * 8;
  if (f.bitfield_size != 0) {
    if (byte_size == 0) return relo_error(relo, "a bitfield of a type without a size");
    byte_offset = f.bit_offset / 8 / byte_size * byte_size;
    while (f.bit_offset + bit_size - byte_offset * 8 > byte_size * 8) {
      if (byte_size >= 8) return relo_error(relo, "a bitfield no 64-bit load holds");
      byte_size *= 2;
      byte_offset = f.bit_offset / 8 / byte_size * byte_size;
    }
  }
  return CoreValue{field_number(relo, btf, kind, f, byte_size, byte_offset, bit_size),
                   f.bitfield_size == 0};
}

uint64_t field_number(const CoreRelo&, const Btf& btf, CoreReloKind kind, const Field& f,
                      uint64_t byte_size, uint64_t byte_offset, uint64_t bit_size) {
  switch (kind) {
    case CoreReloKind::FieldByteOffset: return byte_offset;
    case CoreReloKind::FieldByteSize: return byte_size;
    case CoreReloKind::FieldSigned: {
      const BtfType* t = btf.type(btf.skip_modifiers(f.type));
      if (!t) return 0;
      if (t->kind == BtfKind::Enum || t->kind == BtfKind::Enum64) return t->kind_flag ? 1 : 0;
      // BTF_INT_ENCODING: the top byte of the word after the type; bit 0 is BTF_INT_SIGNED.
      return t->kind == BtfKind::Int && !t->data.empty() && ((t->data[0] >> 24) & 1) ? 1 : 0;
    }
    case CoreReloKind::FieldLshiftU64: return 64 - (f.bit_offset + bit_size - byte_offset * 8);
    case CoreReloKind::FieldRshiftU64: return 64 - bit_size;
    default: return 0;
  }
}

Result<CoreValue> enum_value(const CoreRelo& relo, const Btf& btf, CoreReloKind kind) {
  POLLEN_TRY(std::vector<uint32_t> access, parse_access(relo));
  const BtfType* t = btf.type(btf.skip_modifiers(relo.type_id));
  if (!t || (t->kind != BtfKind::Enum && t->kind != BtfKind::Enum64))
    return relo_error(relo, "the type is no enum");
  if (access.size() != 1 || access[0] >= t->vlen)
    return relo_error(relo, "an enumerator index past the enumerators");
  if (kind == CoreReloKind::EnumvalExists) return CoreValue{1, true};
  if (t->kind == BtfKind::Enum64) {
    const size_t at = 3 * size_t{access[0]};
    if (at + 2 >= t->data.size()) return relo_error(relo, "a truncated enum");
    return CoreValue{uint64_t{t->data[at + 2]} << 32 | t->data[at + 1], true};
  }
  const size_t at = 2 * size_t{access[0]};
  if (at + 1 >= t->data.size()) return relo_error(relo, "a truncated enum");
  const uint32_t value = t->data[at + 1];
  // A signed enum's value, sign-extended as libbpf reads it.
  return CoreValue{
      t->kind_flag ? static_cast<uint64_t>(int64_t{static_cast<int32_t>(value)}) : value, true};
}

}  // namespace

Result<CoreValue> core_relo_value(const CoreRelo& relo, const Btf& btf) {
  if (btf.type(relo.type_id) == nullptr || relo.type_id == 0)
    return relo_error(relo, "no such type in the program's BTF");
  const auto kind = static_cast<CoreReloKind>(relo.kind);
  switch (kind) {
    case CoreReloKind::FieldByteOffset:
    case CoreReloKind::FieldByteSize:
    case CoreReloKind::FieldExists:
    case CoreReloKind::FieldSigned:
    case CoreReloKind::FieldLshiftU64:
    case CoreReloKind::FieldRshiftU64: return field_value(relo, btf, kind);
    case CoreReloKind::TypeIdLocal:
    case CoreReloKind::TypeIdTarget: return CoreValue{relo.type_id, true};
    case CoreReloKind::TypeExists:
    case CoreReloKind::TypeMatches: return CoreValue{1, true};
    case CoreReloKind::TypeSize: {
      std::optional<uint64_t> size = btf.size_of(relo.type_id);
      if (!size) return relo_error(relo, "the type has no size");
      return CoreValue{*size, true};
    }
    case CoreReloKind::EnumvalExists:
    case CoreReloKind::EnumvalValue: return enum_value(relo, btf, kind);
  }
  return relo_error(relo, "unknown relocation kind");
}

Result<void> apply_core_relos(ProgramSpec& prog, const Btf& btf) {
  for (const CoreRelo& relo : prog.core_relos) {
    POLLEN_TRY(CoreValue v, core_relo_value(relo, btf));
    if (relo.insn >= prog.insns.size()) return relo_error(relo, "past the program's end");
    isa::Insn& insn = prog.insns[relo.insn];
    const uint8_t cls = isa::op_class(insn.opcode);
    // What libbpf's bpf_core_patch_insn patches, and the value it expects to find there.
    const auto mismatch = [&](int64_t held) {
      return relo_error(relo, fmt::format("the instruction holds {}, the program's BTF says {}",
                                          held, static_cast<int64_t>(v.value)));
    };
    if ((cls == isa::kClassAlu || cls == isa::kClassAlu64) && (insn.opcode & 0x08) == 0) {
      if (v.value > UINT32_MAX) return relo_error(relo, "a value past 32 bits for an immediate");
      if (v.validate && static_cast<uint32_t>(insn.imm) != v.value) return mismatch(insn.imm);
      insn.imm = static_cast<int32_t>(static_cast<uint32_t>(v.value));
    } else if (cls == isa::kClassLdx || cls == isa::kClassSt || cls == isa::kClassStx) {
      if (v.value > INT16_MAX) return relo_error(relo, "an offset past 16 bits");
      if (v.validate && static_cast<uint64_t>(int64_t{insn.off}) != v.value)
        return mismatch(insn.off);
      insn.off = static_cast<int16_t>(v.value);
    } else if (insn.opcode == 0x18 && relo.insn + 1 < prog.insns.size()) {
      isa::Insn& high = prog.insns[relo.insn + 1];
      const uint64_t held =
          uint64_t{static_cast<uint32_t>(high.imm)} << 32 | static_cast<uint32_t>(insn.imm);
      if (v.validate && held != v.value) return mismatch(static_cast<int64_t>(held));
      insn.imm = static_cast<int32_t>(static_cast<uint32_t>(v.value));
      high.imm = static_cast<int32_t>(static_cast<uint32_t>(v.value >> 32));
    } else {
      return relo_error(relo, "the instruction is of no kind a relocation patches");
    }
  }
  return {};
}

}  // namespace pollen::loader

// SPDX-License-Identifier: MIT
// Parser and queries for a .BTF section (struct btf_header, then the type and string
// sections). Parsing checks the header, reads every type with its kind-specific trailing words,
// and then checks that every type id a type refers to exists and every name offset lies inside
// the string section, so that the queries can follow references without further checks.
#include "loader/btf.hpp"

#include <array>

#include <fmt/format.h>

#include "loader/common_p.hpp"

namespace pollen::loader {
namespace {

constexpr uint16_t kMagic = 0xeb9f;
constexpr size_t kHeaderSize = 24;       // sizeof(struct btf_header)
constexpr size_t kTypeSize = 12;         // sizeof(struct btf_type)
constexpr uint32_t kMaxTypes = 0xfffff;  // BTF_MAX_TYPE
constexpr int kMaxChain = 32;            // libbpf's MAX_RESOLVE_DEPTH

constexpr std::array<std::string_view, 20> kKindNames = {
    "VOID", "INT",     "PTR",      "ARRAY",    "STRUCT",   "UNION", "ENUM",
    "FWD",  "TYPEDEF", "VOLATILE", "CONST",    "RESTRICT", "FUNC",  "FUNC_PROTO",
    "VAR",  "DATASEC", "FLOAT",    "DECL_TAG", "TYPE_TAG", "ENUM64"};

// Number of 32-bit words that follow struct btf_type for this kind (linux/btf.h).
size_t trailing_words(BtfKind kind, uint16_t vlen) {
  switch (kind) {
    case BtfKind::Int:
    case BtfKind::Var:
    case BtfKind::DeclTag: return 1;
    case BtfKind::Array: return 3;
    case BtfKind::Struct:
    case BtfKind::Union:
    case BtfKind::Datasec:
    case BtfKind::Enum64: return 3 * size_t{vlen};
    case BtfKind::Enum:
    case BtfKind::FuncProto: return 2 * size_t{vlen};
    default: return 0;
  }
}

struct Header {
  uint32_t hdr_len, type_off, type_len, str_off, str_len;
};

Result<Header> parse_header(std::span<const uint8_t> bytes, const std::string& where) {
  if (bytes.size() < kHeaderSize)
    return invalid(where,
                   fmt::format("truncated header ({} bytes, need {})", bytes.size(), kHeaderSize));
  uint16_t magic = load_le16(bytes, 0);
  if (magic == 0x9feb) return not_supported(where, "big-endian BTF (magic bytes eb 9f)");
  if (magic != kMagic)
    return invalid(where, fmt::format("bad magic (0x{:04x}, expected 0x{:04x})", magic, kMagic));
  if (bytes[2] != 1)
    return not_supported(where, fmt::format("BTF version {} (Pollen reads 1)", bytes[2]));
  Header h{load_le32(bytes, 4), load_le32(bytes, 8), load_le32(bytes, 12), load_le32(bytes, 16),
           load_le32(bytes, 20)};
  if (h.hdr_len < kHeaderSize || h.hdr_len > bytes.size())
    return invalid(where, fmt::format("bad header length ({}, section has {} bytes)", h.hdr_len,
                                      bytes.size()));
  uint64_t body = bytes.size() - h.hdr_len;
  if (!fits(body, h.type_off, h.type_len) || h.type_off % 4 != 0)
    return invalid(where, fmt::format("type section [{}, +{}) outside the {} bytes after the "
                                      "header or misaligned",
                                      h.type_off, h.type_len, body));
  if (!fits(body, h.str_off, h.str_len))
    return invalid(where, fmt::format("string section [{}, +{}) outside the {} bytes after the "
                                      "header",
                                      h.str_off, h.str_len, body));
  return h;
}

Result<std::string> parse_strings(std::span<const uint8_t> s, const std::string& where) {
  // The kernel's btf_check_sec_info/btf_parse_str_sec: the first string is "" and the section
  // ends in NUL, so every offset below the size names a terminated string.
  if (s.empty() || s.front() != 0 || s.back() != 0)
    return invalid(where,
                   fmt::format("string section must start and end with NUL ({} bytes)", s.size()));
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

Result<std::vector<BtfType>> parse_types(std::span<const uint8_t> s, const std::string& where) {
  std::vector<BtfType> types(1);  // id 0 is void
  size_t off = 0;
  while (off < s.size()) {
    std::string here = fmt::format("{}: type {}", where, types.size());
    if (types.size() > kMaxTypes)
      return invalid(here, fmt::format("too many types (limit {})", kMaxTypes));
    if (!fits(s.size(), off, kTypeSize))
      return invalid(
          here, fmt::format("truncated type at offset {} ({} bytes left)", off, s.size() - off));
    uint32_t info = load_le32(s, off + 4);
    uint32_t kind = info >> 24 & 0x1f;
    if (kind == 0 || kind >= kKindNames.size())
      return invalid(here, fmt::format("unknown kind {} (info 0x{:08x})", kind, info));
    BtfType t{static_cast<BtfKind>(kind), (info >> 31) != 0,     static_cast<uint16_t>(info),
              load_le32(s, off),          load_le32(s, off + 8), {}};
    size_t words = trailing_words(t.kind, t.vlen);
    off += kTypeSize;
    if (!fits(s.size(), off, words * 4))
      return invalid(here, fmt::format("{} with vlen {} needs {} bytes, {} left",
                                       btf_kind_name(t.kind), t.vlen, words * 4, s.size() - off));
    t.data.resize(words);
    for (size_t i = 0; i < words; ++i) t.data[i] = load_le32(s, off + 4 * i);
    off += words * 4;
    types.push_back(std::move(t));
  }
  return types;
}

// The type ids a type refers to, and the offsets of the names it carries.
void collect_refs(const BtfType& t, std::vector<uint32_t>& ids, std::vector<uint32_t>& names) {
  names.push_back(t.name_off);
  switch (t.kind) {
    case BtfKind::Ptr:
    case BtfKind::Typedef:
    case BtfKind::Volatile:
    case BtfKind::Const:
    case BtfKind::Restrict:
    case BtfKind::TypeTag:
    case BtfKind::Func:
    case BtfKind::Var:
    case BtfKind::DeclTag: ids.push_back(t.size_or_type); break;
    case BtfKind::FuncProto:
      ids.push_back(t.size_or_type);
      for (size_t i = 0; i + 1 < t.data.size(); i += 2)
        names.push_back(t.data[i]), ids.push_back(t.data[i + 1]);
      break;
    case BtfKind::Array: ids.push_back(t.data[0]), ids.push_back(t.data[1]); break;
    case BtfKind::Struct:
    case BtfKind::Union:
      for (size_t i = 0; i + 2 < t.data.size(); i += 3)
        names.push_back(t.data[i]), ids.push_back(t.data[i + 1]);
      break;
    case BtfKind::Enum:
      for (size_t i = 0; i + 1 < t.data.size(); i += 2) names.push_back(t.data[i]);
      break;
    case BtfKind::Enum64:
      for (size_t i = 0; i + 2 < t.data.size(); i += 3) names.push_back(t.data[i]);
      break;
    case BtfKind::Datasec:
      for (size_t i = 0; i + 2 < t.data.size(); i += 3) ids.push_back(t.data[i]);
      break;
    default: break;
  }
}

Result<void> check_refs(const std::vector<BtfType>& types, size_t strings,
                        const std::string& where) {
  std::vector<uint32_t> ids, names;
  for (size_t id = 1; id < types.size(); ++id) {
    ids.clear();
    names.clear();
    collect_refs(types[id], ids, names);
    std::string here = fmt::format("{}: type {} ({})", where, id, btf_kind_name(types[id].kind));
    for (uint32_t ref : ids)
      if (ref >= types.size())
        return invalid(here, fmt::format("refers to type {} (the section has {} types)", ref,
                                         types.size() - 1));
    for (uint32_t name : names)
      if (name >= strings)
        return invalid(here, fmt::format("name offset {} outside the string section ({} bytes)",
                                         name, strings));
  }
  return {};
}

}  // namespace

std::string_view btf_kind_name(BtfKind kind) {
  auto i = static_cast<size_t>(kind);
  return i < kKindNames.size() ? kKindNames[i] : "UNKNOWN";
}

BtfArray BtfType::array() const {
  if (data.size() < 3) return {};
  return {data[0], data[1], data[2]};
}

BtfMember BtfType::member(size_t i) const {
  if (3 * i + 2 >= data.size()) return {};
  return {data[3 * i], data[3 * i + 1], data[3 * i + 2]};
}

BtfVarSecinfo BtfType::var_secinfo(size_t i) const {
  if (3 * i + 2 >= data.size()) return {};
  return {data[3 * i], data[3 * i + 1], data[3 * i + 2]};
}

void BtfType::set_var_secinfo(size_t i, BtfVarSecinfo info) {
  if (3 * i + 2 >= data.size()) return;
  data[3 * i] = info.type;
  data[3 * i + 1] = info.offset;
  data[3 * i + 2] = info.size;
}

BtfLinkage BtfType::var_linkage() const {
  return data.empty() ? BtfLinkage::Static : static_cast<BtfLinkage>(data[0]);
}

void BtfType::set_var_linkage(BtfLinkage linkage) {
  if (!data.empty()) data[0] = static_cast<uint32_t>(linkage);
}

Result<Btf> Btf::parse(std::span<const uint8_t> bytes, std::string_view where_view) {
  std::string where(where_view);
  POLLEN_TRY(Header h, parse_header(bytes, where));
  auto body = bytes.subspan(h.hdr_len);
  Btf btf;
  POLLEN_TRY(btf.strings_, parse_strings(body.subspan(h.str_off, h.str_len), where));
  POLLEN_TRY(btf.types_, parse_types(body.subspan(h.type_off, h.type_len), where));
  POLLEN_CHECK(check_refs(btf.types_, btf.strings_.size(), where));
  return btf;
}

const BtfType* Btf::type(uint32_t id) const {
  return id < types_.size() ? &types_[id] : nullptr;
}

BtfType* Btf::mutable_type(uint32_t id) {
  return id < types_.size() ? &types_[id] : nullptr;
}

std::string_view Btf::string(uint32_t offset) const {
  if (offset >= strings_.size()) return {};
  return std::string_view(strings_.c_str() + offset);
}

std::string_view Btf::name_of(uint32_t id) const {
  const BtfType* t = type(id);
  return t ? string(t->name_off) : std::string_view{};
}

uint32_t Btf::skip_modifiers(uint32_t id) const {
  for (int hops = 0; hops < kMaxChain; ++hops) {
    const BtfType* t = type(id);
    if (!t) return id;
    switch (t->kind) {
      case BtfKind::Typedef:
      case BtfKind::Volatile:
      case BtfKind::Const:
      case BtfKind::Restrict:
      case BtfKind::TypeTag: id = t->size_or_type; break;
      default: return id;
    }
  }
  return id;
}

std::optional<uint64_t> Btf::size_of(uint32_t id) const {
  uint64_t count = 1;  // product of the array lengths seen so far
  for (int hops = 0; hops < kMaxChain; ++hops) {
    const BtfType* t = type(skip_modifiers(id));
    if (!t) return std::nullopt;
    switch (t->kind) {
      case BtfKind::Int:
      case BtfKind::Struct:
      case BtfKind::Union:
      case BtfKind::Enum:
      case BtfKind::Enum64:
      case BtfKind::Datasec:
      case BtfKind::Float:
        if (t->size_or_type != 0 && count > UINT32_MAX / t->size_or_type) return std::nullopt;
        return count * t->size_or_type;
      case BtfKind::Ptr: return count * 8;  // BPF pointers are 64-bit
      case BtfKind::Var: id = t->size_or_type; break;
      case BtfKind::Array:
        if (t->array().nelems != 0 && count > UINT32_MAX / t->array().nelems) return std::nullopt;
        count *= t->array().nelems;
        id = t->array().type;
        break;
      default: return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<uint32_t> Btf::find(BtfKind kind, std::string_view name) const {
  for (uint32_t id = 1; id < types_.size(); ++id)
    if (types_[id].kind == kind && string(types_[id].name_off) == name) return id;
  return std::nullopt;
}

}  // namespace pollen::loader

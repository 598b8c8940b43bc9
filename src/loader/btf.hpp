// SPDX-License-Identifier: MIT
// BTF, the BPF Type Format, as plain data: the types and strings of a .BTF section, and the
// func_info, line_info and CO-RE relocation records of .BTF.ext. Both parsers are Pollen's own,
// not libbpf's, so that they behave the same on every OS and report malformed input as a located
// Error; every offset, length, record size, type id and string offset is checked before use.
// Layouts follow the kernel's documentation (Documentation/bpf/btf.rst) and linux/btf.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pollen/result.hpp"

namespace pollen::loader {

/// BTF_KIND_* with the kernel's numbers; id 0 ("void") has kind Void.
enum class BtfKind : uint8_t {
  Void = 0,
  Int = 1,
  Ptr = 2,
  Array = 3,
  Struct = 4,
  Union = 5,
  Enum = 6,
  Fwd = 7,
  Typedef = 8,
  Volatile = 9,
  Const = 10,
  Restrict = 11,
  Func = 12,
  FuncProto = 13,
  Var = 14,
  Datasec = 15,
  Float = 16,
  DeclTag = 17,
  TypeTag = 18,
  Enum64 = 19,
};

/// "STRUCT", "PTR", ... as bpftool prints kinds.
std::string_view btf_kind_name(BtfKind kind);

/// BTF_VAR_* linkage of a Var.
enum class BtfLinkage : uint32_t { Static = 0, GlobalAllocated = 1, GlobalExtern = 2 };

struct BtfArray {
  uint32_t type = 0;
  uint32_t index_type = 0;
  uint32_t nelems = 0;
};
/// A struct or union member. `offset` is in bits; with the type's kind_flag set, its top 8 bits
/// are the bitfield size and the low 24 bits the bit offset.
struct BtfMember {
  uint32_t name_off = 0;
  uint32_t type = 0;
  uint32_t offset = 0;
};
/// A variable of a Datasec: its Var type id, and where it lies in the section.
struct BtfVarSecinfo {
  uint32_t type = 0;
  uint32_t offset = 0;
  uint32_t size = 0;
};

/// One type. `data` holds the 32-bit words that follow struct btf_type in the section, laid out
/// as linux/btf.h lays them out for the kind; the accessors below read them by name and return
/// zeros for an index the type does not have.
struct BtfType {
  BtfKind kind = BtfKind::Void;
  bool kind_flag = false;
  uint16_t vlen = 0;
  uint32_t name_off = 0;
  uint32_t size_or_type = 0;  ///< size for Int, Struct, Union, Enum*, Datasec, Float; else a type
  std::vector<uint32_t> data;

  BtfArray array() const;                     ///< Array
  BtfMember member(size_t i) const;           ///< Struct, Union
  BtfVarSecinfo var_secinfo(size_t i) const;  ///< Datasec
  void set_var_secinfo(size_t i, BtfVarSecinfo info);
  BtfLinkage var_linkage() const;  ///< Var
  void set_var_linkage(BtfLinkage linkage);
};

/// The types and strings of one .BTF section.
class Btf {
 public:
  /// Parses a .BTF section; `where` prefixes error locations ("prog.o: .BTF").
  static Result<Btf> parse(std::span<const uint8_t> bytes, std::string_view where);

  /// Number of type ids, counting id 0 (void).
  uint32_t type_count() const { return static_cast<uint32_t>(types_.size()); }
  /// The type with this id, or null when there is none.
  const BtfType* type(uint32_t id) const;
  BtfType* mutable_type(uint32_t id);
  /// The NUL-terminated string at `offset` of the string section; "" when outside it.
  std::string_view string(uint32_t offset) const;
  /// True when `offset` lies inside the string section.
  bool has_string(uint32_t offset) const { return offset < strings_.size(); }
  std::string_view name_of(uint32_t id) const;
  /// Follows typedefs and the const/volatile/restrict/type-tag modifiers to the type they name.
  uint32_t skip_modifiers(uint32_t id) const;
  /// Size in bytes of a value of type `id`, as libbpf's btf__resolve_size; nothing for types
  /// without a size (void, functions, forward declarations) or a chain too deep or overflowing.
  std::optional<uint64_t> size_of(uint32_t id) const;
  /// The first type of `kind` named `name`.
  std::optional<uint32_t> find(BtfKind kind, std::string_view name) const;

 private:
  std::vector<BtfType> types_;
  std::string strings_;
};

/// A func_info record of .BTF.ext: the function at byte `insn_off` of its section has BTF
/// type `type_id` (a Func).
struct BtfExtFuncInfo {
  uint32_t insn_off = 0;
  uint32_t type_id = 0;
};
/// A line_info record: the instruction at byte `insn_off` comes from this file and line.
struct BtfExtLineInfo {
  uint32_t insn_off = 0;
  uint32_t file_name_off = 0;
  uint32_t line_off = 0;
  uint32_t line_col = 0;  ///< line << 10 | column
};
/// A CO-RE relocation record (struct bpf_core_relo).
struct BtfExtCoreRelo {
  uint32_t insn_off = 0;
  uint32_t type_id = 0;
  uint32_t access_str_off = 0;
  uint32_t kind = 0;
};

/// The records of a .BTF.ext section, by the name of the code section they describe.
struct BtfExt {
  template <class T>
  using BySection = std::map<std::string, std::vector<T>, std::less<>>;
  BySection<BtfExtFuncInfo> func_info;
  BySection<BtfExtLineInfo> line_info;
  BySection<BtfExtCoreRelo> core_relos;

  /// Parses a .BTF.ext section whose section names and strings live in `btf`.
  static Result<BtfExt> parse(std::span<const uint8_t> bytes, const Btf& btf,
                              std::string_view where);
};

}  // namespace pollen::loader

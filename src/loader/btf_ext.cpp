// SPDX-License-Identifier: MIT
// Parser for a .BTF.ext section: struct btf_ext_header, then three blocks of per-section records
// (func_info, line_info, CO-RE relocations). Each block starts with its record size, followed by
// { section name offset, record count, records } groups; a record size larger than the one
// Pollen knows is accepted as libbpf accepts it (newer fields are skipped), a smaller one is not.
// Record offsets (insn_off) stay in bytes from the start of their code section, as in the ELF.
#include <fmt/format.h>

#include "loader/btf.hpp"
#include "loader/common_p.hpp"

namespace pollen::loader {
namespace {

constexpr size_t kMinHeader = 24;   // up to line_info_len
constexpr size_t kCoreHeader = 32;  // with core_relo_off and core_relo_len

struct Block {
  std::string_view name;  // "func_info", "line_info", "core_relo"
  uint32_t off = 0;
  uint32_t len = 0;
  size_t min_rec_size = 0;
};

// Checks one record against the BTF it refers to; returns an empty string when it is good.
std::string check(const BtfExtFuncInfo& r, const Btf& btf) {
  const BtfType* t = btf.type(r.type_id);
  if (!t || t->kind != BtfKind::Func)
    return fmt::format("type {} is not a FUNC ({})", r.type_id,
                       t ? btf_kind_name(t->kind) : "no such type");
  return {};
}

std::string check(const BtfExtLineInfo& r, const Btf& btf) {
  if (!btf.has_string(r.file_name_off) || !btf.has_string(r.line_off))
    return fmt::format("file name offset {} or line offset {} outside the BTF strings",
                       r.file_name_off, r.line_off);
  return {};
}

std::string check(const BtfExtCoreRelo& r, const Btf& btf) {
  if (!btf.type(r.type_id) || !btf.has_string(r.access_str_off))
    return fmt::format("type {} or access string offset {} out of range", r.type_id,
                       r.access_str_off);
  return {};
}

template <class T>
T decode(std::span<const uint8_t> b, size_t off) {
  if constexpr (std::is_same_v<T, BtfExtFuncInfo>) {
    return {load_le32(b, off), load_le32(b, off + 4)};
  } else {
    return {load_le32(b, off), load_le32(b, off + 4), load_le32(b, off + 8),
            load_le32(b, off + 12)};
  }
}

template <class T>
Result<BtfExt::BySection<T>> parse_block(std::span<const uint8_t> data, const Block& block,
                                         const Btf& btf, const std::string& where) {
  BtfExt::BySection<T> out;
  if (block.len == 0) return out;
  std::string here = fmt::format("{}: {}", where, block.name);
  if (data.size() < 4)
    return invalid(here,
                   fmt::format("truncated ({} bytes, need 4 for the record size)", data.size()));
  uint32_t rec_size = load_le32(data, 0);
  if (rec_size < block.min_rec_size || rec_size % 4 != 0)
    return invalid(here, fmt::format("bad record size {} (need a multiple of 4, at least {})",
                                     rec_size, block.min_rec_size));
  size_t off = 4;
  for (size_t group = 0; off < data.size(); ++group) {
    std::string at_group = fmt::format("{}, group {}", here, group);
    if (!fits(data.size(), off, 8))
      return invalid(at_group, fmt::format("truncated group header at offset {}", off));
    uint32_t name_off = load_le32(data, off), count = load_le32(data, off + 4);
    off += 8;
    if (btf.string(name_off).empty())
      return invalid(at_group, fmt::format("section name offset {} is not a name", name_off));
    if (count == 0 || !fits(data.size(), off, uint64_t{count} * rec_size))
      return invalid(at_group, fmt::format("{} records of {} bytes do not fit in the {} bytes "
                                           "left",
                                           count, rec_size, data.size() - off));
    auto& records = out[std::string(btf.string(name_off))];
    for (uint32_t i = 0; i < count; ++i, off += rec_size) {
      T record = decode<T>(data, off);
      if (std::string bad = check(record, btf); !bad.empty())
        return invalid(fmt::format("{}, record {}", at_group, i), bad);
      records.push_back(record);
    }
  }
  return out;
}

}  // namespace

Result<BtfExt> BtfExt::parse(std::span<const uint8_t> bytes, const Btf& btf,
                             std::string_view where_view) {
  std::string where(where_view);
  if (bytes.size() < kMinHeader)
    return invalid(where,
                   fmt::format("truncated header ({} bytes, need {})", bytes.size(), kMinHeader));
  if (load_le16(bytes, 0) != 0xeb9f)
    return invalid(where,
                   fmt::format("bad magic (0x{:04x}, expected 0xeb9f)", load_le16(bytes, 0)));
  if (bytes[2] != 1)
    return not_supported(where, fmt::format(".BTF.ext version {} (Pollen reads 1)", bytes[2]));
  uint32_t hdr_len = load_le32(bytes, 4);
  if (hdr_len < kMinHeader || hdr_len > bytes.size())
    return invalid(
        where, fmt::format("bad header length ({}, section has {} bytes)", hdr_len, bytes.size()));
  Block blocks[3] = {{"func_info", load_le32(bytes, 8), load_le32(bytes, 12), 8},
                     {"line_info", load_le32(bytes, 16), load_le32(bytes, 20), 16},
                     {"core_relo", 0, 0, 16}};
  if (hdr_len >= kCoreHeader)
    blocks[2].off = load_le32(bytes, 24), blocks[2].len = load_le32(bytes, 28);
  auto body = bytes.subspan(hdr_len);
  for (const Block& b : blocks)
    if (!fits(body.size(), b.off, b.len))
      return invalid(where, fmt::format("{} [{}, +{}) outside the {} bytes after the header",
                                        b.name, b.off, b.len, body.size()));
  BtfExt ext;
  POLLEN_TRY(ext.func_info, parse_block<BtfExtFuncInfo>(body.subspan(blocks[0].off, blocks[0].len),
                                                        blocks[0], btf, where));
  POLLEN_TRY(ext.line_info, parse_block<BtfExtLineInfo>(body.subspan(blocks[1].off, blocks[1].len),
                                                        blocks[1], btf, where));
  POLLEN_TRY(ext.core_relos, parse_block<BtfExtCoreRelo>(body.subspan(blocks[2].off, blocks[2].len),
                                                         blocks[2], btf, where));
  return ext;
}

}  // namespace pollen::loader

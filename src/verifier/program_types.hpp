// SPDX-License-Identifier: MIT
// Program types as data, after Linux's struct bpf_verifier_ops: for each type, what r1 holds at
// entry, the layout of its context (which fields may be read or written, at which sizes, and
// what each field is: a number, or the packet's start, end or metadata), where Pollen's runtime
// context keeps each field (the verifier's facts drive the rewrite of context loads, as Linux's
// convert_ctx_access does), the helpers the type may call, and the return values it may give.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

namespace pollen::verifier {

/// What a context field holds.
enum class FieldKind : uint8_t {
  Scalar,      ///< a number
  PacketData,  ///< the packet's first byte (a pointer after the rewrite)
  PacketEnd,   ///< one past the packet's last byte
  PacketMeta,  ///< the first byte of the metadata before the packet
};

struct CtxField {
  std::string_view name;
  uint16_t offset;  ///< in Linux's context structure (struct xdp_md, struct __sk_buff)
  uint8_t size;     ///< its size there
  FieldKind kind;
  bool writable;  ///< programs may store into it
  bool narrow;    ///< reads of its low 1 or 2 bytes are allowed (bpf_ctx_narrow_access_ok)
  bool any_size;  ///< reads and writes of any aligned size inside it (__sk_buff.cb)
  uint16_t runtime_offset;  ///< where Pollen's runtime context keeps it
  uint8_t runtime_size;     ///< its size there (8 for pointers)
};

/// What r1 is at entry.
enum class CtxModel : uint8_t {
  Fields,  ///< a context structure with the fields listed
  Buffer,  ///< a caller-provided buffer read and written at any constant offset (syscall)
  Memory,  ///< raw: r1 = memory of VerifyOptions::raw_memory_size bytes, r2 = that size
};

struct ProgramTypeInfo {
  std::string_view name;               ///< "xdp", as bpftool and `pollen verify --type` say it
  std::optional<uint32_t> linux_type;  ///< enum bpf_prog_type; raw has none
  CtxModel ctx_model;
  uint32_t ctx_size;  ///< Fields: Linux's structure size; Buffer: the limit
  std::span<const CtxField> fields;
  uint32_t runtime_ctx_size;          ///< bytes of Pollen's runtime context (Fields)
  bool packet_access;                 ///< pointers from the context's packet fields may be used
  bool packet_write;                  ///< ... and written through
  bool legacy_packet_loads;           ///< ld_abs / ld_ind
  bool legacy_loads_need_ctx_in_r6;   ///< Linux: "R6 != pointer to skb" otherwise
  std::span<const uint32_t> helpers;  ///< Linux helper ids the type may call
  std::optional<std::pair<int64_t, int64_t>> return_range;  ///< allowed r0 at exit, if limited
};

/// The program types Pollen verifies: raw, xdp, socket_filter, syscall.
std::span<const ProgramTypeInfo> program_types();
/// By name ("xdp"), or null.
const ProgramTypeInfo* find_program_type(std::string_view name);
/// By Linux's enum bpf_prog_type, or null (for the ELF loader's section types).
const ProgramTypeInfo* find_program_type(uint32_t linux_type);

/// True when the type may call helper `id`.
bool allows_helper(const ProgramTypeInfo& type, uint32_t id);
/// True when helper `id` may be given packet memory (Linux's bpf_func_proto.pkt_access).
bool helper_takes_packet(uint32_t id);
/// True when helper `id` may move or resize the packet, so that every packet pointer is stale
/// after it (Linux's bpf_helper_changes_pkt_data).
bool helper_changes_packet(uint32_t id);

/// Why a context access is refused, or the field it touches (Fields model).
struct CtxCheck {
  const CtxField* field = nullptr;  ///< null when refused
  std::string_view why;             ///< the reason when refused
};
/// A `size`-byte access at constant offset `off` of a Fields context, as the type's
/// is_valid_access() decides it.
CtxCheck check_ctx_field(const ProgramTypeInfo& type, int64_t off, int size, bool write);

}  // namespace pollen::verifier

// SPDX-License-Identifier: MIT
// What the verifier knows about one register (or one spilled register on the stack): its kind,
// after Linux's enum bpf_reg_type, and the facts that go with the kind: a scalar's bounds, a
// pointer's fixed and variable offset, the map a map pointer or map value belongs to, the range
// of a packet pointer proven against data_end, the size of memory, the frame of a stack pointer,
// and the id that ties copies together (null checks and bounds checks reach every copy).
#pragma once

#include <cstdint>
#include <string>

#include "verifier/scalar.hpp"

namespace pollen::verifier {

/// Register kinds, named in messages as Linux names them (reg_type_str).
enum class RegType : uint8_t {
  NotInit,         ///< never written: reading it is an error
  Scalar,          ///< a number
  Ctx,             ///< the program's context (r1 at entry)
  Stack,           ///< a frame's stack: r10 and pointers derived from it ("fp")
  MapPtr,          ///< a map, from lddw with a map pseudo source
  MapValue,        ///< a value of a map
  MapValueOrNull,  ///< a map lookup's result before its null check
  Packet,          ///< inside the packet, from ctx->data
  PacketMeta,      ///< inside the packet's metadata, from ctx->data_meta
  PacketEnd,       ///< one past the packet, from ctx->data_end
  Mem,             ///< memory of a known size (the raw program type's r1, a ring buffer record)
  MemOrNull,       ///< bpf_ringbuf_reserve's result before its null check
  MapKey,          ///< a key of a map, read-only (bpf_for_each_map_elem's callback r2)
  Func,            ///< a function of the program, from lddw src=4 (a callback)
};

/// "scalar", "ctx", "fp", "map_ptr", "map_value", "map_value_or_null", "pkt", "pkt_meta",
/// "pkt_end", "mem", "ringbuf_mem_or_null", "map_key", "func", "uninit".
const char* reg_type_name(RegType type);

/// Packet ranges an earlier comparison gave a pointer known at or past data_end (Linux's
/// AT_PKT_END, BEYOND_PKT_END): no access through it can be inside the packet.
inline constexpr int32_t kAtPacketEnd = -1;
inline constexpr int32_t kBeyondPacketEnd = -2;

/// True for kinds that may be null until a null check (Linux's PTR_MAYBE_NULL).
inline bool maybe_null(RegType t) {
  return t == RegType::MapValueOrNull || t == RegType::MemOrNull;
}

/// True for kinds that hold an address.
inline bool is_pointer(RegType t) {
  return t != RegType::NotInit && t != RegType::Scalar;
}
inline bool is_packet(RegType t) {
  return t == RegType::Packet || t == RegType::PacketMeta;
}

struct RegState {
  RegType type = RegType::NotInit;
  /// Pointers: the fixed part of the offset from the start of what they point to.
  int32_t off = 0;
  /// Scalars: the value. Pointers: the variable part of the offset.
  Scalar value = Scalar::known(0);
  /// Ties registers that hold the same value: copies of a scalar, the copies of a map lookup's
  /// result (a null check applies to all), packet pointers with the same variable offset (a
  /// bounds check applies to all). 0: tied to nothing.
  uint32_t id = 0;
  /// Packet pointers: bytes [0, range) after the pointer's variable offset are inside the
  /// packet, proven by a comparison with data_end; or kAtPacketEnd, kBeyondPacketEnd.
  int32_t range = 0;
  /// MapPtr, MapValue, MapValueOrNull: the map, as the platform numbers it.
  uint32_t map = 0;
  /// Mem, MemOrNull: its size in bytes. MapKey: the map. Func: the function's first slot.
  uint32_t mem_size = 0;
  /// The reference this pointer belongs to (Linux's ref_obj_id): a ring buffer record that
  /// must be released; every copy and derived pointer dies with the release. 0: none.
  uint32_t ref = 0;
  /// Stack: the frame (0 = the main function's) whose stack it points into.
  uint32_t frame = 0;

  static RegState not_init() { return {}; }
  static RegState scalar(const Scalar& v) {
    RegState r;
    r.type = RegType::Scalar;
    r.value = v;
    return r;
  }
  static RegState unknown() { return scalar(Scalar::unknown()); }
  static RegState known(uint64_t v) { return scalar(Scalar::known(v)); }
  /// A pointer of `type` with offset 0.
  static RegState pointer(RegType type) {
    RegState r;
    r.type = type;
    return r;
  }

  bool is_scalar() const { return type == RegType::Scalar; }
  bool is_known(uint64_t v) const {
    return is_scalar() && value.is_const() && value.const_value() == v;
  }

  friend bool operator==(const RegState&, const RegState&) = default;

  /// As Linux's verifier log prints it: "scalar(umax=255,var_off=(0x0; 0xff))", "fp-8",
  /// "pkt(off=14,r=14)", "map_value(map=0,off=4)".
  std::string str() const;
};

}  // namespace pollen::verifier

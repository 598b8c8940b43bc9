// SPDX-License-Identifier: MIT
// Linux's BPF helpers, numbered by their Linux ids. Each helper's prototype is plain data
// (HelperProto: name, return kind, argument kinds, after Linux's struct bpf_func_proto); the
// verifier reads only these. The implementations are apart from them and reach a run loop
// through a vm::HelperTable. This first set needs no maps: time, random numbers, the CPU number.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "vm/abi.hpp"

namespace pollen::helpers {

/// What a helper returns, after Linux's enum bpf_return_type.
enum class RetKind : uint8_t {
  Integer,         ///< RET_INTEGER: a scalar
  Void,            ///< RET_VOID: nothing; r0 is undefined afterwards
  MapValueOrNull,  ///< RET_PTR_TO_MAP_VALUE_OR_NULL: a map value, or 0
};

/// What a helper argument must be, after Linux's enum bpf_arg_type.
enum class ArgKind : uint8_t {
  None,             ///< ARG_DONTCARE: the helper takes no argument here
  Anything,         ///< ARG_ANYTHING: any initialized value
  ConstMapPtr,      ///< ARG_CONST_MAP_PTR: a map (from lddw with a map pseudo source)
  MapKey,           ///< ARG_PTR_TO_MAP_KEY: readable memory of the map's key size
  MapValue,         ///< ARG_PTR_TO_MAP_VALUE: readable memory of the map's value size
  ReadableMem,      ///< ARG_PTR_TO_MEM | MEM_RDONLY: readable memory, sized by the next argument
  WritableMem,      ///< ARG_PTR_TO_UNINIT_MEM: writable memory, sized by the next argument
  ConstSize,        ///< ARG_CONST_SIZE: the size of the memory before it, greater than 0
  ConstSizeOrZero,  ///< ARG_CONST_SIZE_OR_ZERO: the same, or 0
  Ctx,              ///< ARG_PTR_TO_CTX: the program's context
};

/// A helper's prototype as data.
struct HelperProto {
  uint32_t id;  ///< Linux's helper id (enum bpf_func_id)
  std::string_view name;
  RetKind ret;
  std::array<ArgKind, 5> args;  ///< r1..r5; unused arguments are ArgKind::None
};

/// Every helper Pollen implements, sorted by id.
std::span<const HelperProto> helper_protos();

/// The prototype of helper `id`, or null when Pollen does not implement it.
const HelperProto* find_helper(uint32_t id);

/// The implementations of helper_protos(), indexed by id, for Interpreter::create.
const vm::HelperTable& default_helpers();

/// Linux helper ids, from include/uapi/linux/bpf.h.
namespace id {
inline constexpr uint32_t kKtimeGetNs = 5;
inline constexpr uint32_t kGetPrandomU32 = 7;
inline constexpr uint32_t kGetSmpProcessorId = 8;
inline constexpr uint32_t kJiffies64 = 118;
inline constexpr uint32_t kKtimeGetBootNs = 125;
inline constexpr uint32_t kKtimeGetCoarseNs = 160;
}  // namespace id

/// Jiffies tick at this rate (Linux's CONFIG_HZ; 250 is Debian's and Ubuntu's default). User
/// space cannot read the running kernel's HZ, and programs only compare jiffies to jiffies.
inline constexpr uint64_t kJiffiesHz = 250;

}  // namespace pollen::helpers

// SPDX-License-Identifier: MIT
// CO-RE relocations (struct bpf_core_relo), resolved against the program's own BTF. libbpf
// rewrites each relocated instruction for the running kernel's types; a program that includes
// vmlinux.h carries one on every access to a struct, packet headers and struct xdp_md included.
// Pollen has no kernel types of its own: what its programs see (packet bytes, the UAPI
// contexts, map values) has the layout the program was compiled with, so the target of every
// relocation is the program's BTF. apply_core_relos() computes each value as libbpf's
// bpf_core_calc_relo() does (field offsets, sizes, signedness and bitfield shifts from the
// access string, type ids, sizes and existence, enumerator values), checks that the
// instruction holds it, as libbpf validates the original value before patching (an instruction
// that does not is refused, named), and writes it. Only bitfields change: clang's values for
// them are placeholders (a byte size of 4 for a u8 bitfield), which libbpf does not validate.
#pragma once

#include "loader/btf.hpp"
#include "loader/spec.hpp"
#include "pollen/result.hpp"

namespace pollen::loader {

/// enum bpf_core_relo_kind.
enum class CoreReloKind : uint32_t {
  FieldByteOffset = 0,
  FieldByteSize = 1,
  FieldExists = 2,
  FieldSigned = 3,
  FieldLshiftU64 = 4,
  FieldRshiftU64 = 5,
  TypeIdLocal = 6,
  TypeIdTarget = 7,
  TypeExists = 8,
  TypeSize = 9,
  EnumvalExists = 10,
  EnumvalValue = 11,
  TypeMatches = 12,
};

/// The value of relocation `relo` with the program's BTF as the target, and whether the
/// instruction must already hold it (not for a bitfield's).
struct CoreValue {
  uint64_t value = 0;
  bool validate = true;
};
Result<CoreValue> core_relo_value(const CoreRelo& relo, const Btf& btf);

/// Applies every CO-RE relocation of `prog` to its instructions (see above).
Result<void> apply_core_relos(ProgramSpec& prog, const Btf& btf);

}  // namespace pollen::loader

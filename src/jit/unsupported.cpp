// SPDX-License-Identifier: MIT
// The code generator of hosts Pollen has no JIT for: it reports the missing feature, so that
// the runtime falls back to the interpreter (Engine::Auto) or says why it cannot (Engine::Jit).
#include <fmt/format.h>

#include "jit/backend_p.hpp"

namespace pollen::jit::detail {

bool native_supported() {
  return false;
}

Result<NativeCode> compile_native(std::span<const isa::Insn>, const vm::HelperTable&,
                                  const JitOptions&) {
  return make_error(Errc::NotSupported, Location::none(),
                    fmt::format("the JIT compiler is not supported on this host (it generates "
                                "x86-64 code only; this build is for {})",
                                POLLEN_JIT_HOST_PROCESSOR));
}

}  // namespace pollen::jit::detail

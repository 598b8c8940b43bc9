// SPDX-License-Identifier: MIT
// The seam between JitProgram (jit.cpp, the same on every host) and the code generator of the
// host's architecture: x86-64 (x86_compiler.cpp) or none (unsupported.cpp, which reports
// Errc::NotSupported). A new architecture is one more implementation of these two functions.
// Private to src/jit.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "isa/isa.hpp"
#include "jit/code_memory_p.hpp"
#include "jit/jit.hpp"
#include "pollen/result.hpp"
#include "vm/abi.hpp"

namespace pollen::jit::detail {

/// Generated code: its entry point is the first byte (an EntryFn). Offsets are from it.
struct NativeCode {
  CodeMemory memory;
  std::string listing;  ///< with JitOptions::listing
  uint64_t tail_entry = 0;      ///< the main function after its prologue: a tail call's target
  uint64_t callback_entry = 0;  ///< the CallbackFn stub
  /// Where each function's code starts when called (isa::function_starts order); the main
  /// function has none (kNoEntry), as it only runs as the main function.
  std::vector<size_t> function_slots;
  std::vector<uint64_t> function_entries;
  static constexpr uint64_t kNoEntry = ~uint64_t{0};
};

/// True when this build has a code generator for the host.
bool native_supported();

/// Compiles a structurally valid program. `helpers` must outlive the code: callx reads it.
Result<NativeCode> compile_native(std::span<const isa::Insn> prog, const vm::HelperTable& helpers,
                                  const JitOptions& options);

}  // namespace pollen::jit::detail

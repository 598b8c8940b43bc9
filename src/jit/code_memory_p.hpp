// SPDX-License-Identifier: MIT
// Executable memory that is never writable and executable at once (DESIGN.md): pages are mapped
// read + write, the code is written into them, and then they are switched to read + execute for
// the rest of their life. asmjit's JitRuntime is not used for this because the asmjit packaged
// with Debian 12 maps its code pages read + write + execute. Private to src/jit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "pollen/result.hpp"

namespace pollen::jit::detail {

class CodeMemory {
 public:
  /// Maps `size` bytes read + write, lets `write` fill them (it gets their final address, to
  /// relocate the code to), then makes them read + execute.
  static Result<CodeMemory> create(size_t size,
                                   const std::function<Result<void>(uint8_t* base)>& write);

  const uint8_t* data() const { return base_; }
  std::span<const uint8_t> bytes() const { return {base_, size_}; }

  CodeMemory(CodeMemory&& other) noexcept;
  CodeMemory& operator=(CodeMemory&& other) noexcept;
  CodeMemory(const CodeMemory&) = delete;
  CodeMemory& operator=(const CodeMemory&) = delete;
  ~CodeMemory();

 private:
  CodeMemory(uint8_t* base, size_t size, size_t mapped)
      : base_(base), size_(size), mapped_(mapped) {}
  uint8_t* base_ = nullptr;
  size_t size_ = 0;    ///< bytes of code
  size_t mapped_ = 0;  ///< bytes mapped (whole pages)
};

}  // namespace pollen::jit::detail

// SPDX-License-Identifier: MIT
// Pollen's public C++ API: programs from bytecode or assembly, their disassembly, and running
// them on an engine. The CLI (`pollen`) is built only on this header.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pollen/result.hpp"

namespace pollen {

/// Textual syntaxes for eBPF instructions.
enum class Syntax : uint8_t {
  Conformance,  ///< the bpf_conformance suite's assembly: `add %r0, 1` (assembles back)
  Llvm,         ///< llvm-objdump's C-like syntax: `r0 += 0x1`
};

/// Engines that run programs.
enum class Engine : uint8_t {
  Interpreter,  ///< the threaded-code interpreter
  Jit,          ///< native code (not yet available: Errc::NotSupported)
};

/// A structurally valid eBPF program (RFC 9669 plus Linux's v4 additions). Cheap to copy.
class Program {
 public:
  /// From little-endian bytecode (struct bpf_insn slots). Validates structure.
  static Result<Program> from_bytes(std::span<const uint8_t> bytes);
  /// From the conformance suite's assembly syntax; errors name `file_name`:line.
  static Result<Program> from_assembly(std::string_view text, std::string_view file_name = {});

  /// The bytecode, 8 bytes per slot.
  std::vector<uint8_t> bytes() const;
  /// Number of 8-byte slots (lddw takes two).
  size_t slot_count() const;

  struct ListingOptions {
    Syntax syntax = Syntax::Llvm;
    bool addresses = true;  ///< slot index before each instruction
    bool raw_bytes = true;  ///< the instruction's bytes after the index
  };
  /// A listing, one instruction per line.
  std::string disassemble(const ListingOptions& options) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Program(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

/// Disassembles bytecode that need not be structurally valid (jumps out of range, a missing
/// exit); fails only where a slot does not decode.
Result<std::string> disassemble_bytes(std::span<const uint8_t> bytes,
                                      const Program::ListingOptions& options);

/// One instruction of a listing, for callers that lay the listing out themselves (JSON).
struct ListedInsn {
  size_t slot = 0;             ///< index of its first 8-byte slot
  std::vector<uint8_t> bytes;  ///< its slots' bytes: 8, or 16 for lddw
  std::string text;            ///< the instruction alone, in the chosen syntax
};
/// The instructions of bytecode that need not be structurally valid, as disassemble_bytes()
/// reads them; fails where a slot does not decode.
Result<std::vector<ListedInsn>> list_insns(std::span<const uint8_t> bytes, Syntax syntax);

/// How exec() runs a program.
struct ExecOptions {
  Engine engine = Engine::Interpreter;  ///< Engine::Jit fails with Errc::NotSupported for now
  /// Check every memory access against the memory the program was given and its stack. Needed
  /// for programs no verifier has proven safe; off only for trusted or verified programs.
  bool checked = true;
  uint64_t insn_budget = 0;  ///< fail after this many instructions per run; 0 = no limit
  uint64_t repeat = 1;       ///< run this many times on the same memory (changes accumulate)
};

/// What exec() reports of its runs.
struct ExecResult {
  uint64_t r0 = 0;             ///< r0 at exit of the last run
  uint64_t repeat = 0;         ///< runs made
  double ns_per_run = 0;       ///< mean wall-clock time per run
  uint64_t insns_per_run = 0;  ///< instructions executed by the last run
};

/// Runs `program` with r1 = memory (0 when empty) and r2 = its length, as the conformance suite
/// does; helpers are Linux's, by id. A fault is an Errc::RuntimeFault located at its insn.
Result<ExecResult> exec(const Program& program, std::span<uint8_t> memory,
                        const ExecOptions& options = {});

/// Name of a Linux helper id Pollen implements ("bpf_ktime_get_ns" for 5), or empty.
std::string_view helper_name(uint32_t id);

}  // namespace pollen

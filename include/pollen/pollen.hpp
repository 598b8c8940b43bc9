// SPDX-License-Identifier: MIT
// Pollen's public C++ API: programs from bytecode or assembly, their disassembly, and running
// them on an engine. The CLI (`pollen`) is built only on this header.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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
  Jit,          ///< native code; x86-64 hosts only (Errc::NotSupported elsewhere)
  Auto,         ///< the JIT where the host supports it, the interpreter elsewhere
};

/// Whether this host can run `engine`: the interpreter and Auto everywhere, the JIT on x86-64.
bool engine_supported(Engine engine);

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
  Engine engine = Engine::Auto;
  /// Check every memory access against the memory the program was given and its stack. Needed
  /// for programs no verifier has proven safe; off only for trusted or verified programs.
  bool checked = true;
  /// JIT only: constant blinding, as Linux's bpf_jit_harden (no immediate of the program
  /// appears in the generated code). An error with the interpreter, which generates no code.
  bool harden = false;
  uint64_t insn_budget = 0;  ///< fail after this many instructions per run; 0 = no limit
  uint64_t repeat = 1;       ///< run this many times on the same memory (changes accumulate)
};

/// What exec() reports of its runs.
struct ExecResult {
  uint64_t r0 = 0;             ///< r0 at exit of the last run
  uint64_t repeat = 0;         ///< runs made
  double ns_per_run = 0;       ///< mean wall-clock time per run
  uint64_t insns_per_run = 0;  ///< instructions executed by the last run
  Engine engine = Engine::Interpreter;  ///< the engine that ran the program (never Auto)
};

/// Runs `program` with r1 = memory (0 when empty) and r2 = its length, as the conformance suite
/// does; helpers are Linux's, by id. A fault is an Errc::RuntimeFault located at its insn.
Result<ExecResult> exec(const Program& program, std::span<uint8_t> memory,
                        const ExecOptions& options = {});

/// The machine code the JIT generates for `program`, next to its instructions, compiled as
/// exec() compiles it with `options` (checked mode, hardening). Errc::NotSupported where the
/// host has no JIT.
Result<std::string> jit_listing(const Program& program, const ExecOptions& options = {});

/// Name of a Linux helper id Pollen implements ("bpf_ktime_get_ns" for 5), or empty.
std::string_view helper_name(uint32_t id);

/// Program types the verifier knows: what r1 holds at entry, the context fields a program may
/// read or write, the helpers it may call.
enum class ProgramType : uint8_t {
  Raw,           ///< r1 = memory, r2 = its length, as the conformance suite runs programs
  Xdp,           ///< struct xdp_md; packet access through data and data_end
  SocketFilter,  ///< struct __sk_buff; ld_abs and ld_ind
  Syscall,       ///< a caller-provided context buffer
};

/// "raw", "xdp", "socket_filter", "syscall".
std::string_view program_type_name(ProgramType type);
/// The program type with that name, or nothing.
std::optional<ProgramType> parse_program_type(std::string_view name);

/// How verify() works.
struct VerifyOptions {
  /// ProgramType::Raw: the bytes r1 will point to (0: r1 is 0); r2 holds this number.
  uint64_t raw_memory_size = 0;
  /// Instructions checked over all paths before giving up, as Linux's 1M limit.
  uint64_t max_insns_processed = 1'000'000;
  /// Keep the path that led to a rejection and the state there (VerifyError::path, state).
  bool verbose = false;
  /// Object::verify: answer from the verification done when the object was loaded, when the
  /// options are the same; false verifies again (to time it).
  bool reuse_load = true;
};

/// Why a program was rejected.
struct VerifyError {
  uint64_t insn = 0;    ///< the instruction (slot index)
  std::string source;   ///< "prog.c:41" from BTF line info; empty without it
  /// "<instruction>: <failed condition> (<registers involved>); hint: <what would fix it>"
  std::string message;
  std::string state;              ///< verbose: every register and stack slot there
  std::vector<std::string> path;  ///< verbose: the instructions that led there

  /// "insn 12 (prog.c:41): <message>".
  std::string str() const;
};

struct VerifyStats {
  uint64_t insns_processed = 0;  ///< instructions checked over all paths
  uint64_t states = 0;           ///< states kept for pruning
  uint64_t time_us = 0;
};

/// The verifier's verdict on one program.
struct VerifyReport {
  bool accepted = false;
  std::optional<VerifyError> error;  ///< set when rejected
  VerifyStats stats;
};

/// Proves `program` safe to run as `type`, as Linux's verifier does for a privileged load: no
/// access outside what it was given, no read of what it never wrote, no endless loop. A
/// rejection is a report, not an Error; errors are for options that make no sense.
Result<VerifyReport> verify(const Program& program, ProgramType type,
                            const VerifyOptions& options = {});

}  // namespace pollen

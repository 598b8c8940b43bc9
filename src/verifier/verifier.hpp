// SPDX-License-Identifier: MIT
// The verifier's entry point: a structurally valid program, its program type and its platform
// in; a verdict out. A rejection names the instruction, its disassembly, the source line when
// line info is given, the failed condition with the state of the registers involved, a hint
// where one helps, and (on request) the path that led there. An accepted program comes with
// the facts later stages need: the context accesses to rewrite, the context size a syscall
// program needs, the stack each function uses.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "isa/isa.hpp"
#include "verifier/checker.hpp"
#include "verifier/platform.hpp"
#include "verifier/program_types.hpp"

namespace pollen::verifier {

/// A source line for an instruction, from BTF line info (the loader's LineInfo).
struct SourceLine {
  uint32_t insn = 0;  ///< the first instruction it covers
  std::string file;
  uint32_t line = 0;
};

struct Input {
  std::span<const isa::Insn> insns;  ///< structurally valid (isa::validate passed)
  const ProgramTypeInfo* type = nullptr;
  const Platform* platform = &default_platform();
  Options options;
  std::span<const SourceLine> lines;  ///< sorted by insn; may be empty
  /// The program's license: helpers Linux marks gpl_only may be called only under a
  /// GPL-compatible one (Linux's license_is_gpl_compatible).
  std::string_view license = "GPL";
  /// Loaded with BPF_F_SLEEPABLE (syscall programs always are): only some map types may be
  /// used (Linux's check_map_prog_compatibility).
  bool sleepable = false;
  /// An object's program: its BTF func_info (empty without BTF). Callbacks must be static
  /// functions described there (Linux: "missing btf func_info", "callback function not
  /// static"). Unset for programs that do not come from an object.
  std::optional<std::span<const FunctionInfo>> func_info = std::nullopt;
};

/// Linux's license_is_gpl_compatible(): "GPL", "GPL v2", "GPL and additional rights",
/// "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL".
bool license_is_gpl_compatible(std::string_view license);

struct Rejection {
  uint32_t insn = 0;
  std::string source;             ///< "prog.c:41", or empty without line info
  std::string text;               ///< the instruction in llvm-objdump syntax
  std::string reason;             ///< the failed condition, with the registers involved
  std::string hint;               ///< what would fix it, or empty
  std::string state;              ///< every register and stack slot at the failure
  std::vector<std::string> path;  ///< record_path: the instructions that led there

  /// "<text>: <reason>; hint: <hint>".
  std::string message() const;
  /// "insn 12 (prog.c:41): <message>".
  std::string str() const;
};

struct Stats {
  uint64_t insns_processed = 0;  ///< instructions checked, over all paths
  uint64_t states = 0;           ///< states kept for pruning
  uint64_t time_us = 0;
};

struct Analysis {
  std::optional<Rejection> rejection;
  Stats stats;
  Facts facts;

  bool accepted() const { return !rejection; }
};

/// Verifies one program. Never fails: a rejection is a verdict in the Analysis.
Analysis verify(const Input& input);

}  // namespace pollen::verifier

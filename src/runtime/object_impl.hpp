// SPDX-License-Identifier: MIT
// The inside of pollen::Object, private to the runtime: the ObjectSpec it came from, the maps
// created from its MapSpecs (same order), and its programs linked against them. object.cpp
// builds it; test_run.cpp runs its programs; map_access.cpp gives the host its maps.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "isa/isa.hpp"
#include "jit/jit.hpp"
#include "loader/spec.hpp"
#include "maps/epoch.hpp"
#include "maps/map.hpp"
#include "pollen/object.hpp"
#include "verifier/object_platform.hpp"
#include "verifier/verifier.hpp"
#include "vm/abi.hpp"
#include "vm/interpreter.hpp"

namespace pollen {

/// A program whose lddw map relocations hold live addresses: a Map* (src=1) or the address of
/// a global-data value plus its offset (src=2), so the engine loads them as plain constants,
/// and whose context accesses are rewritten to the runtime's context from the verifier's facts.
/// A PROG_ARRAY slot holds its interpreter (the tail-call target, as src/vm expects).
struct LinkedProgram {
  std::string name;
  std::string section;
  loader::ProgramType type = loader::ProgramType::Unspec;
  bool raw = false;  ///< a bare bytecode file: r1 = data, r2 = length
  /// The verifier's table entry for the type; null when Pollen cannot verify the type (raw
  /// programs, and types without a table entry yet).
  const verifier::ProgramTypeInfo* verifier_type = nullptr;
  /// The verdict of the verification made when the object was opened.
  std::optional<verifier::Rejection> rejection;
  verifier::Stats verify_stats;  ///< of the verification at load
  verifier::Facts facts;
  std::vector<isa::Insn> insns;  ///< linked and rewritten
  std::vector<loader::LineInfo> line_info;
  std::shared_ptr<const vm::Interpreter> interpreter;
  /// Compiled on the first run with Engine::Jit: checked when `jit_checked`.
  std::shared_ptr<const jit::JitProgram> jit;
  bool jit_checked = false;
};

struct Object::Impl {
  loader::ObjectSpec spec;
  std::vector<std::shared_ptr<maps::Map>> maps;  ///< by index in spec.maps
  std::vector<std::shared_ptr<LinkedProgram>> programs;
  uint32_t slots = 1;  ///< execution slots: one, so per-CPU maps hold one value per element
  /// Checked mode, for every program of the object (a tail call may reach any of them): the
  /// global-data values, and the maps helpers may be handed (RunArgs::maps).
  std::vector<vm::Region> regions;
  std::vector<uint64_t> map_addresses;
  /// The verifier's view of the maps, for every verification of the object's programs.
  std::unique_ptr<verifier::ObjectPlatform> platform;

  /// Whether `prog` may run: Errc::Rejected when the verifier rejected it, or another program
  /// of the object (a tail call could reach it; libbpf loads an object whole or not at all),
  /// unless `unsafe` (tests: then the run must be checked).
  Result<void> check_verified(const LinkedProgram& prog, bool unsafe) const;
  /// The JIT code for `prog`, compiled on first use; checked when `checked`.
  Result<const jit::JitProgram*> jit_code(LinkedProgram& prog, bool checked) const;
  /// How this object's programs are compiled for `checked` mode or not.
  jit::JitOptions jit_options(bool checked) const;

  /// How JIT code finds the JIT code of a tail call's target (a PROG_ARRAY slot holds the
  /// target's interpreter): jit::TailCallTargets over a JitTargets.
  struct JitTargets {
    const Impl* object;
    bool checked;
  };
  static const jit::JitProgram* find_tail_call_target(void* arg, const void* target);

  /// The map called `name`, or an InvalidArgument error naming it.
  Result<maps::Map*> find_map(std::string_view name) const;
  /// The program called `name`; empty names the only program.
  Result<LinkedProgram*> find_program(std::string_view name) const;
};

/// Verifies `spec` (a program of `object`) as Linux would load it: with the object's maps,
/// license and BTF, and the program's sleepable flag.
verifier::Analysis verify_program(const Object::Impl& object, const loader::ProgramSpec& spec,
                                  const verifier::ProgramTypeInfo& type,
                                  const verifier::Options& options);

/// The public report of a verification.
VerifyReport to_report(verifier::Analysis analysis, bool verbose);

/// The engine that runs for `engine`: Auto is the JIT where the host supports it.
Engine resolve_engine(Engine engine);

/// Whether runs of `prog` are checked: unverified programs (raw bytecode, the unsafe mode).
bool run_checked(const LinkedProgram& prog, bool unsafe);
/// Adds what a checked run of the object's programs may touch besides its own inputs: the
/// global-data values and the maps helpers may be handed.
void add_object_memory(const Object::Impl& object, vm::RunArgs& args);
/// `times` runs of `prog` in a row with arguments already prepared (what one leaves in memory
/// the next sees): on `code` (its JIT code) when given, which finds tail-call targets' JIT code
/// in `object`, else on its interpreter. The last run's r0, or the first fault.
Result<uint64_t> run_prepared(const Object::Impl& object, const LinkedProgram& prog,
                              const jit::JitProgram* code, const vm::RunArgs& args,
                              const vm::RunOptions& options, uint64_t times = 1);
/// A test run's repeat loop: `run(n)` (n runs, a Result<void>) until `done` reaches `repeat`,
/// in batches of up to 1,024 runs, each inside one read-side section, as Linux's test run holds
/// rcu_read_lock over its loop and lets go only to reschedule; run_prepared()'s own section
/// then only nests.
template <typename Run>
Result<void> run_repeated(uint64_t repeat, uint64_t& done, Run&& run) {
  constexpr uint64_t kRunsPerSection = 1024;
  while (done < repeat) {
    maps::EpochGuard section;
    const uint64_t n = std::min(repeat - done, kRunsPerSection);
    POLLEN_CHECK(run(n));
    done += n;
  }
  return {};
}
/// A test-run refusal that Linux makes, naming its errno: "test-run: <what> (EINVAL)".
Error test_run_refusal(std::string what, const char* errno_text);
/// Object::test_run for XDP programs (xdp_run.cpp).
Result<TestRunResult> test_run_xdp(const Object::Impl& object, LinkedProgram& prog,
                                   const TestRunOptions& options);

/// "ENOENT" for -ENOENT (or ENOENT), for messages that name Linux's errno.
std::string errno_name(long error);

}  // namespace pollen

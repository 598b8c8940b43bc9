// SPDX-License-Identifier: MIT
// pollen::exec: runs a Program on an engine with the conformance suite's calling convention
// (r1 = memory, r2 = its length), `repeat` times on the same memory, and times the runs. The
// engine is the JIT where the host has one (Engine::Auto), or the one asked for; the JIT
// compiles in the run's mode and counts instructions, so budgets and insns/run mean the same on
// both engines. Helpers are Linux's, by id (src/helpers).
#include <chrono>

#include "helpers/helpers.hpp"
#include "jit/jit.hpp"
#include "pollen/pollen.hpp"
#include "runtime/program_impl.hpp"
#include "vm/interpreter.hpp"

namespace pollen {
namespace {

Engine resolve(Engine engine) {
  if (engine != Engine::Auto) return engine;
  return jit::host_supported() ? Engine::Jit : Engine::Interpreter;
}

Result<void> check_options(const ExecOptions& options, Engine engine) {
  if (options.repeat == 0)
    return make_error(Errc::InvalidArgument, Location::none(), "repeat must be at least 1 (is 0)");
  if (options.harden && engine == Engine::Interpreter)
    return make_error(Errc::InvalidArgument, Location::none(),
                      "harden: constant blinding hardens JIT code, and the interpreter runs none "
                      "(use the JIT engine)");
  return {};
}

jit::JitOptions jit_options(const ExecOptions& options) {
  jit::JitOptions out;
  out.checked = options.checked;
  out.harden = options.harden;
  out.count_insns = true;
  return out;
}

// Runs `run` `repeat` times and times it; `last_insn_count` is the engine's count of the last run.
template <class Run>
Result<ExecResult> timed_runs(const ExecOptions& options, Engine engine, const Run& run,
                              uint64_t (*last_insn_count)()) {
  ExecResult result;
  result.engine = engine;
  auto start = std::chrono::steady_clock::now();
  for (; result.repeat < options.repeat; ++result.repeat) {
    POLLEN_TRY(result.r0, run());
  }
  std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  result.ns_per_run = elapsed.count() / static_cast<double>(result.repeat);
  result.insns_per_run = last_insn_count();
  return result;
}

}  // namespace

bool engine_supported(Engine engine) {
  return engine != Engine::Jit || jit::host_supported();
}

Result<ExecResult> exec(const Program& program, std::span<uint8_t> memory,
                        const ExecOptions& options) {
  const Engine engine = resolve(options.engine);
  POLLEN_CHECK(check_options(options, engine));
  const vm::RunArgs args = vm::memory_args(memory);
  vm::RunOptions run_options;
  run_options.checked = options.checked;
  run_options.insn_budget = options.insn_budget;
  if (engine == Engine::Jit) {
    POLLEN_TRY(jit::JitProgram code,
               jit::JitProgram::compile(program.impl().insns, helpers::default_helpers(),
                                        jit_options(options)));
    return timed_runs(
        options, engine, [&] { return code.run(args, run_options); },
        &jit::JitProgram::last_insn_count);
  }
  POLLEN_TRY(vm::Interpreter interpreter,
             vm::Interpreter::create(program.impl().insns, helpers::default_helpers()));
  return timed_runs(
      options, engine, [&] { return interpreter.run(args, run_options); },
      &vm::Interpreter::last_insn_count);
}

Result<std::string> jit_listing(const Program& program, const ExecOptions& options) {
  jit::JitOptions jit = jit_options(options);
  jit.listing = true;
  POLLEN_TRY(jit::JitProgram code,
             jit::JitProgram::compile(program.impl().insns, helpers::default_helpers(), jit));
  return code.listing();
}

std::string_view helper_name(uint32_t id) {
  const helpers::HelperProto* proto = helpers::find_helper(id);
  return proto ? proto->name : std::string_view{};
}

}  // namespace pollen

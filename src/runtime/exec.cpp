// SPDX-License-Identifier: MIT
// pollen::exec: runs a Program on an engine with the conformance suite's calling convention
// (r1 = memory, r2 = its length), `repeat` times on the same memory, and times the runs. Today
// the engine is the interpreter; the JIT reports itself as not supported until it exists.
// Helpers are Linux's, by id (src/helpers).
#include <chrono>

#include "helpers/helpers.hpp"
#include "pollen/pollen.hpp"
#include "runtime/program_impl.hpp"
#include "vm/interpreter.hpp"

namespace pollen {
namespace {

Result<void> check_options(const ExecOptions& options) {
  if (options.engine == Engine::Jit)
    return make_error(Errc::NotSupported, Location::none(),
                      "engine 'jit' is not supported yet (Pollen has no JIT compiler yet; use "
                      "the interpreter)");
  if (options.repeat == 0)
    return make_error(Errc::InvalidArgument, Location::none(), "repeat must be at least 1 (is 0)");
  return {};
}

}  // namespace

Result<ExecResult> exec(const Program& program, std::span<uint8_t> memory,
                        const ExecOptions& options) {
  POLLEN_CHECK(check_options(options));
  POLLEN_TRY(vm::Interpreter interpreter,
             vm::Interpreter::create(program.impl().insns, helpers::default_helpers()));
  const vm::RunArgs args = vm::memory_args(memory);
  const vm::RunOptions run_options{.checked = options.checked, .insn_budget = options.insn_budget};

  ExecResult result;
  auto start = std::chrono::steady_clock::now();
  for (; result.repeat < options.repeat; ++result.repeat) {
    POLLEN_TRY(result.r0, interpreter.run(args, run_options));
  }
  std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  result.ns_per_run = elapsed.count() / static_cast<double>(result.repeat);
  result.insns_per_run = vm::Interpreter::last_insn_count();
  return result;
}

std::string_view helper_name(uint32_t id) {
  const helpers::HelperProto* proto = helpers::find_helper(id);
  return proto ? proto->name : std::string_view{};
}

}  // namespace pollen

// SPDX-License-Identifier: MIT
// Interpreter benchmarks: every program of programs.hpp, in unchecked and checked mode, reporting
// the time per run and, as counters, the instructions per run and the time per executed
// instruction. The programs are assembled and decoded once; the timed loop is run() alone.
#include <benchmark/benchmark.h>

#include <string>

#include "helpers/helpers.hpp"
#include "programs.hpp"
#include "vm/interpreter.hpp"

namespace pollen::bench {
namespace {

void run_program(benchmark::State& state, const BenchProgram& program, bool checked) {
  std::optional<std::vector<isa::Insn>> code = assemble_or_skip(state, program);
  if (!code) return;
  Result<vm::Interpreter> interp = vm::Interpreter::create(*code, helpers::default_helpers());
  if (!interp) return state.SkipWithError(interp.error().str().c_str());
  std::vector<uint8_t> memory = memory_for(program);
  time_runs(state, *interp, memory, checked);
  if (state.error_occurred()) return;
  auto insns = static_cast<double>(vm::Interpreter::last_insn_count());
  state.counters["insns"] = insns;
  // Seconds per instruction; the console shows it with an SI prefix ("1.2n" = 1.2 ns).
  state.counters["per_insn"] = benchmark::Counter(
      insns, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void register_all() {
  for (const BenchProgram& program : kPrograms) {
    for (bool checked : {false, true}) {
      std::string name =
          "interpreter/" + std::string(program.name) + (checked ? "/checked" : "/unchecked");
      benchmark::RegisterBenchmark(name.c_str(), [&program, checked](benchmark::State& state) {
        run_program(state, program, checked);
      });
    }
  }
}

}  // namespace
}  // namespace pollen::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  pollen::bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

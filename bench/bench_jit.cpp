// SPDX-License-Identifier: MIT
// JIT benchmarks, next to the interpreter in the same run: every program of programs.hpp on
// both engines, in unchecked and checked mode, plus the JIT with instruction counting (as
// `pollen exec` compiles it), reporting the time per run; and the time to compile a program of
// exactly 1,000 instructions with each set of JIT options, next to the interpreter's decoding
// of the same program. Programs are compiled once; the timed loop is run() alone.
#include <benchmark/benchmark.h>

#include <string>

#include "helpers/helpers.hpp"
#include "isa/assembler.hpp"
#include "jit/jit.hpp"
#include "programs.hpp"
#include "vm/interpreter.hpp"

namespace pollen::bench {
namespace {

enum class Engine { Interpreter, Jit, JitCounted };

constexpr const char* kEngineNames[] = {"interpreter", "jit", "jit_counted"};

// An engine's run(), behind one call; the interpreter's or a JitProgram's.
template <class Code>
void time_runs(benchmark::State& state, const Code& code, std::vector<uint8_t>& memory,
               bool checked) {
  const vm::RunArgs args = vm::memory_args(memory);
  vm::RunOptions options;
  options.checked = checked;
  for (auto _ : state) {
    Result<uint64_t> r = code.run(args, options);
    if (!r) return state.SkipWithError(r.error().str().c_str());
    benchmark::DoNotOptimize(*r);
  }
}

void run_program(benchmark::State& state, const BenchProgram& program, Engine engine,
                 bool checked) {
  Result<std::vector<isa::Insn>> insns = isa::assemble(program.text, program.name);
  if (!insns) return state.SkipWithError(insns.error().str().c_str());
  std::vector<uint8_t> memory =
      program.packet_memory ? packet_bytes() : std::vector<uint8_t>(program.memory_size, 1);
  if (engine == Engine::Interpreter) {
    Result<vm::Interpreter> interp = vm::Interpreter::create(*insns, helpers::default_helpers());
    if (!interp) return state.SkipWithError(interp.error().str().c_str());
    return time_runs(state, *interp, memory, checked);
  }
  jit::JitOptions options;
  options.checked = checked;
  options.count_insns = engine == Engine::JitCounted;
  Result<jit::JitProgram> code =
      jit::JitProgram::compile(*insns, helpers::default_helpers(), options);
  if (!code) return state.SkipWithError(code.error().str().c_str());
  time_runs(state, *code, memory, checked);
}

// Exactly 1,000 instructions of the kinds compiled programs are made of: ALU work on
// immediates and registers, loads and stores, forward branches, divisions and a helper call
// every 45 instructions, ending in exit.
std::vector<isa::Insn> thousand_insns() {
  std::string text = "mov %r0, 0\nmov %r6, 1\n";
  int count = 2;
  for (int k = 0; count + 9 < 1000; ++k, count += 9) {
    text += "add %r6, " + std::to_string(k * 7919) + "\nmul32 %r6, %r6\n";
    text += "stxdw [%r1+" + std::to_string(8 * (k % 4)) + "], %r6\n";
    text += "ldxw %r7, [%r1+" + std::to_string(4 * (k % 8)) + "]\n";
    text += "jset %r7, " + std::to_string(1 << (k % 31)) + ", +2\nxor %r0, %r7\n";
    text += k % 5 == 4 ? "call 8\n" : "mod %r0, %r6\n";
    text += "rsh %r6, " + std::to_string(k % 64) + "\nadd %r0, %r6\n";
  }
  for (; count < 999; ++count) text += "add %r0, 1\n";
  text += "exit\n";
  return *isa::assemble(text, "thousand");
}

void compile_thousand(benchmark::State& state, const jit::JitOptions* options) {
  const std::vector<isa::Insn> insns = thousand_insns();
  for (auto _ : state) {
    if (options == nullptr) {
      Result<vm::Interpreter> interp = vm::Interpreter::create(insns, helpers::default_helpers());
      if (!interp) return state.SkipWithError(interp.error().str().c_str());
      benchmark::DoNotOptimize(&*interp);
    } else {
      Result<jit::JitProgram> code =
          jit::JitProgram::compile(insns, helpers::default_helpers(), *options);
      if (!code) return state.SkipWithError(code.error().str().c_str());
      benchmark::DoNotOptimize(code->code().data());
    }
  }
  state.counters["insns"] = static_cast<double>(insns.size());
}

void register_all() {
  for (const BenchProgram& program : kPrograms) {
    for (bool checked : {false, true}) {
      for (Engine engine : {Engine::Interpreter, Engine::Jit, Engine::JitCounted}) {
        std::string name = std::string(kEngineNames[static_cast<int>(engine)]) + "/" +
                           std::string(program.name) + (checked ? "/checked" : "/unchecked");
        benchmark::RegisterBenchmark(name.c_str(),
                                     [&program, engine, checked](benchmark::State& state) {
                                       run_program(state, program, engine, checked);
                                     });
      }
    }
  }
  static const struct {
    const char* name;
    jit::JitOptions options;
  } kCompiles[] = {
      {"compile_1k/jit/unchecked", {}},
      {"compile_1k/jit/checked", {.checked = true}},
      {"compile_1k/jit/checked_counted", {.checked = true, .count_insns = true}},
      {"compile_1k/jit/checked_counted_hardened",
       {.checked = true, .harden = true, .count_insns = true}},
  };
  for (const auto& c : kCompiles)
    benchmark::RegisterBenchmark(c.name, compile_thousand, &c.options)
        ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("compile_1k/interpreter", compile_thousand, nullptr)
      ->Unit(benchmark::kMicrosecond);
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

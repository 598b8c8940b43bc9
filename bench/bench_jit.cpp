// SPDX-License-Identifier: MIT
// JIT benchmarks, next to the interpreter in the same run: every program of programs.hpp on
// both engines, in unchecked and checked mode, plus the JIT with instruction counting (as
// `pollen exec` compiles it), reporting the time per run; the C++ equivalents of the programs
// that have one (native_programs.hpp), for the JIT/native ratio; a loop of array map lookups
// with the helper called and inlined; and the time to compile a program of exactly 1,000
// instructions with each set of JIT options, next to the interpreter's decoding of the same
// program. Programs are compiled once; the timed loop is run() alone.
#include <benchmark/benchmark.h>

#include <string>

#include "helpers/helpers.hpp"
#include "isa/assembler.hpp"
#include "jit/array_layout.hpp"
#include "jit/jit.hpp"
#include "maps/epoch.hpp"
#include "native_programs.hpp"
#include "programs.hpp"
#include "vm/interpreter.hpp"

namespace pollen::bench {
namespace {

enum class Engine { Interpreter, Jit, JitCounted };

constexpr const char* kEngineNames[] = {"interpreter", "jit", "jit_counted"};

void run_program(benchmark::State& state, const BenchProgram& program, Engine engine,
                 bool checked) {
  std::optional<std::vector<isa::Insn>> insns = assemble_or_skip(state, program);
  if (!insns) return;
  std::vector<uint8_t> memory = memory_for(program);
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

// The C++ equivalent of a program, on the same memory; it must compute the interpreter's r0.
void run_native(benchmark::State& state, const BenchProgram& program, const NativeProgram& native) {
  std::optional<std::vector<isa::Insn>> insns = assemble_or_skip(state, program);
  if (!insns) return;
  std::vector<uint8_t> memory = memory_for(program);
  Result<vm::Interpreter> interp = vm::Interpreter::create(*insns, helpers::default_helpers());
  if (!interp) return state.SkipWithError(interp.error().str().c_str());
  Result<uint64_t> want = interp->run(vm::memory_args(memory));
  memory = memory_for(program);
  if (!want || native.run(memory.data(), memory.size()) != *want)
    return state.SkipWithError("the C++ equivalent computes another r0 than the program");
  memory = memory_for(program);
  for (auto _ : state) benchmark::DoNotOptimize(native.run(memory.data(), memory.size()));
}

// 100 lookups of keys 0..7 in an ARRAY map of 8 u64, each incrementing the value it finds, as a
// counting program does.
constexpr std::string_view kArrayLookupLoop = R"(
mov %r6, 100
loop:
mov %r1, %r6
and %r1, 7
stxw [%r10-4], %r1
lddw %r1, 0x1122334455667788
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, skip
ldxdw %r1, [%r0]
add %r1, 1
stxdw [%r0], %r1
skip:
sub %r6, 1
jne %r6, 0, loop
mov %r0, 0
exit
)";

enum class Lookup { Interpreter, JitCall, JitInline };

void run_array_lookups(benchmark::State& state, Lookup how) {
  maps::MapDef def;
  def.type = maps::MapType::Array;
  def.key_size = 4;
  def.value_size = 8;
  def.max_entries = 8;
  def.name = "counters";
  Result<std::shared_ptr<maps::Map>> map = maps::create_map(def, 1);
  if (!map) return state.SkipWithError(map.error().str().c_str());
  // The program's placeholder lddw becomes the map's address, as the runtime links it.
  Result<std::vector<isa::Insn>> insns = isa::assemble(kArrayLookupLoop, "array_lookup_loop");
  if (!insns) return state.SkipWithError(insns.error().str().c_str());
  for (size_t i = 0; i + 1 < insns->size(); ++i) {
    if ((*insns)[i].opcode != 0x18) continue;
    const auto address = reinterpret_cast<uint64_t>(map->get());
    (*insns)[i].imm = static_cast<int32_t>(static_cast<uint32_t>(address));
    (*insns)[i + 1].imm = static_cast<int32_t>(static_cast<uint32_t>(address >> 32));
  }
  std::vector<uint8_t> memory;
  if (how == Lookup::Interpreter) {
    Result<vm::Interpreter> interp = vm::Interpreter::create(*insns, helpers::default_helpers());
    if (!interp) return state.SkipWithError(interp.error().str().c_str());
    maps::EpochGuard guard;  // as the runtime runs programs
    time_runs(state, *interp, memory, false);
  } else {
    jit::JitOptions options;
    if (how == Lookup::JitInline) options.arrays = {*jit::array_layout(**map)};
    Result<jit::JitProgram> code =
        jit::JitProgram::compile(*insns, helpers::default_helpers(), options);
    if (!code) return state.SkipWithError(code.error().str().c_str());
    maps::EpochGuard guard;
    time_runs(state, *code, memory, false);
  }
  uint64_t first = 0;
  const uint32_t key = 0;
  (*map)->lookup_copy(&key, &first, 0);
  if (first == 0) state.SkipWithError("the program did not count");
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
  for (const NativeProgram& native : kNativePrograms) {
    const BenchProgram* program = nullptr;
    for (const BenchProgram& p : kPrograms) program = p.name == native.name ? &p : program;
    std::string name = "native/" + std::string(native.name);
    benchmark::RegisterBenchmark(name.c_str(), [program, &native](benchmark::State& state) {
      run_native(state, *program, native);
    });
  }
  static constexpr const char* kLookupNames[] = {"interpreter", "jit_helper_call", "jit_inline"};
  for (Lookup how : {Lookup::Interpreter, Lookup::JitCall, Lookup::JitInline}) {
    std::string name =
        "array_lookup_loop/" + std::string(kLookupNames[static_cast<int>(how)]) + "/unchecked";
    benchmark::RegisterBenchmark(name.c_str(),
                                 [how](benchmark::State& state) { run_array_lookups(state, how); });
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

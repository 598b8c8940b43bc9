// SPDX-License-Identifier: MIT
// The programs the benchmarks run, in the conformance suite's assembly syntax, with the memory
// each expects, and the runner bench_interpreter and bench_jit share: assemble a program, give
// it its memory, time an engine's run() alone. Kept apart from the benchmark code so that every
// engine (the interpreter, the JIT, another runtime measured for comparison) runs exactly the
// same programs the same way.
#pragma once

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "isa/assembler.hpp"
#include "vm/interpreter.hpp"

namespace pollen::bench {

struct BenchProgram {
  std::string_view name;
  std::string_view text;       ///< assembly; r1 = memory, r2 = its length
  size_t memory_size;          ///< bytes of memory to pass
  bool packet_memory = false;  ///< fill the memory with a UDP/IPv4 packet (packet_bytes())
};

/// A tight ALU loop: 7 instructions per iteration, 1000 iterations.
inline constexpr std::string_view kAluLoop = R"(
mov %r0, 0
mov %r1, 1000
loop:
add %r0, %r1
xor %r0, 0x5a5a
lsh %r0, 1
rsh %r0, 1
mul %r0, 3
sub %r1, 1
jne %r1, 0, loop
exit
)";

/// A memory-heavy loop: reads and rewrites every u64 of the memory, spilling through the stack.
inline constexpr std::string_view kMemoryLoop = R"(
mov %r0, 0
mov %r3, %r1
mov %r4, %r1
add %r4, %r2
loop:
ldxdw %r5, [%r3]
add %r0, %r5
stxdw [%r10-8], %r0
ldxdw %r6, [%r10-8]
xor %r5, %r6
stxdw [%r3], %r5
add %r3, 8
jlt %r3, %r4, loop
exit
)";

/// A call-heavy loop: every iteration makes a local call and a helper call
/// (8 = bpf_get_smp_processor_id).
inline constexpr std::string_view kCallLoop = R"(
mov %r6, 100
mov %r7, 0
loop:
mov %r1, %r6
call local square
add %r7, %r0
call 8
add %r7, %r0
sub %r6, 1
jne %r6, 0, loop
mov %r0, %r7
exit
square:
mov %r0, %r1
mul %r0, %r1
exit
)";

/// A short straight-line program like an XDP filter: bounds check, parse Ethernet, IPv4 and
/// UDP headers, branch on the port. Here the cost of starting a run dominates.
inline constexpr std::string_view kPacketParse = R"(
mov %r0, 1
mov %r4, %r1
add %r4, %r2
mov %r3, %r1
add %r3, 42
jgt %r3, %r4, out
ldxh %r5, [%r1+12]
be16 %r5
jne %r5, 0x0800, out
ldxb %r5, [%r1+14]
rsh %r5, 4
jne %r5, 4, out
ldxb %r5, [%r1+23]
jne %r5, 17, out
ldxw %r6, [%r1+26]
ldxw %r7, [%r1+30]
be32 %r6
be32 %r7
xor %r6, %r7
ldxh %r8, [%r1+36]
be16 %r8
jeq %r8, 53, dns
mov %r0, 2
ja out
dns:
add %r6, %r8
stxw [%r10-4], %r6
ldxw %r0, [%r10-4]
and %r0, 3
out:
exit
)";

inline constexpr std::array<BenchProgram, 4> kPrograms = {{
    {"alu_loop", kAluLoop, 0},
    {"memory_loop", kMemoryLoop, 1024},
    {"call_loop", kCallLoop, 0},
    {"packet_parse", kPacketParse, 64, true},
}};

/// 64 bytes of Ethernet + IPv4 + UDP to port 53 (so packet_parse takes its longest path).
inline std::vector<uint8_t> packet_bytes() {
  std::vector<uint8_t> p(64, 0);
  p[12] = 0x08;                                                          // ethertype IPv4
  p[14] = 0x45;                                                          // version 4, IHL 5
  p[23] = 17;                                                            // protocol UDP
  for (int i = 0; i < 8; ++i) p[26 + i] = static_cast<uint8_t>(10 + i);  // saddr, daddr
  p[37] = 53;                                                            // destination port
  return p;
}

/// The memory `program` runs on: the packet, or its size in bytes of 1.
inline std::vector<uint8_t> memory_for(const BenchProgram& program) {
  return program.packet_memory ? packet_bytes() : std::vector<uint8_t>(program.memory_size, 1);
}

/// The program's instructions, or nothing after marking the benchmark skipped with the error.
inline std::optional<std::vector<isa::Insn>> assemble_or_skip(benchmark::State& state,
                                                              const BenchProgram& program) {
  Result<std::vector<isa::Insn>> insns = isa::assemble(program.text, program.name);
  if (!insns) {
    state.SkipWithError(insns.error().str().c_str());
    return std::nullopt;
  }
  return *insns;
}

/// Times `code.run()` alone (a vm::Interpreter or a jit::JitProgram) with r1 = `memory`,
/// r2 = its size, in the given mode; a failing run skips the benchmark with its error.
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

}  // namespace pollen::bench

// SPDX-License-Identifier: MIT
// C++ equivalents of the benchmark programs of programs.hpp that have an obvious one, for the
// native-code comparison in bench_jit: each computes the same r0 from the same memory, written
// as a C programmer would write it, and is compiled at the build's -O2 in a translation unit of
// its own, so that the compiler cannot fold it into the benchmark loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pollen::bench {

/// alu_loop: `iterations` is 1000 (a parameter, so that the compiler cannot fold the loop away).
uint64_t native_alu_loop(uint64_t iterations);
/// memory_loop: reads and rewrites every u64 of [mem, mem + size).
uint64_t native_memory_loop(uint8_t* mem, size_t size);
/// packet_parse: the filter on a packet of `size` bytes.
uint64_t native_packet_parse(uint8_t* pkt, size_t size);

/// A program of programs.hpp and its C++ equivalent, called as the engine gets its memory.
struct NativeProgram {
  std::string_view name;
  uint64_t (*run)(uint8_t* mem, size_t size);
};

/// The programs with a C++ equivalent.
extern const NativeProgram kNativePrograms[3];

}  // namespace pollen::bench

// SPDX-License-Identifier: MIT
// The C++ equivalents of alu_loop, memory_loop and packet_parse (native_programs.hpp). Loads and
// stores go through memcpy, as BPF's may be unaligned; the packet's fields are big-endian.
#include "native_programs.hpp"

#include <cstring>

namespace pollen::bench {
namespace {

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

uint32_t load_be32(const uint8_t* p) {
  return __builtin_bswap32(load<uint32_t>(p));
}

}  // namespace

uint64_t native_alu_loop(uint64_t iterations) {
  uint64_t r0 = 0;
  for (uint64_t i = iterations; i != 0; --i) {
    r0 += i;
    r0 ^= 0x5a5a;
    r0 <<= 1;
    r0 >>= 1;
    r0 *= 3;
  }
  return r0;
}

uint64_t native_memory_loop(uint8_t* mem, size_t size) {
  uint64_t sum = 0;
  for (uint8_t* p = mem; p < mem + size; p += 8) {
    uint64_t v = load<uint64_t>(p);
    sum += v;
    v ^= sum;  // the BPF program spills sum through the stack and reads it back
    std::memcpy(p, &v, sizeof v);
  }
  return sum;
}

uint64_t native_packet_parse(uint8_t* pkt, size_t size) {
  if (size < 42) return 1;
  if (load_be16(pkt + 12) != 0x0800) return 1;
  if (pkt[14] >> 4 != 4) return 1;
  if (pkt[23] != 17) return 1;
  const uint32_t addrs = load_be32(pkt + 26) ^ load_be32(pkt + 30);
  const uint16_t port = load_be16(pkt + 36);
  if (port != 53) return 2;
  return static_cast<uint32_t>(addrs + port) & 3;
}

namespace {
// alu_loop's iteration count, read at run time so that no call of native_alu_loop is folded.
volatile uint64_t g_alu_iterations = 1000;
}  // namespace

const NativeProgram kNativePrograms[3] = {
    {"alu_loop", [](uint8_t*, size_t) { return native_alu_loop(g_alu_iterations); }},
    {"memory_loop", native_memory_loop},
    {"packet_parse", native_packet_parse},
};

}  // namespace pollen::bench

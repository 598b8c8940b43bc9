// SPDX-License-Identifier: MIT
// XDP hook benchmarks: the cost per packet of XdpRunner::run (copy into the frame, run, the
// verdict) with an empty program, and packets per second of a small filter, on the interpreter
// and the JIT, over a ring of 64-byte frames (half UDP to port 53, half other). The whole
// `pollen run` loop over a capture file is measured with bench/xdp_throughput.sh.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pollen/object.hpp"

namespace pollen::bench {
namespace {

using Bytes = std::vector<uint8_t>;

// A 64-byte Ethernet/IPv4/UDP frame to `port` (checksums do not matter to the filter).
Bytes udp_frame(uint16_t port) {
  Bytes f(64, 0);
  f[12] = 0x08;  // IPv4
  f[14] = 0x45;
  f[16] = 0;
  f[17] = 50;  // total length
  f[23] = 17;  // UDP
  f[14 + 20 + 2] = static_cast<uint8_t>(port >> 8);
  f[14 + 20 + 3] = static_cast<uint8_t>(port);
  return f;
}

void run_xdp(benchmark::State& state, const char* program, Engine engine) {
  auto object = Object::open(POLLEN_BENCH_XDP_OBJECT);
  if (!object) return state.SkipWithError(object.error().str().c_str());
  XdpOptions options;
  options.engine = engine;
  auto runner = object->xdp_runner(program, options);
  if (!runner) return state.SkipWithError(runner.error().str().c_str());
  const std::vector<Bytes> packets = {udp_frame(53), udp_frame(443), udp_frame(53),
                                      udp_frame(8080)};
  size_t i = 0;
  for (auto _ : state) {
    auto out = runner->run(packets[i++ & 3]);
    if (!out) return state.SkipWithError(out.error().str().c_str());
    benchmark::DoNotOptimize(out->action);
  }
  state.counters["pps"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                             benchmark::Counter::kIsRate);
}

void register_all() {
  for (const char* program : {"xdp_empty", "xdp_filter"})
    for (auto [engine, name] : {std::pair{Engine::Interpreter, "interpreter"},
                                std::pair{Engine::Jit, "jit"}}) {
      if (!engine_supported(engine)) continue;
      benchmark::RegisterBenchmark((std::string(program) + "/" + name).c_str(),
                                   [=](benchmark::State& s) { run_xdp(s, program, engine); });
    }
}

}  // namespace
}  // namespace pollen::bench

int main(int argc, char** argv) {
  pollen::bench::register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

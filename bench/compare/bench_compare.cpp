// SPDX-License-Identifier: MIT
// bench_compare: Pollen's JIT side by side with native code and the Linux kernel's JIT, in one
// run, on the XDP programs of programs/ (one per kind: parsing, a checksum loop, a hash-map
// counter, an array histogram, a compute loop, string matching, switch dispatch, bpf-to-bpf
// calls, plus an empty program). Each program's one source is built as a BPF object (run by
// Pollen's XdpRunner on the JIT and on the interpreter, and by the kernel's BPF_PROG_TEST_RUN)
// and as native x86-64 code with clang -O2 through compare.h. Before timing, every engine runs
// the program once on the same packet: r0, the packet it leaves and the map values listed
// below must agree, or the program is reported as not comparable. Timing alternates programs
// and engines within each round; the figure is the median of the rounds. See README.md.
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compare_native.h"
#include "kernel_xdp.hpp"
#include "pollen/object.hpp"

using NativeFn = int (*)(compare_native_xdp_md*);
using NativeLookup = void* (*)(const void*);

extern "C" {
int xdp_empty(compare_native_xdp_md*);
int xdp_parse(compare_native_xdp_md*);
int xdp_checksum(compare_native_xdp_md*);
int xdp_hash_counter(compare_native_xdp_md*);
int xdp_array_histogram(compare_native_xdp_md*);
int xdp_compute_loop(compare_native_xdp_md*);
int xdp_string_match(compare_native_xdp_md*);
int xdp_switch_dispatch(compare_native_xdp_md*);
int xdp_bpf_calls(compare_native_xdp_md*);
void* compare_lookup_flow_counters(const void*);
void* compare_lookup_byte_histogram(const void*);
void* compare_lookup_size_histogram(const void*);
void* compare_lookup_rss_queues(const void*);
void* compare_lookup_signature_hits(const void*);
}

namespace pollen::bench {
namespace {

using Bytes = std::vector<uint8_t>;

// Map values checked after the first run: `keys` of `map`, in all engines.
struct MapCheck {
  const char* map;
  NativeLookup native;
  std::vector<Bytes> keys;
};

struct BenchProgram {
  const char* name;   // the object's file stem (programs/<name>.bpf.c)
  const char* entry;  // the XDP function
  NativeFn native;
  std::vector<MapCheck> maps;
};

Bytes u32_key(uint32_t k) {
  Bytes b(4);
  std::memcpy(b.data(), &k, 4);
  return b;
}

std::vector<Bytes> index_keys(uint32_t n) {
  std::vector<Bytes> keys;
  for (uint32_t i = 0; i < n; ++i) keys.push_back(u32_key(i));
  return keys;
}

// The packet every program runs on: 128 bytes, Ethernet + IPv4 (checksum valid) + UDP
// (checksum 0, "none") from 10.0.0.1:40000 to 10.0.0.2:8080, with an HTTP-like request as
// payload, which the string matcher scans ("curl/" is one of its signatures).
Bytes make_packet() {
  Bytes f(128, 0);
  const uint8_t head[] = {
      0x02, 0,    0,    0,    0,    0x02, 0x02, 0, 0,  0,  0, 0x01, 0x08, 0x00,  // Ethernet
      0x45, 0,    0,    114,  0x12, 0x34, 0x40, 0, 64, 17, 0, 0,  // IPv4, checksum at 24
      10,   0,    0,    1,    10,   0,    0,    2,                // addresses
      0x9c, 0x40, 0x1f, 0x90, 0,    94,   0,    0,                // UDP 40000 -> 8080
  };
  std::memcpy(f.data(), head, sizeof head);
  const char payload[] =
      "GET /search?q=pollen HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.1\r\n"
      "Accept: */*\r\n\r\n";
  std::memcpy(f.data() + sizeof head, payload, std::min(sizeof payload - 1, f.size() - 42));
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2) sum += f[i] << 8 | f[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  f[24] = static_cast<uint8_t>(~sum >> 8);
  f[25] = static_cast<uint8_t>(~sum);
  return f;
}

std::vector<BenchProgram> bench_programs(const Bytes& packet) {
  Bytes flow(16, 0);  // struct flow_key: saddr, daddr, sport, dport (network order), proto
  std::memcpy(flow.data(), packet.data() + 26, 8);
  std::memcpy(flow.data() + 8, packet.data() + 34, 4);
  flow[12] = 17;
  return {
      {"empty", "xdp_empty", xdp_empty, {}},
      {"parse", "xdp_parse", xdp_parse, {}},
      {"checksum", "xdp_checksum", xdp_checksum, {}},
      {"hash_counter",
       "xdp_hash_counter",
       xdp_hash_counter,
       {{"flow_counters", compare_lookup_flow_counters, {flow}}}},
      {"array_histogram",
       "xdp_array_histogram",
       xdp_array_histogram,
       {{"byte_histogram", compare_lookup_byte_histogram, index_keys(16)},
        {"size_histogram", compare_lookup_size_histogram, index_keys(12)}}},
      {"compute_loop",
       "xdp_compute_loop",
       xdp_compute_loop,
       {{"rss_queues", compare_lookup_rss_queues, index_keys(16)}}},
      {"string_match",
       "xdp_string_match",
       xdp_string_match,
       {{"signature_hits", compare_lookup_signature_hits, index_keys(4)}}},
      {"switch_dispatch", "xdp_switch_dispatch", xdp_switch_dispatch, {}},
      {"bpf_calls", "xdp_bpf_calls", xdp_bpf_calls, {}},
  };
}

// kJitTestRun: the JIT through Object::test_run with `repeat` runs on the packet the previous
// run left, BPF_PROG_TEST_RUN's method, timed by this thread's CPU time.
enum EngineIndex { kNative, kJit, kInterp, kKernel, kJitTestRun, kEngines };

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// One program in every engine, ready to run.
struct Loaded {
  const BenchProgram* program;
  std::optional<Object> jit_object, interp_object;
  std::optional<XdpRunner> jit, interp;
  bool unverified = false;  // Pollen's verifier refused it: Pollen runs it in checked mode
  std::unique_ptr<KernelXdp> kernel;
  std::string problem;  // why it is not comparable; empty when it is
  std::vector<std::string> notes;
  Bytes native_packet;  // the native runs' packet (they rewrite it in place, as the kernel does)
  uint64_t native_iters = 0, jit_iters = 0, interp_iters = 0;
  std::vector<double> samples[kEngines];
  std::vector<double> kernel_cpu;  // the kernel's runs timed by this thread's CPU time
};

struct Options {
  int rounds = 7;
  uint32_t repeat = 100000;
  double min_ms = 20;
  bool json = false;
  int cpu = -1;
  std::string objects_dir = POLLEN_COMPARE_OBJECTS_DIR;
  std::vector<std::string> only;
};

int native_run(NativeFn fn, Bytes& packet) {
  compare_native_xdp_md ctx{};
  ctx.data = packet.data();
  ctx.data_end = packet.data() + packet.size();
  ctx.data_meta = ctx.data;
  ctx.ingress_ifindex = 1;
  return fn(&ctx);
}

Result<XdpRunner> pollen_runner(Object& object, const char* entry, Engine engine, bool unverified) {
  XdpOptions options;
  options.engine = engine;
  options.unsafe_no_verify = unverified;
  return object.xdp_runner(entry, options);
}

// Opens the object and prepares both Pollen runners; a verifier refusal is noted and the
// program prepared unverified (checked mode), so that its figures still show.
std::string load_pollen(Loaded& l, const std::string& path) {
  for (Engine engine : {Engine::Jit, Engine::Interpreter}) {
    auto object = Object::open(path);
    if (!object) return "Pollen: " + object.error().str();
    auto runner = pollen_runner(*object, l.program->entry, engine, l.unverified);
    if (!runner && runner.error().code == Errc::Rejected && !l.unverified) {
      l.unverified = true;
      l.notes.push_back("Pollen's verifier rejects it (" + runner.error().str() +
                        "); Pollen runs it unverified, in checked mode");
      runner = pollen_runner(*object, l.program->entry, engine, true);
    }
    if (!runner) return "Pollen: " + runner.error().str();
    if (engine == Engine::Jit) {
      l.jit_object = std::move(*object);
      l.jit.emplace(std::move(*runner));
    } else {
      l.interp_object = std::move(*object);
      l.interp.emplace(std::move(*runner));
    }
  }
  return {};
}

std::string hex(const Bytes& b) {
  std::string s;
  char buf[4];
  for (uint8_t c : b) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    s += buf;
  }
  return s;
}

// One run in every engine on a fresh packet: r0, the packet left and the maps must agree.
std::string check_agreement(Loaded& l, const Bytes& packet) {
  Bytes native_out = packet;
  const uint32_t native_r0 = static_cast<uint32_t>(native_run(l.program->native, native_out));
  struct Seen {
    const char* engine;
    uint32_t r0;
    Bytes out;
  };
  std::vector<Seen> seen;
  for (auto [runner, name] : {std::pair{&l.jit, "jit"}, std::pair{&l.interp, "interp"}}) {
    auto out = (*runner)->run(packet);
    if (!out) return std::string("Pollen ") + name + ": " + out.error().str();
    seen.push_back({name, out->action, Bytes(out->packet.begin(), out->packet.end())});
  }
  if (l.kernel) {
    std::string error;
    auto run = l.kernel->run(packet, 1, true, &error);
    if (!run) return "kernel: " + error;
    seen.push_back({"kernel", run->retval, run->data_out});
  }
  for (const Seen& s : seen) {
    if (s.r0 != native_r0)
      return std::string(s.engine) + " returns " + std::to_string(s.r0) + ", native " +
             std::to_string(native_r0);
    if (s.out != native_out)
      return std::string(s.engine) + " leaves another packet than native: " + hex(s.out) + " vs " +
             hex(native_out);
  }
  for (const MapCheck& m : l.program->maps) {
    for (const Bytes& key : m.keys) {
      auto jit = l.jit_object->lookup(m.map, key);
      auto interp = l.interp_object->lookup(m.map, key);
      if (!jit || !interp) return std::string("Pollen: no key in map ") + m.map;
      const auto* native = static_cast<const uint8_t*>(m.native(key.data()));
      if (!native) return std::string("native: no key in map ") + m.map;
      const Bytes want(native, native + jit->size());
      const std::string where = std::string(m.map) + "[" + hex(key) + "]";
      if (*jit != want) return "map " + where + ": jit " + hex(*jit) + ", native " + hex(want);
      if (*interp != want) return "map " + where + ": interp " + hex(*interp);
      if (l.kernel) {
        auto kernel = l.kernel->lookup(m.map, key);
        if (!kernel || *kernel != want)
          return "map " + where + ": kernel " + (kernel ? hex(*kernel) : "missing");
      }
    }
  }
  return {};
}

// Runs `body` `iters` times; the CPU time of this thread per run, in ns.
template <typename Body>
double time_loop(uint64_t iters, Body&& body) {
  const double start = thread_cpu_ns();
  for (uint64_t i = 0; i < iters; ++i) body();
  return (thread_cpu_ns() - start) / static_cast<double>(iters);
}

// How many runs make a batch of about `min_ms` milliseconds.
template <typename Body>
uint64_t calibrate(double min_ms, Body&& body) {
  uint64_t iters = 100;
  for (;;) {
    const double per_run = time_loop(iters, body);
    if (per_run * static_cast<double>(iters) > min_ms * 1e5 || iters >= (1ull << 30)) {
      return std::max<uint64_t>(100, static_cast<uint64_t>(min_ms * 1e6 / std::max(per_run, 0.1)));
    }
    iters *= 10;
  }
}

void run_pollen(XdpRunner& runner, const Bytes& packet) {
  auto out = runner.run(packet);
  if (!out) {
    std::fprintf(stderr, "bench_compare: Pollen run failed: %s\n", out.error().str().c_str());
    std::exit(1);
  }
}

void sample(Loaded& l, EngineIndex engine, const Bytes& packet, const Options& opts) {
  switch (engine) {
    case kNative:
      l.samples[kNative].push_back(
          time_loop(l.native_iters, [&] { native_run(l.program->native, l.native_packet); }));
      break;
    case kJit:
      l.samples[kJit].push_back(time_loop(l.jit_iters, [&] { run_pollen(*l.jit, packet); }));
      break;
    case kInterp:
      l.samples[kInterp].push_back(
          time_loop(l.interp_iters, [&] { run_pollen(*l.interp, packet); }));
      break;
    case kKernel: {
      if (!l.kernel) break;
      std::string error;
      auto run = l.kernel->run(packet, opts.repeat, false, &error);
      if (!run) {
        std::fprintf(stderr, "bench_compare: %s\n", error.c_str());
        std::exit(1);
      }
      l.samples[kKernel].push_back(run->duration_ns);
      l.kernel_cpu.push_back(run->cpu_ns);
      break;
    }
    case kJitTestRun: {
      TestRunOptions options;
      options.data_in = packet;
      options.repeat = opts.repeat;
      options.engine = Engine::Jit;
      options.unsafe_no_verify = l.unverified;
      const double start = thread_cpu_ns();
      auto run = l.jit_object->test_run(l.program->entry, options);
      const double cpu_ns = (thread_cpu_ns() - start) / opts.repeat;
      if (!run) {
        std::fprintf(stderr, "bench_compare: test_run: %s\n", run.error().str().c_str());
        std::exit(1);
      }
      // Not run->duration_ns: that is wall-clock time, which counts the time this thread
      // waited for a CPU on a loaded machine; the kernel's duration leaves it out.
      l.samples[kJitTestRun].push_back(cpu_ns);
      break;
    }
    default: break;
  }
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Times below this after subtracting the empty program are shown but divide as this much:
// they are within the noise of the subtraction.
constexpr double kFloorNs = 0.1;

struct Row {
  std::string name;
  bool comparable = true;
  bool unverified = false;
  double native = NAN, jit = NAN, jit_e = NAN, interp = NAN, kernel = NAN, kernel_e = NAN,
         kernel_cpu = NAN, test_run = NAN, test_run_e = NAN;
};

double ratio(double a, double b) {
  return std::max(a, kFloorNs) / std::max(b, kFloorNs);
}

double geomean(const std::vector<Row>& rows, const std::function<double(const Row&)>& f) {
  double log_sum = 0;
  int n = 0;
  for (const Row& r : rows) {
    // An unverified program runs in checked mode: not what a hook would run.
    if (!r.comparable || r.unverified || r.name == "empty") continue;
    const double v = f(r);
    if (!std::isfinite(v)) continue;
    log_sum += std::log(v);
    ++n;
  }
  return n ? std::exp(log_sum / n) : NAN;
}

void print_help() {
  std::puts(
      "Usage: bench_compare [--json] [--rounds N] [--repeat N] [--min-ms MS] [--cpu N]\n"
      "                     [--objects DIR] [PROGRAM...]\n"
      "Times each program of bench/compare/programs as native code (clang -O2), on Pollen's\n"
      "JIT and interpreter (XdpRunner) and in the kernel (BPF_PROG_TEST_RUN), alternating\n"
      "engines in each of N rounds, and prints the median ns per run of each.\n"
      "  --json       print the results as JSON\n"
      "  --rounds N   rounds (default 7)\n"
      "  --repeat N   kernel runs per BPF_PROG_TEST_RUN (default 100000)\n"
      "  --min-ms MS  CPU time of one batch of native or Pollen runs (default 20)\n"
      "  --cpu N      pin this thread to CPU N\n"
      "  --objects D  where the BPF objects are (default: the build tree)\n"
      "  PROGRAM      only these programs (the empty program always runs)");
}

bool parse_args(int argc, char** argv, Options& opts) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--help" || a == "-h") {
      print_help();
      std::exit(0);
    } else if (a == "--json") {
      opts.json = true;
    } else if (a == "--rounds" || a == "--repeat" || a == "--min-ms" || a == "--cpu" ||
               a == "--objects") {
      const char* v = value();
      if (!v) return false;
      if (a == "--rounds") opts.rounds = std::max(1, std::atoi(v));
      if (a == "--repeat") opts.repeat = static_cast<uint32_t>(std::max(1L, std::atol(v)));
      if (a == "--min-ms") opts.min_ms = std::max(0.1, std::atof(v));
      if (a == "--cpu") opts.cpu = std::atoi(v);
      if (a == "--objects") opts.objects_dir = v;
    } else if (!a.empty() && a[0] != '-') {
      opts.only.push_back(a);
    } else {
      return false;
    }
  }
  return true;
}

std::vector<Row> summarize(const std::vector<std::unique_ptr<Loaded>>& loaded) {
  std::vector<Row> rows;
  const Loaded& empty = *loaded.front();
  const double jit_empty = median(empty.samples[kJit]);
  const double kernel_empty = median(empty.samples[kKernel]);
  const double test_run_empty = median(empty.samples[kJitTestRun]);
  for (const auto& l : loaded) {
    Row r;
    r.name = l->program->name;
    r.comparable = l->problem.empty();
    r.unverified = l->unverified;
    if (!r.comparable) {
      rows.push_back(r);
      continue;
    }
    r.native = median(l->samples[kNative]);
    r.jit = median(l->samples[kJit]);
    r.jit_e = r.jit - jit_empty;
    r.interp = median(l->samples[kInterp]);
    r.kernel = median(l->samples[kKernel]);
    r.kernel_e = r.kernel - kernel_empty;
    r.kernel_cpu = median(l->kernel_cpu);
    r.test_run = median(l->samples[kJitTestRun]);
    r.test_run_e = r.test_run - test_run_empty;
    rows.push_back(r);
  }
  return rows;
}

void print_table(const std::vector<Row>& rows, const std::vector<std::unique_ptr<Loaded>>& loaded,
                 const std::string& kernel_reason, int rounds) {
  const bool kernel = kernel_reason.empty();
  std::printf("%-16s %7s %7s %7s %7s %7s", "program", "native", "jit", "jit-e", "tr-e", "interp");
  if (kernel) std::printf(" %7s %7s", "kernel", "kern-e");
  std::printf(" %9s %9s", "jit/nat", "jit-e/nat");
  if (kernel) std::printf(" %9s %10s", "jit/kern", "jit-e/k-e");
  std::printf("\n");
  for (const Row& r : rows) {
    if (!r.comparable) {
      std::printf("%-16s not comparable\n", r.name.c_str());
      continue;
    }
    std::printf("%-16s %7.1f %7.1f %7.1f %7.1f %7.1f", (r.name + (r.unverified ? "*" : "")).c_str(),
                r.native, r.jit, r.jit_e, r.test_run_e, r.interp);
    if (kernel) std::printf(" %7.1f %7.1f", r.kernel, r.kernel_e);
    if (r.name == "empty") {
      std::printf("\n");
      continue;
    }
    std::printf(" %9.2f %9.2f", ratio(r.jit, r.native), ratio(r.jit_e, r.native));
    if (kernel) std::printf(" %9.2f %10.2f", ratio(r.jit, r.kernel), ratio(r.jit_e, r.kernel_e));
    std::printf("\n");
  }
  std::printf("%-16s %7s %7s %7s %7s %7s", "geomean", "", "", "", "", "");
  if (kernel) std::printf(" %7s %7s", "", "");
  std::printf(" %9.2f %9.2f", geomean(rows, [](const Row& r) { return ratio(r.jit, r.native); }),
              geomean(rows, [](const Row& r) { return ratio(r.jit_e, r.native); }));
  if (kernel)
    std::printf(" %9.2f %10.2f", geomean(rows, [](const Row& r) { return ratio(r.jit, r.kernel); }),
                geomean(rows, [](const Row& r) { return ratio(r.jit_e, r.kernel_e); }));
  std::printf(
      "\n\nns per run, medians of %d rounds; -e: minus the same engine's empty program; "
      "ratios floor each time at %.1f ns;\ntr-e: the JIT through Object::test_run with the "
      "kernel's repeat, minus empty;\n*: Pollen's verifier rejects the program, so Pollen "
      "runs it unverified (checked mode); left out of the geometric means.\n",
      rounds, kFloorNs);
  if (!kernel) std::printf("kernel: not measured: %s\n", kernel_reason.c_str());
  for (const auto& l : loaded) {
    if (!l->problem.empty())
      std::printf("%s: not comparable: %s\n", l->program->name, l->problem.c_str());
    for (const std::string& note : l->notes)
      std::printf("%s%s: %s\n", l->program->name, l->unverified ? "*" : "", note.c_str());
  }
}

void print_json(const std::vector<Row>& rows, const std::vector<std::unique_ptr<Loaded>>& loaded,
                const std::string& kernel_reason, const Options& opts) {
  using nlohmann::json;
  auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  json out;
  out["rounds"] = opts.rounds;
  out["kernel_repeat"] = opts.repeat;
  out["kernel"] = kernel_reason.empty() ? json("measured") : json(kernel_reason);
  json programs = json::array();
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    json p{{"program", r.name}, {"comparable", r.comparable}};
    if (!r.comparable) p["problem"] = loaded[i]->problem;
    if (r.unverified) p["pollen_unverified"] = true;
    if (!loaded[i]->notes.empty()) p["notes"] = loaded[i]->notes;
    if (r.comparable) {
      p["native_ns"] = num(r.native);
      p["jit_ns"] = num(r.jit);
      p["jit_minus_empty_ns"] = num(r.jit_e);
      p["interp_ns"] = num(r.interp);
      p["jit_test_run_ns"] = num(r.test_run);
      p["jit_test_run_minus_empty_ns"] = num(r.test_run_e);
      if (kernel_reason.empty()) {
        p["kernel_ns"] = num(r.kernel);
        p["kernel_minus_empty_ns"] = num(r.kernel_e);
        p["kernel_cpu_ns"] = num(r.kernel_cpu);
      }
      if (r.name != "empty") {
        p["jit_over_native"] = ratio(r.jit, r.native);
        p["jit_minus_empty_over_native"] = ratio(r.jit_e, r.native);
        if (kernel_reason.empty()) {
          p["jit_over_kernel"] = ratio(r.jit, r.kernel);
          p["jit_minus_empty_over_kernel_minus_empty"] = ratio(r.jit_e, r.kernel_e);
        }
      }
    }
    programs.push_back(p);
  }
  out["programs"] = programs;
  json g;
  g["jit_over_native"] = num(geomean(rows, [](const Row& r) { return ratio(r.jit, r.native); }));
  g["jit_minus_empty_over_native"] =
      num(geomean(rows, [](const Row& r) { return ratio(r.jit_e, r.native); }));
  if (kernel_reason.empty()) {
    g["jit_over_kernel"] = num(geomean(rows, [](const Row& r) { return ratio(r.jit, r.kernel); }));
    g["jit_minus_empty_over_kernel_minus_empty"] =
        num(geomean(rows, [](const Row& r) { return ratio(r.jit_e, r.kernel_e); }));
  }
  out["geomean"] = g;
  std::printf("%s\n", out.dump(2).c_str());
}

int run(int argc, char** argv) {
  Options opts;
  if (!parse_args(argc, argv, opts)) {
    print_help();
    return 2;
  }
  if (opts.cpu >= 0) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(opts.cpu, &cpus);
    if (sched_setaffinity(0, sizeof cpus, &cpus) != 0) std::perror("sched_setaffinity");
  }
  if (!engine_supported(Engine::Jit)) {
    std::fprintf(stderr, "bench_compare: Pollen has no JIT on this host\n");
    return 1;
  }
  const std::string kernel_reason = kernel_bpf_unavailable();
  const Bytes packet = make_packet();
  const std::vector<BenchProgram> programs = bench_programs(packet);

  std::vector<std::unique_ptr<Loaded>> loaded;
  for (const BenchProgram& p : programs) {
    const bool wanted = loaded.empty() || opts.only.empty() ||
                        std::find(opts.only.begin(), opts.only.end(), p.name) != opts.only.end();
    if (!wanted) continue;
    auto l = std::make_unique<Loaded>();
    l->program = &p;
    const std::string path = opts.objects_dir + "/compare_" + p.name + ".o";
    l->problem = load_pollen(*l, path);
    if (l->problem.empty() && kernel_reason.empty()) {
      std::string error;
      l->kernel = KernelXdp::load(path, p.entry, &error);
      if (!l->kernel) l->problem = "kernel: " + error;
    }
    if (l->problem.empty()) l->problem = check_agreement(*l, packet);
    loaded.push_back(std::move(l));
  }
  if (!loaded.front()->problem.empty()) {
    std::fprintf(stderr, "bench_compare: the empty program: %s\n", loaded.front()->problem.c_str());
    return 1;
  }
  for (auto& l : loaded) {
    if (!l->problem.empty()) continue;
    l->native_packet = packet;
    l->native_iters =
        calibrate(opts.min_ms, [&] { native_run(l->program->native, l->native_packet); });
    l->jit_iters = calibrate(opts.min_ms, [&] { run_pollen(*l->jit, packet); });
    l->interp_iters = calibrate(opts.min_ms, [&] { run_pollen(*l->interp, packet); });
  }
  // Each round visits every program, and the engines in an order that rotates with the
  // round, so that a change of load falls on all of them alike.
  for (int round = 0; round < opts.rounds; ++round) {
    for (auto& l : loaded) {
      if (!l->problem.empty()) continue;
      for (int e = 0; e < kEngines; ++e)
        sample(*l, static_cast<EngineIndex>((e + round) % kEngines), packet, opts);
    }
    if (!opts.json) std::fprintf(stderr, "round %d/%d done\n", round + 1, opts.rounds);
  }
  const std::vector<Row> rows = summarize(loaded);
  if (opts.json) {
    print_json(rows, loaded, kernel_reason, opts);
  } else {
    print_table(rows, loaded, kernel_reason, opts.rounds);
  }
  return 0;
}

}  // namespace
}  // namespace pollen::bench

int main(int argc, char** argv) {
  return pollen::bench::run(argc, argv);
}

// SPDX-License-Identifier: MIT
// bench_verify_time: Pollen's verification time per program next to the Linux verifier's, on
// the same BPF objects on the same machine. For every program of every object given, Pollen's
// time is the median wall time of Object::verify() (the program as linked with its object's
// maps: what `pollen verify` does), and the kernel's the median "verification time" the
// verifier reports with BPF_LOG_STATS when libbpf loads the program alone (its object's other
// programs not loaded). Programs the kernel refuses, or that Pollen cannot verify (types it
// does not know), are listed without a ratio; without bpf() (not root) the kernel's column
// says why. Prints a table and the median and geometric mean of Pollen / kernel.
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pollen/object.hpp"

namespace {

struct Row {
  std::string object;
  std::string program;
  std::string pollen_verdict;       ///< "accepted", "rejected" or why it was not verified
  std::optional<double> pollen_us;  ///< median
  std::string kernel_verdict;       ///< "accepted", or why not
  std::optional<double> kernel_us;  ///< median of the kernel's own figure
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// libbpf prints its own warnings; the table is what matters here.
int quiet(libbpf_print_level, const char*, va_list) {
  return 0;
}

// One load of `program` alone; the kernel's verification time in µs, or nullopt with `why`.
std::optional<double> kernel_time(const std::string& path, const std::string& program,
                                  std::string& why) {
  bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  if (!obj) {
    why = "libbpf cannot open the object";
    return std::nullopt;
  }
  std::vector<char> log(1 << 16);
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, obj) {
    const bool it = program == bpf_program__name(prog);
    bpf_program__set_autoload(prog, it);
    if (it) {
      bpf_program__set_log_level(prog, 4);  // BPF_LOG_STATS
      bpf_program__set_log_buf(prog, log.data(), log.size());
    }
  }
  const int err = bpf_object__load(obj);
  bpf_object__close(obj);
  if (err != 0) {
    why = std::string("the kernel refuses it (") + std::strerror(-err) + ")";
    return std::nullopt;
  }
  const char* at = std::strstr(log.data(), "verification time ");
  if (!at) {
    why = "no verification time in the kernel's log";
    return std::nullopt;
  }
  return std::strtod(at + std::strlen("verification time "), nullptr);
}

Row measure(const std::string& path, const std::string& program, pollen::Object& object,
            int repeat) {
  Row row{path, program, "", std::nullopt, "", std::nullopt};
  std::vector<double> pollen;
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    pollen::VerifyOptions fresh;
    fresh.reuse_load = false;  // a verification, not the answer kept from loading
    auto report = object.verify(program, fresh);
    const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
    if (!report) {
      row.pollen_verdict = report.error().message;
      break;
    }
    row.pollen_verdict = report->accepted ? "accepted" : "rejected";
    pollen.push_back(took.count());
  }
  if (!pollen.empty()) row.pollen_us = median(pollen);
  std::vector<double> kernel;
  for (int i = 0; i < repeat; ++i) {
    std::string why;
    std::optional<double> us = kernel_time(path, program, why);
    if (!us) {
      row.kernel_verdict = why;
      break;
    }
    row.kernel_verdict = "accepted";
    kernel.push_back(*us);
  }
  if (!kernel.empty()) row.kernel_us = median(kernel);
  return row;
}

void usage() {
  std::puts(
      "Usage: bench_verify_time [--json] [--repeat N] OBJ...\n"
      "Verifies every program of each BPF object with Pollen (Object::verify) and loads it\n"
      "alone in the Linux kernel (libbpf, BPF_LOG_STATS), N times each (default 5), and\n"
      "prints the median time of each, Pollen's wall time and the kernel's own\n"
      "\"verification time\", with their ratio; then the median and geometric mean of the\n"
      "ratios over the programs both accept. Needs root for the kernel's column.");
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  int repeat = 5;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") return usage(), 0;
    if (a == "--json") {
      json = true;
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "bench_verify_time: unknown option %s (see --help)\n", a.c_str());
      return 2;
    } else {
      paths.push_back(a);
    }
  }
  if (paths.empty()) return usage(), 2;
  libbpf_set_print(quiet);
  // Every object opens before any is measured: a bad path costs nothing.
  std::vector<pollen::Object> objects;
  for (const std::string& path : paths) {
    auto object = pollen::Object::open(path);
    if (!object) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), object.error().str().c_str());
      return 2;
    }
    objects.push_back(std::move(*object));
  }
  const bool progress = isatty(STDERR_FILENO) != 0;
  std::vector<Row> rows;
  for (size_t i = 0; i < objects.size(); ++i)
    for (const pollen::ProgramInfo& p : objects[i].programs()) {
      rows.push_back(measure(paths[i], p.name, objects[i], repeat));
      if (progress) std::fprintf(stderr, "\r%zu programs measured", rows.size());
    }
  if (progress) std::fprintf(stderr, "\n");
  std::vector<double> ratios;
  for (const Row& r : rows)
    if (r.pollen_us && r.kernel_us && r.pollen_verdict == "accepted" && *r.kernel_us > 0)
      ratios.push_back(*r.pollen_us / *r.kernel_us);
  double geomean = 0;
  for (double x : ratios) geomean += std::log(x);
  geomean = ratios.empty() ? 0 : std::exp(geomean / static_cast<double>(ratios.size()));
  const double med = ratios.empty() ? 0 : median(ratios);
  if (json) {
    nlohmann::ordered_json out = {{"programs", nlohmann::ordered_json::array()}};
    for (const Row& r : rows) {
      nlohmann::ordered_json row = {{"object", r.object},         {"program", r.program},
                                    {"pollen", r.pollen_verdict}, {"pollen_us", nullptr},
                                    {"kernel", r.kernel_verdict}, {"kernel_us", nullptr}};
      if (r.pollen_us) row["pollen_us"] = *r.pollen_us;
      if (r.kernel_us) row["kernel_us"] = *r.kernel_us;
      out["programs"].push_back(row);
    }
    out["compared"] = ratios.size();
    out["median_ratio"] = med;
    out["geomean_ratio"] = geomean;
    std::puts(out.dump(2).c_str());
    return 0;
  }
  std::printf("%-34s %-28s %10s %10s %7s  %s\n", "object", "program", "pollen_us", "kernel_us",
              "ratio", "verdicts (pollen / kernel)");
  for (const Row& r : rows) {
    std::string object = r.object.substr(r.object.find_last_of('/') + 1);
    char p[32] = "-", k[32] = "-", ratio[32] = "";
    if (r.pollen_us) std::snprintf(p, sizeof p, "%.1f", *r.pollen_us);
    if (r.kernel_us) std::snprintf(k, sizeof k, "%.0f", *r.kernel_us);
    if (r.pollen_us && r.kernel_us && *r.kernel_us > 0)
      std::snprintf(ratio, sizeof ratio, "%.2f", *r.pollen_us / *r.kernel_us);
    std::printf("%-34s %-28s %10s %10s %7s  %s / %s\n", object.c_str(), r.program.c_str(), p, k,
                ratio, r.pollen_verdict.c_str(), r.kernel_verdict.c_str());
  }
  std::printf("\n%zu programs both accept: Pollen / kernel median %.2f, geometric mean %.2f\n",
              ratios.size(), med, geomean);
  return 0;
}

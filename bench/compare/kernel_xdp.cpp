// SPDX-License-Identifier: MIT
// KernelXdp: libbpf's bpf_object API to load a bench_compare program into the kernel, and
// bpf_prog_test_run_opts to time it. libbpf's messages are kept so that a refused load can
// say what the kernel's verifier said.
#include "kernel_xdp.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace pollen::bench {
namespace {

std::string& libbpf_log() {
  static std::string log;
  return log;
}

int collect_log(libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  vsnprintf(line, sizeof line, format, args);
  libbpf_log() += line;
  if (libbpf_log().size() > 2048) libbpf_log().erase(0, libbpf_log().size() - 2048);
  return 0;
}

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

}  // namespace

std::string kernel_bpf_unavailable() {
  if (geteuid() != 0) return "not running as root";
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "probe", 4, 8, 1, nullptr);
  if (fd < 0) return std::string("bpf(BPF_MAP_CREATE) failed: ") + std::strerror(errno);
  close(fd);
  return {};
}

std::unique_ptr<KernelXdp> KernelXdp::load(const std::string& path, const std::string& program,
                                           std::string* error) {
  libbpf_set_print(collect_log);
  libbpf_log().clear();
  std::unique_ptr<KernelXdp> k(new KernelXdp);
  k->object_ = bpf_object__open_file(path.c_str(), nullptr);
  if (!k->object_) {
    *error = "bpf_object__open_file(" + path + "): " + std::strerror(errno);
    return nullptr;
  }
  if (int err = bpf_object__load(k->object_); err != 0) {
    *error = "bpf_object__load: " + std::string(std::strerror(-err)) + ": " + libbpf_log();
    return nullptr;
  }
  bpf_program* prog = bpf_object__find_program_by_name(k->object_, program.c_str());
  if (!prog) {
    *error = "no program " + program + " in " + path;
    return nullptr;
  }
  k->prog_fd_ = bpf_program__fd(prog);
  return k;
}

KernelXdp::~KernelXdp() {
  if (object_) bpf_object__close(object_);
}

std::optional<KernelRun> KernelXdp::run(std::span<const uint8_t> packet, uint32_t repeat,
                                        bool want_data_out, std::string* error) {
  std::vector<uint8_t> in(packet.begin(), packet.end());
  KernelRun out;
  // Room for what the program may add at either end (bpf_xdp_adjust_head/tail).
  if (want_data_out) out.data_out.resize(4096);
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = in.data();
  opts.data_size_in = static_cast<uint32_t>(in.size());
  if (want_data_out) {
    opts.data_out = out.data_out.data();
    opts.data_size_out = static_cast<uint32_t>(out.data_out.size());
  }
  opts.repeat = repeat;
  const double start = thread_cpu_ns();
  if (bpf_prog_test_run_opts(prog_fd_, &opts) != 0) {
    *error = std::string("bpf_prog_test_run_opts: ") + std::strerror(errno);
    return std::nullopt;
  }
  out.cpu_ns = (thread_cpu_ns() - start) / repeat;
  out.retval = opts.retval;
  out.duration_ns = opts.duration;
  if (want_data_out) out.data_out.resize(opts.data_size_out);
  return out;
}

std::optional<std::vector<uint8_t>> KernelXdp::lookup(const std::string& map,
                                                      std::span<const uint8_t> key) {
  bpf_map* m = bpf_object__find_map_by_name(object_, map.c_str());
  if (!m) return std::nullopt;
  std::vector<uint8_t> value(bpf_map__value_size(m));
  if (bpf_map_lookup_elem(bpf_map__fd(m), key.data(), value.data()) != 0) return std::nullopt;
  return value;
}

}  // namespace pollen::bench

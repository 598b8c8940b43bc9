// SPDX-License-Identifier: MIT
// bench_compare's side of the Linux kernel: one BPF object loaded with libbpf (its maps
// created, its XDP program verified and JIT-compiled by the kernel), run with
// BPF_PROG_TEST_RUN, and its maps read by name.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct bpf_object;

namespace pollen::bench {

/// Why the kernel cannot run BPF programs here ("not running as root", bpf() failing), or
/// empty when it can.
std::string kernel_bpf_unavailable();

struct KernelRun {
  uint32_t retval = 0;
  uint32_t duration_ns = 0;  ///< the kernel's own figure: mean ns per run, truncated
  double cpu_ns = 0;         ///< this thread's CPU time for the whole call, per run
  std::vector<uint8_t> data_out;
};

class KernelXdp {
 public:
  /// Loads `path` and finds its XDP program `program`; the error says what failed.
  static std::unique_ptr<KernelXdp> load(const std::string& path, const std::string& program,
                                         std::string* error);
  ~KernelXdp();

  /// BPF_PROG_TEST_RUN with `repeat` runs on `packet`; nullopt (and `error`) when it fails.
  std::optional<KernelRun> run(std::span<const uint8_t> packet, uint32_t repeat, bool want_data_out,
                               std::string* error);
  /// The value of `key` in map `map`; nullopt when the map or the key is missing.
  std::optional<std::vector<uint8_t>> lookup(const std::string& map, std::span<const uint8_t> key);

 private:
  KernelXdp() = default;
  bpf_object* object_ = nullptr;
  int prog_fd_ = -1;
};

}  // namespace pollen::bench

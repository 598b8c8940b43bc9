// SPDX-License-Identifier: MIT
// The kernel side of the object-level differential test: a BPF ELF object loaded into the
// running kernel with libbpf, a program run with BPF_PROG_TEST_RUN on CPU 0, and every map read
// back in the shape Pollen's Object::dump gives (pollen::MapContents), so the two compare field
// by field. Per-CPU values: the run is pinned to CPU 0, so the kernel's CPU 0 value is the one
// that corresponds to Pollen's single slot; the other CPUs' values must stay zero.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pollen/object.hpp"
#include "pollen/result.hpp"

namespace pollen::test {

/// What one kernel test run gives back.
struct KernelRun {
  uint64_t retval = 0;
  std::vector<uint8_t> ctx_out;
};

class KernelObject {
 public:
  /// Opens and loads the object; an error says why (the verifier's log tail included).
  static Result<KernelObject> load(const std::string& path);
  /// True when this process can load BPF programs at all; otherwise `why` says why not.
  static bool available(std::string& why);

  /// BPF_PROG_TEST_RUN of program `name` with ctx_in (a syscall program), pinned to CPU 0.
  Result<KernelRun> test_run(const std::string& name, std::vector<uint8_t> ctx_in);

  /// Every map's contents, keyed by Pollen's name for it (global data by section name).
  /// Bloom filters, prog arrays and map-in-maps are left out: their contents cannot be read
  /// (bloom) or are kernel ids (the others).
  Result<std::map<std::string, MapContents>> dump();

  KernelObject(KernelObject&&) noexcept;
  KernelObject& operator=(KernelObject&&) noexcept;
  ~KernelObject();

 private:
  struct State;
  explicit KernelObject(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace pollen::test

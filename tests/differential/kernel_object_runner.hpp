// SPDX-License-Identifier: MIT
// The kernel side of the object-level differential test: a BPF ELF object loaded into the
// running kernel with libbpf, a program run with BPF_PROG_TEST_RUN on CPU 0, and every map read
// back in the shape Pollen's Object::dump gives (pollen::MapContents), so the two compare field
// by field. Per-CPU values: the run is pinned to CPU 0, so the kernel's CPU 0 value is the one
// that corresponds to Pollen's single slot; the other CPUs' values must stay zero. XDP programs
// run on packets (data_in, optional struct xdp_md ctx_in, repeat); a run the kernel refuses
// comes back as its errno, which is data to compare, not a failure of the machinery.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
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

/// What one kernel XDP test run gives back.
struct KernelXdpRun {
  int refused = 0;  ///< the errno of a run BPF_PROG_TEST_RUN refused (EINVAL, ENODEV), else 0
  uint32_t retval = 0;
  std::vector<uint8_t> data_out;  ///< from data_meta to data_end, as Linux copies it out
  std::vector<uint8_t> ctx_out;   ///< struct xdp_md after the run; only when ctx_in was given
};

/// The inputs of one XDP test run, after BPF_PROG_TEST_RUN's attributes.
struct KernelXdpInput {
  std::vector<uint8_t> data_in;
  std::optional<std::vector<uint8_t>> ctx_in;  ///< struct xdp_md (or shorter, zero-padded)
  uint32_t repeat = 1;
};

class KernelObject {
 public:
  /// Opens and loads the object; an error says why (the verifier's log tail included).
  static Result<KernelObject> load(const std::string& path);
  /// True when this process can load BPF programs at all; otherwise `why` says why not.
  static bool available(std::string& why);

  /// BPF_PROG_TEST_RUN of program `name` with ctx_in (a syscall program), pinned to CPU 0.
  Result<KernelRun> test_run(const std::string& name, std::vector<uint8_t> ctx_in);

  /// BPF_PROG_TEST_RUN of XDP program `name` on a packet, pinned to CPU 0.
  Result<KernelXdpRun> test_run_xdp(const std::string& name, const KernelXdpInput& input);

  /// BPF_MAP_UPDATE_ELEM on the map Pollen calls `map` (global data by section name).
  Result<void> update(const std::string& map, const std::vector<uint8_t>& key,
                      const std::vector<uint8_t>& value, uint64_t flags = 0);

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

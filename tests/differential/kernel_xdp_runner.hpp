// SPDX-License-Identifier: MIT
// Runs a conformance program in the Linux kernel with BPF_PROG_TEST_RUN, the way the suite's
// libbpf plugin does (reimplemented here): the program becomes a bpf-to-bpf subprogram of an
// XDP wrapper that turns the xdp_md context into r1 = packet data and r2 = the memory's length
// (behind a bounds check the verifier can follow), calls it, and stores its full 64-bit r0 in an
// ARRAY map, since XDP's own return value is only 32 bits. Only libbpf's low-level bpf.h API is
// used. The kernel's verdict is data: a refused program comes back with the verifier log.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pollen/result.hpp"

namespace pollen::test {

/// What the kernel did with one program.
struct KernelRun {
  bool accepted = false;        ///< the verifier loaded the program
  int load_errno = 0;           ///< errno of the refused load
  std::string verifier_log;     ///< log of the refused load (level 1)
  uint64_t r0 = 0;              ///< accepted: the program's full r0
  std::vector<uint8_t> memory;  ///< accepted: the memory after the run (the packet, unpadded)
};

/// Why BPF_PROG_LOAD / BPF_PROG_TEST_RUN cannot be used here (not root, bpf() refused, a
/// trivial XDP program does not load or run), or empty when they can. Probed once.
const std::string& kernel_bpf_unavailable();

/// Loads `program` (little-endian 8-byte slots) inside the XDP wrapper and runs it once on a
/// copy of `memory`. A verifier refusal is a KernelRun with accepted = false; an Error means
/// the machinery failed (map creation, the test run itself, a wrong XDP verdict).
Result<KernelRun> run_in_kernel(std::span<const uint8_t> program, std::span<const uint8_t> memory);

/// The line of a verifier log that says why the program was refused: the last one before the
/// closing statistics ("invalid shift 60", "unknown opcode 8d").
std::string refusal_line(const std::string& log);

}  // namespace pollen::test

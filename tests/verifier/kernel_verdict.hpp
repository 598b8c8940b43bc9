// SPDX-License-Identifier: MIT
// Linux's verdict on a verifier test case, for the differential test: the case's program is
// loaded with bpf_prog_load (libbpf's low-level API) as its program type, with the maps its
// header describes created for real and their fds patched into lddw. Raw cases, which have no
// Linux program type, become a subprogram of an XDP program that calls it with r1 = a map value
// of the case's memory size (Linux's PTR_TO_MAP_VALUE is what Pollen's raw memory is), r2 = that
// size.
#pragma once

#include <string>

#include "case_file.hpp"
#include "isa/isa.hpp"

namespace pollen::test {

struct KernelVerdict {
  bool accepted = false;
  std::string refusal;   ///< the verifier log's last line before its statistics
  uint64_t time_us = 0;  ///< the verifier's own "verification time" (BPF_LOG_STATS)
};

/// Why bpf_prog_load cannot be used here, or empty when it can. Probed once.
const std::string& kernel_unavailable();

/// Loads `c` (assembled as `insns`) in the kernel. An empty `error` means the verdict is
/// Linux's; otherwise the machinery failed (map creation) and `error` says why.
KernelVerdict kernel_verdict(const VerifierCase& c, std::span<const isa::Insn> insns,
                             std::string& error);

}  // namespace pollen::test

// SPDX-License-Identifier: MIT
// Which maps each helper may be given, as Linux's check_map_func_compatibility() decides it:
// plain key-value maps for the generic map helpers, a PROG_ARRAY for bpf_tail_call, a RINGBUF
// for the ring buffer helpers, a QUEUE or STACK for push/pop/peek, and so on. Map types whose
// helpers hand out things the verifier does not track yet (inner maps of map-in-maps, sockets,
// devices) are refused with a message that says so.
#pragma once

#include <cstdint>
#include <string>

namespace pollen::verifier {

/// Why helper `helper` may not be given a map of Linux type `map_type`; empty when it may.
std::string map_helper_refusal(uint32_t helper, uint32_t map_type);

}  // namespace pollen::verifier

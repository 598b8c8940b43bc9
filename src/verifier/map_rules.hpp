// SPDX-License-Identifier: MIT
// Which maps each helper may be given, as Linux's check_map_func_compatibility() decides it:
// plain key-value maps for the generic map helpers, a PROG_ARRAY for bpf_tail_call, a RINGBUF
// for the ring buffer helpers, a QUEUE or STACK for push/pop/peek, a map-in-map for lookups
// only, and so on. Map types whose helpers hand out things the verifier does not track yet
// (sockets, devices) are refused with a message that says so. Apart from helpers, some programs
// may not use some maps at all: sleepable ones (syscall) only the types Linux 6.18 lists.
#pragma once

#include <cstdint>
#include <string>

#include "verifier/platform.hpp"
#include "verifier/program_types.hpp"

namespace pollen::verifier {

/// Why helper `helper` may not be given a map of Linux type `map_type`; empty when it may.
std::string map_helper_refusal(uint32_t helper, uint32_t map_type);

/// Why a program of `type` (sleepable or not) may not use `map` at all (Linux's
/// check_map_prog_compatibility); empty when it may.
std::string map_program_refusal(const MapInfo& map, const ProgramTypeInfo& type, bool sleepable);

}  // namespace pollen::verifier

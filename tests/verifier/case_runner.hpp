// SPDX-License-Identifier: MIT
// What the verifier tests need around a case: a platform that describes the case's maps and
// gives Linux's prototypes for the map helpers and a few memory helpers (Pollen's own helpers
// for them are still to come), and a checked-mode runner that executes an accepted program on
// the interpreter with a context like the one its program type promises (xdp: packets of many
// sizes; socket_filter: a __sk_buff whose only writable bytes are cb[]; raw: the memory), so
// that a verdict of "safe" is checked against real runs. The fuzz target uses both too.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "case_file.hpp"
#include "isa/isa.hpp"
#include "verifier/platform.hpp"
#include "verifier/verifier.hpp"

namespace pollen::test {

/// A map as the test platform describes it.
struct TestMap {
  uint32_t fd = 0;
  verifier::MapInfo info;
};

class TestPlatform : public verifier::Platform {
 public:
  explicit TestPlatform(std::vector<TestMap> maps) : maps_(std::move(maps)) {}
  const helpers::HelperProto* helper(uint32_t id) const override;
  std::optional<uint32_t> map_of(isa::LddwSrc src, int32_t imm) const override;
  const verifier::MapInfo* map_info(uint32_t map) const override;
  const std::vector<TestMap>& maps() const { return maps_; }

 private:
  std::vector<TestMap> maps_;
};

/// Linux's map type number for "hash", "array", "ringbuf", "prog_array"; 0 for others.
uint32_t map_type_number(const std::string& name);

/// What the verifier knows of a case's map.
verifier::MapInfo map_info(const CaseMap& map);

/// Runs an accepted program in checked mode on many inputs: its context rewritten to the
/// runtime layout, each run with an instruction budget. Returns an empty string when every run
/// ends without a fault, else the first fault with the input that caused it.
std::string run_checked(std::span<const isa::Insn> prog, const verifier::ProgramTypeInfo& type,
                        const verifier::Analysis& analysis, const TestPlatform& platform,
                        uint32_t raw_memory_size, uint64_t seed);

}  // namespace pollen::test

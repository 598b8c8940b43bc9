// SPDX-License-Identifier: MIT
// Look-ups over the Spec types: programs and maps by name, and the source line of an
// instruction. Kept apart from the loader because users of a Spec need them without loading.
#include "loader/spec.hpp"

#include <algorithm>

namespace pollen::loader {

const LineInfo* ProgramSpec::line_of(uint32_t insn) const {
  auto after = std::upper_bound(line_info.begin(), line_info.end(), insn,
                                [](uint32_t i, const LineInfo& l) { return i < l.insn; });
  return after == line_info.begin() ? nullptr : &*(after - 1);
}

const ProgramSpec* ObjectSpec::program(std::string_view name) const {
  auto it = std::find_if(programs.begin(), programs.end(),
                         [&](const ProgramSpec& p) { return p.name == name; });
  return it != programs.end() ? &*it : nullptr;
}

const MapSpec* ObjectSpec::map(std::string_view name) const {
  std::optional<uint32_t> index = map_index(name);
  return index ? &maps[*index] : nullptr;
}

std::optional<uint32_t> ObjectSpec::map_index(std::string_view name) const {
  for (size_t i = 0; i < maps.size(); ++i)
    if (maps[i].name == name) return static_cast<uint32_t>(i);
  return std::nullopt;
}

}  // namespace pollen::loader

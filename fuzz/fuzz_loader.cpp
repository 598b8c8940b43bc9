// SPDX-License-Identifier: MIT
// libFuzzer target for the loader: any bytes given to load_object() must give either an
// ObjectSpec whose cross references hold (every relocation, func_info and line_info record
// inside its program, every map index valid, every initial slot naming an existing program or
// map) or a one-line Error with a location — never a crash, a leak or undefined behaviour.
// Seed it with the objects tests/loader builds.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "loader/loader.hpp"

namespace {

using pollen::loader::ObjectSpec;
using pollen::loader::ProgramSpec;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_program(const ObjectSpec& spec, const ProgramSpec& p) {
  for (const auto& r : p.map_relocs) {
    check(r.map < spec.maps.size());
    check(r.insn + 1 < p.insns.size() && p.insns[r.insn].opcode == 0x18);
  }
  for (const auto& f : p.func_info) check(f.insn < p.insns.size());
  for (const auto& l : p.line_info) check(l.insn < p.insns.size() && p.line_of(l.insn) != nullptr);
  for (const auto& c : p.core_relos) check(c.insn < p.insns.size());
  for (size_t i = 0; i < p.insns.size(); ++i) {
    const auto& in = p.insns[i];
    bool local_call = in.opcode == 0x85 && in.src == 1;
    bool func_addr = in.opcode == 0x18 && in.src == 4;
    int64_t target = static_cast<int64_t>(i) + in.imm + 1;
    if (local_call || func_addr)
      check(target >= 0 && target < static_cast<int64_t>(p.insns.size()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto result = pollen::loader::load_object(std::span(data, size), "fuzz.o");
  if (!result) {
    std::string text = result.error().str();
    check(!result.error().location.str().empty() && text.find('\n') == std::string::npos);
    return 0;
  }
  const ObjectSpec& spec = *result;
  for (const ProgramSpec& p : spec.programs) check_program(spec, p);
  for (const auto& m : spec.maps)
    for (const auto& slot : m.initial_slots) check(spec.program(slot.name) || spec.map(slot.name));
  return 0;
}

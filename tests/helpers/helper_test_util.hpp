// SPDX-License-Identifier: MIT
// What the helper tests share: maps created in one line, programs written in the conformance
// assembly syntax and linked as the runtime will link them (`lddw %rN, map_fd K` becomes a
// plain lddw of the K-th map's address, `lddw %rN, func K` names the K-th callback, appended
// after the main program), a run inside an EpochGuard as the runtime runs programs, and direct
// calls of one helper with a hand-made RunContext for table-driven cases.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "helpers/helpers.hpp"
#include "isa/assembler.hpp"
#include "maps/epoch.hpp"
#include "maps/map.hpp"
#include "vm/interpreter.hpp"

namespace pollen::helpers::test {

/// A map the test needs; fails the test when create_map refuses the definition.
inline std::shared_ptr<maps::Map> make_map(maps::MapType type, uint32_t key_size,
                                           uint32_t value_size, uint32_t max_entries,
                                           uint32_t flags = 0, uint32_t slots = 2) {
  maps::MapDef def;
  def.type = type;
  def.key_size = key_size;
  def.value_size = value_size;
  def.max_entries = max_entries;
  def.flags = flags;
  def.name = "test";
  Result<std::shared_ptr<maps::Map>> map = maps::create_map(def, slots);
  if (!map) {
    ADD_FAILURE() << map.error().str();
    return nullptr;
  }
  return *map;
}

inline uint64_t address(const void* p) {
  return reinterpret_cast<uint64_t>(p);
}

inline std::vector<isa::Insn> assemble_or_fail(std::string_view text) {
  Result<std::vector<isa::Insn>> prog = isa::assemble(text);
  if (!prog) {
    ADD_FAILURE() << prog.error().str() << "\n" << text;
    return {};
  }
  return *prog;
}

/// `main` followed by `callbacks`, linked: map_fd K loads the address of maps[K], func K gets
/// the offset of callbacks[K] from the next slot (BPF_PSEUDO_FUNC as libbpf writes it).
inline std::vector<isa::Insn> link(std::string_view main, const std::vector<maps::Map*>& maps = {},
                                   const std::vector<std::string_view>& callbacks = {}) {
  std::vector<isa::Insn> prog = assemble_or_fail(main);
  std::vector<size_t> starts;
  for (std::string_view callback : callbacks) {
    starts.push_back(prog.size());
    for (const isa::Insn& insn : assemble_or_fail(callback)) prog.push_back(insn);
  }
  for (size_t i = 0; i + 1 < prog.size(); ++i) {
    if (prog[i].opcode != 0x18) continue;
    const auto k = static_cast<size_t>(prog[i].imm);
    if (prog[i].src == static_cast<uint8_t>(isa::LddwSrc::MapFd) && k < maps.size()) {
      // As Linux's convert_pseudo_ld_imm64 leaves it after verification: a plain lddw of the
      // map's address (isa::validate keeps a map_fd lddw's second imm at 0).
      const uint64_t a = address(maps[k]);
      prog[i].src = 0;
      prog[i].imm = static_cast<int32_t>(static_cast<uint32_t>(a));
      prog[i + 1].imm = static_cast<int32_t>(static_cast<uint32_t>(a >> 32));
    } else if (prog[i].src == static_cast<uint8_t>(isa::LddwSrc::Func) && k < starts.size()) {
      prog[i].imm = static_cast<int32_t>(starts[k] - (i + 1));
    }
    ++i;
  }
  return prog;
}

/// How a test runs a program.
struct RunSetup {
  bool checked = false;
  std::span<uint8_t> memory{};     ///< r1 = its address, r2 = its size; one writable region
  std::vector<maps::Map*> maps{};  ///< the maps checked mode accepts
  uint32_t slot = 0;
  vm::TraceSink trace{};
  uint64_t insn_budget = 0;
};

/// Runs `prog` once on the interpreter with Pollen's helpers, inside an EpochGuard.
inline Result<uint64_t> run(const std::vector<isa::Insn>& prog, const RunSetup& setup = {}) {
  Result<vm::Interpreter> interp = vm::Interpreter::create(prog, default_helpers());
  if (!interp) {
    ADD_FAILURE() << "create failed: " << interp.error().str();
    return interp.error();
  }
  vm::RunArgs args = vm::memory_args(setup.memory);
  for (maps::Map* map : setup.maps) args.maps.push_back(address(map));
  vm::RunOptions options;
  options.checked = setup.checked;
  options.slot = setup.slot;
  options.trace = setup.trace;
  options.insn_budget = setup.insn_budget;
  maps::EpochGuard guard;
  return interp->run(args, options);
}

/// Runs `prog` in both modes and expects the same r0 from each.
inline void expect_r0(const std::vector<isa::Insn>& prog, uint64_t expected, RunSetup setup = {}) {
  for (bool checked : {false, true}) {
    setup.checked = checked;
    Result<uint64_t> r = run(prog, setup);
    ASSERT_TRUE(r.ok()) << (checked ? "checked: " : "unchecked: ") << r.error().str();
    EXPECT_EQ(*r, expected) << (checked ? "checked" : "unchecked");
  }
}

/// Calls helper `id` directly, as an engine would, with r1..r5 and the context given.
inline uint64_t call(uint32_t id, vm::RunContext& ctx, uint64_t r1 = 0, uint64_t r2 = 0,
                     uint64_t r3 = 0, uint64_t r4 = 0, uint64_t r5 = 0) {
  vm::HelperFn fn = default_helpers().find(id);
  if (fn == nullptr) {
    ADD_FAILURE() << "no helper " << id;
    return 0;
  }
  return fn(r1, r2, r3, r4, r5, &ctx);
}

/// A helper's negative errno result, as the u64 a program sees.
inline uint64_t neg(int err) {
  return static_cast<uint64_t>(-static_cast<int64_t>(err));
}

}  // namespace pollen::helpers::test

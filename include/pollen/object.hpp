// SPDX-License-Identifier: MIT
// Pollen's public API for BPF objects: open a clang-built ELF object (or a bare bytecode file),
// which creates its maps and links its programs (map relocations resolved to map handles and
// global-data values, prog-array and map-in-map initial slots filled); run a program with
// Linux's BPF_PROG_TEST_RUN semantics; and read or write its maps from the host by name, as the
// bpf(2) syscall does. Per-CPU maps keep one value per execution slot (DESIGN.md, "Per-CPU
// semantics"); an Object has one slot, so every run is on slot 0.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pollen/pollen.hpp"
#include "pollen/result.hpp"

namespace pollen {

/// A map of an object, as the host sees it.
struct MapInfo {
  std::string name;  ///< the variable's name; global data: the section (".rodata", ".bss")
  std::string type;  ///< bpftool's name of the type: "hash", "percpu_array", "ringbuf"
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  bool percpu = false;  ///< one value per execution slot
};

/// One element of a keyed map: its key and its value, or one value per slot (per-CPU maps).
struct MapEntry {
  std::vector<uint8_t> key;
  std::vector<std::vector<uint8_t>> values;
};

/// Everything a map holds, in the shape `pollen test-run --json` prints.
struct MapContents {
  std::string type;  ///< as MapInfo::type
  bool keyed = true;
  bool percpu = false;
  std::vector<MapEntry> entries;              ///< keyed maps, sorted by key bytes
  std::vector<std::vector<uint8_t>> values;   ///< queue and stack: in pop order
  std::vector<std::vector<uint8_t>> records;  ///< ring buffers: records not yet consumed
};

/// A program of an object.
struct ProgramInfo {
  std::string name;     ///< the entry function's name, as libbpf names programs
  std::string section;  ///< its ELF section ("syscall"); "raw" for a bare bytecode file
  std::string type;     ///< Linux's program type name ("syscall"), "raw" for bytecode files
};

/// Inputs of Object::test_run, after Linux's BPF_PROG_TEST_RUN attributes.
struct TestRunOptions {
  std::optional<std::vector<uint8_t>> data_in;  ///< absent: not given (differs from empty)
  std::optional<std::vector<uint8_t>> ctx_in;
  uint64_t repeat = 1;  ///< runs, each on a fresh copy of the inputs; maps accumulate
  Engine engine = Engine::Interpreter;
};

/// What Object::test_run reports.
struct TestRunResult {
  uint64_t retval = 0;            ///< syscall programs: r0's low 32 bits, as Linux's u32 retval
  std::vector<uint8_t> data_out;  ///< raw programs: the data after the last run
  std::vector<uint8_t> ctx_out;   ///< syscall programs: the context after the last run
  double duration_ns = 0;         ///< mean wall-clock time per run
  uint64_t repeat = 0;            ///< runs made
};

/// An opened object: live maps and linked programs. Move-only; thread-compatible (one run
/// at a time per Object).
class Object {
 public:
  /// Reads a BPF ELF object and creates its maps. Malformed input is a located
  /// Errc::InvalidProgram; features Pollen lacks (CO-RE, externs) are Errc::NotSupported.
  static Result<Object> open(const std::filesystem::path& path);
  /// The same from bytes; `name` starts error locations.
  static Result<Object> from_bytes(std::span<const uint8_t> elf, std::string_view name);
  /// A bare bytecode file (struct bpf_insn slots) as an object with one "raw" program, named
  /// `name`, and no maps; it runs with r1 = data, r2 = its length.
  static Result<Object> from_raw(std::span<const uint8_t> bytecode, std::string_view name);

  std::vector<ProgramInfo> programs() const;
  std::vector<MapInfo> maps() const;

  /// Runs program `name` (empty: the only program) as Linux's BPF_PROG_TEST_RUN would.
  /// Refusals Linux makes are Errc::InvalidArgument naming Linux's errno ("(EINVAL)"); an
  /// unknown program is Errc::InvalidArgument; a fault is Errc::RuntimeFault.
  Result<TestRunResult> test_run(std::string_view name, const TestRunOptions& options);

  /// A listing of program `name` with BTF source lines interleaved (`; int x = 1;`).
  Result<std::string> disassemble(std::string_view name) const;

  // Host map access by map name, like the bpf(2) map commands. Errors carry Linux's errno.
  /// BPF_MAP_LOOKUP_ELEM: the value (per-CPU: every slot's, each rounded up to 8 bytes).
  Result<std::vector<uint8_t>> lookup(std::string_view map, std::span<const uint8_t> key);
  /// BPF_MAP_UPDATE_ELEM with Linux's flags (0 any, 1 noexist, 2 exist).
  Result<void> update(std::string_view map, std::span<const uint8_t> key,
                      std::span<const uint8_t> value, uint64_t flags = 0);
  /// BPF_MAP_DELETE_ELEM.
  Result<void> erase(std::string_view map, std::span<const uint8_t> key);
  /// BPF_MAP_UPDATE_ELEM on a queue or stack (a push).
  Result<void> push(std::string_view map, std::span<const uint8_t> value);
  /// BPF_MAP_GET_NEXT_KEY: the key after `key` (none: the first); nullopt at the end.
  Result<std::optional<std::vector<uint8_t>>> next_key(std::string_view map,
                                                       std::optional<std::span<const uint8_t>> key);
  /// Everything the map holds. Ring buffer records are consumed by reading them.
  Result<MapContents> dump(std::string_view map);

  Object(Object&&) noexcept;
  Object& operator=(Object&&) noexcept;
  ~Object();

  struct Impl;

 private:
  explicit Object(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pollen

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
  /// Ring buffers: records not yet consumed; perf event arrays: the samples bpf_perf_event_output
  /// wrote, of every index, in order (dumping consumes them, as a reader would).
  std::vector<std::vector<uint8_t>> records;
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
  /// Runs. Syscall and raw programs get fresh inputs for each run; XDP programs run again on
  /// the packet the previous run left, as Linux does, so head and tail adjustments accumulate.
  uint64_t repeat = 1;
  Engine engine = Engine::Auto;  ///< Auto: the JIT where the host has one
  /// Tests only: run a program the verifier rejected. The analysis still supplies the context
  /// rewrite; the program runs in checked mode, so that a bad access is a fault, not a crash.
  bool unsafe_no_verify = false;
};

/// What Object::test_run reports.
struct TestRunResult {
  uint64_t retval = 0;  ///< r0's low 32 bits, as Linux's u32 retval (raw programs: all of r0)
  /// Raw programs: the data after the last run. XDP: the packet after the last run, from its
  /// metadata (data_meta) to data_end, as Linux returns it.
  std::vector<uint8_t> data_out;
  /// Syscall programs: the context after the last run. XDP: struct xdp_md after the last run
  /// when ctx_in was given (offsets from the metadata's start), empty otherwise.
  std::vector<uint8_t> ctx_out;
  double duration_ns = 0;         ///< mean wall-clock time per run
  uint64_t repeat = 0;            ///< runs made
};

class Object;

/// How an XdpRunner runs its program.
struct XdpOptions {
  Engine engine = Engine::Auto;
  bool unsafe_no_verify = false;  ///< as TestRunOptions::unsafe_no_verify
};

/// What an XDP program did with one packet.
struct XdpOutcome {
  uint32_t action = 0;  ///< the program's return value: XDP_ABORTED (0) .. XDP_REDIRECT (4)
  /// The frame as the program left it (data to data_end); valid until the next run.
  std::span<const uint8_t> packet;
  /// The metadata in front of it (data_meta to data); valid until the next run.
  std::span<const uint8_t> metadata;
  /// XDP_REDIRECT: the target interface (bpf_redirect, or the DEVMAP value bpf_redirect_map
  /// found); 0 otherwise or when the target is not an interface.
  uint32_t redirect_ifindex = 0;
};

/// One XDP program of an Object, verified and compiled once, run on one packet after another:
/// the hook of `pollen run`. Each packet is copied into a frame with Linux's 256 bytes of
/// headroom. The Object must outlive its runners; one run at a time per runner.
class XdpRunner {
 public:
  /// Runs the program on `packet`, as received on `ingress_ifindex` queue `rx_queue_index`.
  /// A fault (unsafe mode only) is Errc::RuntimeFault.
  Result<XdpOutcome> run(std::span<const uint8_t> packet, uint32_t ingress_ifindex = 1,
                         uint32_t rx_queue_index = 0);
  /// The engine that runs the program (never Auto).
  Engine engine() const;

  XdpRunner(XdpRunner&&) noexcept;
  XdpRunner& operator=(XdpRunner&&) noexcept;
  ~XdpRunner();

  struct Impl;

 private:
  friend class Object;
  explicit XdpRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
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

  /// Verifies program `name` (empty: the only program) as it was linked with this object's
  /// maps; a rejection names the C source line when the object has BTF line info. Programs of
  /// a type Pollen cannot verify yet are Errc::NotSupported.
  Result<VerifyReport> verify(std::string_view name, const VerifyOptions& options = {});

  /// Prepares XDP program `name` (empty: the only program) to run on packets. A program of
  /// another type is Errc::InvalidArgument; one the verifier rejects is Errc::Rejected
  /// carrying the rejection (unless options.unsafe_no_verify).
  Result<XdpRunner> xdp_runner(std::string_view name, const XdpOptions& options = {});

  /// A listing of program `name` with BTF source lines interleaved (`; int x = 1;`).
  Result<std::string> disassemble(std::string_view name) const;
  /// The machine code the JIT generates for program `name`, next to each BPF instruction
  /// (as linked: map addresses in lddw, the context rewritten), compiled as runs compile it:
  /// without checks, ARRAY lookups inlined, when the verifier accepted the program; in checked
  /// mode otherwise (what --unsafe-no-verify runs). The first line says which. `harden`:
  /// constant blinding, as Linux's bpf_jit_harden. Errc::NotSupported on hosts without a JIT.
  Result<std::string> disassemble_jit(std::string_view name, bool harden = false) const;

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

// SPDX-License-Identifier: MIT
// The XDP wrapper, its loading and its test run. The wrapper is built from struct bpf_insn
// directly (no assembler), so a bug in Pollen's assembler cannot hide in both sides of the
// comparison; only the test program's own bytes come from Pollen.
#include "kernel_xdp_runner.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <string_view>
#include <utility>

namespace pollen::test {
namespace {

// linux/if_ether.h: BPF_PROG_TEST_RUN refuses XDP input shorter than an Ethernet header.
constexpr size_t kEthHlen = 14;
// Big enough that the kernel's rotating log keeps the refusal and the states before it.
constexpr size_t kLogSize = 1 << 20;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

constexpr bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
constexpr bpf_insn mov64_imm(uint8_t dst, int32_t imm) {
  return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
constexpr bpf_insn mov64_reg(uint8_t dst, uint8_t src) {
  return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
constexpr bpf_insn exit_insn() {
  return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

Error kernel_error(std::string what) {
  return make_error(Errc::RuntimeFault, Location::none(),
                    std::move(what) + " (" + std::strerror(errno) + ")");
}

Fd create_result_map() {
  return Fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "pollen_r0", sizeof(uint32_t), sizeof(uint64_t), 1,
                           nullptr));
}

// The wrapper's main function; the test program follows it and is called as a subprogram.
// r1 = ctx (struct xdp_md): data at offset 0, data_end at offset 4.
std::vector<bpf_insn> wrapper(int map_fd, int32_t length) {
  constexpr int16_t kData = offsetof(xdp_md, data), kDataEnd = offsetof(xdp_md, data_end);
  constexpr size_t kBoundsCheck = 4, kCall = 10;  // the two slots patched below
  std::vector<bpf_insn> w = {
      insn(BPF_LDX | BPF_MEM | BPF_W, 6, 1, kData, 0),     // r6 = data
      insn(BPF_LDX | BPF_MEM | BPF_W, 7, 1, kDataEnd, 0),  // r7 = data_end
      mov64_reg(8, 6),
      insn(BPF_ALU64 | BPF_ADD | BPF_K, 8, 0, 0, length),  // r8 = data + length
      insn(BPF_JMP | BPF_JGT | BPF_X, 8, 7, 0, 0),         // off patched: to `refused`
      // The suite passes r1 = 0 when there is no memory (README, "-- mem"); r3..r5 are 0 as in
      // Pollen's exec(), so a test reading them is not refused as reading uninitialised state.
      length > 0 ? mov64_reg(1, 6) : mov64_imm(1, 0),
      mov64_imm(2, length),
      mov64_imm(3, 0),
      mov64_imm(4, 0),
      mov64_imm(5, 0),
      insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0),  // imm patched: to the test program
      // r1 = &map[0] (BPF_PSEUDO_MAP_VALUE: fd in imm, value offset in the second slot's imm)
      insn(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_VALUE, 0, map_fd),
      insn(0, 0, 0, 0, 0),
      insn(BPF_STX | BPF_MEM | BPF_DW, 1, 0, 0, 0),  // *(u64 *)(r1 + 0) = r0
      mov64_imm(0, XDP_PASS),
      exit_insn(),
  };
  size_t refused = w.size();
  w.push_back(mov64_imm(0, XDP_ABORTED));  // the packet is shorter than the memory: never run
  w.push_back(exit_insn());
  // Jump and call targets are relative to the next slot; the test program starts at w.size().
  w[kBoundsCheck].off = static_cast<int16_t>(refused - (kBoundsCheck + 1));
  w[kCall].imm = static_cast<int32_t>(w.size() - (kCall + 1));
  return w;
}

struct Loaded {
  Fd fd;
  int load_errno = 0;
  std::string log;
};

// Loads without a log first: a level-1 log of a long verification can overflow, which fails the
// load by itself. Only a refusal is loaded again, for its log.
Loaded load_xdp(const std::vector<bpf_insn>& insns) {
  bpf_prog_load_opts opts{};
  opts.sz = sizeof(opts);
  Loaded loaded;
  loaded.fd = Fd(bpf_prog_load(BPF_PROG_TYPE_XDP, "pollen_diff", "Dual MIT/GPL", insns.data(),
                               insns.size(), &opts));
  if (loaded.fd.ok()) return loaded;
  loaded.load_errno = errno;
  std::string log(kLogSize, '\0');
  opts.log_level = 1;
  opts.log_buf = log.data();
  opts.log_size = static_cast<uint32_t>(log.size());
  Fd again(bpf_prog_load(BPF_PROG_TYPE_XDP, "pollen_diff", "Dual MIT/GPL", insns.data(),
                         insns.size(), &opts));
  log.resize(std::strlen(log.c_str()));
  loaded.log = std::move(log);
  return loaded;
}

std::string probe() {
  if (geteuid() != 0) return "not running as root";
  Fd map = create_result_map();
  if (!map.ok()) return std::string("bpf(BPF_MAP_CREATE) failed: ") + std::strerror(errno);
  std::vector<bpf_insn> trivial = {mov64_imm(0, XDP_PASS), exit_insn()};
  Loaded loaded = load_xdp(trivial);
  if (!loaded.fd.ok()) {
    return std::string("a trivial XDP program does not load: ") + std::strerror(loaded.load_errno) +
           ": " + refusal_line(loaded.log);
  }
  uint8_t packet[kEthHlen] = {};
  bpf_test_run_opts run{};
  run.sz = sizeof(run);
  run.data_in = packet;
  run.data_size_in = sizeof(packet);
  run.repeat = 1;
  if (bpf_prog_test_run_opts(loaded.fd.get(), &run) != 0) {
    return std::string("bpf(BPF_PROG_TEST_RUN) failed: ") + std::strerror(errno);
  }
  if (run.retval != XDP_PASS) return "a trivial XDP program returned " + std::to_string(run.retval);
  return {};
}

}  // namespace

const std::string& kernel_bpf_unavailable() {
  static const std::string reason = probe();
  return reason;
}

Result<KernelRun> run_in_kernel(std::span<const uint8_t> program, std::span<const uint8_t> memory) {
  Fd map = create_result_map();
  if (!map.ok()) return kernel_error("bpf_map_create");
  std::vector<bpf_insn> insns = wrapper(map.get(), static_cast<int32_t>(memory.size()));
  size_t wrapper_size = insns.size();
  insns.resize(wrapper_size + program.size() / sizeof(bpf_insn));
  std::memcpy(insns.data() + wrapper_size, program.data(), program.size());

  KernelRun result;
  Loaded loaded = load_xdp(insns);
  if (!loaded.fd.ok()) {
    result.load_errno = loaded.load_errno;
    result.verifier_log = std::move(loaded.log);
    return result;
  }
  result.accepted = true;

  std::vector<uint8_t> packet(memory.begin(), memory.end());
  packet.resize(std::max(packet.size(), kEthHlen));
  std::vector<uint8_t> packet_out(packet.size());
  bpf_test_run_opts run{};
  run.sz = sizeof(run);
  run.data_in = packet.data();
  run.data_size_in = static_cast<uint32_t>(packet.size());
  run.data_out = packet_out.data();
  run.data_size_out = static_cast<uint32_t>(packet_out.size());
  run.repeat = 1;
  if (bpf_prog_test_run_opts(loaded.fd.get(), &run) != 0) {
    return kernel_error("bpf_prog_test_run_opts");
  }
  if (run.retval != XDP_PASS) {
    return make_error(Errc::RuntimeFault, Location::none(),
                      "the wrapper returned XDP verdict " + std::to_string(run.retval) +
                          ", not XDP_PASS: the test program did not run to its exit");
  }
  uint32_t key = 0;
  if (bpf_map_lookup_elem(map.get(), &key, &result.r0) != 0) {
    return kernel_error("bpf_map_lookup_elem");
  }
  result.memory.assign(packet_out.begin(), packet_out.begin() + memory.size());
  return result;
}

std::string refusal_line(const std::string& log) {
  // The verifier ends its log with statistics ("processed 13 insns (limit ...", and with
  // BPF_LOG_STATS the time and stack depth); the refusal is the line before them.
  constexpr std::string_view kStatistics[] = {"processed ", "verification time ", "stack depth "};
  std::string found;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = std::min(log.find('\n', start), log.size());
    std::string_view line(log.data() + start, end - start);
    bool statistics = std::any_of(std::begin(kStatistics), std::end(kStatistics),
                                  [&](std::string_view s) { return line.starts_with(s); });
    if (!statistics && line.find_first_not_of(" \t\r") != std::string_view::npos) {
      found = std::string(line);
    }
    start = end + 1;
  }
  return found;
}

}  // namespace pollen::test

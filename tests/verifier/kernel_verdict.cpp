// SPDX-License-Identifier: MIT
// Loading verifier cases in the running kernel (see kernel_verdict.hpp). The XDP wrapper of
// raw cases is written as struct bpf_insn values here, not assembled by Pollen, so that an
// assembler bug cannot hide on both sides.
#include "kernel_verdict.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace pollen::test {
namespace {

constexpr size_t kLogSize = 1 << 22;

bpf_insn raw_insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// main: r1 = a value of an array map of `size` bytes (0 without memory), r2 = size; call the
// case; return its r0. A map value is what Linux tracks like Pollen's raw memory: a pointer
// with a known size, variable offsets and atomics allowed.
std::vector<bpf_insn> raw_wrapper(uint32_t size, int map_fd) {
  auto n = static_cast<int32_t>(size);
  if (size == 0)
    return {raw_insn(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 0),
            raw_insn(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0),
            raw_insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 1),
            raw_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
  return {
      raw_insn(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0),
      raw_insn(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd),
      raw_insn(0, 0, 0, 0, 0),
      raw_insn(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
      raw_insn(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
      raw_insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
      raw_insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 4, 0),
      raw_insn(BPF_ALU64 | BPF_MOV | BPF_X, 1, 0, 0, 0),
      raw_insn(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, n),
      raw_insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 3),
      raw_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
      raw_insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
      raw_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
}

uint64_t verification_time(const std::string& log) {
  size_t at = log.find("verification time ");
  return at == std::string::npos ? 0 : std::stoull(log.substr(at + 18));
}

std::string last_line(const std::string& log) {
  std::string found;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = std::min(log.find('\n', start), log.size());
    std::string line = log.substr(start, end - start);
    bool stats = line.rfind("processed ", 0) == 0 || line.rfind("verification time", 0) == 0 ||
                 line.rfind("stack depth", 0) == 0;
    if (!stats && line.find_first_not_of(" \t") != std::string::npos) found = line;
    start = end + 1;
  }
  return found;
}

struct MapFds {
  std::vector<int> fds;
  ~MapFds() {
    for (int fd : fds)
      if (fd >= 0) close(fd);
  }
};

bool create_maps(const VerifierCase& c, MapFds& maps, std::string& error) {
  for (const CaseMap& m : c.maps) {
    bpf_map_create_opts opts{};
    opts.sz = sizeof(opts);
    if (m.read_only) opts.map_flags = BPF_F_RDONLY_PROG;
    bool ringbuf = m.type == "ringbuf";
    auto type = m.type == "hash"         ? BPF_MAP_TYPE_HASH
                : ringbuf                ? BPF_MAP_TYPE_RINGBUF
                : m.type == "prog_array" ? BPF_MAP_TYPE_PROG_ARRAY
                : m.type == "percpu_array" ? BPF_MAP_TYPE_PERCPU_ARRAY
                                         : BPF_MAP_TYPE_ARRAY;
    int fd = bpf_map_create(type, "pollen_case", ringbuf ? 0 : m.key_size,
                            ringbuf ? 0 : m.value_size, ringbuf ? 4096 : m.max_entries, &opts);
    if (fd < 0) {
      error = std::string("bpf_map_create: ") + std::strerror(errno);
      return false;
    }
    maps.fds.push_back(fd);
  }
  return true;
}

// lddw of a map names it by the case's fd number; the kernel needs the real one.
void patch_fds(const VerifierCase& c, const MapFds& maps, std::vector<bpf_insn>& insns) {
  for (size_t i = 0; i + 1 < insns.size(); ++i) {
    if (insns[i].code != (BPF_LD | BPF_DW | BPF_IMM)) continue;
    if (insns[i].src_reg == BPF_PSEUDO_MAP_FD || insns[i].src_reg == BPF_PSEUDO_MAP_VALUE)
      for (size_t m = 0; m < c.maps.size(); ++m)
        if (insns[i].imm == static_cast<int32_t>(c.maps[m].fd)) {
          insns[i].imm = maps.fds[m];
          break;
        }
    ++i;
  }
}

// The verdict comes from a load with statistics only (BPF_LOG_STATS: the verification time);
// a full log of a long verification could overflow its buffer, which fails the load by itself.
// A refused program is loaded again with the log, for the reason.
int load_once(bpf_prog_type type, uint32_t flags, const std::vector<bpf_insn>& insns, uint32_t level,
              std::string& log) {
  log.assign(level == 4 ? 4096 : kLogSize, '\0');
  bpf_prog_load_opts opts{};
  opts.sz = sizeof(opts);
  opts.prog_flags = flags;
  opts.log_level = level;
  opts.log_buf = log.data();
  opts.log_size = static_cast<uint32_t>(log.size());
  int fd = bpf_prog_load(type, "pollen_case", "GPL", insns.data(), insns.size(), &opts);
  int saved = errno;
  log.resize(std::strlen(log.c_str()));
  errno = saved;
  return fd;
}

KernelVerdict load(bpf_prog_type type, uint32_t flags, const std::vector<bpf_insn>& insns) {
  std::string log;
  int fd = load_once(type, flags, insns, 4, log);
  KernelVerdict v;
  v.accepted = fd >= 0;
  v.time_us = verification_time(log);
  if (fd >= 0) {
    close(fd);
    return v;
  }
  std::string error = std::strerror(errno);
  if (int again = load_once(type, flags, insns, 1, log); again >= 0) close(again);
  v.refusal = last_line(log);
  if (v.refusal.empty()) v.refusal = error;
  return v;
}

}  // namespace

const std::string& kernel_unavailable() {
  static const std::string reason = [] {
    if (geteuid() != 0) return std::string("not running as root");
    std::vector<bpf_insn> trivial = {raw_insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2),
                                     raw_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
    KernelVerdict v = load(BPF_PROG_TYPE_XDP, 0, trivial);
    return v.accepted ? std::string() : "a trivial XDP program does not load: " + v.refusal;
  }();
  return reason;
}

KernelVerdict kernel_verdict(const VerifierCase& c, std::span<const isa::Insn> insns,
                             std::string& error) {
  MapFds maps;
  if (!create_maps(c, maps, error)) return {};
  std::vector<bpf_insn> prog(insns.size());
  std::memcpy(prog.data(), insns.data(), insns.size() * sizeof(bpf_insn));
  patch_fds(c, maps, prog);
  if (c.type == "xdp") return load(BPF_PROG_TYPE_XDP, 0, prog);
  if (c.type == "socket_filter") return load(BPF_PROG_TYPE_SOCKET_FILTER, 0, prog);
  if (c.type == "syscall") return load(BPF_PROG_TYPE_SYSCALL, BPF_F_SLEEPABLE, prog);
  int memory = c.mem ? bpf_map_create(BPF_MAP_TYPE_ARRAY, "pollen_mem", 4, c.mem, 1, nullptr) : -1;
  if (c.mem && memory < 0) {
    error = std::string("bpf_map_create: ") + std::strerror(errno);
    return {};
  }
  maps.fds.push_back(memory);
  std::vector<bpf_insn> wrapped = raw_wrapper(c.mem, memory);
  wrapped.insert(wrapped.end(), prog.begin(), prog.end());
  return load(BPF_PROG_TYPE_XDP, 0, wrapped);
}

}  // namespace pollen::test

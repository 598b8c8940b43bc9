// SPDX-License-Identifier: MIT
// KernelObject: libbpf's bpf_object API to load an example object, bpf_prog_test_run_opts to
// run it (syscall programs write their context back into ctx_in; Linux refuses ctx_out for
// them), and the map commands to read every map afterwards: get_next_key + lookup for keyed
// maps, lookup_and_delete for queues and stacks, a ring_buffer consumer for ring buffers. XDP
// programs get data_in, data_out and (with ctx_in) ctx_out buffers as net/bpf/test_run.c
// expects them.
#include "kernel_object_runner.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstring>

namespace pollen::test {
namespace {

using Bytes = std::vector<uint8_t>;

Error kernel_error(const std::string& what, int err) {
  return make_error(Errc::RuntimeFault, Location::none(),
                    what + " (" + std::strerror(err < 0 ? -err : err) + ")");
}

// libbpf's messages, kept so a failed load can say what the verifier said.
std::string& libbpf_log() {
  static std::string log;
  return log;
}

int collect_log(libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  // The verifier's log comes as one message, often longer than any fixed buffer.
  va_list again;
  va_copy(again, args);
  const int size = vsnprintf(nullptr, 0, format, args);
  std::string line(size > 0 ? size_t(size) : 0, '\0');
  if (size > 0) vsnprintf(line.data(), line.size() + 1, format, again);
  va_end(again);
  libbpf_log() += line;
  if (libbpf_log().size() > 4096) libbpf_log().erase(0, libbpf_log().size() - 4096);
  return 0;
}

// Pollen's name for a kernel map: global data maps are "<obj prefix>.rodata" in the kernel.
std::string pollen_name(const bpf_map* map) {
  std::string name = bpf_map__name(map);
  auto dot = name.find('.');
  return dot == std::string::npos ? name : name.substr(dot);
}

bool is_percpu(bpf_map_type type) {
  return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

// Per-CPU: CPU 0's value, after checking that no other CPU's value was written.
Result<std::vector<Bytes>> cpu0_value(const Bytes& all, uint32_t value_size, bool percpu) {
  if (!percpu) return std::vector<Bytes>{all};
  const size_t stride = (value_size + 7) / 8 * 8;
  for (size_t i = stride; i < all.size(); ++i)
    if (all[i] != 0)
      return make_error(
          Errc::RuntimeFault, Location::none(),
          "per-CPU value written on a CPU other than 0 (byte " + std::to_string(i) + ")");
  return std::vector<Bytes>{Bytes(all.begin(), all.begin() + value_size)};
}

Result<MapContents> dump_keyed(int fd, const bpf_map* map) {
  MapContents out;
  out.percpu = is_percpu(bpf_map__type(map));
  const uint32_t value_size = bpf_map__value_size(map);
  const size_t host_size =
      out.percpu ? (value_size + 7) / 8 * 8 * size_t(libbpf_num_possible_cpus()) : value_size;
  Bytes key(bpf_map__key_size(map)), next(key.size()), value(host_size);
  bool first = true;
  while (bpf_map_get_next_key(fd, first ? nullptr : key.data(), next.data()) == 0) {
    first = false;
    key = next;
    if (bpf_map_lookup_elem(fd, key.data(), value.data()) != 0) continue;
    auto values = cpu0_value(value, value_size, out.percpu);
    if (!values) return values.error();
    out.entries.push_back({key, std::move(*values)});
  }
  std::sort(out.entries.begin(), out.entries.end(),
            [](const MapEntry& a, const MapEntry& b) { return a.key < b.key; });
  return out;
}

MapContents dump_queue(int fd, const bpf_map* map) {
  MapContents out;
  out.keyed = false;
  Bytes value(bpf_map__value_size(map));
  while (bpf_map_lookup_and_delete_elem(fd, nullptr, value.data()) == 0)
    out.values.push_back(value);
  return out;
}

int add_record(void* ctx, void* data, size_t size) {
  auto* bytes = static_cast<uint8_t*>(data);
  static_cast<MapContents*>(ctx)->records.emplace_back(bytes, bytes + size);
  return 0;
}

Result<MapContents> dump_ringbuf(int fd) {
  MapContents out;
  out.keyed = false;
  ring_buffer* rb = ring_buffer__new(fd, add_record, &out, nullptr);
  if (!rb) return kernel_error("ring_buffer__new", errno);
  int n = ring_buffer__consume(rb);
  ring_buffer__free(rb);
  if (n < 0) return kernel_error("ring_buffer__consume", n);
  return out;
}

// Runs the calling thread on CPU 0 while it lives, so that per-CPU values and
// bpf_get_smp_processor_id match Pollen's slot 0.
class PinnedToCpu0 {
 public:
  PinnedToCpu0() {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(0, &cpus);
    sched_getaffinity(0, sizeof old_, &old_);
    sched_setaffinity(0, sizeof cpus, &cpus);
  }
  ~PinnedToCpu0() { sched_setaffinity(0, sizeof old_, &old_); }
  PinnedToCpu0(const PinnedToCpu0&) = delete;
  PinnedToCpu0& operator=(const PinnedToCpu0&) = delete;

 private:
  cpu_set_t old_;
};

// sizeof(struct xdp_md) in Linux 6.x (data, data_end, data_meta, ingress_ifindex,
// rx_queue_index, egress_ifindex); the ctx_out buffer is bigger so a longer struct shows.
constexpr size_t kXdpMdSize = 24;
// The most an XDP test run can add in front of or behind the input: one page (headroom,
// frame and tailroom all fit in it), so data_out can never be too small (ENOSPC).
constexpr size_t kXdpGrowth = 4096;

}  // namespace

struct KernelObject::State {
  bpf_object* object = nullptr;
  ~State() { bpf_object__close(object); }
};

KernelObject::KernelObject(std::unique_ptr<State> state) : state_(std::move(state)) {}
KernelObject::KernelObject(KernelObject&&) noexcept = default;
KernelObject& KernelObject::operator=(KernelObject&&) noexcept = default;
KernelObject::~KernelObject() = default;

bool KernelObject::available(std::string& why) {
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pollen_probe", 4, 4, 1, nullptr);
  if (fd < 0) {
    why = std::string("cannot create a BPF map (") + std::strerror(errno) + ")";
    return false;
  }
  close(fd);
  // r0 = XDP_PASS; exit: loaded and run once on an Ethernet header's worth of zeros.
  const bpf_insn pass[] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2},
                           {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "pollen_probe", "GPL", pass, 2, nullptr);
  if (fd < 0) {
    why = std::string("cannot load a BPF program (") + std::strerror(errno) + ")";
    return false;
  }
  uint8_t packet[14] = {};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof packet);
  const int err = bpf_prog_test_run_opts(fd, &opts);
  close(fd);
  if (err != 0 || opts.retval != 2) {
    why = std::string("BPF_PROG_TEST_RUN does not run a trivial XDP program (") +
          (err != 0 ? std::strerror(-err) : "wrong verdict") + ")";
    return false;
  }
  return true;
}

Result<KernelObject> KernelObject::load(const std::string& path) {
  libbpf_set_print(collect_log);
  libbpf_log().clear();
  auto state = std::make_unique<State>();
  state->object = bpf_object__open_file(path.c_str(), nullptr);
  if (!state->object) return kernel_error("bpf_object__open_file " + path, errno);
  if (int err = bpf_object__load(state->object); err != 0)
    return kernel_error("bpf_object__load " + path + ": " + libbpf_log(), err);
  return KernelObject(std::move(state));
}

Result<KernelRun> KernelObject::test_run(const std::string& name, std::vector<uint8_t> ctx_in) {
  bpf_program* prog = bpf_object__find_program_by_name(state_->object, name.c_str());
  if (!prog) return kernel_error("no program " + name, ENOENT);
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  if (!ctx_in.empty()) {
    opts.ctx_in = ctx_in.data();
    opts.ctx_size_in = static_cast<uint32_t>(ctx_in.size());
  }
  int err;
  {
    PinnedToCpu0 pin;
    err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
  }
  if (err != 0) return kernel_error("BPF_PROG_TEST_RUN " + name, errno);
  return KernelRun{opts.retval, std::move(ctx_in)};
}

Result<KernelXdpRun> KernelObject::test_run_xdp(const std::string& name,
                                                const KernelXdpInput& input) {
  bpf_program* prog = bpf_object__find_program_by_name(state_->object, name.c_str());
  if (!prog) return kernel_error("no program " + name, ENOENT);
  if (bpf_program__type(prog) != BPF_PROG_TYPE_XDP)
    return kernel_error("program " + name + " is not an XDP program", EINVAL);
  // Sized from the most the kernel can return instead of retrying on ENOSPC: a retry would
  // run the program again and repeat its effects on the maps.
  KernelXdpRun run;
  run.data_out.resize(input.data_in.size() + kXdpGrowth);
  std::vector<uint8_t> ctx_in;
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = input.data_in.data();
  opts.data_size_in = static_cast<uint32_t>(input.data_in.size());
  opts.data_out = run.data_out.data();
  opts.data_size_out = static_cast<uint32_t>(run.data_out.size());
  opts.repeat = input.repeat;
  // ctx_out only with ctx_in: given ctx_out alone, Linux makes up an all-zero struct xdp_md
  // as if it were ctx_in, whose data_end (0) changes the run (bpf_ctx_init()).
  if (input.ctx_in) {
    ctx_in = *input.ctx_in;
    run.ctx_out.resize(kXdpMdSize + 16);
    opts.ctx_in = ctx_in.data();
    opts.ctx_size_in = static_cast<uint32_t>(ctx_in.size());
    opts.ctx_out = run.ctx_out.data();
    opts.ctx_size_out = static_cast<uint32_t>(run.ctx_out.size());
  }
  int err;
  {
    PinnedToCpu0 pin;
    err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
  }
  if (err != 0) {
    const int code = -err;
    if (code == ENOSPC)
      return kernel_error("BPF_PROG_TEST_RUN " + name + ": data_out of " +
                              std::to_string(run.data_out.size()) + " bytes is too small for " +
                              std::to_string(opts.data_size_out),
                          code);
    return KernelXdpRun{code, 0, {}, {}};
  }
  run.retval = opts.retval;
  run.data_out.resize(opts.data_size_out);
  run.ctx_out.resize(input.ctx_in ? opts.ctx_size_out : 0);
  return run;
}

Result<void> KernelObject::update(const std::string& map, const std::vector<uint8_t>& key,
                                  const std::vector<uint8_t>& value, uint64_t flags) {
  bpf_map* found = nullptr;
  bpf_map* each = nullptr;
  bpf_object__for_each_map(each, state_->object) {
    if (pollen_name(each) == map) found = each;
  }
  if (!found) return kernel_error("no map " + map, ENOENT);
  if (key.size() != bpf_map__key_size(found) || value.size() != bpf_map__value_size(found))
    return kernel_error("map " + map + ": key or value of the wrong size", EINVAL);
  if (bpf_map_update_elem(bpf_map__fd(found), key.data(), value.data(), flags) != 0)
    return kernel_error("BPF_MAP_UPDATE_ELEM " + map, errno);
  return {};
}

Result<std::map<std::string, MapContents>> KernelObject::dump() {
  std::map<std::string, MapContents> out;
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, state_->object) {
    const int fd = bpf_map__fd(map);
    switch (bpf_map__type(map)) {
      case BPF_MAP_TYPE_BLOOM_FILTER:
      case BPF_MAP_TYPE_PROG_ARRAY:
      case BPF_MAP_TYPE_ARRAY_OF_MAPS:
      case BPF_MAP_TYPE_HASH_OF_MAPS: continue;
      case BPF_MAP_TYPE_QUEUE:
      case BPF_MAP_TYPE_STACK: out[pollen_name(map)] = dump_queue(fd, map); break;
      case BPF_MAP_TYPE_RINGBUF: {
        auto contents = dump_ringbuf(fd);
        if (!contents) return contents.error();
        out[pollen_name(map)] = std::move(*contents);
        break;
      }
      default: {
        auto contents = dump_keyed(fd, map);
        if (!contents) return contents.error();
        out[pollen_name(map)] = std::move(*contents);
      }
    }
  }
  return out;
}

}  // namespace pollen::test

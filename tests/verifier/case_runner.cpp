// SPDX-License-Identifier: MIT
// The test platform and the checked-mode runner (see case_runner.hpp). Map helpers here are
// stand-ins with Linux's prototypes: a lookup returns one fixed value buffer per map, or null
// every other call so that both sides of a null check run (an ARRAY or PERCPU_ARRAY lookup
// fails exactly when its key is past max_entries, as Linux's does: the verifier relies on
// that for constant keys); every helper checks the memory it
// is given against the run's regions, the way Pollen's real helpers do in checked mode.
#include "case_runner.hpp"

#include <cstring>
#include <memory>
#include <random>

#include <fmt/format.h>

#include "helpers/helpers.hpp"
#include "shadow_run.hpp"
#include "verifier/rewrite.hpp"
#include "vm/interpreter.hpp"

namespace pollen::test {
namespace {

using helpers::ArgKind;
using helpers::HelperProto;
using helpers::RetKind;

constexpr ArgKind N = ArgKind::None;

// Linux's prototypes (kernel/bpf/helpers.c, kernel/trace/bpf_trace.c, kernel/bpf/ringbuf.c).
const HelperProto kTestProtos[] = {
    {1,
     "bpf_map_lookup_elem",
     RetKind::MapValueOrNull,
     {ArgKind::ConstMapPtr, ArgKind::PtrToMapKey, N, N, N}},
    {2,
     "bpf_map_update_elem",
     RetKind::Integer,
     {ArgKind::ConstMapPtr, ArgKind::PtrToMapKey, ArgKind::PtrToMapValue, ArgKind::Anything, N}},
    {3,
     "bpf_map_delete_elem",
     RetKind::Integer,
     {ArgKind::ConstMapPtr, ArgKind::PtrToMapKey, N, N, N}},
    {6, "bpf_trace_printk", RetKind::Integer, {ArgKind::PtrToMem, ArgKind::ConstSize, N, N, N}},
    {113,
     "bpf_probe_read_kernel",
     RetKind::Integer,
     {ArgKind::PtrToUninitMem, ArgKind::ConstSizeOrZero, ArgKind::Anything, N, N}},
    {44, "bpf_xdp_adjust_head", RetKind::Integer, {ArgKind::PtrToCtx, ArgKind::Anything, N, N, N}},
    {130,
     "bpf_ringbuf_output",
     RetKind::Integer,
     {ArgKind::ConstMapPtr, ArgKind::PtrToMem, ArgKind::ConstSizeOrZero, ArgKind::Anything, N}},
};

// What the stand-in helpers see through RunContext::env.
struct RunnerState {
  const TestPlatform* platform = nullptr;
  std::vector<std::vector<uint8_t>>* values = nullptr;  ///< one value buffer per map
  uint64_t lookups = 0;
  uint64_t ticks = 0;  ///< the deterministic clocks and random numbers
  std::vector<uint8_t> records = std::vector<uint8_t>(8 * 4096);  ///< ring buffer records
  uint64_t reserved = 0;
};

RunnerState& state_of(vm::RunContext* ctx) {
  return *static_cast<RunnerState*>(ctx->env);
}

const TestMap* map_by_fd(vm::RunContext* ctx, uint64_t fd) {
  for (const TestMap& m : state_of(ctx).platform->maps())
    if (m.fd == fd) return &m;
  return nullptr;
}

bool check(vm::RunContext* ctx, uint64_t addr, uint64_t len, bool write, const char* what) {
  if (!ctx->checked || len == 0 || ctx->allows(addr, len, write)) return true;
  ctx->fault =
      fmt::format("{}: {} bytes at {:#x} are outside the program's memory", what, len, addr);
  return false;
}

uint64_t lookup(uint64_t fd, uint64_t key, uint64_t, uint64_t, uint64_t, vm::RunContext* ctx) {
  const TestMap* m = map_by_fd(ctx, fd);
  if (!m) {
    ctx->fault = fmt::format("lookup in map fd {}, which does not exist", fd);
    return 0;
  }
  if (!check(ctx, key, m->info.key_size, false, "bpf_map_lookup_elem key")) return 0;
  RunnerState& st = state_of(ctx);
  constexpr uint32_t kArray = 2, kPercpuArray = 6;
  if ((m->info.type == kArray || m->info.type == kPercpuArray) && m->info.key_size == 4) {
    uint32_t index = 0;
    std::memcpy(&index, reinterpret_cast<const void*>(key), sizeof index);
    if (index >= m->info.max_entries) return 0;
  } else if (st.lookups++ % 2 == 1) {
    return 0;
  }
  size_t index = static_cast<size_t>(m - st.platform->maps().data());
  return reinterpret_cast<uint64_t>((*st.values)[index].data());
}

uint64_t update(uint64_t fd, uint64_t key, uint64_t value, uint64_t, uint64_t,
                vm::RunContext* ctx) {
  const TestMap* m = map_by_fd(ctx, fd);
  if (!m) return ~uint64_t{0};
  if (check(ctx, key, m->info.key_size, false, "bpf_map_update_elem key"))
    check(ctx, value, m->info.value_size, false, "bpf_map_update_elem value");
  return 0;
}

uint64_t delete_elem(uint64_t fd, uint64_t key, uint64_t, uint64_t, uint64_t, vm::RunContext* ctx) {
  const TestMap* m = map_by_fd(ctx, fd);
  if (m) check(ctx, key, m->info.key_size, false, "bpf_map_delete_elem key");
  return 0;
}

uint64_t trace_printk(uint64_t fmt, uint64_t size, uint64_t, uint64_t, uint64_t,
                      vm::RunContext* ctx) {
  check(ctx, fmt, size, false, "bpf_trace_printk fmt");
  return 0;
}

// Refuses every adjustment: the packet stays where it is (what a driver without headroom does).
uint64_t adjust_head(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  return static_cast<uint64_t>(-22);  // -EINVAL
}

uint64_t probe_read(uint64_t dst, uint64_t size, uint64_t, uint64_t, uint64_t,
                    vm::RunContext* ctx) {
  if (check(ctx, dst, size, true, "bpf_probe_read_kernel dst") && size)
    std::memset(reinterpret_cast<void*>(dst), 0, size);
  return 0;
}

uint64_t ringbuf_output(uint64_t, uint64_t data, uint64_t size, uint64_t, uint64_t,
                        vm::RunContext* ctx) {
  check(ctx, data, size, false, "bpf_ringbuf_output data");
  return 0;
}

// Every slot of a test PROG_ARRAY is empty: the tail call fails and the program goes on.
uint64_t tail_call(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  return static_cast<uint64_t>(-2);  // -ENOENT
}

// A record of up to 4 KiB, every other call; in checked mode it is the run's memory until it
// is submitted or discarded.
uint64_t ringbuf_reserve(uint64_t, uint64_t size, uint64_t, uint64_t, uint64_t,
                         vm::RunContext* ctx) {
  RunnerState& st = state_of(ctx);
  if (st.lookups++ % 2 == 1 || size > 4096) return 0;
  uint64_t addr = reinterpret_cast<uint64_t>(st.records.data()) + st.reserved++ % 8 * 4096;
  if (ctx->checked && !ctx->dynamic.add(addr, size, vm::DynamicKind::RingbufRecord)) return 0;
  return addr;
}

uint64_t ringbuf_release(uint64_t record, uint64_t, uint64_t, uint64_t, uint64_t,
                         vm::RunContext* ctx) {
  if (ctx->checked && !ctx->dynamic.remove(record, vm::DynamicKind::RingbufRecord))
    ctx->fault = fmt::format("ring buffer record {:#x} released but not reserved", record);
  return 0;
}

// Clocks and random numbers that give the same sequence in every run, so that two runs of one
// program can be compared.
uint64_t ticking(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext* ctx) {
  return ++state_of(ctx).ticks * 1000;
}

uint64_t pseudo_random(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext* ctx) {
  uint64_t z = ++state_of(ctx).ticks * 0x9e3779b97f4a7c15u;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  return (z ^ (z >> 27)) >> 32;
}

uint64_t cpu(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  return 0;
}

vm::HelperTable test_helpers() {
  vm::HelperTable table = helpers::default_helpers();
  for (uint32_t id : {helpers::id::kKtimeGetNs, helpers::id::kJiffies64,
                      helpers::id::kKtimeGetBootNs, helpers::id::kKtimeGetCoarseNs})
    table.fn[id] = ticking;
  table.fn[helpers::id::kGetPrandomU32] = pseudo_random;
  table.fn[helpers::id::kGetSmpProcessorId] = cpu;
  table.fn[1] = lookup;
  table.fn[2] = update;
  table.fn[3] = delete_elem;
  table.fn[6] = trace_printk;
  table.fn[44] = adjust_head;
  table.fn[113] = probe_read;
  table.fn[130] = ringbuf_output;
  table.fn[helpers::id::kTailCall] = tail_call;
  table.fn[helpers::id::kRingbufReserve] = ringbuf_reserve;
  table.fn[helpers::id::kRingbufSubmit] = ringbuf_release;
  table.fn[helpers::id::kRingbufDiscard] = ringbuf_release;
  return table;
}

// lddw of a map value (src=2) loads the value's address, as Linux's loader patches it.
std::vector<isa::Insn> patch_map_values(std::vector<isa::Insn> prog, const TestPlatform& platform,
                                        std::vector<std::vector<uint8_t>>& values) {
  for (size_t i = 0; i + 1 < prog.size(); ++i) {
    std::optional<isa::Op> op = isa::classify(prog[i]);
    if (op != isa::Op::LddwMapValue) continue;
    for (size_t m = 0; m < platform.maps().size(); ++m) {
      if (platform.maps()[m].fd != static_cast<uint32_t>(prog[i].imm)) continue;
      uint64_t addr =
          reinterpret_cast<uint64_t>(values[m].data()) + static_cast<uint32_t>(prog[i + 1].imm);
      prog[i].imm = static_cast<int32_t>(addr);
      prog[i + 1].imm = static_cast<int32_t>(addr >> 32);
    }
    ++i;
  }
  return prog;
}

// The runtime's struct for xdp (see program_types.cpp): data, data_end, data_meta, ifindex,
// rx queue.
struct XdpCtx {
  uint64_t data, data_end, data_meta;
  uint32_t ingress_ifindex, rx_queue_index;
};

// One run's inputs in buffers of their own; `args` points into them. reset() puts the original
// bytes back, so that a second run sees the same inputs at the same addresses.
struct Inputs {
  std::vector<uint8_t> packet, context;
  std::vector<uint8_t> packet0, context0;
  XdpCtx xdp{}, xdp0{};
  vm::RunArgs args;
  std::array<bool, 5> defined{};
  std::string what;

  void reset() {
    std::copy(packet0.begin(), packet0.end(), packet.begin());
    std::copy(context0.begin(), context0.end(), context.begin());
    xdp = xdp0;
  }
};

std::unique_ptr<Inputs> build_inputs(const verifier::ProgramTypeInfo& type,
                                     const std::vector<uint8_t>& bytes, size_t ctx_size) {
  auto in = std::make_unique<Inputs>();
  in->packet = bytes;
  auto base = reinterpret_cast<uint64_t>(in->packet.data());
  uint64_t len = in->packet.size();
  in->defined[0] = true;
  if (type.name == "raw") {
    in->args = vm::memory_args(in->packet);
    in->defined[1] = true;
    in->what = fmt::format("{} bytes of memory", len);
  } else if (type.name == "xdp") {
    in->xdp = {base, base + len, base, 1, 0};
    in->args.r[0] = reinterpret_cast<uint64_t>(&in->xdp);
    in->args.regions = {{in->args.r[0], sizeof(XdpCtx), false, "context"},
                        {base, len, true, "packet"}};
    in->what = fmt::format("a {}-byte packet", len);
  } else if (type.name == "socket_filter") {
    in->context.assign(192, 0x5a);
    auto len32 = static_cast<uint32_t>(len);
    std::memcpy(in->context.data(), &len32, 4);
    uint64_t ctx = reinterpret_cast<uint64_t>(in->context.data());
    in->args.r[0] = ctx;
    in->args.regions = {{ctx, 48, false, "context"},
                        {ctx + 48, 20, true, "context cb"},
                        {ctx + 68, 124, false, "context"}};
    in->args.packet = in->packet;
    in->what = fmt::format("a {}-byte packet", len);
  } else {  // syscall: a buffer exactly as big as the program needs
    in->context.assign(ctx_size, 0x5a);
    in->context.reserve(1);
    in->args.r[0] = reinterpret_cast<uint64_t>(in->context.data());
    if (ctx_size) in->args.regions = {{in->args.r[0], ctx_size, true, "context"}};
    in->what = fmt::format("a {}-byte context", ctx_size);
  }
  in->packet0 = in->packet;
  in->context0 = in->context;
  in->xdp0 = in->xdp;
  return in;
}

std::vector<uint8_t> random_bytes(size_t n, std::mt19937_64& rng, int fill) {
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = fill >= 0 ? static_cast<uint8_t>(fill) : static_cast<uint8_t>(rng());
  return v;
}

// Both runs: the interpreter in checked mode and the shadow run; both must end without a
// fault, with the same r0.
std::string run_both(const vm::Interpreter& interp, std::span<const isa::Insn> code,
                     const verifier::ProgramTypeInfo& type, const std::vector<uint8_t>& bytes,
                     size_t ctx_size, RunnerState& st, std::vector<std::vector<uint8_t>>& values) {
  std::unique_ptr<Inputs> in = build_inputs(type, bytes, ctx_size);
  auto reset = [&] {
    for (auto& v : values) std::fill(v.begin(), v.end(), 0);
    st.lookups = st.ticks = st.reserved = 0;  // the same records at the same addresses
    in->reset();
  };
  for (size_t m = 0; m < values.size(); ++m)
    in->args.regions.push_back({reinterpret_cast<uint64_t>(values[m].data()), values[m].size(),
                                !st.platform->maps()[m].info.read_only, "map value"});
  vm::RunOptions options;
  options.checked = true;
  options.insn_budget = 10'000'000;
  options.env = &st;
  reset();
  auto r = interp.run(in->args, options);
  if (!r) return fmt::format("interpreter: {} with {}", r.error().str(), in->what);
  reset();
  vm::HelperTable table = test_helpers();
  ShadowInput shadow_in{code,   in->args.r,  in->defined, in->args.regions, in->args.packet,
                        &table, st.platform, &st};
  ShadowResult shadow = shadow_run(shadow_in);
  if (!shadow.fault.empty()) return fmt::format("shadow run: {} with {}", shadow.fault, in->what);
  // Both engines compute the same r0, unless it holds an address in their own stacks.
  if (shadow.r0 != *r && !shadow.r0_in_stack)
    return fmt::format("the interpreter returned {:#x}, the shadow run {:#x}, with {}", *r,
                       shadow.r0, in->what);
  return {};
}

}  // namespace

const HelperProto* TestPlatform::helper(uint32_t id) const {
  for (const HelperProto& p : kTestProtos)
    if (p.id == id) return &p;
  return helpers::find_helper(id);
}

std::optional<uint32_t> TestPlatform::map_of(isa::LddwSrc src, int32_t imm) const {
  if (src != isa::LddwSrc::MapFd && src != isa::LddwSrc::MapValue) return std::nullopt;
  for (size_t i = 0; i < maps_.size(); ++i)
    if (static_cast<int32_t>(maps_[i].fd) == imm) return static_cast<uint32_t>(i);
  return std::nullopt;
}

const verifier::MapInfo* TestPlatform::map_info(uint32_t map) const {
  return map < maps_.size() ? &maps_[map].info : nullptr;
}

uint32_t map_type_number(const std::string& name) {
  if (name == "hash") return 1;
  if (name == "array") return 2;
  if (name == "percpu_array") return 6;
  if (name == "ringbuf") return 27;
  if (name == "prog_array") return 3;
  return 0;
}

verifier::MapInfo map_info(const CaseMap& m) {
  verifier::MapInfo info;
  info.type = map_type_number(m.type);
  info.key_size = m.key_size;
  info.value_size = m.value_size;
  info.max_entries = m.max_entries;
  info.read_only = m.read_only;
  info.direct_value = m.type == "array" && m.max_entries == 1;
  return info;
}

std::string run_checked(std::span<const isa::Insn> prog, const verifier::ProgramTypeInfo& type,
                        const verifier::Analysis& analysis, const TestPlatform& platform,
                        uint32_t raw_memory_size, uint64_t seed) {
  std::vector<std::vector<uint8_t>> values;
  for (const TestMap& m : platform.maps()) values.emplace_back(m.info.value_size, 0);
  std::vector<isa::Insn> code =
      patch_map_values(verifier::rewrite_for_run(prog, analysis.facts), platform, values);
  auto interp = vm::Interpreter::create(code, test_helpers());
  if (!interp) return "the interpreter refuses the program: " + interp.error().str();
  RunnerState st{&platform, &values};
  std::mt19937_64 rng(seed);
  std::vector<size_t> sizes = {raw_memory_size};
  if (type.name == "xdp") sizes = {0, 1, 13, 14, 15, 20, 33, 34, 35, 42, 54, 60, 64, 100, 1514};
  if (type.name == "socket_filter") sizes = {0, 1, 14, 34, 60, 1514};
  for (int fill : {0, 0xff, -1, -1})
    for (size_t len : sizes) {
      std::vector<uint8_t> bytes = random_bytes(len, rng, fill);
      std::string fault =
          run_both(*interp, code, type, bytes, analysis.facts.max_ctx_offset, st, values);
      if (!fault.empty()) return fault;
    }
  return {};
}

}  // namespace pollen::test

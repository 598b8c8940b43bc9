// SPDX-License-Identifier: MIT
// XDP programs: Linux's BPF_PROG_TEST_RUN for them (bpf_prog_test_run_xdp and
// xdp_convert_md_to_buff in net/bpf/test_run.c), and XdpRunner, the hook that runs an XDP
// program on one packet after another. Test-run rules matched: input shorter than an Ethernet
// header is EINVAL; ctx_in is a struct xdp_md whose data_meta must be 0, whose data_end must be
// the input's length (shorter asks for a multi-buffer frame, not supported yet) and whose data
// (metadata length, a multiple of 4 that leaves the headroom room for struct xdp_frame) puts
// metadata in front of the packet; egress_ifindex must be 0; an ingress_ifindex must name an
// existing interface (else ENODEV) and rx_queue_index one of its queues; without ctx_in the
// packet comes in on the loopback device, queue 0. With repeat N the program runs N times on the
// same frame, so its changes accumulate; data_out runs from data_meta to data_end.
#include <fmt/format.h>
#include <net/if.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>

#include "maps/map.hpp"
#include "runtime/object_impl.hpp"
#include "runtime/xdp_frame.hpp"

namespace pollen {
namespace {

// struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex.
constexpr size_t kXdpMdSize = 24;
constexpr uint32_t kLoopbackIfindex = 1;
// enum bpf_attach_type values of programs for devmap and cpumap entries.
constexpr uint32_t kAttachXdpDevmap = 38;
constexpr uint32_t kAttachXdpCpumap = 39;

uint32_t u32_at(std::span<const uint8_t> bytes, size_t off) {
  uint32_t v = 0;
  std::memcpy(&v, bytes.data() + off, sizeof v);
  return v;
}

// The receive queues of interface `ifindex`, or 0 when the interface does not exist. Linux
// checks rx_queue_index against real_num_rx_queues; sysfs lists them as queues/rx-N.
uint32_t rx_queues(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(ifindex, name) == nullptr) return 0;
  std::error_code ec;
  uint32_t n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(fmt::format("/sys/class/net/{}/queues", name), ec))
    if (entry.path().filename().string().starts_with("rx-")) ++n;
  return n == 0 ? 1 : n;
}

// What ctx_in asks for.
struct XdpMd {
  uint32_t meta_len = 0;
  uint32_t ingress_ifindex = kLoopbackIfindex;  ///< what the program reads
  uint32_t rx_queue_index = 0;
  uint32_t given_ifindex = 0;  ///< what ctx_in said: ctx_out gives it back unchanged
};

Result<XdpMd> parse_ctx_in(std::span<const uint8_t> ctx, size_t data_size) {
  // bpf_ctx_init(): shorter input is zero-padded; bytes beyond the structure must be zero.
  for (size_t i = kXdpMdSize; i < ctx.size(); ++i)
    if (ctx[i] != 0)
      return test_run_refusal(
          fmt::format("ctx_in has non-zero bytes beyond struct xdp_md ({} bytes)", kXdpMdSize),
          "E2BIG");
  std::array<uint8_t, kXdpMdSize> md{};
  std::memcpy(md.data(), ctx.data(), std::min(ctx.size(), md.size()));
  const uint32_t data = u32_at(md, 0), data_end = u32_at(md, 4), data_meta = u32_at(md, 8);
  XdpMd out;
  if (data_meta != 0) return test_run_refusal("ctx_in: data_meta must be 0", "EINVAL");
  if (data_end > data_size)
    return test_run_refusal(
        fmt::format("ctx_in: data_end ({}) is beyond the input's length ({})", data_end, data_size),
        "EINVAL");
  // Linux 6.18 puts the input beyond data_end in fragments (earlier kernels refuse it).
  if (data_end < data_size)
    return make_error(Errc::NotSupported, Location::none(),
                      fmt::format("test-run: ctx_in data_end ({}) short of the input ({} bytes) "
                                  "asks for a multi-buffer frame: not supported yet",
                                  data_end, data_size));
  if (data > data_end) return test_run_refusal("ctx_in: data is beyond data_end", "EINVAL");
  // xdp_metalen_invalid(), and the metadata comes out of the headroom, which must keep room
  // for struct xdp_frame (measured on Linux 6.18: 216 accepted, 220 refused).
  if (data % 4 != 0 || data > helpers::kXdpTestRunMaxMetadata)
    return test_run_refusal(
        fmt::format("ctx_in: the metadata length (data = {}) must be a multiple of 4 "
                    "and at most {}",
                    data, helpers::kXdpTestRunMaxMetadata),
        "EINVAL");
  out.meta_len = data;
  if (u32_at(md, 20) != 0) return test_run_refusal("ctx_in: egress_ifindex must be 0", "EINVAL");
  out.ingress_ifindex = u32_at(md, 12);
  out.given_ifindex = out.ingress_ifindex;
  out.rx_queue_index = u32_at(md, 16);
  if (out.ingress_ifindex == 0) {
    if (out.rx_queue_index != 0)
      return test_run_refusal("ctx_in: rx_queue_index needs an ingress_ifindex", "EINVAL");
    out.ingress_ifindex = kLoopbackIfindex;
    return out;
  }
  const uint32_t queues = rx_queues(out.ingress_ifindex);
  if (queues == 0)
    return test_run_refusal(fmt::format("ctx_in: no interface has ifindex {}", out.ingress_ifindex),
                            "ENODEV");
  if (out.rx_queue_index >= queues)
    return test_run_refusal(
        fmt::format("ctx_in: interface {} has {} receive queues (rx_queue_index {})",
                    out.ingress_ifindex, queues, out.rx_queue_index),
        "EINVAL");
  return out;
}

// xdp_convert_buff_to_md(): offsets from the metadata's start; ingress_ifindex and
// rx_queue_index stay as ctx_in gave them (0 when the loopback default was used).
std::vector<uint8_t> ctx_out_of(const helpers::XdpContext& ctx, const XdpMd& md) {
  std::vector<uint8_t> out(kXdpMdSize, 0);
  const uint32_t fields[5] = {static_cast<uint32_t>(ctx.data - ctx.data_meta),
                              static_cast<uint32_t>(ctx.data_end - ctx.data_meta), 0,
                              md.given_ifindex, md.rx_queue_index};
  std::memcpy(out.data(), fields, sizeof fields);
  return out;
}

Result<void> check_xdp_program(const Object::Impl& object, const LinkedProgram& prog, bool unsafe) {
  const loader::ProgramSpec* spec = object.spec.program(prog.name);
  if (spec && spec->expected_attach_type &&
      (static_cast<uint32_t>(*spec->expected_attach_type) == kAttachXdpDevmap ||
       static_cast<uint32_t>(*spec->expected_attach_type) == kAttachXdpCpumap))
    return test_run_refusal(
        fmt::format("program '{}' is for devmap or cpumap entries ({})", prog.name, spec->section),
        "EINVAL");
  return object.check_verified(prog, unsafe);
}

// The arguments of every run on `frame`: built once, since the frame's buffer and context
// stay where they are.
vm::RunArgs frame_args(const Object::Impl& object, const XdpFrame& frame, bool checked) {
  vm::RunArgs args;
  args.r[0] = reinterpret_cast<uintptr_t>(&frame.ctx());
  if (checked) {
    args.regions = frame.regions();
    add_object_memory(object, args);
  }
  return args;
}

// The options of every run on `frame`: bpf_redirect and bpf_redirect_map record their target
// in its context (RunContext::env).
vm::RunOptions frame_options(XdpFrame& frame, bool checked) {
  vm::RunOptions options;
  options.checked = checked;
  options.env = &frame.ctx();
  return options;
}

}  // namespace

Result<TestRunResult> test_run_xdp(const Object::Impl& object, LinkedProgram& prog,
                                   const TestRunOptions& options) {
  POLLEN_CHECK(check_xdp_program(object, prog, options.unsafe_no_verify));
  const std::vector<uint8_t> data = options.data_in.value_or(std::vector<uint8_t>{});
  if (data.size() < helpers::kEthHlen)
    return test_run_refusal(
        fmt::format("data_in of {} bytes is shorter than an Ethernet header ({})", data.size(),
                    helpers::kEthHlen),
        "EINVAL");
  XdpMd md;
  if (options.ctx_in) {
    POLLEN_TRY(XdpMd parsed, parse_ctx_in(*options.ctx_in, data.size()));
    md = parsed;
  }
  if (data.size() > kXdpMaxData + md.meta_len)
    return make_error(Errc::NotSupported, Location::none(),
                      fmt::format("test-run: data_in of {} bytes asks for a multi-buffer frame "
                                  "(more than {} bytes): not supported yet",
                                  data.size(), kXdpMaxData));
  XdpFrame frame;
  frame.load(data, md.meta_len, md.ingress_ifindex, md.rx_queue_index, true);
  const bool checked = run_checked(prog, options.unsafe_no_verify);
  const jit::JitProgram* code = nullptr;
  if (resolve_engine(options.engine) == Engine::Jit) {
    POLLEN_TRY(code, object.jit_code(prog, checked));
  }
  const vm::RunArgs args = frame_args(object, frame, checked);
  const vm::RunOptions run_options = frame_options(frame, checked);
  TestRunResult result;
  const uint64_t repeat = options.repeat == 0 ? 1 : options.repeat;  // Linux: 0 means 1
  auto start = std::chrono::steady_clock::now();
  POLLEN_CHECK(run_repeated(repeat, result.repeat, [&](uint64_t n) -> Result<void> {
    POLLEN_TRY(uint64_t r0, run_prepared(object, prog, code, args, run_options, n));
    result.retval = static_cast<uint32_t>(r0);
    return {};
  }));
  std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  result.duration_ns = elapsed.count() / static_cast<double>(result.repeat);
  auto out = frame.with_metadata();
  result.data_out.assign(out.begin(), out.end());
  if (options.ctx_in) result.ctx_out = ctx_out_of(frame.ctx(), md);
  return result;
}

struct XdpRunner::Impl {
  const Object::Impl* object = nullptr;
  LinkedProgram* prog = nullptr;
  Engine engine = Engine::Interpreter;
  bool checked = false;
  /// Held here: a later compilation for the other mode replaces LinkedProgram::jit.
  std::shared_ptr<const jit::JitProgram> code;
  XdpFrame frame;
  vm::RunArgs args;
  vm::RunOptions options;
};

Result<XdpRunner> Object::xdp_runner(std::string_view name, const XdpOptions& options) {
  POLLEN_TRY(LinkedProgram * prog, impl_->find_program(name));
  if (prog->raw || prog->type != loader::ProgramType::Xdp)
    return make_error(Errc::InvalidArgument, Location::none(),
                      fmt::format("program '{}' is of type '{}', not an XDP program", prog->name,
                                  prog->raw ? "raw" : loader::program_type_name(prog->type)));
  POLLEN_CHECK(check_xdp_program(*impl_, *prog, options.unsafe_no_verify));
  auto runner = std::make_unique<XdpRunner::Impl>();
  runner->object = impl_.get();
  runner->prog = prog;
  runner->engine = resolve_engine(options.engine);
  runner->checked = run_checked(*prog, options.unsafe_no_verify);
  if (runner->engine == Engine::Jit) {
    POLLEN_CHECK(impl_->jit_code(*prog, runner->checked));
    runner->code = prog->jit;
  }
  runner->args = frame_args(*impl_, runner->frame, runner->checked);
  runner->options = frame_options(runner->frame, runner->checked);
  return XdpRunner(std::move(runner));
}

XdpRunner::XdpRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
XdpRunner::XdpRunner(XdpRunner&&) noexcept = default;
XdpRunner& XdpRunner::operator=(XdpRunner&&) noexcept = default;
XdpRunner::~XdpRunner() = default;

Engine XdpRunner::engine() const {
  return impl_->engine;
}

Result<XdpOutcome> XdpRunner::run(std::span<const uint8_t> packet, uint32_t ingress_ifindex,
                                  uint32_t rx_queue_index) {
  if (packet.size() > kXdpMaxData)
    return make_error(Errc::NotSupported, Location::none(),
                      fmt::format("a packet of {} bytes needs a multi-buffer frame (more than "
                                  "{} bytes): not supported yet",
                                  packet.size(), kXdpMaxData));
  Impl& r = *impl_;
  // A checked (unverified) run may read anywhere in the frame: it gets a clean one.
  r.frame.load(packet, 0, ingress_ifindex, rx_queue_index, r.checked);
  Result<uint64_t> r0 = run_prepared(*r.object, *r.prog, r.code.get(), r.args, r.options);
  if (!r0) return r0.error();
  XdpOutcome out;
  out.action = static_cast<uint32_t>(*r0);
  out.packet = r.frame.packet();
  out.metadata = r.frame.metadata();
  const helpers::XdpContext& ctx = r.frame.ctx();
  if (out.action == helpers::kXdpRedirect) {
    const auto* map = reinterpret_cast<const maps::Map*>(ctx.redirect_map);
    if (!map)
      out.redirect_ifindex = ctx.redirect_ifindex;
    else if (map->type() == maps::MapType::Devmap || map->type() == maps::MapType::DevmapHash)
      out.redirect_ifindex = ctx.redirect_target;
  }
  return out;
}

}  // namespace pollen

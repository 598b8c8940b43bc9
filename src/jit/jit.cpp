// SPDX-License-Identifier: MIT
// JitProgram, the same on every host: compile() validates and hands the program to the host's
// code generator; run() fills the per-run state the generated code reads (the precomputed bounds
// of checked mode and ld_abs, the budget, the helpers' RunContext), provides the stack, calls
// the code and turns a fault it left behind into the interpreter's located error.
#include "jit/jit.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "jit/backend_p.hpp"
#include "jit/state_p.hpp"

namespace pollen::jit {

using detail::JitState;

struct JitProgram::Code {
  std::vector<isa::Insn> prog;  ///< the original slots, for fault messages
  vm::HelperTable helpers;      ///< the copy callx reads at run time
  JitOptions options;
  bool packet_loads = false;  ///< the program has ld_abs or ld_ind
  std::optional<detail::NativeCode> native;
};

namespace {

// Instructions executed by the last run on this thread.
thread_local uint64_t t_last_insn_count = 0;

// Exclusive bound on `offset` for an access of `size` bytes to fit in `length` bytes: 0 when
// nothing of that size fits.
uint64_t fit_bound(uint64_t length, uint64_t size) {
  return length >= size ? length - size + 1 : 0;
}

Result<void> check_run_options(const JitOptions& compiled, const vm::RunOptions& options) {
  auto mode = [](bool checked) { return checked ? "checked" : "unchecked"; };
  if (options.checked != compiled.checked)
    return make_error(Errc::InvalidArgument, Location::none(),
                      fmt::format("the JIT compiled this program for {} mode, so it cannot run "
                                  "it in {} mode (compile it again for that mode)",
                                  mode(compiled.checked), mode(options.checked)));
  if (options.insn_budget != 0 && !compiled.count_insns)
    return make_error(Errc::NotSupported, Location::none(),
                      fmt::format("instruction budget of {}: the JIT compiled this program "
                                  "without instruction counting (JitOptions::count_insns)",
                                  options.insn_budget));
  return {};
}

// Checked mode's bounds: the first region's, for each access size and for writes, and the
// stack's last start address per size.
void fill_checked_bounds(JitState& st, const vm::RunArgs& args, uint64_t stack_top) {
  const vm::Region none{};
  const vm::Region& first = args.regions.empty() ? none : args.regions[0];
  st.region_begin = first.begin;
  for (size_t k = 0; k < detail::kAccessSizes; ++k) {
    const uint64_t size = uint64_t{1} << k;
    st.region_end[0][k] = fit_bound(first.size, size);
    st.region_end[1][k] = first.writable ? st.region_end[0][k] : 0;
    st.stack_last[k] = stack_top - size;
  }
}

// The state of one run: only what the code compiled for it reads. The stack holds all call
// frames; the main function's r10 is its top.
void prepare(JitState& st, bool packet_loads, const vm::RunArgs& args,
             const vm::RunOptions& options, std::span<uint8_t> stack) {
  const uint64_t top = reinterpret_cast<uint64_t>(stack.data()) + stack.size();
  st.remaining = options.insn_budget != 0 ? options.insn_budget : ~uint64_t{0};
  st.call_floor = top - (vm::kMaxCallFrames - 2) * vm::kStackSize;
  st.stack_top = top;
  for (size_t i = 0; i < args.r.size(); ++i) st.args[i] = args.r[i];
  st.fault_word = 0;
  if (packet_loads) {
    st.packet = reinterpret_cast<uint64_t>(args.packet.data());
    for (size_t k = 0; k < 3; ++k)
      st.packet_end[k] = fit_bound(args.packet.size(), uint64_t{1} << k);
  }
  st.ctx.env = options.env;
  st.ctx.slot = options.slot;
  st.ctx.checked = options.checked;
  st.ctx.regions = args.regions;
  st.ctx.maps = args.maps;
  st.ctx.trace = options.trace;
  if (!options.checked) return;
  fill_checked_bounds(st, args, top);
  st.zeroed_floor = top - vm::kStackSize;
  // As the interpreter: an unverified program must not see what the host left on the stack.
  std::memset(stack.data() + stack.size() - vm::kStackSize, 0, vm::kStackSize);
  st.ctx.stack_begin = top - vm::kStackSize;
  st.ctx.stack_end = top;
}

}  // namespace

bool host_supported() {
  return detail::native_supported();
}

Result<JitProgram> JitProgram::compile(std::span<const isa::Insn> prog,
                                       const vm::HelperTable& helpers, const JitOptions& options) {
  // The generated code follows jumps and calls without checking them: validation is what makes
  // that safe, so the JIT does not trust its caller to have done it.
  POLLEN_CHECK(isa::validate(prog));
  auto code = std::make_unique<Code>();
  code->prog.assign(prog.begin(), prog.end());
  code->helpers = helpers;
  code->options = options;
  code->packet_loads = std::any_of(prog.begin(), prog.end(), [](const isa::Insn& insn) {
    std::optional<isa::Op> op = isa::classify(insn);
    return op &&
           (isa::info(*op).form == isa::Form::LdAbs || isa::info(*op).form == isa::Form::LdInd);
  });
  POLLEN_TRY(code->native, detail::compile_native(code->prog, code->helpers, options));
  return JitProgram(std::move(code));
}

Result<uint64_t> JitProgram::run(const vm::RunArgs& args, const vm::RunOptions& options) const {
  POLLEN_CHECK(check_run_options(code_->options, options));
  JitState st;
  alignas(16) uint8_t stack[vm::kStackSize * vm::kMaxCallFrames];
  prepare(st, code_->packet_loads, args, options, stack);
  // The code's first byte is its entry point.
  auto entry =
      reinterpret_cast<detail::EntryFn>(reinterpret_cast<uintptr_t>(code_->native->memory.data()));
  const uint64_t r0 = entry(&st);
  // What helpers left held (a ring buffer record, a spin lock) is let go, as the interpreter does.
  if (st.ctx.release != nullptr) st.ctx.release(st.ctx);
  const vm::detail::Fault fault = detail::decode_fault(st.fault_word, st.fault_value);
  if (!code_->options.count_insns)
    t_last_insn_count = 0;
  else if (fault.kind == vm::detail::FaultKind::Budget)
    t_last_insn_count = options.insn_budget;
  else
    t_last_insn_count =
        (options.insn_budget != 0 ? options.insn_budget : ~uint64_t{0}) - st.remaining;
  if (fault.kind != vm::detail::FaultKind::None)
    return vm::detail::describe_fault(fault, code_->prog, st.ctx, options.insn_budget);
  return r0;
}

const std::string& JitProgram::listing() const {
  return code_->native->listing;
}

std::span<const uint8_t> JitProgram::code() const {
  return code_->native->memory.bytes();
}

uint64_t JitProgram::last_insn_count() {
  return t_last_insn_count;
}

JitProgram::JitProgram(std::unique_ptr<Code> code) : code_(std::move(code)) {}
JitProgram::JitProgram(JitProgram&&) noexcept = default;
JitProgram& JitProgram::operator=(JitProgram&&) noexcept = default;
JitProgram::~JitProgram() = default;

}  // namespace pollen::jit

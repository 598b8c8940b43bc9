// SPDX-License-Identifier: MIT
// JitProgram, the same on every host: compile() validates and hands the program to the host's
// code generator; run() fills the per-run state the generated code reads (the precomputed bounds
// of checked mode and ld_abs, the budget, the helpers' RunContext), provides the stack, calls
// the code and turns a fault it left behind into the interpreter's located error. The engine
// functions the code calls back into (detail::Engine) are here too: running a callback through
// the code's callback entry, and switching the running program on a tail call, to another
// program's JIT code or, handing the run over, to an interpreter.
#include "jit/jit.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>

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

  /// The address of the code at `offset`.
  uint64_t at(uint64_t offset) const {
    return reinterpret_cast<uint64_t>(native->memory.data()) + offset;
  }
};

namespace detail {

// What the generated code calls back into: RunContext::call_fn, and what follows a helper that
// asked for a tail call.
struct Engine {
  // One run: the program running now (a tail call replaces it) and what the run was given.
  struct Run {
    const JitProgram::Code* program;
    const vm::RunArgs& args;
    const vm::RunOptions& options;
    const TailCallTargets& targets;
    bool packet_filled = false;
    /// A fault of an interpreter the run went on in (a pointer: an Error in place would cost
    /// every run the zeroing of its storage).
    std::unique_ptr<Error> handed_over_error;
  };

  static bool call_function(vm::RunContext& ctx, uint64_t fn, const std::array<uint64_t, 5>& args,
                            uint64_t& r0);
  static uint64_t tail_call(JitState& st);
  static uint64_t hand_over(JitState& st, Run& run, const vm::Interpreter& target);
  static uint64_t run_in_place(JitState& st, Run& run, const void* target);
  /// What a run of a tail call's target is given: r1-r5 as they are, the run's memory, maps and
  /// options, the tail calls made so far and, under a budget, what is left of it.
  static std::pair<vm::RunArgs, vm::RunOptions> target_run(const JitState& st, const Run& run);
};

uint64_t continue_tail_call(JitState* state) {
  return Engine::tail_call(*state);
}

}  // namespace detail

using Run = detail::Engine::Run;

namespace {

// Instructions executed by the last run on this thread.
thread_local uint64_t t_last_insn_count = 0;

// Exclusive bound on `offset` for an access of `size` bytes to fit in `length` bytes: 0 when
// nothing of that size fits.
uint64_t fit_bound(uint64_t length, uint64_t size) {
  return length >= size ? length - size + 1 : 0;
}

// Whether `options` ask for what the code was compiled for.
bool fits(const JitOptions& compiled, const vm::RunOptions& options) {
  return options.checked == compiled.checked && (options.insn_budget == 0 || compiled.count_insns);
}

// Why not, when the options do not fit.
Error misfit(const JitOptions& compiled, const vm::RunOptions& options) {
  auto mode = [](bool checked) { return checked ? "checked" : "unchecked"; };
  if (options.checked != compiled.checked)
    return make_error(Errc::InvalidArgument, Location::none(),
                      fmt::format("the JIT compiled this program for {} mode, so it cannot run "
                                  "it in {} mode (compile it again for that mode)",
                                  mode(compiled.checked), mode(options.checked)));
  return make_error(Errc::NotSupported, Location::none(),
                    fmt::format("instruction budget of {}: the JIT compiled this program "
                                "without instruction counting (JitOptions::count_insns)",
                                options.insn_budget));
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

// ld_abs and ld_ind's packet, for a program that has them.
void fill_packet(JitState& st, Run& run) {
  st.packet = reinterpret_cast<uint64_t>(run.args.packet.data());
  for (size_t k = 0; k < 3; ++k)
    st.packet_end[k] = fit_bound(run.args.packet.size(), uint64_t{1} << k);
  run.packet_filled = true;
}

// Where runs happen: the state the code reads and the stack holding all call frames (the main
// function's r10 is its top). Each thread keeps one and reuses it run after run, so that a run
// fills only what changes between runs; what never changes is filled here, once.
struct RunSpace {
  JitState st;
  alignas(16) uint8_t stack[vm::kStackSize * vm::kMaxCallFrames];
  bool busy = false;  ///< a run is using it (a run started from inside a run takes another)

  RunSpace() {
    const uint64_t top = reinterpret_cast<uint64_t>(stack) + sizeof stack;
    st.stack_top = top;
    st.call_floor = top - (vm::kMaxCallFrames - 2) * vm::kStackSize;
    st.ctx.call_fn = &detail::Engine::call_function;
    st.ctx.engine = &st;
    st.ctx.tail_calls_supported = true;
  }
};

// This thread's run space, made on its first run.
RunSpace& thread_space() {
  thread_local std::unique_ptr<RunSpace> space;
  if (!space) space = std::make_unique<RunSpace>();
  return *space;
}

// What one run reads and starts from: only what the code compiled for it reads, and what a
// previous run in the same space may have changed.
void prepare(RunSpace& space, Run& run) {
  JitState& st = space.st;
  const vm::RunArgs& args = run.args;
  const vm::RunOptions& options = run.options;
  st.remaining = options.insn_budget != 0 ? options.insn_budget : ~uint64_t{0};
  for (size_t i = 0; i < args.r.size(); ++i) st.args[i] = args.r[i];
  st.fault_word = 0;
  st.run = &run;
  if (run.program->packet_loads) fill_packet(st, run);
  st.ctx.env = options.env;
  st.ctx.slot = options.slot;
  st.ctx.checked = options.checked;
  st.ctx.regions = args.regions;
  st.ctx.maps = args.maps;
  st.ctx.trace = options.trace;
  st.ctx.release = nullptr;
  st.ctx.tail_call = nullptr;
  st.ctx.tail_call_count = options.tail_call_count;
  if (!options.checked) return;
  const uint64_t top = st.stack_top;
  fill_checked_bounds(st, args, top);
  st.zeroed_floor = top - vm::kStackSize;
  // As the interpreter: an unverified program must not see what the host (or the previous run)
  // left on the stack.
  std::memset(space.stack + sizeof space.stack - vm::kStackSize, 0, vm::kStackSize);
  st.ctx.stack_begin = top - vm::kStackSize;
  st.ctx.stack_end = top;
}

// What a run leaves in the space that the next run must not see: a helper's refusal, what
// helpers handed out.
void reset(RunSpace& space) {
  if (!space.st.ctx.fault.empty()) space.st.ctx.fault.clear();
  space.st.ctx.dynamic.clear();
  space.busy = false;
}

}  // namespace

namespace detail {

// RunContext::call_function, as the interpreter's: the function at slot `fn` of the running
// program runs in a frame one below the helper caller's, on the same stack, through the code's
// callback entry. Its faults stop the run where they happened; a fault returns here first.
bool Engine::call_function(vm::RunContext& ctx, uint64_t fn, const std::array<uint64_t, 5>& args,
                           uint64_t& r0) {
  auto& st = *static_cast<JitState*>(ctx.engine);
  const JitProgram::Code& code = *static_cast<Run*>(st.run)->program;
  const NativeCode& native = *code.native;
  auto it = std::lower_bound(native.function_slots.begin(), native.function_slots.end(), fn);
  if (it == native.function_slots.end() || *it != fn) {
    ctx.fault = fmt::format("callback {} is not the first slot of a function of the program", fn);
    return false;
  }
  const uint64_t entry = native.function_entries[it - native.function_slots.begin()];
  if (entry == NativeCode::kNoEntry) {
    ctx.fault =
        "callback 0 is the main function, which JIT code runs as a callback only when a local "
        "call or a BPF_PSEUDO_FUNC lddw names it";
    return false;
  }
  const uint64_t caller_r10 = st.call_r10;
  if ((st.stack_top - (caller_r10 - vm::kStackSize)) / vm::kStackSize >= vm::kMaxCallFrames) {
    ctx.fault = fmt::format(
        "callback: too many nested calls (more than {} frames, Linux's MAX_CALL_FRAMES)",
        vm::kMaxCallFrames);
    return false;
  }
  const uint64_t saved_rsp = st.entry_rsp, saved_floor = st.zeroed_floor;
  const uint64_t saved_stack_begin = ctx.stack_begin;
  std::copy(args.begin(), args.end(), st.args);
  // Checked mode: the interpreter zeroes a callback's frames afresh on every call (its run
  // loop counts the frames it zeroed from the callback's own), so every frame below the caller
  // counts as not yet zeroed while the callback runs.
  st.zeroed_floor = caller_r10 - vm::kStackSize;
  auto stub = reinterpret_cast<CallbackFn>(code.at(native.callback_entry));
  r0 = stub(&st, code.at(entry), caller_r10);
  st.entry_rsp = saved_rsp;
  st.zeroed_floor = saved_floor;
  st.call_r10 = caller_r10;
  ctx.stack_begin = saved_stack_begin;
  return st.fault_word == 0;
}

// After a helper set RunContext::tail_call (bpf_tail_call checked the index, the count and the
// slot): from the main function, the target runs from its first instruction with the same
// registers and stack frame, and the run never returns to the caller (Linux's JMP_TAIL_CALL);
// from a called function or a callback, it runs in that function's place (run_in_place).
uint64_t Engine::tail_call(JitState& st) {
  Run& run = *static_cast<Run*>(st.run);
  const void* target = st.ctx.tail_call;
  st.ctx.tail_call = nullptr;
  if (st.call_r10 != st.stack_top) return run_in_place(st, run, target);
  const JitProgram* jit = run.targets.find ? run.targets.find(run.targets.arg, target) : nullptr;
  if (jit == nullptr) return hand_over(st, run, *static_cast<const vm::Interpreter*>(target));
  const JitProgram::Code& code = *jit->code_;
  const JitOptions& have = run.program->options;
  if (code.options.checked != have.checked || code.options.count_insns != have.count_insns) {
    auto mode = [](const JitOptions& o) {
      return fmt::format("{} mode {} instruction counting", o.checked ? "checked" : "unchecked",
                         o.count_insns ? "with" : "without");
    };
    st.ctx.fault =
        fmt::format("bpf_tail_call: the target's JIT code was compiled for {}, the caller's for {}",
                    mode(code.options), mode(have));
    return kTailCallRefused;
  }
  if (code.packet_loads && !run.packet_filled) fill_packet(st, run);
  run.program = &code;
  return code.at(code.native->tail_entry);
}

// A tail call from a called function or a callback, as the interpreter makes it
// (vm::detail::run_tail_call_target): the target runs as a run of its own, in JIT code when
// `targets` has it, with r1-r5 as they were, the run's memory and maps, the tail calls made so
// far and the budget left; its r0 is the calling function's result.
std::pair<vm::RunArgs, vm::RunOptions> Engine::target_run(const JitState& st, const Run& run) {
  vm::RunArgs args{{}, run.args.regions, run.args.packet, run.args.maps};
  std::copy(std::begin(st.args), std::end(st.args), args.r.begin());
  vm::RunOptions options = run.options;
  options.tail_call_count = st.ctx.tail_call_count;
  if (run.options.insn_budget != 0) options.insn_budget = st.remaining;
  return {std::move(args), options};
}

uint64_t Engine::run_in_place(JitState& st, Run& run, const void* target) {
  if (run.options.insn_budget != 0 && st.remaining == 0) {
    st.ctx.fault = "bpf_tail_call: no instruction budget left for the target";
    return kTailCallRefused;
  }
  auto [args, options] = target_run(st, run);
  const JitProgram* jit = run.targets.find ? run.targets.find(run.targets.arg, target) : nullptr;
  Result<uint64_t> r0 = jit ? jit->run(args, options, run.targets)
                            : static_cast<const vm::Interpreter*>(target)->run(args, options);
  const uint64_t used = jit ? JitProgram::last_insn_count() : vm::Interpreter::last_insn_count();
  st.remaining -= std::min(st.remaining, used);
  if (!r0) {
    st.ctx.fault = vm::tail_call_target_failed(r0.error());
    return kTailCallRefused;
  }
  st.saved_r0 = *r0;
  return kTailCallReturned;
}

// The target is an interpreter: it runs from its start with the current r1-r5, the run's
// memory and maps, the budget left and the tail calls made so far, and its result is the
// run's.
uint64_t Engine::hand_over(JitState& st, Run& run, const vm::Interpreter& target) {
  const uint64_t budget = run.options.insn_budget;
  auto budget_error = [&](Location where) {
    return make_error(Errc::RuntimeFault, std::move(where),
                      fmt::format("instruction budget of {} exceeded", budget));
  };
  if (budget != 0 && st.remaining == 0) {
    run.handed_over_error = std::make_unique<Error>(budget_error(Location::insn(0)));
    return kTailCallEnded;
  }
  auto [args, options] = target_run(st, run);
  Result<uint64_t> r0 = target.run(args, options);
  st.remaining -= std::min(st.remaining, vm::Interpreter::last_insn_count());
  if (r0) {
    st.saved_r0 = *r0;
  } else if (budget != 0 && st.remaining == 0 &&
             r0.error().message.starts_with("instruction budget of")) {
    // The interpreter names the budget it was given, which is what was left of the run's.
    run.handed_over_error = std::make_unique<Error>(budget_error(r0.error().location));
  } else {
    run.handed_over_error = std::make_unique<Error>(r0.error());
  }
  return kTailCallEnded;
}

}  // namespace detail

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

Result<uint64_t> JitProgram::run(const vm::RunArgs& args, const vm::RunOptions& options,
                                 const TailCallTargets& targets) const {
  return run_times(args, 1, options, targets);
}

Result<uint64_t> JitProgram::run_times(const vm::RunArgs& args, uint64_t times,
                                       const vm::RunOptions& options,
                                       const TailCallTargets& targets) const {
  if (!fits(code_->options, options)) return misfit(code_->options, options);
  RunSpace* space = &thread_space();
  std::unique_ptr<RunSpace> nested;
  if (space->busy) {
    nested = std::make_unique<RunSpace>();
    space = nested.get();
  }
  space->busy = true;
  JitState& st = space->st;
  Run run{code_.get(), args, options, targets, false, nullptr};
  // The code's first byte is its entry point.
  auto entry =
      reinterpret_cast<detail::EntryFn>(reinterpret_cast<uintptr_t>(code_->native->memory.data()));
  uint64_t r0 = 0;
  vm::detail::Fault fault{};
  for (uint64_t i = 0; i < std::max<uint64_t>(times, 1); ++i) {
    run.program = code_.get();  // a tail call in the run before switched it
    prepare(*space, run);
    r0 = entry(&st);
    // What helpers left held (a ring buffer record, a spin lock) is let go, as the
    // interpreter does.
    if (st.ctx.release != nullptr) st.ctx.release(st.ctx);
    fault = detail::decode_fault(st.fault_word, st.fault_value);
    if (fault.kind != vm::detail::FaultKind::None || run.handed_over_error) break;
    st.ctx.dynamic.clear();
  }
  if (!code_->options.count_insns)
    t_last_insn_count = 0;
  else if (fault.kind == vm::detail::FaultKind::Budget)
    t_last_insn_count = options.insn_budget;
  else
    t_last_insn_count =
        (options.insn_budget != 0 ? options.insn_budget : ~uint64_t{0}) - st.remaining;
  if (run.handed_over_error) {
    reset(*space);
    return *run.handed_over_error;
  }
  if (fault.kind != vm::detail::FaultKind::None) {
    // Located in the program that was running: a tail call's target, maybe.
    Error error = vm::detail::describe_fault(fault, run.program->prog, st.ctx, options.insn_budget);
    reset(*space);
    return error;
  }
  reset(*space);
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

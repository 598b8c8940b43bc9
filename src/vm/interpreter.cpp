// SPDX-License-Identifier: MIT
// Interpreter::create decodes a program once into threaded code, one copy per run loop (checked
// and unchecked; their handler addresses differ): each slot gets its handler's label address,
// its operands, lddw's joined immediate (a callback's slot index for BPF_PSEUDO_FUNC), the
// destination slot of a jump or local call, and the resolved helper of a helper call.
// Interpreter::run sets up one run and reports how it ended; this file also gives the run loop
// what helpers ask of the engine: running a callback, switching programs on a tail call.
#include "vm/interpreter.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "vm/threaded.hpp"

namespace pollen::vm {

using detail::Slot;

struct Interpreter::Code {
  std::vector<isa::Insn> prog;  ///< the original slots, for fault messages
  std::vector<Slot> unchecked;
  std::vector<Slot> checked;
  HelperTable helpers;            ///< a copy, for callx; call's helpers are resolved into the slots
  std::vector<size_t> functions;  ///< isa::function_starts: what a callback may be

  /// Makes this program the running one of `m`.
  const Slot* enter(detail::Machine& m) const {
    m.base = m.ctx.checked ? checked.data() : unchecked.data();
    m.functions = functions;
    m.insns = prog;
    m.helpers = &helpers;
    return m.base;
  }
  /// Machine::enter_program: `program` is the Interpreter a PROG_ARRAY slot holds.
  static const Slot* enter_program(detail::Machine& m, const void* program) {
    return static_cast<const Interpreter*>(program)->code_->enter(m);
  }
};

namespace {

// Instructions executed by the last run on this thread.
thread_local uint64_t t_last_insn_count = 0;

// The operands of slot `i` (decoded as `d`) and where its precomputed fields point.
Slot make_slot(const isa::Decoded& d, size_t i, std::vector<Slot>& slots, const void* const* labels,
               const HelperTable& helpers) {
  Slot s;
  s.handler = labels[static_cast<size_t>(d.op)];
  s.dst = d.dst;
  s.src = d.src;
  s.off = d.off;
  s.imm = d.imm;
  if (d.op == isa::Op::LddwFunc) {
    // BPF_PSEUDO_FUNC: imm is the callback's offset from the next slot (libbpf's encoding).
    s.aux.imm64 = static_cast<uint64_t>(static_cast<int64_t>(i) + 1 + d.imm);
  } else if (isa::is_wide(d.op)) {
    s.aux.imm64 = d.imm64;
  } else if (d.op == isa::Op::CallHelper) {
    // A negative id converts to a huge one, which has no entry either.
    s.aux.helper = helpers.find(static_cast<uint64_t>(static_cast<int64_t>(d.imm)));
  } else if (std::optional<int64_t> target = isa::branch_target(d, i)) {
    s.aux.target = &slots[static_cast<size_t>(*target)];
  }
  return s;
}

// Threaded code for one run loop; validate() has guaranteed every target is a real slot.
std::vector<Slot> thread_code(std::span<const isa::Insn> prog, const void* const* labels,
                              const HelperTable& helpers) {
  std::vector<Slot> slots(prog.size());
  for (size_t i = 0; i < prog.size(); ++i) {
    isa::Decoded d = *isa::decode(prog, i);
    slots[i] = make_slot(d, i, slots, labels, helpers);
    // lddw's second slot is never executed (no jump may land on it); it repeats the first.
    if (isa::is_wide(d.op)) {
      slots[i + 1] = slots[i];
      ++i;
    }
  }
  return slots;
}

// RunContext::call_function: runs the function at slot `fn` in a run loop of its own whose first
// frame is one below the helper caller's, on the same stack, so that the callback can use
// pointers into its callers' frames and counts against Linux's MAX_CALL_FRAMES (the kernel's
// verifier gives a callback a frame of its own, as for a bpf-to-bpf call).
bool call_function(RunContext& ctx, uint64_t fn, const std::array<uint64_t, 5>& args,
                   uint64_t& r0) {
  auto& m = *static_cast<detail::Machine*>(ctx.engine);
  if (!std::binary_search(m.functions.begin(), m.functions.end(), fn)) {
    ctx.fault = fmt::format("callback {} is not the first slot of a function of the program", fn);
    return false;
  }
  const uint64_t r10 = m.call_r10 - kStackSize;
  if ((m.stack_top - r10) / kStackSize >= kMaxCallFrames) {
    ctx.fault = fmt::format(
        "callback: too many nested calls (more than {} frames, Linux's "
        "MAX_CALL_FRAMES)",
        kMaxCallFrames);
    return false;
  }
  const std::array<uint64_t, 5> saved_args = m.args;
  const uint64_t saved_entry = m.entry_r10, saved_call = m.call_r10;
  const uint64_t saved_stack_begin = ctx.stack_begin;
  m.args = args;
  m.entry_r10 = r10;
  r0 = ctx.checked ? detail::execute<true>(m.base + fn, m) : detail::execute<false>(m.base + fn, m);
  m.args = saved_args;
  m.entry_r10 = saved_entry;
  m.call_r10 = saved_call;
  ctx.stack_begin = saved_stack_begin;
  return m.fault.kind == detail::FaultKind::None;
}

}  // namespace

std::string tail_call_target_failed(const Error& error) {
  return fmt::format("bpf_tail_call: the target program, run in place of the calling function, "
                     "stopped: {}",
                     error.str());
}

bool detail::run_tail_call_target(detail::Machine& m, const void* program, const uint64_t* regs,
                                  uint64_t& remaining, uint64_t& r0) {
  RunArgs args;
  std::copy(regs + 1, regs + 6, args.r.begin());
  args.regions.assign(m.ctx.regions.begin(), m.ctx.regions.end());
  args.packet = {const_cast<uint8_t*>(m.packet), m.packet_size};
  args.maps.assign(m.ctx.maps.begin(), m.ctx.maps.end());
  RunOptions options;
  options.checked = m.ctx.checked;
  options.env = m.ctx.env;
  options.slot = m.ctx.slot;
  options.trace = m.ctx.trace;
  options.tail_call_count = m.ctx.tail_call_count;
  const bool budgeted = m.budget != ~uint64_t{0};
  if (budgeted && remaining == 0) {
    m.ctx.fault = "bpf_tail_call: no instruction budget left for the target";
    return false;
  }
  if (budgeted) options.insn_budget = remaining;
  Result<uint64_t> result = static_cast<const Interpreter*>(program)->run(args, options);
  remaining -= std::min(remaining, Interpreter::last_insn_count());
  if (!result) {
    m.ctx.fault = tail_call_target_failed(result.error());
    return false;
  }
  r0 = *result;
  return true;
}

namespace {

template <bool Checked>
const void* const* labels_of() {
  detail::Machine m;
  detail::execute<Checked>(nullptr, m);
  return m.labels;
}

}  // namespace

RunArgs memory_args(std::span<uint8_t> memory) {
  RunArgs args;
  uint64_t base = memory.empty() ? 0 : reinterpret_cast<uint64_t>(memory.data());
  args.r[0] = base;
  args.r[1] = memory.size();
  if (!memory.empty()) args.regions.push_back({base, memory.size(), true, "memory"});
  args.packet = memory;
  return args;
}

Result<Interpreter> Interpreter::create(std::span<const isa::Insn> prog,
                                        const HelperTable& helpers) {
  // Validation is what makes the threaded code safe to follow (every jump lands on a slot, no
  // function falls off its end), so the interpreter does not trust its caller to have done it.
  POLLEN_CHECK(isa::validate(prog));
  auto code = std::make_unique<Code>();
  code->prog.assign(prog.begin(), prog.end());
  code->unchecked = thread_code(prog, labels_of<false>(), helpers);
  code->checked = thread_code(prog, labels_of<true>(), helpers);
  code->helpers = helpers;
  code->functions = isa::function_starts(prog);
  return Interpreter(std::move(code));
}

Result<uint64_t> Interpreter::run(const RunArgs& args, const RunOptions& options) const {
  detail::Machine m;
  m.args = args.r;
  m.packet = args.packet.data();
  m.packet_size = args.packet.size();
  m.budget = options.insn_budget != 0 ? options.insn_budget : ~uint64_t{0};
  m.remaining = m.budget;
  m.ctx.env = options.env;
  m.ctx.slot = options.slot;
  m.ctx.checked = options.checked;
  m.ctx.tail_call_count = options.tail_call_count;
  m.ctx.regions = args.regions;
  m.ctx.maps = args.maps;
  m.ctx.trace = options.trace;
  m.ctx.call_fn = &call_function;
  m.ctx.engine = &m;
  m.ctx.tail_calls_supported = true;
  m.enter_program = &Code::enter_program;
  // The frames of all call levels, callbacks' included; the main function's is the top one.
  alignas(16) uint8_t stack[kStackSize * kMaxCallFrames];
  m.stack_top = m.entry_r10 = reinterpret_cast<uint64_t>(stack) + sizeof stack;
  const detail::Slot* start = code_->enter(m);
  uint64_t r0 =
      options.checked ? detail::execute<true>(start, m) : detail::execute<false>(start, m);
  if (m.ctx.release != nullptr) m.ctx.release(m.ctx);
  t_last_insn_count = m.budget - m.remaining;
  if (m.fault.kind != detail::FaultKind::None)
    return detail::describe_fault(m.fault, m.insns, m.ctx, options.insn_budget);
  return r0;
}

uint64_t Interpreter::last_insn_count() {
  return t_last_insn_count;
}

Interpreter::Interpreter(std::unique_ptr<Code> code) : code_(std::move(code)) {}
Interpreter::Interpreter(Interpreter&&) noexcept = default;
Interpreter& Interpreter::operator=(Interpreter&&) noexcept = default;
Interpreter::~Interpreter() = default;

}  // namespace pollen::vm

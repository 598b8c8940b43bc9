// SPDX-License-Identifier: MIT
// Interpreter::create decodes a program once into threaded code, one copy per run loop (checked
// and unchecked; their handler addresses differ): each slot gets its handler's label address,
// its operands, lddw's joined immediate, the destination slot of a jump or local call, and the
// resolved helper of a helper call. Interpreter::run sets up one run and reports how it ended.
#include "vm/interpreter.hpp"

#include "vm/threaded.hpp"

namespace pollen::vm {

using detail::Slot;

struct Interpreter::Code {
  std::vector<isa::Insn> prog;  ///< the original slots, for fault messages
  std::vector<Slot> unchecked;
  std::vector<Slot> checked;
  HelperTable helpers;  ///< a copy, for callx; call's helpers are resolved into the slots
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
  if (isa::is_wide(d.op)) {
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
  return Interpreter(std::move(code));
}

Result<uint64_t> Interpreter::run(const RunArgs& args, const RunOptions& options) const {
  detail::Machine m;
  m.args = args.r;
  m.packet = args.packet.data();
  m.packet_size = args.packet.size();
  m.helpers = &code_->helpers;
  m.budget = options.insn_budget != 0 ? options.insn_budget : ~uint64_t{0};
  m.ctx.env = options.env;
  m.ctx.slot = options.slot;
  m.ctx.checked = options.checked;
  m.ctx.regions = args.regions;
  uint64_t r0 = options.checked ? detail::execute<true>(code_->checked.data(), m)
                                : detail::execute<false>(code_->unchecked.data(), m);
  t_last_insn_count = m.executed;
  if (m.fault.kind != detail::FaultKind::None)
    return detail::describe_fault(m.fault, code_->prog, m.ctx, options.insn_budget);
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

// SPDX-License-Identifier: MIT
// Turns a Fault recorded by the run loop into a located error message, away from the hot loop.
// Memory faults say which access (mnemonic, read or write, size, address, base register and
// offset) and why it failed: outside every region and the stack, past the end of one, or a
// write to a read-only region.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "vm/fault.hpp"

namespace pollen::vm::detail {
namespace {

struct Access {
  std::string_view mnemonic;
  int size;
  bool write;
  uint8_t base;  ///< register holding the base address
  int16_t off;
};

Access access_of(const isa::Insn& insn) {
  isa::Op op = *isa::classify(insn);
  const isa::OpInfo& info = isa::info(op);
  bool load = info.form == isa::Form::Ldx;
  return {info.mnemonic, isa::access_size(op), !load, load ? insn.src : insn.dst, insn.off};
}

std::string operand(const Access& a) {
  return a.off < 0 ? fmt::format("r{} - {}", a.base, -static_cast<int>(a.off))
                   : fmt::format("r{} + {}", a.base, a.off);
}

std::string describe_region(std::string_view name, uint64_t begin, uint64_t size) {
  return fmt::format("the {} ({:#x}+{})", name, begin, size);
}

struct Reason {
  bool read_only;    ///< a write inside a read-only region
  std::string text;  ///< the fact that failed
};

// Why the access at `addr` is not allowed, given that RunContext::allows() said no.
Reason access_reason(const Access& a, uint64_t addr, const RunContext& ctx) {
  Region stack{ctx.stack_begin, ctx.stack_end - ctx.stack_begin, true, "stack"};
  // The run's regions and the memory helpers handed out (map values, ring buffer records).
  std::vector<Region> regions(ctx.regions.begin(), ctx.regions.end());
  for (const DynamicEntry& e : ctx.dynamic.entries())
    if (e.is_memory()) regions.push_back(e.region());
  for (const Region& r : regions) {
    if (!r.contains(addr, 1)) continue;
    if (r.contains(addr, a.size))
      return {true, fmt::format("{} is read-only", describe_region(r.name, r.begin, r.size))};
    return {false,
            fmt::format("runs {} bytes past the end of {}", addr + a.size - (r.begin + r.size),
                        describe_region(r.name, r.begin, r.size))};
  }
  if (stack.contains(addr, 1))
    return {false, fmt::format("runs {} bytes past the end of {}", addr + a.size - ctx.stack_end,
                               describe_region("stack", stack.begin, stack.size))};
  std::string inside;
  for (const Region& r : regions) {
    if (!inside.empty()) inside += ", ";
    inside += describe_region(r.name, r.begin, r.size);
  }
  if (!inside.empty()) inside += " or ";
  return {false, "not inside " + inside + describe_region("stack", stack.begin, stack.size)};
}

std::string access_message(const isa::Insn& insn, uint64_t addr, const RunContext& ctx) {
  Access a = access_of(insn);
  Reason reason = access_reason(a, addr, ctx);
  std::string_view what = reason.read_only ? "write to read-only memory"
                          : a.write        ? "out-of-bounds write"
                                           : "out-of-bounds read";
  return fmt::format("{}: {} of {} bytes at {:#x} ({}; {})", a.mnemonic, what, a.size, addr,
                     operand(a), reason.text);
}

std::string fault_message(const Fault& fault, const isa::Insn& insn, const RunContext& ctx,
                          uint64_t budget) {
  switch (fault.kind) {
    case FaultKind::Access: return access_message(insn, fault.value, ctx);
    case FaultKind::Misaligned: {
      Access a = access_of(insn);
      return fmt::format(
          "{}: misaligned atomic access of {} bytes at {:#x} ({}; atomics need an "
          "address aligned to {})",
          a.mnemonic, a.size, fault.value, operand(a), a.size);
    }
    case FaultKind::CallDepth:
      return fmt::format(
          "call local: too many nested calls (more than {} frames, Linux's "
          "MAX_CALL_FRAMES)",
          kMaxCallFrames);
    case FaultKind::UnknownHelper:
      return insn.opcode == isa::info(isa::Op::Callx).opcode
                 ? fmt::format("call to unknown helper {} (the value of r{})", fault.value,
                               insn.dst)
                 : fmt::format("call to unknown helper {}", insn.imm);
    case FaultKind::HelperFault: return fmt::format("helper {}: {}", fault.value, ctx.fault);
    case FaultKind::Budget: return fmt::format("instruction budget of {} exceeded", budget);
    case FaultKind::Kfunc:
      return fmt::format("call runtime: kfunc calls are not supported (BTF id {})", insn.imm);
    case FaultKind::None: break;
  }
  return "no fault";
}

}  // namespace

Error describe_fault(const Fault& fault, std::span<const isa::Insn> prog, const RunContext& ctx,
                     uint64_t budget) {
  Errc code = fault.kind == FaultKind::Kfunc ? Errc::NotSupported : Errc::RuntimeFault;
  return make_error(code, Location::insn(fault.insn),
                    fault_message(fault, prog[fault.insn], ctx, budget));
}

}  // namespace pollen::vm::detail

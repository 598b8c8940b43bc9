// SPDX-License-Identifier: MIT
// libFuzzer harness: the interpreter against the JIT. The input drives a generator of valid,
// terminating programs (jumps and local calls only go forward, so every run ends), built from
// the rows of opcodes.def: every ALU, jump, load, store, atomic, lddw and packet-load row, helper
// calls (through a table of deterministic test helpers, one of which refuses odd arguments, one
// of which writes through a pointer and one of which runs a callback, as bpf_loop does), callx, local calls up to and beyond Linux's 8 frames,
// kfuncs. Accesses go mostly to the memory (r1) and the stack (r10), sometimes anywhere. The
// program runs in checked mode on both engines, on the same memory, with the same budget (often
// small, so that it runs out mid-block); the JIT is compiled hardened or not, with or without
// BMI2, as the input says. The main function ends by folding r1-r9 into r0. Any difference in
// r0, the fault (kind, instruction, message with stack addresses masked), the memory or the
// instruction count aborts.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <span>
#include <string>
#include <vector>

#include "isa/disassembler.hpp"
#include "isa/isa.hpp"
#include "jit/jit.hpp"
#include "vm/interpreter.hpp"

namespace {

using namespace pollen;
using isa::Form;
using isa::Op;

constexpr size_t kMemorySize = 64;

// The input, read as a stream of choices; past its end every choice is 0.
class Choices {
 public:
  explicit Choices(std::span<const uint8_t> data) : data_(data) {}
  uint8_t byte() { return pos_ < data_.size() ? data_[pos_++] : 0; }
  /// One byte for a small choice, so that each input byte makes more of the program.
  uint32_t below(uint32_t n) { return n == 0 ? 0 : (n <= 256 ? byte() : word()) % n; }
  uint32_t word() { return byte() | byte() << 8 | byte() << 16 | uint32_t(byte()) << 24; }
  bool done() const { return pos_ >= data_.size(); }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// Immediates that hit the lowering's special cases, or anything.
int32_t immediate(Choices& in) {
  constexpr int32_t kSpecial[] = {0,  1,  -1,         2,         3,       7,  8,   31,  32,
                                  63, 64, 0x7fffffff, INT32_MIN, 0x10000, -8, 255, 4096};
  if (in.byte() & 1) return kSpecial[in.below(std::size(kSpecial))];
  return static_cast<int32_t>(in.word());
}

uint64_t test_helper_sum(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                         vm::RunContext*) {
  return a + 2 * b + 3 * c + 5 * d + 7 * e;
}
uint64_t test_helper_refuse_odd(uint64_t a, uint64_t, uint64_t, uint64_t, uint64_t,
                                vm::RunContext* ctx) {
  if (a & 1) ctx->fault = "r1 is odd";
  return a >> 1;
}
uint64_t test_helper_allows(uint64_t a, uint64_t b, uint64_t c, uint64_t, uint64_t,
                            vm::RunContext* ctx) {
  return ctx->allows(a, b & 0xff, c & 1) ? 1 : 0;
}
// Runs callback r1 with r2, r3 (RunContext::call_function), as bpf_loop does; the main function
// (slot 0) is not a callback on the JIT, so it is skipped on both engines.
uint64_t test_helper_callback(uint64_t fn, uint64_t b, uint64_t c, uint64_t, uint64_t,
                              vm::RunContext* ctx) {
  uint64_t r0 = 0;
  if (fn == 0) return 7;
  return ctx->call_function(fn, {b, c, 0, 0, 0}, r0) ? r0 : 0;
}
uint64_t test_helper_store(uint64_t a, uint64_t b, uint64_t, uint64_t, uint64_t,
                           vm::RunContext* ctx) {
  if (!ctx->allows(a, 8, true)) return 1;
  std::memcpy(reinterpret_cast<void*>(a), &b, 8);
  return 0;
}

const vm::HelperTable& test_helpers() {
  static const vm::HelperTable table = [] {
    vm::HelperTable t;
    t.fn[1] = test_helper_sum;
    t.fn[2] = test_helper_refuse_odd;
    t.fn[3] = test_helper_allows;
    t.fn[4] = test_helper_store;
    t.fn[5] = test_helper_callback;
    return t;
  }();
  return table;
}

// One instruction before encoding. Jumps carry how many instructions forward they go (capped
// at the function's exit), local calls the function they call; both become offsets once the
// program is laid out.
struct Gen {
  isa::Decoded d;
  int64_t forward = -1;   ///< jumps
  int64_t function = -1;  ///< local calls
};

std::vector<Op> ops_of(Form form) {
  std::vector<Op> out;
  for (const isa::OpInfo& info : isa::kOps)
    if (info.form == form) out.push_back(info.op);
  return out;
}

isa::Decoded make(Op op, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0,
                  uint64_t imm64 = 0) {
  const isa::OpInfo& info = isa::info(op);
  if (info.sel == isa::Sel::Off) off = static_cast<int16_t>(info.sel_value);
  if (info.sel == isa::Sel::Imm) imm = info.sel_value;
  if (info.sel == isa::Sel::Src) src = static_cast<uint8_t>(info.sel_value);
  return {op, dst, src, off, imm, imm64, 0};
}

// A memory operand: mostly the memory or the stack frame, sometimes anywhere near them.
void memory_operand(Choices& in, uint8_t& base, int16_t& off) {
  switch (in.below(8)) {
    case 0:
    case 1:
    case 2:
    case 3:
      base = 1;
      off = static_cast<int16_t>(static_cast<int>(in.below(kMemorySize + 16)) - 8);
      return;
    case 4:
    case 5:
    case 6:
      base = 10;
      off = static_cast<int16_t>(8 - static_cast<int>(in.below(528)));
      return;
    default: base = static_cast<uint8_t>(in.below(10)); off = static_cast<int16_t>(in.word());
  }
}

// r0-r9: r10 never becomes a value, so no stack address (which differs between the engines)
// reaches r0 or the memory.
uint8_t value_reg(Choices& in) {
  return static_cast<uint8_t>(in.below(10));
}

// Appends a sequence the JIT fuses (x86_alu.cpp), which random rows rarely make: clang's
// zero- and sign-extensions of a u32 (`<<= 32; >>= 32`, in place, after a copy, or into a
// copy), with registers that may be the same or read afterwards.
void generate_idiom(Choices& in, std::vector<Gen>& out) {
  const uint8_t dst = value_reg(in), src = value_reg(in);
  const Op back = in.below(2) ? Op::Rsh64Imm : Op::Arsh64Imm;
  switch (in.below(3)) {
    case 0: out.push_back({make(Op::Mov64Reg, dst, src)}); break;
    case 1:
      out.push_back({make(Op::Lsh64Imm, src, 0, 0, 32)});
      out.push_back({make(Op::Mov64Reg, dst, src)});
      out.push_back({make(back, dst, 0, 0, 32)});
      return;
    default: break;
  }
  out.push_back({make(Op::Lsh64Imm, dst, 0, 0, 32)});
  out.push_back({make(back, dst, 0, 0, 32)});
}

// Appends one instruction of a random row (two for a callx, whose register gets a helper id
// first most of the time) to function `f` of `count`.
void generate_insn(Choices& in, std::vector<Gen>& out, size_t f, size_t count) {
  static const Form kForms[] = {
      Form::AluImm, Form::AluImm,    Form::AluReg, Form::AluReg, Form::AluNeg,
      Form::Endian, Form::MovsxReg,  Form::Lddw,   Form::Ldx,    Form::Ldx,
      Form::St,     Form::Stx,       Form::Stx,    Form::Atomic, Form::JmpImm,
      Form::JmpImm, Form::JmpReg,    Form::Ja,     Form::Ja32,   Form::CallHelper,
      Form::Callx,  Form::CallLocal, Form::LdAbs,  Form::LdInd,  Form::CallKfunc};
  if (in.below(16) == 0) return generate_idiom(in, out);
  const Form form = kForms[in.below(std::size(kForms))];
  const std::vector<Op> ops = ops_of(form);
  const Op op = ops[in.below(static_cast<uint32_t>(ops.size()))];
  const uint8_t dst = value_reg(in), src = value_reg(in);
  const int64_t forward = in.below(12);
  uint8_t base = 0;
  int16_t off = 0;
  switch (form) {
    case Form::AluImm: return out.push_back({make(op, dst, 0, 0, immediate(in))});
    case Form::AluReg:
    case Form::MovsxReg: return out.push_back({make(op, dst, src)});
    case Form::AluNeg:
    case Form::Endian: return out.push_back({make(op, dst)});
    case Form::Lddw:
      // Pseudo sources hold a 32-bit value (the loader's); BPF_PSEUDO_FUNC names a function.
      if (op == Op::Lddw)
        return out.push_back({make(op, dst, 0, 0, 0, uint64_t{in.word()} << 32 | in.word())});
      if (op == Op::LddwFunc) return out.push_back({make(op, dst), -1, in.below(uint32_t(count))});
      return out.push_back({make(op, dst, 0, 0, 0, in.word())});
    case Form::Ldx: memory_operand(in, base, off); return out.push_back({make(op, dst, base, off)});
    case Form::St:
      memory_operand(in, base, off);
      return out.push_back({make(op, base, 0, off, immediate(in))});
    case Form::Stx:
    case Form::Atomic:
      memory_operand(in, base, off);
      return out.push_back({make(op, base, src, off)});
    case Form::JmpImm: return out.push_back({make(op, dst, 0, 0, immediate(in)), forward});
    case Form::JmpReg: return out.push_back({make(op, dst, src), forward});
    case Form::Ja:
    case Form::Ja32: return out.push_back({make(op), forward});
    case Form::CallHelper:
      return out.push_back({make(op, 0, 0, 0, static_cast<int32_t>(in.below(7)))});
    case Form::Callx:
      if (in.below(4) != 0) out.push_back({make(Op::Mov64Imm, dst, 0, 0, int32_t(in.below(7)))});
      return out.push_back({make(op, dst)});
    case Form::CallLocal:
      // Forward only, so no recursion; a chain of calls may still pass 8 frames.
      if (f + 1 >= count) return out.push_back({make(Op::Mov64Imm, dst, 0, 0, 1)});
      return out.push_back(
          {make(op), -1, static_cast<int64_t>(f + 1 + in.below(uint32_t(count - f - 1)))});
    case Form::LdAbs:
      return out.push_back({make(op, 0, 0, 0, static_cast<int32_t>(in.below(80)) - 8)});
    case Form::LdInd:
      return out.push_back({make(op, 0, src, 0, static_cast<int32_t>(in.below(80)) - 8)});
    default: return out.push_back({make(Op::CallKfunc, 0, 0, 0, 9)});
  }
}

// Lays the functions out one after another and resolves jumps and calls to offsets.
std::vector<isa::Insn> encode(const std::vector<std::vector<Gen>>& functions) {
  std::vector<size_t> function_slot;
  std::vector<std::vector<size_t>> slots(functions.size());
  size_t slot = 0;
  for (size_t f = 0; f < functions.size(); ++f) {
    function_slot.push_back(slot);
    for (const Gen& g : functions[f]) {
      slots[f].push_back(slot);
      slot += isa::is_wide(g.d.op) ? 2 : 1;
    }
  }
  std::vector<isa::Insn> out;
  for (size_t f = 0; f < functions.size(); ++f) {
    const size_t last = functions[f].size() - 1;  // the function's exit
    for (size_t i = 0; i < functions[f].size(); ++i) {
      const Gen& g = functions[f][i];
      isa::Decoded d = g.d;
      const auto next = static_cast<int64_t>(slots[f][i] + 1);
      if (g.function >= 0) {
        // A local call's imm, or BPF_PSEUDO_FUNC's (lddw keeps it in the first slot's imm).
        d.imm = static_cast<int32_t>(static_cast<int64_t>(function_slot[g.function]) - next);
        if (isa::is_wide(d.op)) d.imm64 = static_cast<uint32_t>(d.imm);
      } else if (g.forward >= 0) {
        const auto target = static_cast<int64_t>(slots[f][std::min(i + 1 + g.forward, last)]);
        if (d.op == Op::Ja32)
          d.imm = static_cast<int32_t>(target - next);
        else
          d.off = static_cast<int16_t>(target - next);
      }
      for (const isa::Insn& s : isa::encode(d)) out.push_back(s);
    }
  }
  return out;
}

std::vector<isa::Insn> generate(Choices& in) {
  const size_t count = 1 + in.below(10);
  std::vector<std::vector<Gen>> functions(count);
  for (size_t f = 0; f < count; ++f) {
    const size_t length = 1 + in.below(40);
    // An exhausted input would only add the same instruction again and again.
    while (functions[f].size() < length && (functions[f].empty() || !in.done()))
      generate_insn(in, functions[f], f, count);
    // The main function folds every register into r0, so that a wrong value anywhere shows.
    for (uint8_t r = 1; f == 0 && r <= 9; ++r) functions[f].push_back({make(Op::Xor64Reg, 0, r)});
    functions[f].push_back({make(Op::Exit)});
  }
  return encode(functions);
}

[[noreturn]] void fail(std::span<const isa::Insn> prog, const std::string& what) {
  auto listing = isa::disassemble(prog, {isa::Syntax::Conformance, true, false});
  fmt::print(stderr, "fuzz_jit: {}\n{}\n", what, listing ? *listing : "(no listing)");
  std::abort();
}

std::string masked(const Error& e, const void* memory) {
  std::string text = e.str();
  text = std::regex_replace(
      text, std::regex(fmt::format("{:#x}", reinterpret_cast<uintptr_t>(memory))), "<memory>");
  return fmt::format("{} {}", static_cast<int>(e.code),
                     std::regex_replace(text, std::regex("0x[0-9a-f]{6,}"), "<stack>"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Choices in({data, size});
  const uint8_t flags = in.byte();
  jit::JitOptions options;
  options.checked = true;
  options.count_insns = true;
  options.harden = flags & 1;
  options.use_bmi2 = !(flags & 2);
  vm::RunOptions run_options;
  run_options.checked = true;
  run_options.insn_budget = (flags & 4) ? 1 + in.below(200) : 0;
  alignas(16) std::array<uint8_t, kMemorySize> initial;
  for (uint8_t& b : initial) b = in.byte();
  const std::vector<isa::Insn> prog = generate(in);
  if (!isa::validate(prog))
    fail(prog, "the generator made an invalid program: " + isa::validate(prog).error().str());

  // Static, so that no address near it (r1 plus a 16-bit offset) is in either engine's stack:
  // the two stacks lie at different distances from the harness's own frame.
  alignas(16) static std::array<uint8_t, kMemorySize> memory;
  memory = initial;
  const vm::RunArgs args = vm::memory_args(memory);
  auto interp = vm::Interpreter::create(prog, test_helpers());
  auto code = jit::JitProgram::compile(prog, test_helpers(), options);
  if (!interp || !code) fail(prog, "create or compile failed");
  const Result<uint64_t> want = interp->run(args, run_options);
  const uint64_t want_count = vm::Interpreter::last_insn_count();
  const std::array<uint8_t, kMemorySize> want_memory = memory;
  memory = initial;
  const Result<uint64_t> got = code->run(args, run_options);
  const uint64_t got_count = jit::JitProgram::last_insn_count();

  if (want.ok() != got.ok())
    fail(prog, fmt::format("interpreter {}, JIT {}", want ? "ok" : want.error().str(),
                           got ? "ok" : got.error().str()));
  if (want.ok() && *want != *got) fail(prog, fmt::format("r0 {:#x} != {:#x}", *want, *got));
  if (!want.ok() && masked(want.error(), memory.data()) != masked(got.error(), memory.data()))
    fail(prog, fmt::format("fault\n  interpreter: {}\n  JIT:         {}", want.error().str(),
                           got.error().str()));
  if (memory != want_memory) fail(prog, "memory differs");
  if (want_count != got_count)
    fail(prog, fmt::format("instruction count {} != {}", want_count, got_count));
  return 0;
}

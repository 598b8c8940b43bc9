// SPDX-License-Identifier: MIT
// The shadow interpreter (see shadow_run.hpp). Semantics are Linux's (division by zero gives
// 0, modulo by zero keeps the dividend, shift counts are masked, JMP32 compares low halves),
// written here independently of src/vm so that the two can be compared: the fuzz target checks
// that the shadow's r0 equals the interpreter's.
#include "shadow_run.hpp"

#include <cstring>

#include <fmt/format.h>

#include "helpers/helpers.hpp"
#include "verifier/stack_state.hpp"

namespace pollen::test {
namespace {

using isa::Form;
using isa::Op;

constexpr size_t kFrame = 512;
constexpr size_t kFrames = 8;

uint64_t sx(uint64_t v, unsigned bits) {
  if (bits >= 64) return v;
  uint64_t sign = uint64_t{1} << (bits - 1), mask = (sign << 1) - 1;
  v &= mask;
  return v & sign ? v | ~mask : v;
}

uint64_t alu(uint8_t code, bool sign, uint64_t a, uint64_t b, bool w) {
  if (w) {
    a &= 0xffffffffu;
    b &= 0xffffffffu;
  }
  unsigned bits = w ? 32 : 64;
  uint64_t r = 0;
  auto s = [&](uint64_t x) { return static_cast<int64_t>(sx(x, bits)); };
  switch (code) {
    case 0x00: r = a + b; break;
    case 0x10: r = a - b; break;
    case 0x20: r = a * b; break;
    case 0x30:
      if (b == 0)
        r = 0;
      else if (sign && s(b) == -1)
        r = 0 - a;
      else
        r = sign ? static_cast<uint64_t>(s(a) / s(b)) : a / b;
      break;
    case 0x90:
      if (b == 0)
        r = a;
      else if (sign && s(b) == -1)
        r = 0;
      else
        r = sign ? static_cast<uint64_t>(s(a) % s(b)) : a % b;
      break;
    case 0x40: r = a | b; break;
    case 0x50: r = a & b; break;
    case 0x60: r = a << (b % bits); break;
    case 0x70: r = a >> (b % bits); break;
    case 0xa0: r = a ^ b; break;
    case 0xb0: r = b; break;
    case 0xc0: r = static_cast<uint64_t>(s(a) >> (b % bits)); break;
    default: break;
  }
  return w ? r & 0xffffffffu : r;
}

bool condition(Op op, uint64_t a, uint64_t b) {
  bool w = isa::is_jmp32(op);
  if (w) {
    a &= 0xffffffffu;
    b &= 0xffffffffu;
  }
  auto s = [&](uint64_t x) { return static_cast<int64_t>(sx(x, w ? 32 : 64)); };
  switch (isa::info(op).opcode & 0xf0) {
    case 0x10: return a == b;
    case 0x20: return a > b;
    case 0x30: return a >= b;
    case 0x40: return (a & b) != 0;
    case 0x50: return a != b;
    case 0x60: return s(a) > s(b);
    case 0x70: return s(a) >= s(b);
    case 0xa0: return a < b;
    case 0xb0: return a <= b;
    case 0xc0: return s(a) < s(b);
    default: return s(a) <= s(b);  // 0xd0
  }
}

class Shadow {
 public:
  explicit Shadow(const ShadowInput& in)
      : in_(in), stack_(kFrame * kFrames, 0), stack_def_(kFrame * kFrames, false) {
    for (size_t i = 0; i < in.prog.size(); ++i) {
      isa::Decoded d = *isa::decode(in.prog, i);
      code_.push_back(d);
      if (isa::is_wide(d.op)) code_.push_back(d), ++i;
    }
    for (int r = 1; r <= 5; ++r) {
      reg_[r] = in.args[static_cast<size_t>(r - 1)];
      def_[r] = in.defined[static_cast<size_t>(r - 1)];
    }
    top_ = reinterpret_cast<uint64_t>(stack_.data()) + stack_.size();
    reg_[10] = top_;
    def_[10] = true;
  }

  ShadowResult run();

 private:
  struct Frame {
    size_t ret;
    std::array<uint64_t, 4> saved;
    std::array<bool, 4> saved_def;
  };

  bool fail(size_t pc, std::string what) {
    fault_ = fmt::format("insn {}: {}", pc, what);
    return false;
  }
  bool read(size_t pc, int r, uint64_t& v) {
    if (!def_[r]) return fail(pc, fmt::format("r{} is read before it was written", r));
    v = reg_[r];
    return true;
  }
  void write(int r, uint64_t v, bool defined = true) {
    reg_[r] = v;
    def_[r] = defined;
  }
  uint64_t stack_bottom() const { return top_ - kFrame * (calls_.size() + 1); }
  bool access(size_t pc, uint64_t addr, size_t len, bool write);
  void mark_written(uint64_t addr, size_t len);
  bool step(size_t& pc, bool& done);
  bool alu_step(size_t pc, const isa::Decoded& d);
  bool mem_step(size_t pc, const isa::Decoded& d);
  bool atomic_step(size_t pc, const isa::Decoded& d);
  bool call_helper(size_t pc, const isa::Decoded& d);
  bool legacy_load(size_t pc, const isa::Decoded& d, bool& done);

  const ShadowInput& in_;
  std::vector<isa::Decoded> code_;
  std::array<uint64_t, 11> reg_{};
  std::array<bool, 11> def_{};
  std::vector<Frame> calls_;
  std::vector<uint8_t> stack_;
  std::vector<bool> stack_def_;
  uint64_t top_ = 0;
  std::string fault_;
  vm::DynamicRegions dynamic_;  ///< what helpers handed out (ring buffer records) so far
};

bool Shadow::access(size_t pc, uint64_t addr, size_t len, bool write) {
  uint64_t bottom = stack_bottom();
  if (addr >= bottom && addr - bottom <= top_ - bottom && len <= top_ - addr) {
    size_t base = addr - reinterpret_cast<uint64_t>(stack_.data());
    for (size_t i = 0; i < len; ++i) {
      if (write)
        stack_def_[base + i] = true;
      else if (!stack_def_[base + i])
        return fail(pc, fmt::format("reads stack byte fp{} before it was written",
                                    static_cast<int64_t>(addr + i) -
                                        static_cast<int64_t>(top_ - kFrame * calls_.size())));
    }
    return true;
  }
  for (const vm::Region& r : in_.regions)
    if (r.contains(addr, len) && (r.writable || !write)) return true;
  if (dynamic_.allows(addr, len, write)) return true;
  return fail(pc, fmt::format("{} of {} bytes at {:#x} is outside the program's memory",
                              write ? "a store" : "a load", len, addr));
}

void Shadow::mark_written(uint64_t addr, size_t len) {
  uint64_t base = reinterpret_cast<uint64_t>(stack_.data());
  if (addr < base || addr - base > stack_.size() || len > stack_.size() - (addr - base)) return;
  for (size_t i = 0; i < len; ++i) stack_def_[addr - base + i] = true;
}

bool Shadow::alu_step(size_t pc, const isa::Decoded& d) {
  const isa::OpInfo& info = d.info();
  bool w = isa::is_alu32(d.op);
  uint8_t code = info.opcode & 0xf0;
  uint64_t a = 0, b = 0;
  if (info.form == Form::AluReg || info.form == Form::MovsxReg) {
    if (!read(pc, d.src, b)) return false;
  } else {
    b = static_cast<uint64_t>(static_cast<int64_t>(d.imm));
  }
  bool mov = code == 0xb0 && info.form != Form::MovsxReg;
  if (!mov && info.form != Form::MovsxReg && !read(pc, d.dst, a)) return false;
  switch (info.form) {
    case Form::AluNeg: write(d.dst, alu(0x10, false, 0, a, w)); return true;
    case Form::MovsxReg:
      write(d.dst, w ? sx(b, static_cast<unsigned>(d.off)) & 0xffffffffu
                     : sx(b, static_cast<unsigned>(d.off)));
      return true;
    case Form::Endian: {
      unsigned bits = static_cast<unsigned>(d.imm);
      bool swap = info.opcode == 0xd7 || info.opcode == 0xdc;  // little-endian host
      uint64_t v = bits == 64 ? a : a & ((uint64_t{1} << bits) - 1);
      if (swap)
        v = bits == 16   ? __builtin_bswap16(static_cast<uint16_t>(v))
            : bits == 32 ? __builtin_bswap32(static_cast<uint32_t>(v))
                         : __builtin_bswap64(v);
      write(d.dst, v);
      return true;
    }
    default: write(d.dst, alu(code, d.off == 1, a, b, w)); return true;
  }
}

bool Shadow::mem_step(size_t pc, const isa::Decoded& d) {
  size_t size = static_cast<size_t>(isa::access_size(d.op));
  Form form = d.info().form;
  uint64_t base = 0, value = 0;
  if (!read(pc, form == Form::Ldx ? d.src : d.dst, base)) return false;
  uint64_t addr = base + static_cast<uint64_t>(static_cast<int64_t>(d.off));
  if (form == Form::Ldx) {
    if (!access(pc, addr, size, false)) return false;
    std::memcpy(&value, reinterpret_cast<const void*>(addr), size);
    bool sign = d.op == Op::LdxsB || d.op == Op::LdxsH || d.op == Op::LdxsW;
    write(d.dst, sign ? sx(value, static_cast<unsigned>(size * 8)) : value);
    return true;
  }
  if (form == Form::Stx && !read(pc, d.src, value)) return false;
  if (form == Form::St) value = static_cast<uint64_t>(static_cast<int64_t>(d.imm));
  if (!access(pc, addr, size, true)) return false;
  std::memcpy(reinterpret_cast<void*>(addr), &value, size);
  return true;
}

bool Shadow::atomic_step(size_t pc, const isa::Decoded& d) {
  size_t size = static_cast<size_t>(isa::access_size(d.op));
  uint64_t base = 0, src = 0, r0 = 0, old = 0;
  if (!read(pc, d.dst, base) || !read(pc, d.src, src)) return false;
  bool cmpxchg = d.op == Op::AtomicCmpxchg32 || d.op == Op::AtomicCmpxchg64;
  if (cmpxchg && !read(pc, 0, r0)) return false;
  uint64_t addr = base + static_cast<uint64_t>(static_cast<int64_t>(d.off));
  if (!access(pc, addr, size, false) || !access(pc, addr, size, true)) return false;
  std::memcpy(&old, reinterpret_cast<const void*>(addr), size);
  uint64_t mask = size == 8 ? ~uint64_t{0} : 0xffffffffu, result = old;
  switch (d.imm & 0xf0) {
    case 0x00: result = old + src; break;
    case 0x40: result = old | src; break;
    case 0x50: result = old & src; break;
    case 0xa0: result = old ^ src; break;
    case 0xe0: result = src; break;
    default: result = (old & mask) == (r0 & mask) ? src : old; break;  // cmpxchg
  }
  std::memcpy(reinterpret_cast<void*>(addr), &result, size);
  if (cmpxchg)
    write(0, old & mask);
  else if (d.imm & 0x01)
    write(d.src, old & mask);
  return true;
}

bool Shadow::call_helper(size_t pc, const isa::Decoded& d) {
  auto id = static_cast<uint32_t>(d.imm);
  const helpers::HelperProto* proto = in_.platform->helper(id);
  vm::HelperFn fn = in_.helpers->find(id);
  if (!proto || !fn) return fail(pc, fmt::format("helper {} does not exist", d.imm));
  std::array<uint64_t, 6> a{};
  for (int r = 1; r <= 5; ++r)
    if (proto->args[static_cast<size_t>(r - 1)] != helpers::ArgKind::None && !read(pc, r, a[r]))
      return false;
  vm::RunContext ctx;
  ctx.env = in_.env;
  ctx.checked = true;
  ctx.regions = in_.regions;
  ctx.stack_begin = stack_bottom();
  ctx.stack_end = top_;
  ctx.dynamic = dynamic_;
  uint64_t r0 = fn(reg_[1], reg_[2], reg_[3], reg_[4], reg_[5], &ctx);
  dynamic_ = ctx.dynamic;
  if (!ctx.fault.empty()) return fail(pc, ctx.fault);
  // Memory the helper wrote is initialised now.
  for (int r = 1; r <= 4; ++r) {
    helpers::ArgKind k = proto->args[static_cast<size_t>(r - 1)];
    if (k == helpers::ArgKind::PtrToUninitMem || k == helpers::ArgKind::PtrToWritableMemOrNull)
      mark_written(reg_[r], reg_[r + 1]);
    if (k == helpers::ArgKind::PtrToLong) mark_written(reg_[r], 8);
  }
  for (int r = 1; r <= 5; ++r) def_[r] = false;
  write(0, r0, proto->ret != helpers::RetKind::Void);
  return true;
}

bool Shadow::legacy_load(size_t pc, const isa::Decoded& d, bool& done) {
  int64_t off = d.imm;
  if (d.info().form == Form::LdInd) {
    uint64_t v = 0;
    if (!read(pc, d.src, v)) return false;
    off = static_cast<int32_t>(
        static_cast<uint32_t>(v + static_cast<uint64_t>(static_cast<int64_t>(d.imm))));
  }
  size_t size = static_cast<size_t>(isa::access_size(d.op));
  for (int r = 1; r <= 5; ++r) def_[r] = false;
  if (off < 0 || static_cast<uint64_t>(off) + size > in_.packet.size()) {
    write(0, 0);
    done = true;  // outside the packet: the program ends with r0 = 0, as in Linux
    return true;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < size; ++i) v = v << 8 | in_.packet[static_cast<size_t>(off) + i];
  write(0, v);
  return true;
}

bool Shadow::step(size_t& pc, bool& done) {
  const isa::Decoded& d = code_[pc];
  size_t next = pc + (isa::is_wide(d.op) ? 2 : 1);
  switch (d.info().form) {
    case Form::AluImm:
    case Form::AluReg:
    case Form::AluNeg:
    case Form::Endian:
    case Form::MovsxReg:
      if (!alu_step(pc, d)) return false;
      break;
    case Form::Lddw: write(d.dst, d.imm64); break;
    case Form::LdAbs:
    case Form::LdInd:
      if (!legacy_load(pc, d, done)) return false;
      break;
    case Form::Ldx:
    case Form::St:
    case Form::Stx:
      if (!mem_step(pc, d)) return false;
      break;
    case Form::Atomic:
      if (!atomic_step(pc, d)) return false;
      break;
    case Form::Ja:
    case Form::Ja32: next = static_cast<size_t>(*isa::branch_target(d, pc)); break;
    case Form::JmpImm:
    case Form::JmpReg: {
      uint64_t a = 0, b = static_cast<uint64_t>(static_cast<int64_t>(d.imm));
      if (!read(pc, d.dst, a) || (d.info().form == Form::JmpReg && !read(pc, d.src, b)))
        return false;
      if (condition(d.op, a, b)) next = static_cast<size_t>(*isa::branch_target(d, pc));
      break;
    }
    case Form::CallHelper:
      if (!call_helper(pc, d)) return false;
      break;
    case Form::CallLocal: {
      if (calls_.size() + 1 >= kFrames) return fail(pc, "call stack too deep");
      calls_.push_back(
          {next, {reg_[6], reg_[7], reg_[8], reg_[9]}, {def_[6], def_[7], def_[8], def_[9]}});
      for (int r : {0, 6, 7, 8, 9}) def_[r] = false;
      reg_[10] -= kFrame;
      size_t base = reg_[10] - kFrame - reinterpret_cast<uint64_t>(stack_.data());
      std::fill(stack_def_.begin() + static_cast<std::ptrdiff_t>(base),
                stack_def_.begin() + static_cast<std::ptrdiff_t>(base + kFrame), false);
      next = static_cast<size_t>(*isa::branch_target(d, pc));
      break;
    }
    case Form::Exit: {
      uint64_t r0 = 0;
      if (!read(pc, 0, r0)) return false;
      if (calls_.empty()) {
        done = true;
        break;
      }
      Frame f = calls_.back();
      calls_.pop_back();
      for (int i = 0; i < 4; ++i)
        write(6 + i, f.saved[static_cast<size_t>(i)], f.saved_def[static_cast<size_t>(i)]);
      for (int r = 1; r <= 5; ++r) def_[r] = false;
      reg_[10] += kFrame;
      next = f.ret;
      break;
    }
    case Form::CallKfunc:
    case Form::Callx: return fail(pc, "kfunc and callx are not run here");
  }
  pc = next;
  return true;
}

ShadowResult Shadow::run() {
  size_t pc = 0;
  bool done = false;
  for (uint64_t n = 0; !done; ++n) {
    if (n == in_.budget)
      return {fmt::format("insn {}: instruction budget of {} exhausted", pc, in_.budget), 0};
    if (!step(pc, done)) return {fault_, 0};
  }
  // A root program may leak a stack address as a number (r10 + 8, read back from where it was
  // spilled at a variable offset): one frame of slack on either side of the stack.
  uint64_t base = reinterpret_cast<uint64_t>(stack_.data());
  return {"", reg_[0], reg_[0] >= base - kFrame && reg_[0] <= top_ + kFrame};
}

}  // namespace

ShadowResult shadow_run(const ShadowInput& in) {
  return Shadow(in).run();
}

}  // namespace pollen::test

// SPDX-License-Identifier: MIT
// Loads, stores and atomics, after Linux's check_mem_access() and the per-kind checks it calls:
// stack accesses (check_stack_access_within_bounds, strict alignment, spill and fill), context
// accesses (check_ctx_access: unmodified pointer, the program type's field rules), packet
// accesses (check_packet_access: inside the range a bounds check proved), map values and sized
// memory (check_map_access / check_mem_region_access: inside the value for every possible
// offset). Helper memory arguments use the same rules (check_helper_mem_access).
#include <algorithm>

#include <fmt/format.h>

#include "verifier/checker.hpp"

namespace pollen::verifier {
namespace {

constexpr int64_t kMaxVarOff = int64_t{1} << 29;

std::string fp(int64_t off) {
  return fmt::format("fp{}", off);
}

const char* verb(bool write) {
  return write ? "store" : "load";
}

}  // namespace

struct Checker::MemAccess {
  uint32_t pc = 0;
  int ptr = 0;      ///< the register holding the address
  int16_t off = 0;  ///< the instruction's offset
  int size = 0;
  bool write = false;
  bool atomic = false;
  bool sign_extend = false;         ///< ldsx
  const RegState* value = nullptr;  ///< a store's value (a register, or the immediate)
  int value_reg = -1;               ///< the stored register; -1 for an immediate
};

std::optional<Checker::Step> Checker::note_pointer_class(uint32_t pc, const State& s, int reg,
                                                         bool ctx) {
  // Context accesses are rewritten after verification, so one instruction may not access the
  // context on one path and other memory on another (Linux: "same insn cannot be used with
  // different pointers").
  uint8_t cls = ctx ? 1 : 2;
  if (pointer_class_[pc] != 0 && pointer_class_[pc] != cls)
    return fail(pc, s,
                "this instruction accesses the context on one path and other memory on "
                "another; the same instruction cannot be used with different pointers",
                {reg}, "use separate instructions for context and other accesses");
  pointer_class_[pc] = cls;
  return std::nullopt;
}

std::optional<Checker::Step> Checker::check_access(State& s, const MemAccess& a, RegState* loaded) {
  if (auto e = require_init(a.pc, s, a.ptr)) return e;
  const RegState& p = s.reg(a.ptr);
  if (auto e = note_pointer_class(a.pc, s, a.ptr, p.type == RegType::Ctx)) return e;
  switch (p.type) {
    case RegType::NotInit: break;
    case RegType::Scalar:
      return fail(
          a.pc, s,
          fmt::format("r{} is a number, not a pointer: cannot {} through it", a.ptr, verb(a.write)),
          {a.ptr},
          p.value.is_zero() ? "r" + std::to_string(a.ptr) + " is 0 here: a null pointer" : "");
    case RegType::Stack: return access_stack(s, a, loaded);
    case RegType::Ctx: return access_ctx(s, a, loaded);
    case RegType::Packet:
    case RegType::PacketMeta: return access_packet(s, a, loaded);
    case RegType::MapValue:
    case RegType::MapKey:
    case RegType::Mem: return access_sized(s, a, loaded);
    case RegType::Func:
      return fail(a.pc, s, fmt::format("r{} points to a function, not to memory", a.ptr), {a.ptr});
    case RegType::MemOrNull:
    case RegType::MapValueOrNull:
      return fail(
          a.pc, s, fmt::format("r{} may be null", a.ptr), {a.ptr},
          fmt::format("add a null check `if (r{} == 0) goto ...` before this access", a.ptr));
    case RegType::MapPtr:
      return fail(a.pc, s, fmt::format("r{} points to a map, not to memory", a.ptr), {a.ptr},
                  "use bpf_map_lookup_elem() to get a pointer to a value");
    case RegType::PacketEnd:
      return fail(a.pc, s,
                  fmt::format("r{} is the end of the packet: nothing at or after it may be "
                              "accessed",
                              a.ptr),
                  {a.ptr});
  }
  return std::nullopt;
}

std::optional<Checker::Step> Checker::access_stack(State& s, const MemAccess& a, RegState* loaded) {
  const RegState& p = s.reg(a.ptr);
  int64_t off = int64_t{p.off} + a.off;
  // Stack accesses are always strictly aligned: spill tracking depends on it.
  if (!tnum_add(p.value.var_off, Tnum::constant(static_cast<uint64_t>(off))).is_aligned(a.size))
    return fail(
        a.pc, s,
        fmt::format("misaligned stack access: offset {} is not a multiple of {}", fp(off), a.size),
        {a.ptr});
  int64_t lo = p.value.smin + off, hi = p.value.smax + off + a.size;
  if (lo < -kStackSize || hi > 0)
    return fail(a.pc, s,
                fmt::format("stack access out of bounds: bytes [{}, {}) are outside the "
                            "frame [fp-{}, fp)",
                            fp(lo), fp(hi), kStackSize),
                {a.ptr});
  FrameState& frame = s.frames[p.frame];
  uint32_t& depth = facts_.stack_depth[frame.function];
  depth = std::max(depth, static_cast<uint32_t>(-lo));
  StackSpan span{&frame, p.frame, static_cast<int>(lo), static_cast<int>(hi), p.value.is_const()};
  return a.write ? stack_store(s, a, span) : stack_load(s, a, span, loaded);
}

std::optional<Checker::Step> Checker::stack_store(State& s, const MemAccess& a,
                                                  const StackSpan& span) {
  const RegState* v = a.value;
  if (v && is_pointer(v->type) && a.size != 8)
    return fail(a.pc, s,
                fmt::format("invalid size of register spill: a pointer must be stored "
                            "with 8 bytes, not {}",
                            a.size),
                {a.value_reg});
  // Linux: "cannot spill pointers to stack into stack frame of the caller" (nor of a callee).
  if (v && v->type == RegType::Stack && span.frame_index != s.frame_index())
    return fail(a.pc, s, "a stack pointer cannot be stored in the stack of another frame",
                {a.value_reg});
  if (span.fixed && v)
    span.frame->stack.write(span.lo, a.size, *v);
  else
    span.frame->stack.write_somewhere(span.lo, span.hi);
  return std::nullopt;
}

std::optional<Checker::Step> Checker::stack_load(State& s, const MemAccess& a,
                                                 const StackSpan& span, RegState* loaded) {
  StackReadError error{};
  const StackState& stack = span.frame->stack;
  std::optional<RegState> r =
      span.fixed ? stack.read(span.lo, a.size, error) : stack.read_somewhere(span.lo, span.hi);
  if (!r)
    return fail(a.pc, s,
                fmt::format("invalid size of register fill: the pointer spilled at {} is "
                            "read with {} bytes",
                            fp((error.off - 7) / 8 * 8), a.size),
                {a.ptr});
  note_unwritten_read(*span.frame, span.lo, span.hi);
  if (loaded) *loaded = *r;
  return std::nullopt;
}

std::optional<Checker::Step> Checker::access_ctx(State& s, const MemAccess& a, RegState* loaded) {
  const RegState& p = s.reg(a.ptr);
  if (p.off != 0 || !p.value.is_zero())
    return fail(a.pc, s, "dereference of a modified context pointer is not allowed", {a.ptr},
                "read context fields at a constant offset from the context pointer itself");
  if (a.atomic) return fail(a.pc, s, "atomic operations on the context are not allowed", {a.ptr});
  if (type_.ctx_model == CtxModel::Buffer) {
    if (a.off < 0 || a.off + a.size > static_cast<int64_t>(type_.ctx_size) || a.off % a.size != 0)
      return fail(a.pc, s, fmt::format("invalid context access: off={} size={}", a.off, a.size),
                  {a.ptr});
    facts_.max_ctx_offset = std::max(facts_.max_ctx_offset, static_cast<uint32_t>(a.off + a.size));
    if (loaded) *loaded = RegState::unknown();
    return std::nullopt;
  }
  CtxCheck c = check_ctx_field(type_, a.off, a.size, a.write);
  if (!c.field)
    return fail(a.pc, s,
                fmt::format("invalid {} access to the {} context: off={} size={}: {}",
                            a.write ? "write" : "read", type_.name, a.off, a.size, c.why),
                {a.ptr});
  ctx_field_[a.pc] = c.field;
  ctx_offset_[a.pc] = static_cast<uint16_t>(a.off);
  if (!loaded) return std::nullopt;
  switch (c.field->kind) {
    case FieldKind::Scalar: *loaded = RegState::unknown(); return std::nullopt;
    case FieldKind::PacketData: *loaded = RegState::pointer(RegType::Packet); break;
    case FieldKind::PacketEnd: *loaded = RegState::pointer(RegType::PacketEnd); break;
    case FieldKind::PacketMeta: *loaded = RegState::pointer(RegType::PacketMeta); break;
  }
  if (a.sign_extend)
    return fail(a.pc, s, fmt::format("a sign-extending load of {} is not allowed", c.field->name),
                {a.ptr});
  return std::nullopt;
}

std::optional<Checker::Step> Checker::access_packet(State& s, const MemAccess& a,
                                                    RegState* loaded) {
  const RegState& p = s.reg(a.ptr);
  if (a.write && !type_.packet_write)
    return fail(a.pc, s, fmt::format("{} programs may not write into the packet", type_.name),
                {a.ptr});
  if (a.atomic) return fail(a.pc, s, "atomic operations on the packet are not allowed", {a.ptr});
  if (p.value.smin < 0)
    return fail(a.pc, s, fmt::format("r{}'s variable offset may be negative", a.ptr), {a.ptr},
                "use an unsigned offset, or check it with `if (rX s< 0) goto ...` first");
  int64_t off = int64_t{p.off} + a.off;
  if (off >= 0 && off + a.size <= p.range) {
    if (loaded) *loaded = RegState::unknown();
    return std::nullopt;
  }
  std::string what = fmt::format(
      "invalid access to packet: bytes [{}, {}) from the packet "
      "pointer's base, but only [0, {}) are proven inside the packet",
      off, off + a.size, p.range);
  if (off < 0) return fail(a.pc, s, what, {a.ptr});
  const char* end = p.type == RegType::PacketMeta ? "data" : "data_end";
  std::string hint =
      p.value.is_zero() && p.type == RegType::Packet
          ? fmt::format("add a check `if (data + {} > data_end) goto ...` before this access",
                        off + a.size)
          : fmt::format("add a check `if (r{} + {} > {}) goto ...` before this access", a.ptr,
                        a.off + a.size, end);
  return fail(a.pc, s, what, {a.ptr}, hint);
}

std::optional<Checker::Step> Checker::access_sized(State& s, const MemAccess& a, RegState* loaded) {
  const RegState& p = s.reg(a.ptr);
  bool key = p.type == RegType::MapKey;
  bool map = p.type == RegType::MapValue || key;
  const MapInfo* info = map ? platform_.map_info(p.map) : nullptr;
  if (map && !info) return fail(a.pc, s, "internal error: a map value of an unknown map", {a.ptr});
  if (key && a.write)
    return fail(a.pc, s, fmt::format("write to change key r{} not allowed", a.ptr), {a.ptr});
  if (a.write && info && info->read_only)
    return fail(
        a.pc, s,
        fmt::format("map {} is read-only for programs: its values cannot be written", p.map),
        {a.ptr});
  uint64_t limit = key ? info->key_size : map ? info->value_size : p.mem_size;
  const char* what = key ? "map key" : map ? "map value" : "memory";
  int64_t off = int64_t{p.off} + a.off;
  if (p.value.smin + off < 0)
    return fail(a.pc, s,
                fmt::format("r{} min value is negative: the access may be before the "
                            "start of the {}",
                            a.ptr, what),
                {a.ptr}, "use an unsigned index, or check `if (rX s< 0) goto ...` first");
  if (p.value.umax >= static_cast<uint64_t>(kMaxVarOff))
    return fail(a.pc, s, fmt::format("unbounded memory access through r{}", a.ptr), {a.ptr},
                "bound the index first, e.g. `rX &= MASK` or `if (rX > N) goto ...`");
  uint64_t end = p.value.umax + static_cast<uint64_t>(off) + static_cast<uint64_t>(a.size);
  if (off < 0 || end > limit)
    return fail(a.pc, s,
                fmt::format("invalid access to {}: bytes up to {} may be accessed, but it "
                            "has {}",
                            what, end, limit),
                {a.ptr},
                p.value.is_const() ? "" : "check the index against the size before this access");
  // Linux: "bpf_spin_lock cannot be accessed directly by load/store".
  if (info && !key && info->spin_lock_off) {
    int64_t lock = *info->spin_lock_off;
    int64_t first = p.value.smin + off, last = static_cast<int64_t>(end);
    if (first < lock + 4 && lock < last)
      return fail(a.pc, s, "bpf_spin_lock cannot be accessed directly by load/store", {a.ptr});
  }
  if (loaded) *loaded = RegState::unknown();
  return std::nullopt;
}

Checker::Step Checker::check_load(State& s, uint32_t pc, const isa::Decoded& d) {
  MemAccess a;
  a.pc = pc;
  a.ptr = d.src;
  a.off = d.off;
  a.size = isa::access_size(d.op);
  a.sign_extend = d.op == isa::Op::LdxsB || d.op == isa::Op::LdxsH || d.op == isa::Op::LdxsW;
  RegState loaded;
  if (auto e = check_access(s, a, &loaded)) return *e;
  if (loaded.is_scalar() && a.size < 8) {
    Scalar before = loaded.value;
    if (a.sign_extend)
      loaded.value = scalar_sign_extend(loaded.value, static_cast<unsigned>(a.size) * 8);
    else
      loaded.value.truncate(static_cast<unsigned>(a.size));
    if (!(loaded.value == before)) loaded.id = 0;
  }
  s.reg(d.dst) = loaded;
  return next(pc);
}

Checker::Step Checker::check_store(State& s, uint32_t pc, const isa::Decoded& d) {
  MemAccess a;
  a.pc = pc;
  a.ptr = d.dst;
  a.off = d.off;
  a.size = isa::access_size(d.op);
  a.write = true;
  RegState imm = RegState::known(static_cast<uint64_t>(static_cast<int64_t>(d.imm)));
  if (d.info().form == isa::Form::Stx) {
    if (auto e = require_init(pc, s, d.src)) return *e;
    a.value_reg = d.src;
    a.value = &s.reg(d.src);
  } else {
    a.value = &imm;
  }
  // The stored register's state is copied before the store changes the stack it may be on.
  RegState value = *a.value;
  a.value = &value;
  if (auto e = check_access(s, a, nullptr)) return *e;
  return next(pc);
}

Checker::Step Checker::check_atomic(State& s, uint32_t pc, const isa::Decoded& d) {
  bool cmpxchg = d.op == isa::Op::AtomicCmpxchg32 || d.op == isa::Op::AtomicCmpxchg64;
  for (int r : {static_cast<int>(d.dst), static_cast<int>(d.src)})
    if (auto e = require_init(pc, s, r)) return *e;
  if (cmpxchg)
    if (auto e = require_init(pc, s, 0)) return *e;
  const RegState& p = s.reg(d.dst);
  int size = isa::access_size(d.op);
  if (p.type != RegType::Stack && p.type != RegType::MapValue && p.type != RegType::Mem &&
      is_pointer(p.type) && !maybe_null(p.type))
    return fail(pc, s,
                fmt::format("atomic operations on {} are not allowed", reg_type_name(p.type)),
                {d.dst});
  // Atomics need natural alignment whatever the memory (Linux: strict_alignment_once).
  Tnum at =
      tnum_add(p.value.var_off, Tnum::constant(static_cast<uint64_t>(int64_t{p.off} + d.off)));
  if (is_pointer(p.type) && !at.is_aligned(static_cast<uint64_t>(size)))
    return fail(pc, s, fmt::format("misaligned atomic access: it needs {}-byte alignment", size),
                {d.dst});
  MemAccess a;
  a.pc = pc;
  a.ptr = d.dst;
  a.off = d.off;
  a.size = size;
  a.atomic = true;
  RegState old;
  if (auto e = check_access(s, a, &old)) return *e;
  a.write = true;
  if (auto e = check_access(s, a, nullptr)) return *e;
  Scalar fetched = size == 8 ? Scalar::unknown() : Scalar::of_size(4);
  if (cmpxchg)
    s.reg(0) = RegState::scalar(fetched);
  else if (d.imm & 0x01)  // BPF_FETCH
    s.reg(d.src) = RegState::scalar(fetched);
  return next(pc);
}

std::optional<Checker::Step> Checker::check_helper_memory(State& s, uint32_t pc, int reg,
                                                          uint64_t min_size, uint64_t max_size,
                                                          bool write) {
  const RegState& p = s.reg(reg);
  if (p.type == RegType::Stack) return helper_stack_memory(s, pc, reg, min_size, max_size, write);
  // Only syscall programs may hand their context (a plain buffer) to helpers.
  if (p.type == RegType::Ctx && type_.ctx_model == CtxModel::Buffer && p.value.is_zero() &&
      p.off >= 0 && p.off + max_size <= type_.ctx_size) {
    facts_.max_ctx_offset =
        std::max(facts_.max_ctx_offset, static_cast<uint32_t>(p.off + max_size));
    return std::nullopt;
  }
  if (p.type == RegType::Ctx)
    return fail(pc, s, "the context cannot be passed as helper memory", {reg});
  if (max_size == 0 && is_pointer(p.type) && !maybe_null(p.type)) return std::nullopt;
  MemAccess a;
  a.pc = pc;
  a.ptr = reg;
  a.size = static_cast<int>(max_size);
  a.write = write;
  if (is_packet(p.type)) {
    if (!helper_packet_access_)
      return fail(pc, s, "helper access to the packet is not allowed for this helper", {reg},
                  "copy the bytes to the stack first");
    return access_packet(s, a, nullptr);
  }
  if (p.type == RegType::MapValue || p.type == RegType::Mem || p.type == RegType::MapKey)
    return access_sized(s, a, nullptr);
  if (auto e = check_access(s, a, nullptr)) return e;
  return fail(pc, s, fmt::format("r{} must point to memory", reg), {reg});
}

// A helper's memory on the stack: inside the frame; bytes it may read that were never written
// noted (unwritten_reads); the bytes it surely writes (the minimum size, at a known offset)
// written afterwards.
std::optional<Checker::Step> Checker::helper_stack_memory(State& s, uint32_t pc, int reg,
                                                          uint64_t min_size, uint64_t max_size,
                                                          bool write) {
  const RegState& p = s.reg(reg);
  FrameState& frame = s.frames[p.frame];
  int64_t lo = p.value.smin + p.off, hi = p.value.smax + p.off + static_cast<int64_t>(max_size);
  if (lo < -kStackSize || hi > 0)
    return fail(pc, s,
                fmt::format("helper memory out of stack bounds: bytes [{}, {})", fp(lo), fp(hi)),
                {reg});
  uint32_t& depth = facts_.stack_depth[frame.function];
  depth = std::max(depth, static_cast<uint32_t>(-lo));
  if (write) {
    int64_t sure = p.value.is_const() ? static_cast<int64_t>(min_size) : 0;
    frame.stack.fill(static_cast<int>(lo), static_cast<int>(lo + sure));
    frame.stack.write_somewhere(static_cast<int>(lo + sure), static_cast<int>(hi));
    return std::nullopt;
  }
  note_unwritten_read(frame, static_cast<int>(lo), static_cast<int>(hi));
  return std::nullopt;
}

void Checker::note_unwritten_read(const FrameState& frame, int lo, int hi) {
  std::optional<std::pair<int, int>> bytes = frame.stack.unwritten(lo, hi);
  if (!bytes) return;
  std::pair<int, int>& range = facts_.unwritten_reads[frame.function];
  if (range.first == range.second)
    range = *bytes;
  else
    range = {std::min(range.first, bytes->first), std::max(range.second, bytes->second)};
}

}  // namespace pollen::verifier

// SPDX-License-Identifier: MIT
// Calls, exits and legacy packet loads. Helper calls are checked against the helper's
// prototype as data (Linux's check_helper_call / check_func_arg): each argument against its
// kind, sizes against the memory they describe, then r1-r5 are lost and r0 is typed from the
// return kind. Calls of static functions get a frame of their own and are verified in the
// caller's context (Linux's check_func_call), up to eight frames; global functions are
// verified on their own and a call only checks its arguments against their BTF prototype
// (btf_check_subprog_call); exit returns to the caller or ends the path,
// where the program type's return rule applies (check_return_code). Callbacks (bpf_loop,
// bpf_for_each_map_elem) run in a frame of their own whose exit goes back to the helper call,
// which may call them again (Linux's push_callback_call); ring buffer records are references
// that every path must release (acquire_reference / release_reference / check_reference_leak);
// bpf_spin_lock allows no other call until bpf_spin_unlock (process_spin_lock).
#include <algorithm>

#include <fmt/format.h>

#include "verifier/checker.hpp"
#include "verifier/map_rules.hpp"
#include "verifier/verifier.hpp"

namespace pollen::verifier {
namespace {

using helpers::ArgKind;

// Linux's BPF_MAX_VAR_SIZ: helper sizes must be below this.
constexpr uint64_t kMaxVarSize = uint64_t{1} << 29;

void clobber_caller_saved(State& s) {
  for (int r = 1; r <= 5; ++r) s.reg(r) = RegState::not_init();
}

}  // namespace

std::optional<Checker::Step> Checker::check_helper_args(State& s, uint32_t pc,
                                                        const helpers::HelperProto& p,
                                                        std::optional<uint32_t>& map) {
  for (int r = 1; r <= 5; ++r) {
    ArgKind kind = p.args[static_cast<size_t>(r - 1)];
    if (kind == ArgKind::None) continue;
    if (auto e = require_init(pc, s, r)) return e;
    if (auto e = check_helper_arg(s, pc, p, r, map)) return e;
  }
  return std::nullopt;
}

std::optional<Checker::Step> Checker::check_helper_arg(State& s, uint32_t pc,
                                                       const helpers::HelperProto& p, int r,
                                                       std::optional<uint32_t>& map) {
  const RegState& reg = s.reg(r);
  switch (p.args[static_cast<size_t>(r - 1)]) {
    case ArgKind::None:
    case ArgKind::Anything:
    // Memory arguments are checked with the size argument that follows them.
    case ArgKind::PtrToMem:
    case ArgKind::PtrToMemOrNull:
    case ArgKind::PtrToWritableMemOrNull:
    case ArgKind::PtrToWritableMem:
    case ArgKind::PtrToUninitMem: return std::nullopt;
    case ArgKind::ConstMapPtr:
      if (reg.type != RegType::MapPtr)
        return fail(pc, s, fmt::format("argument {} of {} must be a map", r, p.name), {r},
                    "load the map with lddw (e.g. `r1 = map ll`) right before the call");
      map = reg.map;
      return check_map_compatibility(s, pc, p, r, reg.map);
    case ArgKind::PtrToCtx:
      if (reg.type != RegType::Ctx || reg.off != 0 || !reg.value.is_zero())
        return fail(
            pc, s,
            fmt::format("argument {} of {} must be the unmodified context pointer", r, p.name),
            {r});
      return std::nullopt;
    case ArgKind::PtrToMapKey:
    case ArgKind::PtrToMapValue:
    case ArgKind::PtrToUninitMapValue: return check_map_arg(s, pc, p, r, map);
    case ArgKind::ConstSize:
    case ArgKind::ConstSizeOrZero: return check_size_arg(s, pc, p, r);
    case ArgKind::PtrToInt:
    case ArgKind::PtrToLong: {
      const uint64_t size = p.args[static_cast<size_t>(r - 1)] == ArgKind::PtrToInt ? 4 : 8;
      // An int is read before it is written; a long is only written.
      if (size == 4)
        if (auto e = check_helper_memory(s, pc, r, 4, 4, false)) return e;
      if (auto e = check_helper_memory(s, pc, r, size, size, true)) return e;
      if (!tnum_add(reg.value.var_off, Tnum::constant(static_cast<uint64_t>(int64_t{reg.off})))
               .is_aligned(size))
        return fail(pc, s,
                    fmt::format("argument {} of {} must be {}-byte aligned", r, p.name, size), {r});
      return std::nullopt;
    }
    case ArgKind::PtrToStackOrNull:
      if (reg.type == RegType::Stack || reg.is_known(0)) return std::nullopt;
      return fail(
          pc, s, fmt::format("argument {} of {} must point to the stack, or be 0", r, p.name), {r});
    case ArgKind::ConstAllocSizeOrZero:
      // Linux: the size of the record must be known ("R2 is not a known constant").
      if (!reg.is_scalar() || !reg.value.is_const())
        return fail(pc, s,
                    fmt::format("r{} is not a known constant: the size {} returns", r, p.name), {r},
                    fmt::format("pass a constant size, e.g. `r{} = 16`", r));
      alloc_size_ = reg.value.const_value();
      return std::nullopt;
    case ArgKind::PtrToConstStr: return check_const_str_arg(s, pc, p, r);
    case ArgKind::PtrToFunc: return check_func_arg(s, pc, p, r);
    case ArgKind::PtrToSpinLock: return check_spin_lock_arg(s, pc, p, r);
    case ArgKind::PtrToRingbufMem: return check_release_arg(s, pc, p, r);
  }
  return fail(pc, s, fmt::format("{} takes an argument the verifier does not know", p.name), {});
}

std::optional<Checker::Step> Checker::check_func_arg(State& s, uint32_t pc,
                                                     const helpers::HelperProto& p, int r) {
  const RegState& reg = s.reg(r);
  if (reg.type != RegType::Func)
    return fail(pc, s,
                fmt::format("argument {} of {} must be a function (type=func), loaded with "
                            "lddw src=4",
                            r, p.name),
                {r});
  return std::nullopt;
}

// Linux's OBJ_RELEASE arguments: the very pointer the acquiring helper returned, not null, not
// moved ("must have zero offset when passed to release func").
std::optional<Checker::Step> Checker::check_release_arg(State& s, uint32_t pc,
                                                        const helpers::HelperProto& p, int r) {
  const RegState& reg = s.reg(r);
  if (reg.type == RegType::MemOrNull)
    return fail(pc, s, fmt::format("r{} type=ringbuf_mem_or_null expected=ringbuf_mem", r), {r},
                fmt::format("check `if (r{} == 0) goto ...` first", r));
  if (reg.type != RegType::Mem || reg.ref == 0)
    return fail(pc, s,
                fmt::format("argument {} of {} must be a record from bpf_ringbuf_reserve that "
                            "was not released yet (expected=ringbuf_mem)",
                            r, p.name),
                {r});
  if (reg.off != 0 || !reg.value.is_zero())
    return fail(pc, s, fmt::format("r{} must have zero offset when passed to release func", r),
                {r});
  release_ref_ = reg.ref;
  return std::nullopt;
}

std::optional<Checker::Step> Checker::check_spin_lock_arg(State& s, uint32_t pc,
                                                          const helpers::HelperProto& p, int r) {
  const RegState& reg = s.reg(r);
  if (reg.type != RegType::MapValue)
    return fail(
        pc, s,
        fmt::format("argument {} of {} must point to the bpf_spin_lock of a map value", r, p.name),
        {r});
  const MapInfo* info = platform_.map_info(reg.map);
  if (!info || !info->spin_lock_off)
    return fail(pc, s, fmt::format("map {} has no valid bpf_spin_lock", reg.map), {r},
                "the map's value type must have a struct bpf_spin_lock member (needs BTF)");
  if (!reg.value.is_const())
    return fail(pc, s,
                fmt::format("r{} doesn't have constant offset. bpf_spin_lock has to be at the "
                            "constant offset",
                            r),
                {r});
  int64_t off = reg.off + static_cast<int64_t>(reg.value.const_value());
  if (off != *info->spin_lock_off)
    return fail(pc, s,
                fmt::format("off {} doesn't point to 'struct bpf_spin_lock' that is at {}", off,
                            *info->spin_lock_off),
                {r});
  HeldLock lock{reg.map, reg.id};
  // Taking a second lock is refused before this, as any call but bpf_spin_unlock is while a
  // lock is held (check_call_rules).
  if (p.id == helpers::id::kSpinLock) {
    s.lock = lock;
    return std::nullopt;
  }
  if (!s.lock) return fail(pc, s, "bpf_spin_unlock without taking a lock", {r});
  if (!(*s.lock == lock)) return fail(pc, s, "bpf_spin_unlock of different lock", {r});
  s.lock.reset();
  return std::nullopt;
}

// Linux's ARG_PTR_TO_CONST_STR: a NUL-terminated string at a constant offset of a read-only
// map's value, whose bytes the verifier reads (check_reg_const_str).
std::optional<Checker::Step> Checker::check_const_str_arg(State& s, uint32_t pc,
                                                          const helpers::HelperProto& p, int r) {
  const RegState& reg = s.reg(r);
  const MapInfo* info = reg.type == RegType::MapValue ? platform_.map_info(reg.map) : nullptr;
  if (!info)
    return fail(
        pc, s, fmt::format("argument {} of {} must be a constant string in a map value", r, p.name),
        {r});
  if (!info->read_only)
    return fail(pc, s, fmt::format("r{} does not point to a readonly map", r), {r},
                "use a string literal or a const global (in .rodata)");
  if (!reg.value.is_const())
    return fail(pc, s, fmt::format("r{} is not a constant address", r), {r});
  uint64_t off = static_cast<uint64_t>(reg.off) + reg.value.const_value();
  if (off >= info->value_size)
    return fail(pc, s, fmt::format("r{} points outside the map value", r), {r});
  if (off >= info->data.size() || std::find(info->data.begin() + static_cast<std::ptrdiff_t>(off),
                                            info->data.end(), 0) == info->data.end())
    return fail(pc, s, "string is not zero-terminated", {r});
  return std::nullopt;
}

std::optional<Checker::Step> Checker::check_map_compatibility(const State& s, uint32_t pc,
                                                              const helpers::HelperProto& p, int r,
                                                              uint32_t map) const {
  const MapInfo* info = platform_.map_info(map);
  if (!info) return fail(pc, s, fmt::format("internal error: map {} has no description", map), {r});
  std::string why = map_helper_refusal(p.id, info->type);
  if (why.empty()) return std::nullopt;
  return fail(pc, s, fmt::format("{}#{}: {}", p.name, p.id, why), {r});
}

std::optional<Checker::Step> Checker::check_map_arg(State& s, uint32_t pc,
                                                    const helpers::HelperProto& p, int r,
                                                    const std::optional<uint32_t>& map) {
  ArgKind kind = p.args[static_cast<size_t>(r - 1)];
  const MapInfo* info = map ? platform_.map_info(*map) : nullptr;
  if (!info)
    return fail(pc, s, fmt::format("{}: no map argument before the key or value", p.name), {});
  uint64_t size = kind == ArgKind::PtrToMapKey ? info->key_size : info->value_size;
  return check_helper_memory(s, pc, r, size, size, kind == ArgKind::PtrToUninitMapValue);
}

std::optional<Checker::Step> Checker::check_size_arg(State& s, uint32_t pc,
                                                     const helpers::HelperProto& p, int r) {
  ArgKind kind = p.args[static_cast<size_t>(r - 1)];
  ArgKind mem = r > 1 ? p.args[static_cast<size_t>(r - 2)] : ArgKind::None;
  const RegState& reg = s.reg(r);
  if (!reg.is_scalar())
    return fail(pc, s, fmt::format("argument {} of {} must be a size, not a pointer", r, p.name),
                {r});
  const Scalar& v = reg.value;
  if (v.smin < 0)
    return fail(pc, s, fmt::format("r{} min value is negative: the size may be below 0", r), {r},
                fmt::format("check `if (r{} s< 0) goto ...` or use an unsigned size", r));
  if (v.umax >= kMaxVarSize)
    return fail(pc, s, fmt::format("unbounded memory access: the size in r{} is not bounded", r),
                {r},
                fmt::format("bound it first, e.g. `r{0} &= 0xff` or `if (r{0} > N) goto ...`", r));
  if (v.umin == 0 && kind == ArgKind::ConstSize)
    return fail(pc, s, fmt::format("invalid zero-sized read: the size in r{} may be 0", r), {r},
                fmt::format("check `if (r{} == 0) goto ...` before the call", r));
  bool may_be_null = mem == ArgKind::PtrToMemOrNull || mem == ArgKind::PtrToWritableMemOrNull;
  if (may_be_null && s.reg(r - 1).is_known(0)) {
    if (v.umax == 0) return std::nullopt;
    return fail(pc, s, fmt::format("r{} is null but the size in r{} may not be 0", r - 1, r),
                {r - 1, r});
  }
  switch (mem) {
    case ArgKind::PtrToMem:
    case ArgKind::PtrToMemOrNull: return check_helper_memory(s, pc, r - 1, v.umin, v.umax, false);
    case ArgKind::PtrToUninitMem: return check_helper_memory(s, pc, r - 1, v.umin, v.umax, true);
    case ArgKind::PtrToWritableMemOrNull:
    case ArgKind::PtrToWritableMem:
      if (auto e = check_helper_memory(s, pc, r - 1, v.umin, v.umax, false)) return e;
      return check_helper_memory(s, pc, r - 1, v.umin, v.umax, true);
    default: return fail(pc, s, fmt::format("{}: a size with no memory before it", p.name), {});
  }
}

// Rules on the call itself, before its arguments: the license, locks and references held.
std::optional<Checker::Step> Checker::check_call_rules(const State& s, uint32_t pc,
                                                       const helpers::HelperProto& p) {
  uint32_t id = p.id;
  if (!allows_helper(type_, id))
    return fail(pc, s, fmt::format("{} programs may not call {}#{}", type_.name, p.name, id), {});
  if (p.gpl_only && !license_is_gpl_compatible(license))
    return fail(pc, s,
                fmt::format("cannot call GPL-restricted function {}#{} from non-GPL compatible "
                            "program (license \"{}\")",
                            p.name, id, license),
                {});
  if (s.lock && id != helpers::id::kSpinUnlock)
    return fail(pc, s, "function calls are not allowed while holding a lock", {},
                "call bpf_spin_unlock first");
  if (id == helpers::id::kTailCall) {
    // From a called function the target takes that function's place (Linux's x86-64 JIT; the
    // stack limit for it is in check_combined_stack). Linux refuses it in a callback, whose
    // caller is a helper.
    if (std::any_of(s.frames.begin(), s.frames.end(), [](const FrameState& f) { return f.callback; }))
      return fail(pc, s, "bpf_tail_call is not allowed in a callback", {},
                  "make the tail call after the helper that runs the callback returns");
    // From a called function the target returns, and the function still releases what it
    // holds (Linux checks the leak in frame 0 only).
    if (!s.refs.empty() && s.frames.size() == 1)
      return fail(pc, s, "tail_call would lead to reference leak", {},
                  "submit or discard the ring buffer record first");
  }
  return std::nullopt;
}

Checker::Step Checker::check_helper_call(State& s, uint32_t pc, const isa::Decoded& d) {
  auto id = static_cast<uint32_t>(d.imm);
  const helpers::HelperProto* proto = d.imm >= 0 ? platform_.helper(id) : nullptr;
  if (!proto)
    return fail(pc, s, fmt::format("unknown helper #{}: Pollen has no helper with this id", d.imm),
                {});
  if (auto e = check_call_rules(s, pc, *proto)) return *e;
  std::optional<uint32_t> map;
  helper_packet_access_ = helper_takes_packet(id);
  release_ref_ = 0;
  alloc_size_ = 0;
  // A callback call keeps the arguments: its callback's exit comes back here.
  State before = proto->callback != helpers::Callback::None ? s : State{};
  if (auto e = check_helper_args(s, pc, *proto, map)) return *e;
  const bool never_null = id == helpers::id::kMapLookupElem && map && in_bounds_key(s, *map);
  if (proto->callback != helpers::Callback::None)
    return check_callback_call(s, std::move(before), pc, *proto, map);
  if (release_ref_) {
    // Every copy of the record, and every pointer derived from it, is a number now (Linux:
    // release_reference, mark_reg_invalid for a privileged load).
    uint32_t ref = release_ref_;
    s.for_each_reg([&](RegState& r) {
      if (r.ref == ref) r = RegState::unknown();
    });
    std::erase_if(s.refs, [&](const Reference& x) { return x.id == ref; });
  }
  clobber_caller_saved(s);
  if (helper_changes_packet(id)) clear_packet_pointers(s);
  if (proto->ret == helpers::RetKind::MapValueOrNull && !map)
    return fail(pc, s, fmt::format("{}: returns a map value but takes no map", proto->name), {});
  set_return(s, pc, *proto, map);
  if (never_null) s.reg(0).type = RegType::MapValue;
  return next(pc);
}

// An ARRAY or PERCPU_ARRAY lookup whose key (r2) is a constant within max_entries cannot fail
// (Linux 6.14's can_elide_value_nullness, with get_constant_map_key's idea of a constant: key
// bytes all known zero, or a scalar spilled at the key's address with the key's size).
bool Checker::in_bounds_key(const State& s, uint32_t map) const {
  constexpr uint32_t kArray = 2, kPercpuArray = 6;
  const MapInfo* info = platform_.map_info(map);
  if (!info || (info->type != kArray && info->type != kPercpuArray)) return false;
  const RegState& key = s.reg(2);
  if (key.type != RegType::Stack || !key.value.is_const() || key.frame >= s.frames.size())
    return false;
  const int64_t off = int64_t{key.off} + static_cast<int64_t>(key.value.const_value());
  if (off < -kStackSize || off >= 0 || info->key_size == 0 || info->key_size > 8) return false;
  const StackSlot* slot = s.frames[key.frame].stack.slot_at(static_cast<int>(off));
  if (!slot) return false;
  const auto first = static_cast<size_t>(off + 8 * ((-off - 1) / 8 + 1));
  if (first + info->key_size > 8) return false;
  uint64_t value = 0;
  if (std::all_of(slot->bytes.begin() + static_cast<ptrdiff_t>(first),
                  slot->bytes.begin() + static_cast<ptrdiff_t>(first + info->key_size),
                  [](SlotType t) { return t == SlotType::Zero; })) {
    value = 0;
  } else if (first == 0 && slot->has_spill() && slot->spill_size == info->key_size &&
             slot->spilled.is_scalar() && slot->spilled.value.is_const()) {
    // The key is the spill's low bytes (a narrow spill keeps the register's full value).
    value = slot->spilled.value.const_value();
    if (info->key_size < 8) value &= (uint64_t{1} << (8 * info->key_size)) - 1;
  } else {
    return false;
  }
  return value < info->max_entries;
}

void Checker::set_return(State& s, uint32_t pc, const helpers::HelperProto& p,
                         const std::optional<uint32_t>& map) {
  switch (p.ret) {
    case helpers::RetKind::Integer: s.reg(0) = RegState::unknown(); break;
    case helpers::RetKind::Void: s.reg(0) = RegState::not_init(); break;
    case helpers::RetKind::AllocMemOrNull: {
      // A reference the program must release on every path (Linux: acquire_reference).
      RegState r = RegState::pointer(RegType::MemOrNull);
      r.mem_size = static_cast<uint32_t>(alloc_size_);
      r.id = new_id();
      r.ref = r.id;
      s.refs.push_back({r.ref, pc});
      s.reg(0) = r;
      break;
    }
    case helpers::RetKind::MapValueOrNull:
      // A map-in-map's value is its inner map: the null check makes it a map pointer.
      s.reg(0) = RegState::pointer(RegType::MapValueOrNull);
      s.reg(0).map = *map;
      s.reg(0).id = new_id();
      break;
  }
}

// The call forks: the callback runs (again) in a frame of its own, whose exit comes back to
// this call with the caller's state as it is then; or the helper is done, with what the
// callbacks so far did to the caller's stack (Linux's push_callback_call,
// set_loop_callback_state, set_map_elem_callback_state).
Checker::Step Checker::check_callback_call(State& s, State before, uint32_t pc,
                                           const helpers::HelperProto& p,
                                           const std::optional<uint32_t>& map) {
  if (s.frames.size() >= kMaxFrames)
    return fail(pc, s,
                fmt::format("the call stack of {} frames is too deep (limit {})",
                            s.frames.size() + 1, kMaxFrames),
                {}, "at most 7 local calls and callbacks may be nested");
  uint32_t target = before.reg(2).mem_size;
  FrameState callee;
  callee.callsite = pc;
  callee.function = cfg_.function_of[target];
  callee.callback = true;
  callee.refs_at_entry = static_cast<uint32_t>(before.refs.size());
  callee.regs[kFp] = RegState::pointer(RegType::Stack);
  callee.regs[kFp].frame = static_cast<uint32_t>(before.frames.size());
  if (p.callback == helpers::Callback::Loop) {
    callee.regs[1] = RegState::unknown();  // the index (Linux: an unknown scalar)
    callee.regs[2] = before.reg(3);
  } else {
    const MapInfo* info = platform_.map_info(*map);
    callee.regs[1] = RegState::pointer(RegType::MapPtr);
    callee.regs[1].map = *map;
    callee.regs[2] = RegState::pointer(RegType::MapKey);
    callee.regs[2].map = *map;
    callee.regs[2].mem_size = info ? info->key_size : 0;
    callee.regs[3] = RegState::pointer(RegType::MapValue);
    callee.regs[3].map = *map;
    callee.regs[4] = before.reg(3);
  }
  Step step;
  step.kind = Kind::Fork;
  step.taken = std::move(before);
  step.taken->frames.push_back(std::move(callee));
  step.taken_pc = target;
  step.next = pc + 1;
  clobber_caller_saved(s);
  s.reg(0) = RegState::unknown();
  return step;
}

Checker::Step Checker::check_local_call(State& s, uint32_t pc, const isa::Decoded& d) {
  // A static function is verified as part of the caller, lock held (Linux 6.9+); a global one
  // is verified on its own, without it.
  auto target_pc = static_cast<uint32_t>(*isa::branch_target(d, pc));
  if (s.lock && global_function(target_pc))
    return fail(pc, s, "global function calls are not allowed while holding a lock", {},
                "call bpf_spin_unlock first, or make the function static");
  if (s.frames.size() >= kMaxFrames)
    return fail(pc, s,
                fmt::format("the call stack of {} frames is too deep (limit {})",
                            s.frames.size() + 1, kMaxFrames),
                {}, "recursion is not allowed, and at most 7 local calls may be nested");
  auto target = static_cast<uint32_t>(*isa::branch_target(d, pc));
  if (const FunctionInfo* global = global_function(target))
    return check_global_call(s, pc, *global);
  FrameState callee;
  callee.callsite = pc;
  callee.function = cfg_.function_of[target];
  for (int r = 1; r <= 5; ++r) callee.regs[static_cast<size_t>(r)] = s.reg(r);
  callee.regs[kFp] = RegState::pointer(RegType::Stack);
  callee.regs[kFp].frame = static_cast<uint32_t>(s.frames.size());
  // The callee gets copies of the arguments; in the caller they are lost at the return.
  clobber_caller_saved(s);
  s.frames.push_back(std::move(callee));
  return Step::to(target);
}

// A global function is verified on its own (once, from its BTF prototype); a call checks the
// arguments against that prototype and gets an unknown number back (Linux:
// btf_check_subprog_call, then r0 = unknown for a global subprogram).
Checker::Step Checker::check_global_call(State& s, uint32_t pc, const FunctionInfo& f) {
  // Linux (btf_prepare_func_args): "Global function ...() doesn't return scalar".
  if (f.returns_void)
    return fail(pc, s,
                fmt::format("the global function at insn {} returns void: Linux supports only "
                            "global functions that return a number",
                            f.insn),
                {}, "return an int from it, or make it static");
  for (int r = 1; r <= f.arg_count && r <= 5; ++r) {
    const GlobalArg& a = f.args[static_cast<size_t>(r - 1)];
    if (auto e = require_init(pc, s, r)) return *e;
    const RegState& reg = s.reg(r);
    switch (a.kind) {
      case GlobalArg::Kind::Scalar:
        if (!reg.is_scalar())
          return fail(pc, s,
                      fmt::format("r{} is not a scalar: the global function takes a number", r),
                      {r});
        break;
      case GlobalArg::Kind::Ctx:
        if (reg.type != RegType::Ctx || reg.off != 0 || !reg.value.is_zero())
          return fail(pc, s,
                      fmt::format("arg#{} expected pointer to ctx, but got {}", r - 1,
                                  reg_type_name(reg.type)),
                      {r});
        break;
      case GlobalArg::Kind::MemOrNull: {
        if (reg.is_known(0)) break;
        // The callee may read and write all of it (Linux: check_mem_reg, which takes packet
        // memory too). Maybe null is fine: the callee checks (PTR_MAYBE_NULL), so the memory
        // is checked as if it were there.
        const RegState saved = reg;
        if (saved.type == RegType::MapValueOrNull) s.reg(r).type = RegType::MapValue;
        if (saved.type == RegType::MemOrNull) s.reg(r).type = RegType::Mem;
        helper_packet_access_ = true;
        std::optional<Step> e = check_helper_memory(s, pc, r, a.size, a.size, false);
        if (!e) e = check_helper_memory(s, pc, r, a.size, a.size, true);
        s.reg(r) = saved;
        if (e) return *e;
        break;
      }
      case GlobalArg::Kind::Unsupported:
        return fail(pc, s,
                    fmt::format("arg#{} of the global function at insn {} has a type Linux does "
                                "not support",
                                r - 1, f.insn),
                    {});
    }
  }
  clobber_caller_saved(s);
  // The callee may have changed the packet (Linux 6.13+: changes_pkt_data of the subprogram).
  if (changes_packet_[cfg_.function_of[f.insn]]) clear_packet_pointers(s);
  s.reg(0) = RegState::unknown();
  return next(pc);
}

Checker::Step Checker::check_exit(State& s, uint32_t pc) {
  // A static function may return nothing (Linux 6.x: a void subprogram leaves r0 unset in
  // the caller, which reading it then refuses).
  bool void_global = global_entry && global_entry->returns_void && s.frames.size() == 1;
  if (s.reg(0).type == RegType::NotInit && !void_global &&
      (s.frames.size() == 1 || s.top().callback))
    return fail(pc, s, "r0 is not set at exit", {},
                "set the return value on every path to exit, e.g. `r0 = 0`");
  RegState r0 = s.reg(0);
  if (s.top().callback) return check_callback_exit(s, pc);
  if (s.frames.size() > 1) {
    // A callee's stack ends here; Linux refuses any stack pointer, to be conservative
    // (prepare_func_exit). Other pointers go back to the caller as they are.
    if (r0.type == RegType::Stack)
      return fail(pc, s, "cannot return stack pointer to the caller", {0});
    uint32_t callsite = s.top().callsite;
    const bool changed_packet = changes_packet_[s.top().function];
    s.frames.pop_back();
    s.reg(0) = r0;
    // A tail call the function made may have changed the packet (its helpers already cleared
    // the pointers where they were called): Linux clears them at the return too.
    if (changed_packet) clear_packet_pointers(s);
    return Step::to(callsite + 1);
  }
  // Linux's check_resource_leak at the main function's exit.
  if (s.lock)
    return fail(pc, s,
                "bpf_spin_unlock is missing: BPF_EXIT instruction in main prog cannot be used "
                "inside bpf_spin_lock-ed region",
                {});
  if (!s.refs.empty())
    return fail(pc, s,
                fmt::format("Unreleased reference id={} alloc_insn={}: BPF_EXIT instruction in "
                            "main prog would lead to reference leak",
                            s.refs.front().id, s.refs.front().insn),
                {}, "submit or discard the ring buffer record on every path");
  if (global_entry) {
    if (!global_entry->returns_void && !r0.is_scalar())
      return fail(pc, s, "At subprogram exit the register R0 is not a scalar value", {0});
    return Step::done();
  }
  if (type_.return_range) {
    auto [lo, hi] = *type_.return_range;
    if (!r0.is_scalar())
      return fail(pc, s, fmt::format("r0 at exit must be a number for {} programs", type_.name),
                  {0});
    if (r0.value.smin < lo || r0.value.smax > hi)
      return fail(
          pc, s,
          fmt::format("r0 at exit may be outside [{}, {}], the values {} programs may return", lo,
                      hi, type_.name),
          {0});
  }
  return Step::done();
}

Checker::Step Checker::check_callback_exit(State& s, uint32_t pc) {
  const RegState& r0 = s.reg(0);
  // Linux: callback_ret_range is [0, 1] for bpf_loop and bpf_for_each_map_elem.
  if (!r0.is_scalar())
    return fail(pc, s, "at callback return r0 must be a number, not a pointer", {0});
  if (r0.value.smin < 0 || r0.value.smax > 1)
    return fail(pc, s,
                fmt::format("At callback return the register R0 has smin={} smax={} should have "
                            "been in [0, 1]",
                            r0.value.smin, r0.value.smax),
                {0}, "return 0 to go on, or 1 to stop");
  if (s.refs.size() != s.top().refs_at_entry)
    return fail(pc, s,
                fmt::format("Unreleased reference id={} alloc_insn={}: a callback must release "
                            "what it acquires",
                            s.refs.back().id, s.refs.back().insn),
                {});
  uint32_t callsite = s.top().callsite;
  s.frames.pop_back();
  Step step = Step::to(callsite);
  step.callback_return = true;
  return step;
}

Checker::Step Checker::check_legacy_load(State& s, uint32_t pc, const isa::Decoded& d) {
  if (!type_.legacy_packet_loads)
    return fail(pc, s, fmt::format("{} programs may not use ld_abs or ld_ind", type_.name), {});
  // A load outside the packet ends the program; Linux allows that only from the main function
  // (without BTF of the functions: "LD_ABS is not allowed in subprogs without BTF").
  if (s.frames.size() > 1 || global_entry)
    return fail(pc, s, "ld_abs and ld_ind are not allowed in called functions", {});
  // They may end the program, which would leak references and locks (Linux: check_ld_abs).
  if (!s.refs.empty() || s.lock)
    return fail(pc, s,
                "ld_abs and ld_ind cannot be mixed with socket references or a held spin lock", {});
  const RegState& r6 = s.reg(6);
  if (type_.legacy_loads_need_ctx_in_r6 &&
      (r6.type != RegType::Ctx || r6.off != 0 || !r6.value.is_zero()))
    return fail(pc, s, "ld_abs and ld_ind need the context (struct __sk_buff *) in r6", {6},
                "copy it there first: `r6 = r1`");
  if (d.info().form == isa::Form::LdInd)
    if (auto e = require_init(pc, s, d.src)) return *e;
  clobber_caller_saved(s);
  s.reg(0) = RegState::scalar(Scalar::of_size(static_cast<unsigned>(isa::access_size(d.op))));
  return next(pc);
}

}  // namespace pollen::verifier

// SPDX-License-Identifier: MIT
// Calls, exits and legacy packet loads. Helper calls are checked against the helper's
// prototype as data (Linux's check_helper_call / check_func_arg): each argument against its
// kind, sizes against the memory they describe, then r1-r5 are lost and r0 is typed from the
// return kind. Local calls get a frame of their own and are verified in the caller's context
// (Linux's check_func_call), up to eight frames; exit returns to the caller or ends the path,
// where the program type's return rule applies (check_return_code).
#include <fmt/format.h>

#include "verifier/checker.hpp"
#include "verifier/map_rules.hpp"

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
    case ArgKind::PtrToLong:
      if (auto e = check_helper_memory(s, pc, r, 8, 8, true)) return e;
      if (!tnum_add(reg.value.var_off, Tnum::constant(static_cast<uint64_t>(int64_t{reg.off})))
               .is_aligned(8))
        return fail(pc, s, fmt::format("argument {} of {} must be 8-byte aligned", r, p.name), {r});
      return std::nullopt;
    case ArgKind::PtrToStackOrNull:
      if (reg.type == RegType::Stack || reg.is_known(0)) return std::nullopt;
      return fail(
          pc, s, fmt::format("argument {} of {} must point to the stack, or be 0", r, p.name), {r});
    case ArgKind::ConstAllocSizeOrZero:
    case ArgKind::PtrToConstStr:
    case ArgKind::PtrToFunc:
    case ArgKind::PtrToSpinLock:
    case ArgKind::PtrToRingbufMem: break;
  }
  return fail(pc, s,
              fmt::format("{} takes an argument the verifier does not support yet "
                          "(callbacks, spin locks, ring buffer records, constant strings)",
                          p.name),
              {});
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
      if (auto e = check_helper_memory(s, pc, r - 1, v.umin, v.umax, false)) return e;
      return check_helper_memory(s, pc, r - 1, v.umin, v.umax, true);
    default: return fail(pc, s, fmt::format("{}: a size with no memory before it", p.name), {});
  }
}

Checker::Step Checker::check_helper_call(State& s, uint32_t pc, const isa::Decoded& d) {
  auto id = static_cast<uint32_t>(d.imm);
  const helpers::HelperProto* proto = d.imm >= 0 ? platform_.helper(id) : nullptr;
  if (!proto)
    return fail(pc, s, fmt::format("unknown helper #{}: Pollen has no helper with this id", d.imm),
                {});
  if (!allows_helper(type_, id))
    return fail(pc, s, fmt::format("{} programs may not call {}#{}", type_.name, proto->name, id),
                {});
  // Pollen's engines jump to the next program only from the main function (Linux's
  // interpreter does not mix tail calls with bpf-to-bpf calls either).
  if (id == helpers::id::kTailCall && s.frames.size() > 1)
    return fail(pc, s, "bpf_tail_call is allowed in the main function only", {});
  std::optional<uint32_t> map;
  helper_packet_access_ = helper_takes_packet(id);
  if (auto e = check_helper_args(s, pc, *proto, map)) return *e;
  clobber_caller_saved(s);
  // The packet may have moved or shrunk: every pointer into it, in every frame and on the
  // stack, is a number now (Linux: clear_all_pkt_pointers; a root load keeps the bits).
  if (helper_changes_packet(id))
    s.for_each_reg([](RegState& r) {
      if (is_packet(r.type) || r.type == RegType::PacketEnd) r = RegState::unknown();
    });
  switch (proto->ret) {
    case helpers::RetKind::Integer: s.reg(0) = RegState::unknown(); break;
    case helpers::RetKind::Void: s.reg(0) = RegState::not_init(); break;
    case helpers::RetKind::AllocMemOrNull:
      return fail(pc, s,
                  fmt::format("{} returns a ring buffer record, which the verifier does not "
                              "support yet",
                              proto->name),
                  {});
    case helpers::RetKind::MapValueOrNull:
      if (!map)
        return fail(pc, s, fmt::format("{}: returns a map value but takes no map", proto->name),
                    {});
      s.reg(0) = RegState::pointer(RegType::MapValueOrNull);
      s.reg(0).map = *map;
      s.reg(0).id = new_id();
      break;
  }
  return next(pc);
}

Checker::Step Checker::check_local_call(State& s, uint32_t pc, const isa::Decoded& d) {
  if (s.frames.size() >= kMaxFrames)
    return fail(pc, s,
                fmt::format("the call stack of {} frames is too deep (limit {})",
                            s.frames.size() + 1, kMaxFrames),
                {}, "recursion is not allowed, and at most 7 local calls may be nested");
  auto target = static_cast<uint32_t>(*isa::branch_target(d, pc));
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

Checker::Step Checker::check_exit(State& s, uint32_t pc) {
  if (s.reg(0).type == RegType::NotInit)
    return fail(pc, s, "r0 is not set at exit", {},
                "set the return value on every path to exit, e.g. `r0 = 0`");
  RegState r0 = s.reg(0);
  if (s.frames.size() > 1) {
    // A callee's pointers may point into its own frame, which ends here (Linux: "At subprogram
    // exit the register R0 is not a scalar value").
    if (!r0.is_scalar())
      return fail(pc, s, "at subprogram exit r0 must be a number, not a pointer", {0});
    uint32_t callsite = s.top().callsite;
    s.frames.pop_back();
    s.reg(0) = r0;
    return Step::to(callsite + 1);
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

Checker::Step Checker::check_legacy_load(State& s, uint32_t pc, const isa::Decoded& d) {
  if (!type_.legacy_packet_loads)
    return fail(pc, s, fmt::format("{} programs may not use ld_abs or ld_ind", type_.name), {});
  // A load outside the packet ends the program; Linux allows that only from the main function
  // (without BTF of the functions: "LD_ABS is not allowed in subprogs without BTF").
  if (s.frames.size() > 1)
    return fail(pc, s, "ld_abs and ld_ind are not allowed in called functions", {});
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

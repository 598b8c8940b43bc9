// SPDX-License-Identifier: MIT
// Classification, decoding, encoding and structural validation of eBPF bytecode, all driven by
// the table in opcodes.def. The structural rules follow what Linux checks before (and at the
// start of) verification: check_subprogs(), check_cfg() and the per-instruction field checks of
// do_check(), with messages that name the instruction, the field and the value seen.
#include "isa/isa.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace pollen::isa {
namespace {

// For each opcode byte: where its rows start in kOps and how many there are. Rows sharing an
// opcode byte are told apart by their selector field.
struct OpcodeIndex {
  std::array<std::array<uint8_t, 12>, 256> rows{};  // atomics share one byte across 10 rows
  std::array<uint8_t, 256> count{};
};

constexpr OpcodeIndex build_index() {
  OpcodeIndex index{};
  for (size_t i = 0; i < kOpCount; ++i) {
    uint8_t opcode = kOps[i].opcode;
    index.rows[opcode][index.count[opcode]++] = static_cast<uint8_t>(i);
  }
  return index;
}
constexpr OpcodeIndex kIndex = build_index();

constexpr bool selector_matches(const OpInfo& row, const Insn& insn) {
  switch (row.sel) {
    case Sel::None: return true;
    case Sel::Off: return insn.off == row.sel_value;
    case Sel::Imm: return insn.imm == row.sel_value;
    case Sel::Src: return insn.src == row.sel_value;
  }
  return false;
}

Error invalid(size_t index, std::string message) {
  return make_error(Errc::InvalidProgram, Location::insn(index), std::move(message));
}

// Names the selector values an opcode byte accepts, for "unknown ..." messages.
std::string expected_selectors(uint8_t opcode) {
  std::string out;
  for (uint8_t k = 0; k < kIndex.count[opcode]; ++k) {
    const OpInfo& row = kOps[kIndex.rows[opcode][k]];
    if (!out.empty()) out += k + 1 == kIndex.count[opcode] ? " or " : ", ";
    out += row.sel == Sel::Imm ? fmt::format("{:#x}", row.sel_value) : fmt::format("{}", row.sel_value);
  }
  return out;
}

std::string_view selector_field(Sel sel) {
  switch (sel) {
    case Sel::Off: return "offset";
    case Sel::Imm: return "imm";
    case Sel::Src: return "src";
    case Sel::None: break;
  }
  return "";
}

// Which fields a form leaves unused; Linux requires them to be zero ("reserved fields").
struct Unused {
  bool dst, src, off, imm;
};

constexpr Unused unused_fields(const OpInfo& row) {
  // A selector field is in use even where the form does not otherwise use it.
  bool off_sel = row.sel == Sel::Off, imm_sel = row.sel == Sel::Imm, src_sel = row.sel == Sel::Src;
  switch (row.form) {
    case Form::AluImm: return {false, true, !off_sel, false};
    case Form::AluReg: return {false, false, !off_sel, true};
    case Form::AluNeg: return {false, true, true, true};
    case Form::Endian: return {false, true, true, !imm_sel};
    case Form::MovsxReg: return {false, false, false, true};
    case Form::Lddw: return {false, !src_sel, true, false};
    case Form::LdAbs: return {true, true, true, false};
    case Form::LdInd: return {true, false, true, false};
    case Form::Ldx: return {false, false, false, true};
    case Form::St: return {false, true, false, false};
    case Form::Stx: return {false, false, false, true};
    case Form::Atomic: return {false, false, false, false};
    case Form::JmpImm: return {false, true, false, false};
    case Form::JmpReg: return {false, false, false, true};
    case Form::Ja: return {true, true, false, true};
    case Form::Ja32: return {true, true, true, false};
    case Form::CallHelper: return {true, false, true, false};
    case Form::CallLocal: return {true, false, true, false};
    case Form::CallKfunc: return {true, false, false, false};
    case Form::Callx: return {false, true, true, true};
    case Form::Exit: return {true, true, true, true};
  }
  return {};
}

constexpr bool uses_dst(const Unused& u) { return !u.dst; }
constexpr bool uses_src(const OpInfo& row, const Unused& u) {
  return !u.src && row.sel != Sel::Src;
}

Result<void> check_fields(const Insn& insn, const OpInfo& row, size_t index) {
  Unused u = unused_fields(row);
  auto reserved = [&](std::string_view field, int64_t value) {
    return invalid(index, fmt::format("{}: reserved field {} must be 0 (is {})", row.mnemonic,
                                      field, value));
  };
  if (u.dst && insn.dst != 0) return reserved("dst", insn.dst);
  if (u.src && insn.src != 0) return reserved("src", insn.src);
  if (u.off && insn.off != 0) return reserved("offset", insn.off);
  if (u.imm && insn.imm != 0) return reserved("imm", insn.imm);
  if (uses_dst(u) && insn.dst > 10)
    return invalid(index, fmt::format("{}: invalid register r{} in dst", row.mnemonic, insn.dst));
  if (uses_src(row, u) && insn.src > 10)
    return invalid(index, fmt::format("{}: invalid register r{} in src", row.mnemonic, insn.src));
  if (writes_dst(row.op) && insn.dst == 10)
    return invalid(index, fmt::format("{}: r10 is read-only (the frame pointer)", row.mnemonic));
  // Fetching atomics write their src register (cmpxchg writes r0), Linux's "load_reg".
  bool fetches = row.form == Form::Atomic && (row.sel_value & 0x01) && row.sel_value != 0xf1;
  if (fetches && insn.src == 10)
    return invalid(index, fmt::format("{}: r10 is read-only (the frame pointer)", row.mnemonic));
  return {};
}

Result<void> check_lddw_second_slot(std::span<const Insn> prog, size_t index, const Decoded& d) {
  if (index + 1 >= prog.size())
    return invalid(index, "lddw: missing second slot (lddw is the last instruction)");
  const Insn& next = prog[index + 1];
  if (next.opcode != 0 || next.dst != 0 || next.src != 0 || next.off != 0)
    return invalid(index + 1,
                   fmt::format("lddw: second slot must have opcode, dst, src and offset 0 (is "
                               "opcode {:#04x} dst {} src {} offset {})",
                               next.opcode, next.dst, next.src, next.off));
  auto src = static_cast<LddwSrc>(d.src);
  bool value_form = src == LddwSrc::Imm64 || src == LddwSrc::MapValue || src == LddwSrc::MapIdxValue;
  if (!value_form && next.imm != 0)
    return invalid(index + 1, fmt::format("lddw with pseudo source {}: second slot imm must be 0 "
                                          "(is {})", d.src, next.imm));
  return {};
}

}  // namespace

std::optional<Op> classify(const Insn& insn) {
  for (uint8_t k = 0; k < kIndex.count[insn.opcode]; ++k) {
    const OpInfo& row = kOps[kIndex.rows[insn.opcode][k]];
    if (selector_matches(row, insn)) return row.op;
  }
  return std::nullopt;
}

Result<Decoded> decode(std::span<const Insn> prog, size_t index) {
  if (index >= prog.size())
    return invalid(index, fmt::format("no instruction (program has {} slots)", prog.size()));
  const Insn& insn = prog[index];
  std::optional<Op> op = classify(insn);
  if (!op) {
    if (kIndex.count[insn.opcode] == 0)
      return invalid(index, fmt::format("unknown opcode {:#04x}", insn.opcode));
    const OpInfo& first = kOps[kIndex.rows[insn.opcode][0]];
    int32_t seen = first.sel == Sel::Off ? insn.off : first.sel == Sel::Imm ? insn.imm : insn.src;
    return invalid(index, fmt::format("opcode {:#04x} ({}) with {} {} (expected {})", insn.opcode,
                                      first.mnemonic, selector_field(first.sel), seen,
                                      expected_selectors(insn.opcode)));
  }
  Decoded d{*op, insn.dst, insn.src, insn.off, insn.imm,
            static_cast<uint64_t>(static_cast<int64_t>(insn.imm)), 0};
  if (is_wide(*op)) {
    if (index + 1 >= prog.size())
      return invalid(index, "lddw: missing second slot (lddw is the last instruction)");
    d.next_imm = static_cast<uint32_t>(prog[index + 1].imm);
    d.imm64 = (static_cast<uint64_t>(d.next_imm) << 32) | static_cast<uint32_t>(insn.imm);
  }
  return d;
}

std::vector<Insn> encode(const Decoded& d) {
  Insn first{d.info().opcode, static_cast<uint8_t>(d.dst & 0xf), static_cast<uint8_t>(d.src & 0xf),
             d.off, d.imm};
  if (!is_wide(d.op)) return {first};
  first.imm = static_cast<int32_t>(static_cast<uint32_t>(d.imm64));
  Insn second{};
  second.imm = static_cast<int32_t>(static_cast<uint32_t>(d.imm64 >> 32));
  return {first, second};
}

Result<std::vector<Insn>> from_bytes(std::span<const uint8_t> bytes) {
  if (bytes.size() % sizeof(Insn) != 0)
    return make_error(Errc::InvalidProgram, Location::offset(bytes.size() - bytes.size() % 8),
                      fmt::format("truncated instruction: program is {} bytes, not a multiple of "
                                  "8 (last slot has {} bytes)",
                                  bytes.size(), bytes.size() % 8));
  std::vector<Insn> prog(bytes.size() / sizeof(Insn));
  if (!bytes.empty()) std::memcpy(prog.data(), bytes.data(), bytes.size());
  return prog;
}

std::vector<uint8_t> to_bytes(std::span<const Insn> prog) {
  std::vector<uint8_t> bytes(prog.size() * sizeof(Insn));
  if (!prog.empty()) std::memcpy(bytes.data(), prog.data(), bytes.size());
  return bytes;
}

std::optional<int64_t> branch_target(const Decoded& d, size_t index) {
  auto here = static_cast<int64_t>(index) + 1;
  switch (d.info().form) {
    case Form::JmpImm: case Form::JmpReg: case Form::Ja: return here + d.off;
    case Form::Ja32: case Form::CallLocal: return here + d.imm;
    default: return std::nullopt;
  }
}

std::optional<int64_t> function_target(const Insn& insn, Op op, size_t index) {
  // Local calls and BPF_PSEUDO_FUNC lddw (callbacks of bpf_loop, for_each_map_elem) both name a
  // function by imm relative to the next slot; Linux's add_subprog() takes both as starts.
  bool callback = op == Op::LddwFunc;
  if (op != Op::CallLocal && !callback) return std::nullopt;
  return static_cast<int64_t>(index) + 1 + insn.imm;
}

std::vector<size_t> function_starts(std::span<const Insn> prog) {
  std::vector<size_t> starts{0};
  for (size_t i = 0; i < prog.size(); ++i) {
    std::optional<Op> op = classify(prog[i]);
    if (!op) continue;
    std::optional<int64_t> target = function_target(prog[i], *op, i);
    if (target && *target >= 0 && *target < static_cast<int64_t>(prog.size()))
      starts.push_back(static_cast<size_t>(*target));
    if (is_wide(*op)) ++i;
  }
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  return starts;
}

Result<void> validate(std::span<const Insn> prog, const ValidateOptions& options) {
  if (prog.empty()) return invalid(0, "program is empty");
  if (prog.size() > options.max_insns)
    return invalid(options.max_insns, fmt::format("program has {} instructions (limit {})",
                                                  prog.size(), options.max_insns));
  // Pass 1: every slot decodes and its fields are legal; remember second halves of lddw.
  std::vector<bool> second_half(prog.size(), false);
  std::vector<Decoded> decoded;
  decoded.reserve(prog.size());
  for (size_t i = 0; i < prog.size(); ++i) {
    POLLEN_TRY(Decoded d, decode(prog, i));
    POLLEN_CHECK(check_fields(prog[i], d.info(), i));
    if (is_wide(d.op)) {
      POLLEN_CHECK(check_lddw_second_slot(prog, i, d));
      second_half[i + 1] = true;
    }
    decoded.push_back(d);
    if (is_wide(d.op)) {
      decoded.push_back(d);
      ++i;
    }
  }
  // Pass 2: control flow stays inside the function it starts in (Linux: "jump out of range").
  std::vector<size_t> starts = function_starts(prog);
  auto function_of = [&](int64_t slot) {
    return std::upper_bound(starts.begin(), starts.end(), static_cast<size_t>(slot)) -
           starts.begin() - 1;
  };
  auto n = static_cast<int64_t>(prog.size());
  for (size_t i = 0; i < prog.size(); ++i) {
    if (second_half[i]) continue;
    const Decoded& d = decoded[i];
    std::optional<int64_t> target = branch_target(d, i);
    if (!target) target = function_target(prog[i], d.op, i);
    if (!target) continue;
    bool names_function = d.op == Op::CallLocal || d.op == Op::LddwFunc;
    std::string_view what = d.op == Op::CallLocal ? "local call"
                            : d.op == Op::LddwFunc ? "function address" : "jump";
    if (*target < 0 || *target >= n)
      return invalid(i, fmt::format("{}: {} out of range (target {}, program has {} slots)",
                                    d.info().mnemonic, what, *target, n));
    if (second_half[*target])
      return invalid(i, fmt::format("{}: {} into the middle of lddw (target {})",
                                    d.info().mnemonic, what, *target));
    if (!names_function && function_of(*target) != function_of(static_cast<int64_t>(i)))
      return invalid(i, fmt::format("{}: jump out of its function (target {} is in the function "
                                    "starting at {}, the jump in the one starting at {})",
                                    d.info().mnemonic, *target, starts[function_of(*target)],
                                    starts[function_of(static_cast<int64_t>(i))]));
  }
  // Pass 3: every function ends in exit or an unconditional jump, or execution falls off it.
  for (size_t f = 0; f < starts.size(); ++f) {
    size_t last = (f + 1 < starts.size() ? starts[f + 1] : prog.size()) - 1;
    if (second_half[last])
      return invalid(last - 1, "lddw is the last instruction of its function: execution falls "
                               "off the end");
    Op op = decoded[last].op;
    if (op != Op::Exit && op != Op::Ja && op != Op::Ja32)
      return invalid(last, fmt::format("{}: last instruction of the function starting at {} is "
                                       "not exit or ja: execution falls off the end",
                                       info(op).mnemonic, starts[f]));
  }
  return {};
}

}  // namespace pollen::isa

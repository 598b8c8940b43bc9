// SPDX-License-Identifier: MIT
// The assembler for the bpf_conformance syntax, driven by the table in opcodes.def: the leading
// words of a line are looked up among the table's mnemonics ("lock fetch add32" is three words),
// the row is chosen among those sharing the mnemonic by its operands (register or imm source,
// lddw pseudo source), the operands are read in the order operand_layout() gives for the row's
// Form, and isa::encode() builds the slots. Label targets are fixed up after the last line.
#include "isa/assembler.hpp"

#include <fmt/format.h>

#include <charconv>
#include <limits>
#include <map>
#include <string>

namespace pollen::isa {
namespace {

Error parse_error(std::string message) {
  return make_error(Errc::Parse, Location::none(), std::move(message));
}

// A number as written: sign, magnitude and base. `overflow` is set when the magnitude does not
// fit in 64 bits, so that range errors name the value instead of calling it "not a number".
struct Number {
  bool negative = false;
  bool hex = false;
  bool overflow = false;
  uint64_t magnitude = 0;
};

std::optional<Number> parse_number(std::string_view text) {
  Number n;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    n.negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    n.hex = true;
    text.remove_prefix(2);
  }
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, n.magnitude, n.hex ? 16 : 10);
  if (text.empty() || stop != end) return std::nullopt;
  n.overflow = ec == std::errc::result_out_of_range;
  if (ec != std::errc{} && !n.overflow) return std::nullopt;
  return n;
}

// A signed value in [lo, hi], whatever the base (offsets and jump targets).
Result<int64_t> parse_signed(std::string_view text, int64_t lo, int64_t hi, std::string_view what,
                             std::string_view type) {
  std::optional<Number> n = parse_number(text);
  if (!n) return parse_error(fmt::format("expected {}, got '{}'", what, text));
  auto limit = static_cast<uint64_t>(n->negative ? -(lo + 1) : hi) + (n->negative ? 1 : 0);
  if (n->overflow || n->magnitude > limit)
    return parse_error(fmt::format("{} {} out of range for {}", what, text, type));
  return n->negative ? -static_cast<int64_t>(n->magnitude) : static_cast<int64_t>(n->magnitude);
}

Result<int16_t> parse_offset(std::string_view text) {
  POLLEN_TRY(int64_t off, parse_signed(text, INT16_MIN, INT16_MAX, "offset", "s16"));
  return static_cast<int16_t>(off);
}

// The suite's imm rule: decimal is an s32, hex is a 32-bit pattern (0xffffffff is -1).
Result<int32_t> parse_imm32(std::string_view text) {
  std::optional<Number> n = parse_number(text);
  if (n && n->hex && !n->negative && !n->overflow && n->magnitude <= UINT32_MAX)
    return static_cast<int32_t>(static_cast<uint32_t>(n->magnitude));
  POLLEN_TRY(int64_t imm, parse_signed(text, INT32_MIN, INT32_MAX, "immediate", "s32"));
  return static_cast<int32_t>(imm);
}

// lddw's value: hex and positive decimal are unsigned 64-bit, negative decimal sign-extends.
Result<uint64_t> parse_imm64(std::string_view text) {
  std::optional<Number> n = parse_number(text);
  if (!n) return parse_error(fmt::format("expected immediate, got '{}'", text));
  uint64_t limit = n->negative ? uint64_t{1} << 63 : UINT64_MAX;
  if (n->overflow || n->magnitude > limit)
    return parse_error(fmt::format("immediate {} out of range for 64 bits", text));
  return n->negative ? 0 - n->magnitude : n->magnitude;
}

Result<uint8_t> parse_register(std::string_view text) {
  unsigned number = 0;
  std::string_view digits = text.substr(std::min<size_t>(2, text.size()));
  auto [stop, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  // "%r07" and "%r+1" are not registers: the digits must be the number's own spelling.
  if (text.starts_with("%r") && ec == std::errc{} && number <= 15 &&
      digits == std::to_string(number))
    return static_cast<uint8_t>(number);
  return parse_error(fmt::format("invalid register '{}' (expected %r0 to %r15)", text));
}

struct Memory {
  uint8_t reg;
  int16_t off;
};

// `[%rN]`, `[%rN+off]` or `[%rN-off]`.
Result<Memory> parse_memory(std::string_view text) {
  if (text.size() < 3 || text.front() != '[' || text.back() != ']')
    return parse_error(fmt::format("expected a memory operand [%rN+off], got '{}'", text));
  std::string_view inner = text.substr(1, text.size() - 2);
  size_t sign = inner.find_first_of("+-");
  POLLEN_TRY(uint8_t reg, parse_register(inner.substr(0, sign)));
  if (sign == std::string_view::npos) return Memory{reg, 0};
  POLLEN_TRY(int16_t off, parse_offset(inner.substr(sign)));
  return Memory{reg, off};
}

Result<void> read_memory(std::string_view text, uint8_t& reg, int16_t& off) {
  POLLEN_TRY(Memory m, parse_memory(text));
  reg = m.reg;
  off = m.off;
  return {};
}

template <class Field, class T>
Result<void> assign(Field& field, Result<T> value) {
  if (!value) return std::move(value).error();
  field = *value;
  return {};
}

// Table mnemonics to their rows. Rows sharing a mnemonic differ in the source operand
// (register or imm form) or, for lddw, in the pseudo source.
const std::map<std::string, std::vector<Op>, std::less<>>& rows_by_mnemonic() {
  static const auto rows = [] {
    std::map<std::string, std::vector<Op>, std::less<>> map;
    for (const OpInfo& row : kOps) map[std::string(row.mnemonic)].push_back(row.op);
    return map;
  }();
  return rows;
}

// A line's words split at whitespace.
std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while ((pos = line.find_first_not_of(" \t\f\v", pos)) != std::string_view::npos) {
    size_t end = std::min(line.find_first_of(" \t\f\v", pos), line.size());
    words.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

struct Statement {
  std::string mnemonic;  // as spelled in the table
  const std::vector<Op>* rows;
  std::vector<std::string_view> operands;
};

// The suite's synonyms, rewritten to the table's spelling: `swapNN` is `bswapNN`, and
// `call helper X` is `call X` (X an imm, or a register for callx).
void apply_synonyms(std::vector<std::string_view>& words, std::string& first) {
  first = std::string(words[0]);
  if (first.starts_with("swap") && rows_by_mnemonic().contains("b" + first)) first = "b" + first;
  if (first == "call" && words.size() > 1 && words[1] == "helper") words.erase(words.begin() + 1);
}

// Matches the longest run of leading words that is a table mnemonic; the rest are operands,
// each with one trailing comma removed.
Result<Statement> match_mnemonic(std::vector<std::string_view> words) {
  std::string first;
  apply_synonyms(words, first);
  const auto& table = rows_by_mnemonic();
  for (size_t n = std::min<size_t>(words.size(), 3); n >= 1; --n) {
    std::string candidate = first;
    for (size_t i = 1; i < n; ++i) candidate += fmt::format(" {}", words[i]);
    auto it = table.find(candidate);
    if (it == table.end()) continue;
    Statement s{candidate, &it->second, {}};
    for (size_t i = n; i < words.size(); ++i) {
      std::string_view op = words[i];
      s.operands.push_back(op.ends_with(',') ? op.substr(0, op.size() - 1) : op);
    }
    return s;
  }
  // `lock` only starts mnemonics; name the word that failed to continue it.
  bool lock = first == "lock" && words.size() > 1;
  std::string shown = lock ? fmt::format("{} {}", first, words[1]) : first;
  return parse_error(fmt::format("unknown mnemonic '{}'", shown));
}

bool register_source(Form form) {
  return form == Form::AluReg || form == Form::JmpReg;
}

// lddw's row is chosen by the optional pseudo-source name before the value, which is dropped
// from the operands.
Result<Op> pick_lddw_row(Statement& s) {
  if (s.operands.size() != 3) return s.rows->front();
  std::string known;
  for (Op op : *s.rows) {
    std::string_view name = lddw_src_name(static_cast<LddwSrc>(info(op).sel_value));
    if (name == s.operands[1]) {
      s.operands.erase(s.operands.begin() + 1);
      return op;
    }
    if (!name.empty()) known += fmt::format("{}{}", known.empty() ? "" : ", ", name);
  }
  return parse_error(
      fmt::format("unknown lddw pseudo source '{}' (expected {})", s.operands[1], known));
}

// Picks the row among those sharing a mnemonic: register or imm form by the source operand,
// lddw by its pseudo source; `call %rN` is callx (the suite's spelling of it).
Result<Op> pick_row(Statement& s) {
  const std::vector<Op>& rows = *s.rows;
  if (info(rows.front()).form == Form::Lddw) return pick_lddw_row(s);
  if (rows.front() == Op::CallHelper && s.operands.size() == 1 && s.operands[0].starts_with('%'))
    return Op::Callx;
  bool reg = s.operands.size() > 1 && s.operands[1].starts_with('%');
  for (Op op : rows)
    if (rows.size() == 1 || register_source(info(op).form) == reg) return op;
  return rows.front();
}

// A decoded instruction of the row with all operands 0 and its selector field set.
Decoded blank(Op op) {
  const OpInfo& row = info(op);
  Decoded d{op, 0, 0, 0, 0, 0, 0};
  switch (row.sel) {
    case Sel::Off: d.off = static_cast<int16_t>(row.sel_value); break;
    case Sel::Imm: d.imm = row.sel_value; break;
    case Sel::Src: d.src = static_cast<uint8_t>(row.sel_value); break;
    case Sel::None: break;
  }
  return d;
}

Result<void> check_operand_count(const Statement& s, std::span<const Operand> layout, size_t got) {
  size_t most = layout.size();
  size_t least = most - (most > 0 && layout.back() == Operand::OptionalOff ? 1 : 0);
  if (got >= least && got <= most) return {};
  std::string expected =
      least == most ? fmt::format("{}", most) : fmt::format("{} to {}", least, most);
  return parse_error(fmt::format("{}: expected {} operand{}, got {}", s.mnemonic, expected,
                                 most == 1 ? "" : "s", got));
}

struct Fixup {
  size_t slot;
  std::string label;
  bool in_imm;  // ja32 and call local keep the target in imm, the rest in off
  uint64_t line;
};

class Assembler {
 public:
  explicit Assembler(std::string_view file) : file_(file) {}
  Result<void> add_line(std::string_view text, uint64_t line);
  Result<std::vector<Insn>> finish();

 private:
  Error located(Error error) const;
  Result<void> define_label(std::string_view name);
  Result<void> add_statement(const std::vector<std::string_view>& words);
  Result<void> read_operand(Operand kind, std::string_view text, Decoded& d);
  Result<void> read_target(std::string_view text, bool in_imm, Decoded& d);
  Result<void> resolve(const Fixup& fixup);

  std::string file_;
  uint64_t line_ = 0;
  std::vector<Insn> out_;
  std::map<std::string, size_t, std::less<>> labels_;
  std::map<std::string, uint64_t, std::less<>> label_lines_;
  std::vector<Fixup> fixups_;
};

Error Assembler::located(Error error) const {
  error.location = Location::line(line_, file_);
  return error;
}

Result<void> Assembler::add_line(std::string_view text, uint64_t line) {
  line_ = line;
  if (text.ends_with('\r')) text.remove_suffix(1);
  text = text.substr(0, text.find('#'));
  std::vector<std::string_view> words = split_words(text);
  if (words.empty()) return {};
  // A label line is `name:`; the suite ignores anything after the colon.
  if (words[0].ends_with(':')) return define_label(words[0].substr(0, words[0].size() - 1));
  Result<void> added = add_statement(words);
  if (!added) return located(std::move(added).error());
  return {};
}

Result<void> Assembler::define_label(std::string_view name) {
  if (name.empty()) return located(parse_error("empty label name"));
  auto [it, inserted] = label_lines_.try_emplace(std::string(name), line_);
  if (!inserted)
    return located(parse_error(
        fmt::format("duplicate label '{}' (first defined on line {})", name, it->second)));
  labels_[std::string(name)] = out_.size();
  return {};
}

Result<void> Assembler::add_statement(const std::vector<std::string_view>& words) {
  POLLEN_TRY(Statement s, match_mnemonic(words));
  POLLEN_TRY(Op op, pick_row(s));
  std::span<const Operand> layout = operand_layout(info(op).form);
  POLLEN_CHECK(check_operand_count(s, layout, s.operands.size()));
  Decoded d = blank(op);
  for (size_t i = 0; i < s.operands.size(); ++i) {
    Result<void> read = read_operand(layout[i], s.operands[i], d);
    if (!read) return parse_error(fmt::format("{}: {}", s.mnemonic, read.error().message));
  }
  // The suite defines the label `exit` at the first exit; a label `exit:` in the text wins.
  if (op == Op::Exit && !labels_.contains("exit")) labels_["exit"] = out_.size();
  for (const Insn& slot : encode(d)) out_.push_back(slot);
  return {};
}

Result<void> Assembler::read_operand(Operand kind, std::string_view text, Decoded& d) {
  switch (kind) {
    case Operand::Dst: return assign(d.dst, parse_register(text));
    case Operand::Src: return assign(d.src, parse_register(text));
    case Operand::Imm: return assign(d.imm, parse_imm32(text));
    case Operand::Imm64: return assign(d.imm64, parse_imm64(text));
    case Operand::MemDst: return read_memory(text, d.dst, d.off);
    case Operand::MemSrc: return read_memory(text, d.src, d.off);
    case Operand::TargetOff: return read_target(text, false, d);
    case Operand::TargetImm: return read_target(text, true, d);
    case Operand::OptionalOff: return assign(d.off, parse_offset(text));
  }
  return {};
}

// `+N` / `-N` count slots after the next instruction; anything else names a label.
Result<void> Assembler::read_target(std::string_view text, bool in_imm, Decoded& d) {
  if (text.starts_with('+') || text.starts_with('-')) {
    if (in_imm) return assign(d.imm, parse_signed(text, INT32_MIN, INT32_MAX, "target", "s32"));
    return assign(d.off, parse_offset(text));
  }
  if (text.empty() || (text[0] >= '0' && text[0] <= '9'))
    return parse_error(fmt::format("expected a jump target (+N, -N or a label), got '{}'", text));
  fixups_.push_back({out_.size(), std::string(text), in_imm, line_});
  return {};
}

Result<void> Assembler::resolve(const Fixup& fixup) {
  line_ = fixup.line;
  auto it = labels_.find(fixup.label);
  if (it == labels_.end())
    return located(parse_error(fmt::format("undefined label '{}'", fixup.label)));
  int64_t delta = static_cast<int64_t>(it->second) - static_cast<int64_t>(fixup.slot) - 1;
  Insn& insn = out_[fixup.slot];
  auto [lo, hi] = fixup.in_imm ? std::pair<int64_t, int64_t>{INT32_MIN, INT32_MAX}
                               : std::pair<int64_t, int64_t>{INT16_MIN, INT16_MAX};
  if (delta < lo || delta > hi)
    return located(parse_error(fmt::format(
        "{}: {} {} out of range for {} (label '{}')", info(*classify(insn)).mnemonic,
        fixup.in_imm ? "target" : "offset", delta, fixup.in_imm ? "s32" : "s16", fixup.label)));
  if (fixup.in_imm)
    insn.imm = static_cast<int32_t>(delta);
  else
    insn.off = static_cast<int16_t>(delta);
  return {};
}

Result<std::vector<Insn>> Assembler::finish() {
  for (const Fixup& fixup : fixups_) POLLEN_CHECK(resolve(fixup));
  return std::move(out_);
}

}  // namespace

std::span<const Operand> operand_layout(Form form) {
  using enum Operand;
  static constexpr Operand kDstImm[] = {Dst, Imm}, kDstSrc[] = {Dst, Src}, kDst[] = {Dst},
                           kDstImm64[] = {Dst, Imm64}, kImm[] = {Imm}, kSrcImm[] = {Src, Imm},
                           kLdx[] = {Dst, MemSrc}, kSt[] = {MemDst, Imm}, kStx[] = {MemDst, Src},
                           kJmpImm[] = {Dst, Imm, TargetOff}, kJmpReg[] = {Dst, Src, TargetOff},
                           kJa[] = {TargetOff}, kJa32[] = {TargetImm},
                           kKfunc[] = {Imm, OptionalOff};
  switch (form) {
    case Form::AluImm: return kDstImm;
    case Form::AluReg:
    case Form::MovsxReg: return kDstSrc;
    case Form::AluNeg:
    case Form::Endian:
    case Form::Callx: return kDst;
    case Form::Lddw: return kDstImm64;
    case Form::LdAbs:
    case Form::CallHelper: return kImm;
    case Form::LdInd: return kSrcImm;
    case Form::Ldx: return kLdx;
    case Form::St: return kSt;
    case Form::Stx:
    case Form::Atomic: return kStx;
    case Form::JmpImm: return kJmpImm;
    case Form::JmpReg: return kJmpReg;
    case Form::Ja: return kJa;
    case Form::Ja32:
    case Form::CallLocal: return kJa32;
    case Form::CallKfunc: return kKfunc;
    case Form::Exit: break;
  }
  return {};
}

std::string_view lddw_src_name(LddwSrc src) {
  switch (src) {
    case LddwSrc::Imm64: return "";
    case LddwSrc::MapFd: return "map_fd";
    case LddwSrc::MapValue: return "map_value";
    case LddwSrc::BtfId: return "btf_id";
    case LddwSrc::Func: return "func";
    case LddwSrc::MapIdx: return "map_idx";
    case LddwSrc::MapIdxValue: return "map_idx_value";
  }
  return "";
}

Result<std::vector<Insn>> assemble(std::string_view text, std::string_view file_name) {
  Assembler assembler(file_name);
  uint64_t line = 0;
  for (size_t pos = 0; pos <= text.size(); ++line) {
    size_t end = std::min(text.find('\n', pos), text.size());
    POLLEN_CHECK(assembler.add_line(text.substr(pos, end - pos), line + 1));
    pos = end + 1;
  }
  return assembler.finish();
}

}  // namespace pollen::isa

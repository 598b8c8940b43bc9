// SPDX-License-Identifier: MIT
// The program step of load_object(). Every FUNC symbol of an executable section is a function;
// those outside .text are programs, those in .text subprograms. Every relocation of a code
// section is checked and classified first (call, function address, map, global data), exactly as
// libbpf's bpf_program__record_reloc() does, so that a bad one is reported even in a function no
// program uses. Then each program is linked like libbpf's bpf_object__reloc_code(): the entry
// function's instructions, then each .text function the first time a call or function address
// reaches it (depth first), with call imm fixed up to the new positions, map loads marked with
// their pseudo source, and the .BTF.ext records of every copied function rebased.
#include <algorithm>

#include <elf.h>
#include <fmt/format.h>

#include "loader/common_p.hpp"
#include "loader/core_relo.hpp"
#include "loader/loader_p.hpp"

namespace pollen::loader {
namespace {

constexpr uint32_t kRelBpf64 = 1;   // R_BPF_64_64: lddw
constexpr uint32_t kRelBpf32 = 10;  // R_BPF_64_32: call

struct Function {
  std::string name;
  uint32_t start = 0;  // instruction index in its section
  uint32_t end = 0;
  bool global = false;
};

// A relocation after classification.
struct CodeReloc {
  enum class Kind : uint8_t { Call, FuncAddr, Map, Data };
  Kind kind = Kind::Call;
  uint32_t target = 0;  // Call, FuncAddr: callee's start in .text; Map, Data: map index
  uint32_t offset = 0;  // Data: byte offset in the map's value
};

struct CodeSection {
  uint32_t index = 0;
  std::string name;
  std::vector<isa::Insn> insns;
  std::vector<Function> functions;       // sorted by start
  std::map<uint32_t, CodeReloc> relocs;  // by instruction index in the section
};

const Function* function_at(const CodeSection& sec, uint32_t start) {
  auto it = std::lower_bound(sec.functions.begin(), sec.functions.end(), start,
                             [](const Function& f, uint32_t s) { return f.start < s; });
  return it != sec.functions.end() && it->start == start ? &*it : nullptr;
}

Result<Function> function_of(const ElfSymbol& sym, const CodeSection& sec,
                             const std::string& where) {
  std::string here = where + ", function '" + sym.name + "'";
  if (sym.value % 8 != 0 || sym.size % 8 != 0 || sym.size == 0 ||
      !fits(sec.insns.size() * 8, sym.value, sym.size))
    return invalid(here, fmt::format("bad extent [{}, +{}) (must be whole instructions inside the "
                                     "section's {} bytes)",
                                     sym.value, sym.size, sec.insns.size() * 8));
  return Function{sym.name, static_cast<uint32_t>(sym.value / 8),
                  static_cast<uint32_t>((sym.value + sym.size) / 8), sym.bind != STB_LOCAL};
}

Result<CodeSection> read_code_section(const LoadContext& ctx, uint32_t index) {
  const ElfSection& s = *ctx.elf.section(index);
  std::string where = ctx.where_section(index);
  if (s.data.size() % 8 != 0)
    return invalid(where,
                   fmt::format("size {} is not a whole number of instructions", s.data.size()));
  CodeSection sec{index, s.name, {}, {}, {}};
  POLLEN_TRY(sec.insns, isa::from_bytes(s.data));
  for (const ElfSymbol& sym : ctx.elf.symbols()) {
    if (sym.shndx != index || sym.type != STT_FUNC) continue;
    POLLEN_TRY(Function f, function_of(sym, sec, where));
    if (index != ctx.text_section && !f.global)
      return not_supported(where, fmt::format("program '{}' is static (libbpf loads only global "
                                              "functions outside .text as programs)",
                                              f.name));
    sec.functions.push_back(std::move(f));
  }
  std::stable_sort(sec.functions.begin(), sec.functions.end(),
                   [](const Function& a, const Function& b) { return a.start < b.start; });
  return sec;
}

// Classifies one relocation of a code section; `text` is the .text section, if any.
class RelocClassifier {
 public:
  RelocClassifier(const LoadContext& ctx, const CodeSection* text) : ctx_(ctx), text_(text) {}
  Result<CodeReloc> classify(const CodeSection& sec, const ElfRel& rel,
                             const std::string& where) const;

 private:
  Result<uint32_t> callee(uint64_t byte_offset, const std::string& what,
                          const std::string& where) const;
  Result<CodeReloc> lddw(const isa::Insn& insn, const ElfSymbol& sym,
                         const std::string& where) const;

  const LoadContext& ctx_;
  const CodeSection* text_;
};

Result<uint32_t> RelocClassifier::callee(uint64_t byte_offset, const std::string& what,
                                         const std::string& where) const {
  // Offsets wrap modulo 2^64 (a negative imm makes a huge one), so one range check covers both.
  if (!text_ || byte_offset % 8 != 0 || byte_offset / 8 > UINT32_MAX ||
      !function_at(*text_, static_cast<uint32_t>(byte_offset / 8)))
    return invalid(where, fmt::format("{} does not reach the start of a .text function (byte "
                                      "offset {})",
                                      what, static_cast<int64_t>(byte_offset)));
  return static_cast<uint32_t>(byte_offset / 8);
}

Result<CodeReloc> RelocClassifier::classify(const CodeSection& sec, const ElfRel& rel,
                                            const std::string& where) const {
  if (rel.offset % 8 != 0 || rel.offset / 8 >= sec.insns.size())
    return invalid(where, fmt::format("offset {} is not an instruction of the section ({} bytes)",
                                      rel.offset, sec.insns.size() * 8));
  if (rel.symbol >= ctx_.elf.symbols().size())
    return invalid(where, fmt::format("symbol {} out of range ({} symbols)", rel.symbol,
                                      ctx_.elf.symbols().size()));
  const ElfSymbol& sym = ctx_.elf.symbols()[rel.symbol];
  const isa::Insn& insn = sec.insns[rel.offset / 8];
  bool call = insn.opcode == kOpCall, load = insn.opcode == kOpLddw;
  if (!call && !load)
    return invalid(where, fmt::format("relocation against '{}' patches opcode 0x{:02x} (only lddw "
                                      "and call take relocations)",
                                      sym.name, insn.opcode));
  if (rel.type != (call ? kRelBpf32 : kRelBpf64))
    return invalid(where, fmt::format("relocation type {} on {} (expected {})", rel.type,
                                      call ? "call" : "lddw", call ? kRelBpf32 : kRelBpf64));
  if (sym.shndx == SHN_UNDEF && sym.bind != STB_LOCAL)
    return not_supported(
        where, fmt::format("extern '{}' (kfuncs, __ksym and __kconfig externs)", sym.name));
  if (load) return lddw(insn, sym, where);
  if (insn.src != kPseudoCall || sym.shndx != ctx_.text_section)
    return invalid(where, fmt::format("call relocated against '{}' in section '{}' is not a "
                                      "bpf-to-bpf call into .text (src {})",
                                      sym.name, ctx_.elf.section_name(sym.shndx), int{insn.src}));
  // Global functions: st_value is the callee, imm -1. Static ones: the section symbol, imm
  // the callee's position minus one (libbpf's sub_insn_idx = st_value / 8 + imm + 1).
  if (sym.value % 8 != 0)
    return invalid(where, fmt::format("call against '{}' at byte {} of .text (not an instruction)",
                                      sym.name, sym.value));
  uint64_t target = sym.value + (static_cast<uint64_t>(int64_t{insn.imm}) + 1) * 8;
  POLLEN_TRY(uint32_t start, callee(target, "call to '" + sym.name + "'", where));
  return CodeReloc{CodeReloc::Kind::Call, start, 0};
}

Result<CodeReloc> RelocClassifier::lddw(const isa::Insn& insn, const ElfSymbol& sym,
                                        const std::string& where) const {
  if (sym.shndx == SHN_UNDEF || sym.shndx >= SHN_LORESERVE)
    return invalid(where, fmt::format("symbol '{}' is in special section 0x{:x} (an uninitialised "
                                      "global? compile with -fno-common)",
                                      sym.name, sym.shndx));
  if (sym.shndx == ctx_.text_section && (sym.type == STT_FUNC || sym.type == STT_SECTION)) {
    uint64_t offset = sym.value + static_cast<uint64_t>(int64_t{insn.imm});
    POLLEN_TRY(uint32_t start, callee(offset, "address of '" + sym.name + "'", where));
    return CodeReloc{CodeReloc::Kind::FuncAddr, start, 0};
  }
  if (sym.shndx == ctx_.legacy_maps_section || sym.shndx == ctx_.btf_maps_section) {
    auto it = ctx_.map_at.find({sym.shndx, sym.value});
    if (it == ctx_.map_at.end())
      return invalid(where, fmt::format("symbol '{}' is not a map (no map definition at offset {} "
                                        "of section '{}')",
                                        sym.name, sym.value, ctx_.elf.section_name(sym.shndx)));
    return CodeReloc{CodeReloc::Kind::Map, it->second, 0};
  }
  auto data = ctx_.data_map_of.find(sym.shndx);
  if (data == ctx_.data_map_of.end())
    return invalid(where, fmt::format("symbol '{}' is not a map (it is in section '{}', neither a "
                                      "maps nor a data section)",
                                      sym.name, ctx_.elf.section_name(sym.shndx)));
  uint64_t offset = sym.value + static_cast<uint64_t>(int64_t{insn.imm});
  const MapSpec& map = ctx_.spec.maps[data->second];
  if (offset >= map.value_size)
    return invalid(where, fmt::format("'{}' + {} points outside section '{}' ({} bytes)", sym.name,
                                      insn.imm, map.name, map.value_size));
  return CodeReloc{CodeReloc::Kind::Data, data->second, static_cast<uint32_t>(offset)};
}

Result<void> classify_relocs(const LoadContext& ctx, std::vector<CodeSection>& sections) {
  const CodeSection* text = nullptr;
  for (const CodeSection& s : sections)
    if (s.index == ctx.text_section) text = &s;
  RelocClassifier classifier(ctx, text);
  for (CodeSection& sec : sections) {
    const ElfRelSection* rels = ctx.elf.rels_for(sec.index);
    if (!rels) continue;
    for (size_t i = 0; i < rels->rels.size(); ++i) {
      std::string where = fmt::format("{}, reloc {}", ctx.where_section(sec.index), i);
      POLLEN_TRY(CodeReloc r, classifier.classify(sec, rels->rels[i], where));
      sec.relocs[static_cast<uint32_t>(rels->rels[i].offset / 8)] = r;
    }
  }
  return {};
}

// Links one program: its entry function, then the .text functions it reaches.
class Linker {
 public:
  Linker(const LoadContext& ctx, const CodeSection* text, ProgramSpec& prog)
      : ctx_(ctx), text_(text), prog_(prog) {}
  Result<void> link(const CodeSection& sec, const Function& entry);

 private:
  struct Frame {
    const CodeSection* sec;
    const Function* fn;
    uint32_t base;  // where fn's first instruction is in prog_.insns
    uint32_t next;  // next instruction of fn to look at
  };
  uint32_t place(const CodeSection& sec, const Function& fn);
  Result<void> visit(const Frame& f, uint32_t i);
  Result<void> fix_call(const Frame& f, uint32_t i, uint32_t callee_start);
  void add_ext_info(const CodeSection& sec, const Function& fn, uint32_t base);
  std::string where(const Frame& f, uint32_t i) const {
    return fmt::format("{}, insn {} (function '{}')", ctx_.where_section(f.sec->index),
                       f.fn->start + i, f.fn->name);
  }

  const LoadContext& ctx_;
  const CodeSection* text_;
  ProgramSpec& prog_;
  std::map<uint32_t, uint32_t> placed_;  // .text function start → its base in prog_.insns
  std::vector<Frame> stack_;
};

uint32_t Linker::place(const CodeSection& sec, const Function& fn) {
  auto base = static_cast<uint32_t>(prog_.insns.size());
  prog_.insns.insert(prog_.insns.end(), sec.insns.begin() + fn.start, sec.insns.begin() + fn.end);
  add_ext_info(sec, fn, base);
  stack_.push_back(Frame{&sec, &fn, base, 0});
  return base;
}

Result<void> Linker::link(const CodeSection& sec, const Function& entry) {
  place(sec, entry);
  while (!stack_.empty()) {
    Frame f = stack_.back();
    if (f.next == f.fn->end - f.fn->start) {
      stack_.pop_back();
      continue;
    }
    ++stack_.back().next;
    POLLEN_CHECK(visit(f, f.next));
  }
  auto by_insn = [](const auto& a, const auto& b) { return a.insn < b.insn; };
  std::stable_sort(prog_.map_relocs.begin(), prog_.map_relocs.end(), by_insn);
  std::stable_sort(prog_.func_info.begin(), prog_.func_info.end(), by_insn);
  std::stable_sort(prog_.line_info.begin(), prog_.line_info.end(), by_insn);
  std::stable_sort(prog_.core_relos.begin(), prog_.core_relos.end(), by_insn);
  // CO-RE relocations resolve against the program's own BTF (core_relo.hpp).
  if (!prog_.core_relos.empty()) {
    if (Result<void> applied = apply_core_relos(prog_, *ctx_.btf); !applied)
      return make_error(applied.error().code, applied.error().location,
                        fmt::format("program '{}': {}", prog_.name, applied.error().message));
  }
  return {};
}

Result<void> Linker::fix_call(const Frame& f, uint32_t i, uint32_t callee_start) {
  const Function* callee = text_ ? function_at(*text_, callee_start) : nullptr;
  if (!callee)
    return invalid(where(f, i),
                   fmt::format("call target .text insn {} is not a function", callee_start));
  auto found = placed_.find(callee_start);
  uint32_t base =
      found != placed_.end() ? found->second : placed_[callee_start] = place(*text_, *callee);
  // The kernel's local-call convention: target = index of the call + imm + 1.
  prog_.insns[f.base + i].imm = static_cast<int32_t>(int64_t{base} - (f.base + i) - 1);
  return {};
}

Result<void> Linker::visit(const Frame& f, uint32_t i) {
  isa::Insn& insn = prog_.insns[f.base + i];
  auto found = f.sec->relocs.find(f.fn->start + i);
  const CodeReloc* rel = found != f.sec->relocs.end() ? &found->second : nullptr;
  bool pseudo_call = insn.opcode == kOpCall && insn.src == kPseudoCall;
  bool pseudo_func = insn.opcode == kOpLddw && insn.src == kPseudoFunc;
  if (!rel && pseudo_func)
    return invalid(where(f, i), "lddw of a function address without a relocation");
  if (!rel && pseudo_call) {
    // Without a relocation the call stays inside its section (libbpf): only .text may do that.
    if (f.sec != text_)
      return invalid(where(f, i), "bpf-to-bpf call without a relocation outside .text");
    return fix_call(f, i, static_cast<uint32_t>(f.fn->start + i + 1 + insn.imm));
  }
  if (!rel) return {};
  if (rel->kind != CodeReloc::Kind::Call && f.fn->start + i + 1 >= f.fn->end)
    return invalid(where(f, i), "lddw is cut in two by the end of its function");
  switch (rel->kind) {
    case CodeReloc::Kind::Call: return fix_call(f, i, rel->target);
    case CodeReloc::Kind::FuncAddr: insn.src = kPseudoFunc; return fix_call(f, i, rel->target);
    case CodeReloc::Kind::Map:
      insn.src = kPseudoMapFd, insn.imm = 0;
      prog_.map_relocs.push_back({f.base + i, rel->target, MapRelocKind::MapFd});
      return {};
    case CodeReloc::Kind::Data:
      insn.src = kPseudoMapValue, insn.imm = 0;
      prog_.insns[f.base + i + 1].imm = static_cast<int32_t>(rel->offset);
      prog_.map_relocs.push_back({f.base + i, rel->target, MapRelocKind::MapValue});
      return {};
  }
  return {};
}

// Copies the records of `fn` from .BTF.ext, rebased to where fn now starts.
void Linker::add_ext_info(const CodeSection& sec, const Function& fn, uint32_t base) {
  if (!ctx_.ext) return;
  const Btf& btf = *ctx_.btf;
  auto rebase = [&](uint32_t insn_off) -> std::optional<uint32_t> {
    uint32_t insn = insn_off / 8;
    if (insn_off % 8 != 0 || insn < fn.start || insn >= fn.end) return std::nullopt;
    return base + insn - fn.start;
  };
  auto each = [&](const auto& by_section, auto&& add) {
    if (auto it = by_section.find(sec.name); it != by_section.end())
      for (const auto& r : it->second)
        if (std::optional<uint32_t> insn = rebase(r.insn_off)) add(*insn, r);
  };
  each(ctx_.ext->func_info, [&](uint32_t insn, const BtfExtFuncInfo& r) {
    prog_.func_info.push_back({insn, r.type_id, std::string(btf.name_of(r.type_id))});
  });
  each(ctx_.ext->line_info, [&](uint32_t insn, const BtfExtLineInfo& r) {
    prog_.line_info.push_back({insn, std::string(btf.string(r.file_name_off)),
                               std::string(btf.string(r.line_off)), r.line_col >> 10,
                               r.line_col & 0x3ff});
  });
  each(ctx_.ext->core_relos, [&](uint32_t insn, const BtfExtCoreRelo& r) {
    prog_.core_relos.push_back(
        {insn, r.type_id, std::string(btf.string(r.access_str_off)), r.kind});
  });
}

ProgramSpec program_for(const CodeSection& sec, const Function& fn) {
  ProgramSpec p;
  p.name = fn.name;
  p.section = sec.name;
  if (std::optional<SectionDef> def = find_section_def(sec.name)) {
    p.type = def->type;
    p.expected_attach_type = def->expected_attach_type;
    p.sleepable = def->sleepable;
    p.xdp_has_frags = def->xdp_has_frags;
  }
  p.attach_target = section_attach_target(sec.name);
  return p;
}

}  // namespace

Result<void> load_programs(LoadContext& ctx) {
  std::vector<CodeSection> sections;
  for (uint32_t index : ctx.code_sections) {
    POLLEN_TRY(CodeSection sec, read_code_section(ctx, index));
    sections.push_back(std::move(sec));
  }
  POLLEN_CHECK(classify_relocs(ctx, sections));
  const CodeSection* text = nullptr;
  for (const CodeSection& s : sections)
    if (s.index == ctx.text_section) text = &s;
  for (const CodeSection& sec : sections) {
    if (&sec == text) continue;
    for (const Function& fn : sec.functions) {
      ProgramSpec prog = program_for(sec, fn);
      POLLEN_CHECK(Linker(ctx, text, prog).link(sec, fn));
      ctx.spec.programs.push_back(std::move(prog));
    }
  }
  return {};
}

}  // namespace pollen::loader

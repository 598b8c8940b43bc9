// SPDX-License-Identifier: MIT
// load_object(): reads the ELF container, sorts its sections into the roles libbpf gives them
// (license, version, legacy maps, .maps, .BTF, .BTF.ext, code, global data; everything else is
// skipped as libbpf skips it), parses the BTF and applies libbpf's Datasec fix-ups (clang leaves
// Datasec sizes and variable offsets zero; libbpf fills them from the ELF section and symbol
// tables, and marks hidden variables static), then runs the map, program and initial-value steps.
#include "loader/loader.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <elf.h>
#include <fmt/format.h>

#include "loader/common_p.hpp"
#include "loader/loader_p.hpp"

namespace pollen::loader {
namespace {

struct BtfSections {
  uint32_t btf = 0;
  uint32_t ext = 0;
};

bool is_named(std::string_view name, std::string_view base) {
  return name == base || (name.starts_with(base) && name[base.size()] == '.');
}

Result<void> set_once(uint32_t& slot, const ElfSection& s, const LoadContext& ctx) {
  if (slot != 0)
    return invalid(ctx.where_section(s.index),
                   fmt::format("appears twice (sections {} and {})", slot, s.index));
  slot = s.index;
  return {};
}

Result<void> read_version(const ElfSection& s, const LoadContext& ctx) {
  if (s.data.size() != 4)
    return invalid(ctx.where_section(s.index), fmt::format("size {} (must be 4)", s.data.size()));
  ctx.spec.kern_version = load_le32(s.data, 0);
  return {};
}

// The role libbpf 1.1 gives each section (bpf_object__elf_collect), legacy `maps` added.
Result<void> classify_section(const ElfSection& s, LoadContext& ctx, BtfSections& btf,
                              uint32_t& license, uint32_t& version) {
  const std::string& n = s.name;
  bool progbits = s.type == SHT_PROGBITS;
  if (n == "license") return set_once(license, s, ctx);
  if (n == "version") return set_once(version, s, ctx);
  if (n == "maps") return set_once(ctx.legacy_maps_section, s, ctx);
  if (n == ".maps") return set_once(ctx.btf_maps_section, s, ctx);
  if ((n == ".BTF" || n == ".BTF.ext") && !progbits)
    return invalid(ctx.where_section(s.index), fmt::format("type {} (must be PROGBITS)", s.type));
  if (n == ".BTF") return set_once(btf.btf, s, ctx);
  if (n == ".BTF.ext") return set_once(btf.ext, s, ctx);
  if (is_named(n, ".struct_ops"))
    return not_supported(ctx.where_section(s.index), "struct_ops maps");
  if (progbits && s.size > 0 && (s.flags & SHF_EXECINSTR)) {
    if (n == ".text") POLLEN_CHECK(set_once(ctx.text_section, s, ctx));
    ctx.code_sections.push_back(s.index);
  } else if ((progbits && (is_named(n, ".data") || is_named(n, ".rodata"))) ||
             (s.type == SHT_NOBITS && is_named(n, ".bss"))) {
    ctx.data_sections.push_back(s.index);
  }
  return {};
}

Result<BtfSections> classify_sections(LoadContext& ctx) {
  BtfSections btf;
  uint32_t license = 0, version = 0;
  for (const ElfSection& s : ctx.elf.sections())
    if (s.index != 0) POLLEN_CHECK(classify_section(s, ctx, btf, license, version));
  if (license != 0) {
    const std::vector<uint8_t>& d = ctx.elf.section(license)->data;
    ctx.spec.license.assign(d.begin(), std::find(d.begin(), d.end(), uint8_t{0}));
  }
  if (version != 0) POLLEN_CHECK(read_version(*ctx.elf.section(version), ctx));
  return btf;
}

using GlobalSymbols = std::map<std::string_view, const ElfSymbol*>;

// Variables of a Datasec: each non-static one must have a global ELF symbol, which gives its
// offset when clang left it zero, and makes it static when the symbol is hidden.
Result<void> fix_vars(BtfType& t, Btf& btf, const GlobalSymbols& globals, bool fix_offsets,
                      const std::string& where) {
  for (size_t i = 0; i < t.vlen; ++i) {
    BtfVarSecinfo vsi = t.var_secinfo(i);
    BtfType* var = btf.mutable_type(vsi.type);
    if (!var || var->kind != BtfKind::Var)
      return invalid(where, fmt::format("entry {} is type {}, not a VAR", i, vsi.type));
    if (var->var_linkage() != BtfLinkage::GlobalAllocated) continue;
    auto sym = globals.find(btf.string(var->name_off));
    if (sym == globals.end() || sym->second->value > UINT32_MAX)
      return invalid(
          where, fmt::format("no global ELF symbol for variable '{}'", btf.string(var->name_off)));
    if (fix_offsets) vsi.offset = static_cast<uint32_t>(sym->second->value);
    t.set_var_secinfo(i, vsi);
    if (sym->second->visibility == STV_HIDDEN || sym->second->visibility == STV_INTERNAL)
      var->set_var_linkage(BtfLinkage::Static);
  }
  return {};
}

// libbpf's btf_fixup_datasec() for one Datasec, then its variables sorted by offset.
Result<void> fix_datasec(BtfType& t, std::string_view name, const LoadContext& ctx, Btf& btf,
                         const GlobalSymbols& globals, const std::string& where) {
  auto sec = std::find_if(ctx.elf.sections().begin(), ctx.elf.sections().end(),
                          [&](const ElfSection& s) { return s.index != 0 && s.name == name; });
  bool has_section = sec != ctx.elf.sections().end() && sec->size > 0;
  bool fix_offsets = t.size_or_type == 0;
  // Extern-backed sections have no ELF section or symbols; libbpf leaves them alone. Unlike
  // libbpf 1.1, a zero-size Datasec without its ELF section is left alone too instead of
  // failing: clang emits one for a static const array it moved into .rodata.str1.1.
  bool skip = name == ".kconfig" || name == ".ksyms" || (fix_offsets && !has_section);
  if (!skip && fix_offsets) {
    if (sec->size > UINT32_MAX)
      return invalid(where, fmt::format("section size {} does not fit in 32 bits", sec->size));
    t.size_or_type = static_cast<uint32_t>(sec->size);
  }
  if (!skip) POLLEN_CHECK(fix_vars(t, btf, globals, fix_offsets, where));
  std::vector<BtfVarSecinfo> vars;
  for (size_t i = 0; i < t.vlen; ++i) vars.push_back(t.var_secinfo(i));
  std::stable_sort(vars.begin(), vars.end(), [](auto& a, auto& b) { return a.offset < b.offset; });
  for (size_t i = 0; i < vars.size(); ++i) t.set_var_secinfo(i, vars[i]);
  return {};
}

Result<void> fix_datasecs(Btf& btf, const LoadContext& ctx) {
  GlobalSymbols globals;  // libbpf's find_elf_var_sym()
  for (const ElfSymbol& s : ctx.elf.symbols())
    if (s.type == STT_OBJECT && (s.bind == STB_GLOBAL || s.bind == STB_WEAK))
      globals.emplace(s.name, &s);
  for (uint32_t id = 1; id < btf.type_count(); ++id) {
    BtfType& t = *btf.mutable_type(id);
    if (t.kind != BtfKind::Datasec) continue;
    std::string name(btf.string(t.name_off));
    std::string where = fmt::format("{}: .BTF: type {} (DATASEC '{}')", ctx.elf.name(), id, name);
    POLLEN_CHECK(fix_datasec(t, name, ctx, btf, globals, where));
  }
  return {};
}

Result<void> load_btf(LoadContext& ctx, BtfSections sections, std::optional<BtfExt>& ext) {
  if (sections.btf != 0) {
    POLLEN_TRY(Btf btf, Btf::parse(ctx.elf.section(sections.btf)->data, ctx.elf.name() + ": .BTF"));
    POLLEN_CHECK(fix_datasecs(btf, ctx));
    ctx.spec.btf = std::move(btf);
    ctx.btf = &*ctx.spec.btf;
  }
  if (sections.ext == 0) return {};
  if (!ctx.btf) return invalid(ctx.where_section(sections.ext), "present without a .BTF section");
  POLLEN_TRY(ext, BtfExt::parse(ctx.elf.section(sections.ext)->data, *ctx.btf,
                                ctx.elf.name() + ": .BTF.ext"));
  ctx.ext = &*ext;
  return {};
}

}  // namespace

Result<ObjectSpec> load_object(std::span<const uint8_t> elf_bytes,
                               std::string_view name_for_messages) {
  POLLEN_TRY(ElfFile elf, ElfFile::open(elf_bytes, std::string(name_for_messages)));
  ObjectSpec spec;
  LoadContext ctx{elf, spec};
  std::optional<BtfExt> ext;
  POLLEN_TRY(BtfSections btf_sections, classify_sections(ctx));
  POLLEN_CHECK(load_btf(ctx, btf_sections, ext));
  POLLEN_CHECK(load_maps(ctx));
  POLLEN_CHECK(load_programs(ctx));
  POLLEN_CHECK(load_initial_slots(ctx));
  return spec;
}

Result<ObjectSpec> load_object_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::Io, at(path.string()), "cannot open the file");
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return make_error(Errc::Io, at(path.string()), "cannot read the file");
  return load_object(bytes, path.string());
}

}  // namespace pollen::loader

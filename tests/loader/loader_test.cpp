// SPDX-License-Identifier: MIT
// The Spec read from the objects built from progs/*.c, checked field by field: programs and
// their section-derived attributes, maps of every origin with their sizes, flags and initial
// values, relocations (each one followed to the lddw it marks and the map it names), .text
// subprograms appended and reached by the fixed-up call imm, and line info that maps
// instructions back to the C lines marked in the sources.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "isa/isa.hpp"
#include "loader/core_relo.hpp"
#include "loader/loader.hpp"
#include "test_objects.hpp"

namespace pollen::loader {
namespace {

using test::read_bytes;

// Loads one of the built objects, or skips the test when clang could not build it.
#define LOAD_OR_SKIP(spec, path)                                                           \
  std::vector<uint8_t> spec##_bytes = read_bytes(path);                                    \
  if (spec##_bytes.empty()) GTEST_SKIP() << "no eBPF object (clang lacks the BPF target)"; \
  Result<ObjectSpec> spec##_result = load_object(spec##_bytes, "test.o");                  \
  ASSERT_TRUE(spec##_result.ok()) << spec##_result.error().str();                          \
  const ObjectSpec& spec = *spec##_result

// The function a call or function-address instruction at `i` reaches, by its func_info name.
std::string callee_of(const ProgramSpec& p, size_t i) {
  int64_t target = static_cast<int64_t>(i) + p.insns[i].imm + 1;
  for (const FuncInfo& f : p.func_info)
    if (f.insn == target) return f.name;
  return "<no function at " + std::to_string(target) + ">";
}

// Every bpf-to-bpf call (src 1) and function address (lddw src 4), as "callee@index".
std::vector<std::string> calls_of(const ProgramSpec& p) {
  std::vector<std::string> calls;
  for (size_t i = 0; i < p.insns.size(); ++i) {
    const isa::Insn& in = p.insns[i];
    if ((in.opcode == 0x85 && in.src == 1) || (in.opcode == 0x18 && in.src == 4))
      calls.push_back(callee_of(p, i) + (in.opcode == 0x18 ? " (address)" : ""));
    if (in.opcode == 0x18) ++i;
  }
  return calls;
}

std::vector<std::string> names_of_maps(const ObjectSpec& spec, const ProgramSpec& p) {
  std::vector<std::string> names;
  for (const MapReloc& r : p.map_relocs) names.push_back(spec.maps.at(r.map).name);
  return names;
}

TEST(LoaderSpec, ReadsProgramsInElfOrderWithTheirSectionAttributes) {
  LOAD_OR_SKIP(spec, test::kMultiObj);
  struct Want {
    std::string name, section;
    ProgramType type;
    std::optional<AttachType> attach;
    bool sleepable, frags;
    std::string target;
  };
  std::vector<Want> want = {
      {"tail_a", "xdp", ProgramType::Xdp, AttachType::Xdp, false, false, ""},
      {"xdp_count", "xdp", ProgramType::Xdp, AttachType::Xdp, false, false, ""},
      {"tail_b", "xdp.frags", ProgramType::Xdp, AttachType::Xdp, false, true, ""},
      {"tc_count", "tc", ProgramType::SchedCls, {}, false, false, ""},
      {"sock_filter", "socket", ProgramType::SocketFilter, {}, false, false, ""},
      {"sys_prog", "syscall", ProgramType::Syscall, {}, true, false, ""},
      {"tp_write",
       "tracepoint/syscalls/sys_enter_write",
       ProgramType::Tracepoint,
       {},
       false,
       false,
       "syscalls/sys_enter_write"},
      {"sleepy",
       "uprobe.s/libc.so.6:malloc",
       ProgramType::Kprobe,
       {},
       true,
       false,
       "libc.so.6:malloc"},
  };
  ASSERT_EQ(spec.programs.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const ProgramSpec& p = spec.programs[i];
    SCOPED_TRACE(want[i].name);
    EXPECT_EQ(p.name, want[i].name);
    EXPECT_EQ(p.section, want[i].section);
    EXPECT_EQ(p.type, want[i].type);
    EXPECT_EQ(p.expected_attach_type, want[i].attach);
    EXPECT_EQ(p.sleepable, want[i].sleepable);
    EXPECT_EQ(p.xdp_has_frags, want[i].frags);
    EXPECT_EQ(p.attach_target, want[i].target);
  }
  EXPECT_EQ(spec.license, "Dual MIT/GPL");
  EXPECT_EQ(spec.kern_version, 0u);
  EXPECT_TRUE(spec.btf.has_value());
}

TEST(LoaderSpec, ReadsBtfMapsInOffsetOrderLikeLibbpf) {
  LOAD_OR_SKIP(spec, test::kMultiObj);
  struct Want {
    std::string name;
    uint32_t type, key_size, value_size, max_entries, flags, pinning;
  };
  // Values as libbpf 1.1 reports them for the same object (bpf_map__type() etc.).
  std::vector<Want> want = {
      {"inner_a", 2, 4, 4, 8, 0, 0},    {"inner_b", 2, 4, 4, 8, 0, 0},
      {"outer", 12, 4, 4, 4, 0, 0},     {"jump_table", 3, 4, 4, 3, 0, 0},
      {"flows", 1, 4, 16, 1024, 0, 0},  {"counters", 6, 4, 8, 4, 0, 0},
      {"events", 27, 0, 0, 4096, 0, 0}, {"pinned_lru", 9, 8, 4, 64, 2, 1},
  };
  ASSERT_GE(spec.maps.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const MapSpec& m = spec.maps[i];
    SCOPED_TRACE(want[i].name);
    EXPECT_EQ(m.name, want[i].name);
    EXPECT_EQ(m.source, MapSource::BtfMaps);
    EXPECT_EQ(m.type, want[i].type);
    EXPECT_EQ(m.key_size, want[i].key_size);
    EXPECT_EQ(m.value_size, want[i].value_size);
    EXPECT_EQ(m.max_entries, want[i].max_entries);
    EXPECT_EQ(m.flags, want[i].flags);
    EXPECT_EQ(m.pinning, want[i].pinning);
  }
}

TEST(LoaderSpec, KeepsBtfTypesOfKeysAndValues) {
  LOAD_OR_SKIP(spec, test::kMultiObj);
  const Btf& btf = *spec.btf;
  const MapSpec& flows = *spec.map("flows");
  EXPECT_EQ(btf.name_of(flows.key_type_id), "__u32");
  EXPECT_EQ(btf.name_of(flows.value_type_id), "pair");
  EXPECT_EQ(btf.size_of(flows.value_type_id), 16u);
  const MapSpec& counters = *spec.map("counters");  // sized with key_size/value_size only
  EXPECT_EQ(counters.key_type_id, 0u);
  EXPECT_EQ(counters.value_type_id, 0u);
  const MapSpec& data = *spec.map(".data");
  EXPECT_EQ(btf.type(data.value_type_id)->kind, BtfKind::Datasec);
  EXPECT_EQ(btf.name_of(data.value_type_id), ".data");
  EXPECT_EQ(btf.type(data.value_type_id)->size_or_type, 8u) << "Datasec size fixed up from ELF";
}

TEST(LoaderSpec, ReadsMapInMapAndProgArrayInitialValues) {
  LOAD_OR_SKIP(spec, test::kMultiObj);
  const MapSpec& outer = *spec.map("outer");
  ASSERT_NE(outer.inner, nullptr);
  EXPECT_EQ(outer.inner->name, "outer.inner");
  EXPECT_EQ(outer.inner->type, 2u);
  EXPECT_EQ(outer.inner->key_size, 4u);
  EXPECT_EQ(outer.inner->value_size, 4u);
  EXPECT_EQ(outer.inner->max_entries, 8u);
  EXPECT_EQ(outer.initial_slots, (std::vector<MapSlot>{{0, "inner_a"}, {2, "inner_b"}}));
  const MapSpec& jumps = *spec.map("jump_table");
  EXPECT_EQ(jumps.inner, nullptr);
  EXPECT_EQ(jumps.initial_slots, (std::vector<MapSlot>{{1, "tail_a"}, {2, "tail_b"}}));
  EXPECT_TRUE(spec.map("flows")->initial_slots.empty());
}

TEST(LoaderSpec, MakesOneArrayMapPerGlobalDataSection) {
  LOAD_OR_SKIP(spec, test::kMultiObj);
  struct Want {
    std::string name;
    MapSource source;
    uint32_t value_size, flags;
  };
  // Flags as libbpf 1.1 sets them: RDONLY_PROG (0x80) for .rodata*, MMAPABLE (0x400) where BTF
  // shows a global variable; .rodata.str1.1 has no Datasec, so it is not mmapable.
  std::vector<Want> want = {{".rodata", MapSource::Rodata, 17, 0x480},
                            {".data", MapSource::Data, 8, 0x400},
                            {".data.custom", MapSource::Data, 4, 0x400},
                            {".bss", MapSource::Bss, 8, 0x400},
                            {".rodata.str1.1", MapSource::Rodata, 10, 0x80}};
  for (const Want& w : want) {
    SCOPED_TRACE(w.name);
    const MapSpec* m = spec.map(w.name);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->source, w.source);
    EXPECT_TRUE(m->is_global_data());
    EXPECT_EQ(m->type, 2u);
    EXPECT_EQ(m->key_size, 4u);
    EXPECT_EQ(m->value_size, w.value_size);
    EXPECT_EQ(m->max_entries, 1u);
    EXPECT_EQ(m->flags, w.flags);
    EXPECT_EQ(m->initial_data.size(), w.value_size);
  }
  auto u32_at = [](const MapSpec* m, size_t off) {
    uint32_t v;
    std::memcpy(&v, m->initial_data.data() + off, 4);
    return v;
  };
  EXPECT_EQ(u32_at(spec.map(".rodata"), 0), 7u);  // threshold
  EXPECT_EQ(u32_at(spec.map(".data"), 0), 3u);    // seen
  EXPECT_EQ(u32_at(spec.map(".data.custom"), 0), 11u);
  EXPECT_EQ(spec.map(".bss")->initial_data, std::vector<uint8_t>(8, 0));
  const auto& str = spec.map(".rodata.str1.1")->initial_data;
  EXPECT_EQ(std::string(str.begin(), str.end()), std::string("write %d\n", 10));
}

TEST(LoaderSpec, MarksEveryMapLoadWithItsPseudoSourceAndMap) {
  LOAD_OR_SKIP(spec, test::kMultiObj);
  for (const ProgramSpec& p : spec.programs) {
    SCOPED_TRACE(p.name);
    for (const MapReloc& r : p.map_relocs) {
      ASSERT_LT(r.insn + 1, p.insns.size());
      const isa::Insn& lddw = p.insns[r.insn];
      EXPECT_EQ(lddw.opcode, 0x18);
      EXPECT_EQ(lddw.imm, 0) << "the runtime fills in the map";
      EXPECT_EQ(lddw.src, r.kind == MapRelocKind::MapFd ? 1 : 2);
      const MapSpec& map = spec.maps.at(r.map);
      EXPECT_EQ(r.kind == MapRelocKind::MapValue, map.is_global_data()) << map.name;
      if (r.kind == MapRelocKind::MapValue) {
        EXPECT_LT(static_cast<uint32_t>(p.insns[r.insn + 1].imm), map.value_size);
      }
    }
  }
  // sys_prog loads threshold (.rodata + 0), the printk format (.rodata + 4), events and seen.
  const ProgramSpec& sys = *spec.program("sys_prog");
  EXPECT_EQ(names_of_maps(spec, sys),
            (std::vector<std::string>{".rodata", ".rodata", "events", ".data"}));
  const MapReloc& fmt = sys.map_relocs[1];
  uint32_t fmt_offset = static_cast<uint32_t>(sys.insns[fmt.insn + 1].imm);
  EXPECT_EQ(fmt_offset, 4u);
  const auto& rodata = spec.map(".rodata")->initial_data;
  EXPECT_STREQ(reinterpret_cast<const char*>(rodata.data() + fmt_offset), "threshold %u");
}

TEST(LoaderSpec, AppendsTextSubprogramsAndFixesCallImm) {
  LOAD_OR_SKIP(spec, test::kMultiObj);
  // xdp_count calls add_bytes (global) and scale (static), and passes loop_body to bpf_loop;
  // each is appended once, in the order libbpf appends them, and reached by its call imm.
  const ProgramSpec& xdp = *spec.program("xdp_count");
  EXPECT_EQ(calls_of(xdp), (std::vector<std::string>{"add_bytes", "scale", "loop_body (address)"}));
  std::vector<std::string> funcs;
  for (const FuncInfo& f : xdp.func_info) funcs.push_back(f.name);
  EXPECT_EQ(funcs, (std::vector<std::string>{"xdp_count", "add_bytes", "scale", "loop_body"}));
  // The subprograms' own map loads are relocated in this program's copy.
  EXPECT_EQ(names_of_maps(spec, xdp),
            (std::vector<std::string>{".bss", "jump_table", "flows", ".rodata", ".data", ".bss"}));
  // add_bytes is shared by two programs; each gets its own copy.
  EXPECT_EQ(calls_of(*spec.program("tc_count")), (std::vector<std::string>{"add_bytes"}));
  EXPECT_EQ(calls_of(*spec.program("sock_filter")), (std::vector<std::string>{"scale"}));
  EXPECT_TRUE(calls_of(*spec.program("tail_a")).empty());
  EXPECT_EQ(spec.program("tail_a")->insns.size(), 7u) << "no subprogram appended";
}

TEST(LoaderSpec, LinkedProgramsPassStructuralValidation) {
  LOAD_OR_SKIP(spec, test::kMultiObj);
  for (const ProgramSpec& p : spec.programs) {
    Result<void> valid = isa::validate(p.insns);
    EXPECT_TRUE(valid.ok()) << p.name << ": " << valid.error().str();
  }
}

TEST(LoaderSpec, LineInfoMapsInstructionsToSourceLines) {
  LOAD_OR_SKIP(spec, test::kMultiObj);
  uint32_t xdp_return = test::source_line("multi.bpf.c", "LINE-XDP-RETURN");
  uint32_t add_bytes_line = test::source_line("multi.bpf.c", "LINE-ADD-BYTES");
  ASSERT_NE(xdp_return, 0u);
  const ProgramSpec& xdp = *spec.program("xdp_count");
  ASSERT_FALSE(xdp.line_info.empty());
  EXPECT_TRUE(std::is_sorted(xdp.line_info.begin(), xdp.line_info.end(),
                             [](const LineInfo& a, const LineInfo& b) { return a.insn < b.insn; }));
  EXPECT_TRUE(xdp.line_info.front().file.ends_with("multi.bpf.c"));
  // The entry function's exit comes from `return XDP_PASS;`.
  size_t add_bytes_start = xdp.func_info.at(1).insn;
  const LineInfo* exit_line = xdp.line_of(static_cast<uint32_t>(add_bytes_start - 1));
  ASSERT_NE(exit_line, nullptr);
  EXPECT_EQ(exit_line->line, xdp_return);
  EXPECT_NE(exit_line->source_line.find("return XDP_PASS;"), std::string::npos);
  // Line records of the appended add_bytes were rebased into each program's copy.
  for (const char* name : {"xdp_count", "tc_count"}) {
    const ProgramSpec& p = *spec.program(name);
    auto hit = std::find_if(p.line_info.begin(), p.line_info.end(),
                            [&](const LineInfo& l) { return l.line == add_bytes_line; });
    ASSERT_NE(hit, p.line_info.end()) << name;
    auto fn = std::find_if(p.func_info.begin(), p.func_info.end(),
                           [](const FuncInfo& f) { return f.name == "add_bytes"; });
    ASSERT_NE(fn, p.func_info.end());
    EXPECT_GT(hit->insn, fn->insn) << name;
    EXPECT_EQ(p.insns[hit->insn].opcode, 0x79) << name << ": r1 = *(u64 *)(r0 + 0)";
  }
}

TEST(LoaderSpec, ReadsLegacyMapsVersionAndStringLiteralsWithoutBtf) {
  LOAD_OR_SKIP(spec, test::kLegacyNodebugObj);
  EXPECT_FALSE(spec.btf.has_value());
  EXPECT_EQ(spec.license, "GPL");
  EXPECT_EQ(spec.kern_version, 0x050a00u);
  ASSERT_EQ(spec.maps.size(), 5u);
  const MapSpec& packets = spec.maps[0];
  EXPECT_EQ(packets.name, "packets");
  EXPECT_EQ(packets.source, MapSource::LegacyMaps);
  EXPECT_EQ(std::tie(packets.type, packets.key_size, packets.value_size, packets.max_entries,
                     packets.flags),
            std::make_tuple(2u, 4u, 8u, 256u, 0u));
  const MapSpec& by_len = spec.maps[1];
  EXPECT_EQ(by_len.name, "by_len");
  EXPECT_EQ(
      std::tie(by_len.type, by_len.key_size, by_len.value_size, by_len.max_entries, by_len.flags),
      std::make_tuple(1u, 4u, 4u, 16u, 1u));
  EXPECT_EQ(spec.maps[2].name, ".data");
  EXPECT_EQ(spec.maps[2].flags, 0u) << "no BTF, so not mmapable";
  EXPECT_EQ(spec.maps[3].name, ".rodata.str1.1");
  EXPECT_EQ(spec.maps[3].initial_data, (std::vector<uint8_t>{'l', 'e', 'g', 'a', 'c', 'y', 0}));
  EXPECT_EQ(spec.maps[4].name, ".bss");
  const ProgramSpec& count = *spec.program("count_packets");
  EXPECT_EQ(names_of_maps(spec, count),
            (std::vector<std::string>{"packets", ".data", ".rodata.str1.1"}));
  EXPECT_TRUE(count.func_info.empty());
  EXPECT_TRUE(count.line_info.empty());
  // by_length calls the static bump twice; both calls reach the one appended copy.
  const ProgramSpec& by_length = *spec.program("by_length");
  std::vector<size_t> targets;
  for (size_t i = 0; i < by_length.insns.size(); ++i)
    if (by_length.insns[i].opcode == 0x85 && by_length.insns[i].src == 1)
      targets.push_back(i + by_length.insns[i].imm + 1);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0], targets[1]);
  EXPECT_EQ(by_length.insns.size(), targets[0] + 4) << "bump is 4 instructions, appended last";
}

TEST(LoaderSpec, ReadsTheSameLegacyObjectWithBtf) {
  LOAD_OR_SKIP(with_btf, test::kLegacyObj);
  LOAD_OR_SKIP(without, test::kLegacyNodebugObj);
  ASSERT_TRUE(with_btf.btf.has_value());
  ASSERT_EQ(with_btf.programs.size(), without.programs.size());
  for (size_t i = 0; i < without.programs.size(); ++i) {
    EXPECT_EQ(with_btf.programs[i].insns, without.programs[i].insns) << without.programs[i].name;
    EXPECT_EQ(with_btf.programs[i].map_relocs, without.programs[i].map_relocs);
    EXPECT_FALSE(with_btf.programs[i].line_info.empty());
  }
  ASSERT_EQ(with_btf.maps.size(), without.maps.size());
  for (size_t i = 0; i < without.maps.size(); ++i)
    EXPECT_EQ(with_btf.maps[i].name, without.maps[i].name);
}

TEST(LoaderSpec, KeepsCoreRelocationsRebasedToTheProgram) {
  LOAD_OR_SKIP(spec, test::kCoreObj);
  ASSERT_EQ(spec.programs.size(), 1u);
  const ProgramSpec& p = spec.programs[0];
  EXPECT_EQ(p.name, "core_read");
  EXPECT_EQ(p.type, ProgramType::Kprobe);
  EXPECT_EQ(p.attach_target, "do_exit");
  ASSERT_EQ(p.core_relos.size(), 1u);
  const CoreRelo& relo = p.core_relos[0];
  EXPECT_EQ(relo.insn, 0u);
  EXPECT_EQ(p.insns[relo.insn].opcode, 0x61) << "r0 = *(u32 *)(r1 + 4)";
  EXPECT_EQ(spec.btf->name_of(relo.type_id), "task_like");
  EXPECT_EQ(relo.access, "0:1") << "member 1, pid";
  EXPECT_EQ(relo.kind, 0u) << "BPF_CORE_FIELD_BYTE_OFFSET";
}

// The relocation's value from the object's own BTF, for each kind it could have; an
// instruction that does not hold it, an access past the members and an unknown kind are refused.
TEST(CoreRelocations, ResolveAgainstTheProgramsBtf) {
  LOAD_OR_SKIP(spec, test::kCoreObj);
  ASSERT_TRUE(spec.btf);
  const ProgramSpec& p = spec.programs[0];
  ASSERT_EQ(p.core_relos.size(), 1u);
  CoreRelo relo = p.core_relos[0];
  auto value = [&](uint32_t kind, std::string access = "0:1") {
    CoreRelo r = relo;
    r.kind = kind;
    r.access = std::move(access);
    Result<CoreValue> v = core_relo_value(r, *spec.btf);
    EXPECT_TRUE(v) << v.error().str();
    return v ? v->value : ~uint64_t{0};
  };
  EXPECT_EQ(value(0), 4u);                 // byte offset of pid
  EXPECT_EQ(value(1), 4u);                 // its size
  EXPECT_EQ(value(2), 1u);                 // it exists
  EXPECT_EQ(value(3), 1u);                 // int: signed
  EXPECT_EQ(value(4), 32u);                // shifts that extract it from a u64 at its offset
  EXPECT_EQ(value(5), 32u);
  EXPECT_EQ(value(0, "1:0"), 8u);          // task[1].pad
  EXPECT_EQ(value(9, "0"), 8u);            // the struct's size
  EXPECT_EQ(value(6, "0"), relo.type_id);  // its id
  EXPECT_EQ(value(8, "0"), 1u);            // it exists

  relo.access = "0:2";
  EXPECT_FALSE(core_relo_value(relo, *spec.btf));
  relo.access = "0:1";
  relo.kind = 99;
  EXPECT_FALSE(core_relo_value(relo, *spec.btf));

  ProgramSpec tampered = p;
  tampered.insns[tampered.core_relos[0].insn].off = 8;
  Result<void> applied = apply_core_relos(tampered, *spec.btf);
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().message.find("the instruction holds 8, the program's BTF says 4"),
            std::string::npos)
      << applied.error().str();
}

TEST(LoaderSpec, LoadingTheSameBytesTwiceGivesTheSameSpec) {
  LOAD_OR_SKIP(first, test::kMultiObj);
  LOAD_OR_SKIP(second, test::kMultiObj);
  ASSERT_EQ(first.programs.size(), second.programs.size());
  for (size_t i = 0; i < first.programs.size(); ++i) {
    EXPECT_EQ(first.programs[i].insns, second.programs[i].insns);
    EXPECT_EQ(first.programs[i].map_relocs, second.programs[i].map_relocs);
  }
}

TEST(LoaderFile, ReportsAnUnreadableFileAsIo) {
  Result<ObjectSpec> r = load_object_file("/nonexistent/pollen/prog.o");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::Io);
  EXPECT_EQ(r.error().str(), "/nonexistent/pollen/prog.o: cannot open the file");
}

TEST(LoaderFile, LoadsAFileByPath) {
  if (std::string(test::kMultiObj).empty()) GTEST_SKIP() << "no eBPF object";
  Result<ObjectSpec> r = load_object_file(test::kMultiObj);
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(r->programs.size(), 8u);
}

}  // namespace
}  // namespace pollen::loader

// SPDX-License-Identifier: MIT
// What is the JIT's own, beyond the interpreter's tests it also passes (jit_vm_test): its code
// pages are never writable and executable at once; constant blinding leaves no immediate of the
// program in the code (while the same code unblinded does hold them, so the search works);
// faults carry the interpreter's exact messages; checked mode's slow paths (other regions,
// pointers into the stack) allow what the interpreter allows; a helper call saves only the
// arguments read after it; fused instruction sequences compute what the interpreter does; a
// callback's address is the interpreter's, and bpf_loop runs one (engine_test.cpp has tail calls
// and callbacks in full); options that do not fit the compiled code are refused; listings show each
// instruction with its machine code; a long program compiles and agrees with the interpreter in
// every option combination.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "builder.hpp"
#include "helpers/helpers.hpp"
#include "jit/jit.hpp"

namespace pollen::vm::test {
namespace {

using jit::JitOptions;
using jit::JitProgram;

JitProgram compile(const std::vector<isa::Insn>& prog, const JitOptions& options,
                   const HelperTable& helpers = HelperTable{}) {
  Result<JitProgram> code = JitProgram::compile(prog, helpers, options);
  EXPECT_TRUE(code.ok()) << code.error().str();
  return std::move(code).value();
}

JitOptions checked_options() {
  JitOptions options;
  options.checked = true;
  options.count_insns = true;
  return options;
}

// --- W^X ------------------------------------------------------------------------------------

struct Mapping {
  uint64_t begin, end;
  std::string perms;
};

std::vector<Mapping> mappings() {
  std::vector<Mapping> out;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms;
    fields >> range >> perms;
    size_t dash = range.find('-');
    out.push_back({std::stoull(range.substr(0, dash), nullptr, 16),
                   std::stoull(range.substr(dash + 1), nullptr, 16), perms});
  }
  return out;
}

TEST(WriteXorExecute, CodePagesAreReadAndExecuteOnly) {
  auto prog = program({mov(0, 1), {Op::Add64Imm, 0, 0, 0, 2}, exit_insn()});
  std::vector<JitProgram> programs;
  for (bool checked : {false, true}) {
    JitOptions options;
    options.checked = checked;
    programs.push_back(compile(prog, options));
  }
  const std::vector<Mapping> maps = mappings();
  for (const JitProgram& code : programs) {
    auto at = reinterpret_cast<uint64_t>(code.code().data());
    auto it = std::find_if(maps.begin(), maps.end(),
                           [&](const Mapping& m) { return m.begin <= at && at < m.end; });
    ASSERT_NE(it, maps.end()) << "no mapping holds the code";
    EXPECT_EQ(it->perms, "r-xp");
  }
  for (const Mapping& m : maps)
    EXPECT_FALSE(m.perms[1] == 'w' && m.perms[2] == 'x')
        << std::hex << m.begin << "-" << m.end << " is " << m.perms;
}

// --- Constant blinding ----------------------------------------------------------------------

bool holds(std::span<const uint8_t> code, const void* bytes, size_t size) {
  auto first = static_cast<const uint8_t*>(bytes);
  return std::search(code.begin(), code.end(), first, first + size) != code.end();
}

struct BlindCase {
  const char* name;
  std::vector<I> body;  ///< carries kImm (or kImm64); r1 = 16 bytes of memory
};

constexpr int32_t kImm = 0x5b3c2d1e;
constexpr uint64_t kImm64 = 0x1a2b3c4d5e6f7a8b;

// clang-format off
const BlindCase kBlindCases[] = {
    {"add64", {{Op::Add64Imm, 0, 0, 0, kImm}}},
    {"sub32", {{Op::Sub32Imm, 0, 0, 0, kImm}}},
    {"mul64", {{Op::Mul64Imm, 0, 0, 0, kImm}}},
    {"div64", {{Op::Div64Imm, 0, 0, 0, kImm}}},
    {"smod32", {{Op::SMod32Imm, 0, 0, 0, kImm}}},
    {"or64", {{Op::Or64Imm, 0, 0, 0, kImm}}},
    {"and32", {{Op::And32Imm, 0, 0, 0, kImm}}},
    {"xor64", {{Op::Xor64Imm, 0, 0, 0, kImm}}},
    {"mov64", {{Op::Mov64Imm, 0, 0, 0, kImm}}},
    {"mov32", {{Op::Mov32Imm, 0, 0, 0, kImm}}},
    {"jeq", {{Op::JeqImm, 0, 0, 1, kImm}, mov(0, 1)}},
    {"jsgt32", {{Op::Jsgt32Imm, 0, 0, 1, kImm}, mov(0, 1)}},
    {"jset", {{Op::JsetImm, 0, 0, 1, kImm}, mov(0, 1)}},
    {"stw", {{Op::StW, 1, 0, 0, kImm}}},
    {"stdw", {{Op::StDW, 1, 0, 8, kImm}}},
    {"ldabsw", {{Op::LdAbsW, 0, 0, 0, kImm}}},
    {"ldindb", {{Op::LdIndB, 0, 1, 0, kImm}}},
    {"lddw", {lddw(0, kImm64)}},
};
// clang-format on

class BlindTest : public ::testing::TestWithParam<BlindCase> {};

TEST_P(BlindTest, NoImmediateAppearsInHardenedCode) {
  std::vector<I> body = GetParam().body;
  std::vector<isa::Insn> prog;
  for (const I& i : body)
    for (const isa::Insn& slot : program({i})) prog.push_back(slot);
  for (const isa::Insn& slot : program({exit_insn()})) prog.push_back(slot);
  const uint32_t halves[] = {static_cast<uint32_t>(kImm64), static_cast<uint32_t>(kImm64 >> 32)};
  for (bool harden : {false, true}) {
    JitOptions options = checked_options();
    options.harden = harden;
    JitProgram code = compile(prog, options);
    // Unblinded code holds the immediate, so the search finds what blinding must hide.
    bool found = holds(code.code(), &kImm, sizeof kImm) || holds(code.code(), &kImm64, 8) ||
                 holds(code.code(), &halves[0], 4) || holds(code.code(), &halves[1], 4);
    EXPECT_EQ(found, !harden) << (harden ? "hardened" : "unhardened") << " code";
    // And both compute the same.
    alignas(8) std::array<uint8_t, 16> mem{};
    RunOptions run_options;
    run_options.checked = true;
    Result<uint64_t> r = code.run(memory_args(mem), run_options);
    Result<uint64_t> want = run(prog, mem, true);
    ASSERT_EQ(r.ok(), want.ok());
    if (r.ok()) {
      EXPECT_EQ(*r, *want);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Jit, BlindTest, ::testing::ValuesIn(kBlindCases),
                         [](const auto& info) { return std::string(info.param.name); });

// --- Faults are the interpreter's -------------------------------------------------------------

uint64_t refusing_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
  ctx->fault = "r1 is not a valid pointer";
  return 0;
}

struct FaultCase {
  const char* name;
  std::vector<I> body;  ///< r1 = 16 bytes of memory; r0 = 0 and exit are appended
  bool read_only;
  uint64_t budget;
};

// clang-format off
const FaultCase kFaultCases[] = {
    {"read_past_the_end", {{Op::LdxW, 0, 1, 14}}, false, 0},
    {"write_below_the_memory", {{Op::StxDW, 1, 1, -8}}, false, 0},
    {"write_to_read_only_memory", {{Op::StB, 1, 0, 3, 7}}, true, 0},
    {"null_pointer", {mov(2, 0), {Op::LdxB, 0, 2, 0}}, false, 0},
    {"above_r10", {{Op::LdxB, 0, 10, 0}}, false, 0},
    {"below_the_frame_through_a_pointer",
     {{Op::Mov64Reg, 2, 10}, {Op::StB, 2, 0, -513, 1}}, false, 0},
    {"misaligned_atomic", {mov(2, 1), {Op::AtomicAdd32, 1, 2, 2}}, false, 0},
    {"misaligned_atomic_on_the_stack", {mov(2, 1), {Op::AtomicFetchAdd64, 10, 2, -12}}, false, 0},
    {"unknown_helper", {{Op::CallHelper, 0, 0, 0, 77}}, false, 0},
    {"callx_unknown", {lddw(3, 0x100000002), {Op::Callx, 3}}, false, 0},
    {"helper_refuses", {mov(0, 5), {Op::CallHelper, 0, 0, 0, 2}}, false, 0},
    {"callx_refuses", {mov(3, 2), {Op::Callx, 3}}, false, 0},
    {"kfunc", {{Op::CallKfunc, 0, 0, 0, 31}}, false, 0},
    {"budget", {mov(0, 1), mov(0, 2), mov(0, 3)}, false, 2},
    {"budget_after_a_store", {{Op::StW, 1, 0, 0, 9}, mov(0, 2)}, false, 2},
};
// clang-format on

// The engines' stacks are in different places, so addresses in them differ; the memory's, and
// everything else, must be the same.
std::string without_stack_addresses(std::string message, const void* memory) {
  char text[32];
  std::snprintf(text, sizeof text, "%#llx",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(memory)));
  message = std::regex_replace(message, std::regex(text), "<memory>");
  return std::regex_replace(message, std::regex("0x[0-9a-f]{6,}"), "<stack>");
}

class FaultTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(FaultTest, MessageIsTheInterpreters) {
  const FaultCase& c = GetParam();
  std::vector<isa::Insn> prog;
  for (const I& i : c.body)
    for (const isa::Insn& slot : program({i})) prog.push_back(slot);
  for (const isa::Insn& slot : program({mov(0, 0), exit_insn()})) prog.push_back(slot);
  HelperTable helpers;
  helpers.fn[2] = refusing_helper;
  alignas(8) std::array<uint8_t, 16> mem{};
  RunArgs args = memory_args(mem);
  args.regions[0].writable = !c.read_only;
  RunOptions options;
  options.checked = true;
  options.insn_budget = c.budget;
  Result<Interpreter> interp = Interpreter::create(prog, helpers);
  ASSERT_TRUE(interp.ok());
  Result<uint64_t> want = interp->run(args, options);
  const std::array<uint8_t, 16> want_mem = mem;
  const uint64_t want_count = Interpreter::last_insn_count();
  mem.fill(0);
  for (bool harden : {false, true}) {
    JitOptions jit_options = checked_options();
    jit_options.harden = harden;
    Result<uint64_t> got = compile(prog, jit_options, helpers).run(args, options);
    ASSERT_FALSE(want.ok());
    ASSERT_FALSE(got.ok()) << "r0 = " << *got;
    EXPECT_EQ(got.error().code, want.error().code);
    EXPECT_EQ(without_stack_addresses(got.error().str(), mem.data()),
              without_stack_addresses(want.error().str(), mem.data()));
    EXPECT_EQ(JitProgram::last_insn_count(), want_count);
    EXPECT_EQ(mem, want_mem);
    mem.fill(0);
  }
}

INSTANTIATE_TEST_SUITE_P(Jit, FaultTest, ::testing::ValuesIn(kFaultCases),
                         [](const auto& info) { return std::string(info.param.name); });

// --- Checked mode's slow paths --------------------------------------------------------------

TEST(Checked, SecondRegionsAndStackPointersAreAllowedAsInTheInterpreter) {
  // r1 = the first region, r2 = a second, read-only one; r3 = a pointer into the stack.
  alignas(8) std::array<uint8_t, 16> first{};
  alignas(8) std::array<uint8_t, 8> second = {1, 2, 3, 4, 5, 6, 7, 8};
  RunArgs args = memory_args(first);
  args.r[1] = reinterpret_cast<uint64_t>(second.data());
  args.regions.push_back({args.r[1], second.size(), false, "second"});
  auto prog = program({{Op::LdxDW, 4, 2, 0},
                       {Op::Mov64Reg, 3, 10},
                       {Op::Add64Imm, 3, 0, 0, -16},
                       {Op::StxDW, 3, 4, 0},
                       {Op::LdxW, 0, 3, 4},
                       {Op::StxW, 1, 0, 12},
                       {Op::StxB, 2, 0, 0},  // read-only: faults
                       exit_insn()});
  RunOptions options;
  options.checked = true;
  Result<uint64_t> want = run(prog, args, options, HelperTable{});
  Result<uint64_t> got = compile(prog, checked_options()).run(args, options);
  ASSERT_FALSE(want.ok());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().str(), want.error().str());
  EXPECT_EQ(got.error().location.value, 6u);
  // r0 = the second region's bytes 4..7, copied through the stack.
  EXPECT_EQ(first[12], 5u);
  EXPECT_EQ(first[15], 8u);
}

// --- Helper calls ---------------------------------------------------------------------------

uint64_t add_helper(uint64_t a, uint64_t b, uint64_t, uint64_t, uint64_t, RunContext*) {
  return a + b;
}

TEST(HelperCall, SavesOnlyTheArgumentsReadAfterIt) {
  HelperTable helpers;
  helpers.fn[1] = add_helper;
  JitOptions options;
  options.listing = true;
  struct Case {
    std::vector<isa::Insn> prog;
    bool saves_r2;
    uint64_t r0;
  };
  const Case cases[] = {
      {program({mov(1, 3), mov(2, 4), {Op::CallHelper, 0, 0, 0, 1}, exit_insn()}), false, 7},
      {program(
           {mov(1, 3), mov(2, 4), {Op::CallHelper, 0, 0, 0, 1}, {Op::Add64Reg, 0, 2}, exit_insn()}),
       true, 11},
      {program({mov(1, 3),
                mov(2, 4),
                {Op::CallHelper, 0, 0, 0, 1},
                mov(2, 1),
                {Op::Add64Reg, 0, 2},
                exit_insn()}),
       false, 8},
  };
  for (const Case& c : cases) {
    JitProgram code = compile(c.prog, options, helpers);
    EXPECT_EQ(code.listing().find("push rsi") != std::string::npos, c.saves_r2) << code.listing();
    Result<uint64_t> r = code.run(RunArgs{});
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, c.r0);
  }
}

// --- Peepholes -----------------------------------------------------------------------------

// Sequences the JIT says in one x86 instruction give the interpreter's r0, on values whose
// high halves and signs matter; a jump into the middle of one keeps it apart.
TEST(Peephole, FusedSequencesComputeWhatTheInterpreterDoes) {
  struct Case {
    const char* name;
    std::vector<I> body;  ///< r1 = 0x87654321_f0000001 and r2 = -5 before it; r0 after
    const char* fused;    ///< the one instruction in the listing ("" for none)
  };
  const Case cases[] = {
      {"zero-extension",
       {{Op::Mov64Reg, 0, 1}, {Op::Lsh64Imm, 0, 0, 0, 32}, {Op::Rsh64Imm, 0, 0, 0, 32}},
       "mov eax, edi"},
      {"sign-extension",
       {{Op::Mov64Reg, 0, 1}, {Op::Lsh64Imm, 0, 0, 0, 32}, {Op::Arsh64Imm, 0, 0, 0, 32}},
       "movsxd rax, edi"},
      {"in place",
       {{Op::Lsh64Imm, 1, 0, 0, 32}, {Op::Rsh64Imm, 1, 0, 0, 32}, {Op::Mov64Reg, 0, 1}},
       "mov edi, edi"},
      {"zero-extension into a copy",
       {{Op::Lsh64Imm, 1, 0, 0, 32}, {Op::Mov64Reg, 0, 1}, {Op::Rsh64Imm, 0, 0, 0, 32}},
       "mov eax, edi"},
      {"sign-extension into a copy",
       {{Op::Lsh64Imm, 1, 0, 0, 32}, {Op::Mov64Reg, 0, 1}, {Op::Arsh64Imm, 0, 0, 0, 32}},
       "movsxd rax, edi"},
      // r1 is read after it, shifted: not fused.
      {"into a copy, the shifted value read",
       {{Op::Lsh64Imm, 1, 0, 0, 32},
        {Op::Mov64Reg, 0, 1},
        {Op::Rsh64Imm, 0, 0, 0, 32},
        {Op::Add64Reg, 0, 1}},
       ""},
      {"copy and add", {{Op::Mov64Reg, 0, 1}, {Op::Add64Reg, 0, 2}}, "lea rax, [rdi+rsi]"},
      {"copy and double", {{Op::Mov64Reg, 0, 1}, {Op::Add64Reg, 0, 0}}, "lea rax, [rdi+rdi]"},
      {"copy and add 32", {{Op::Mov32Reg, 0, 1}, {Op::Add32Reg, 0, 2}}, "lea eax, [rdi+rsi]"},
      {"copy and add an immediate",
       {{Op::Mov64Reg, 0, 1}, {Op::Add64Imm, 0, 0, 0, -7}},
       "lea rax, [rdi-7]"},
      {"copy and subtract", {{Op::Mov64Reg, 0, 2}, {Op::Sub64Imm, 0, 0, 0, 9}}, "lea rax, [rsi-9]"},
      {"subtract INT32_MIN", {{Op::Mov64Reg, 0, 2}, {Op::Sub64Imm, 0, 0, 0, INT32_MIN}}, ""},
      {"times 9", {{Op::Mov64Reg, 0, 1}, {Op::Mul64Imm, 0, 0, 0, 9}}, "lea rax, [rax+rax*8]"},
      {"times 5, 32-bit",
       {{Op::Mov64Reg, 0, 1}, {Op::Mul32Imm, 0, 0, 0, 5}},
       "lea eax, [rax+rax*4]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<isa::Insn> prog = program({lddw(1, 0x87654321f0000001), mov(2, -5)});
    for (const I& i : c.body)
      for (const isa::Insn& slot : program({i})) prog.push_back(slot);
    prog.push_back(program({exit_insn()})[0]);
    Result<Interpreter> interp = Interpreter::create(prog, HelperTable{});
    ASSERT_TRUE(interp.ok());
    Result<uint64_t> want = interp->run(RunArgs{});
    ASSERT_TRUE(want.ok());
    JitOptions options;
    options.listing = true;
    JitProgram code = compile(prog, options);
    Result<uint64_t> got = code.run(RunArgs{});
    ASSERT_TRUE(got.ok()) << got.error().str();
    EXPECT_EQ(*got, *want);
    if (*c.fused != '\0')
      EXPECT_NE(code.listing().find(c.fused), std::string::npos) << code.listing();
    else
      EXPECT_EQ(code.listing().find("mov eax, edi"), std::string::npos) << code.listing();
    // Hardened and counting code keep the instructions apart, with the same result.
    options.harden = true;
    options.count_insns = true;
    got = compile(prog, options).run(RunArgs{});
    ASSERT_TRUE(got.ok()) << got.error().str();
    EXPECT_EQ(*got, *want);
  }
  // A jump to the shift right: the two shifts are in different blocks and stay apart.
  std::vector<isa::Insn> prog = program({lddw(1, 0x87654321f0000001),
                                         mov(0, 0),
                                         {Op::JeqImm, 0, 0, 1, 1},
                                         {Op::Lsh64Imm, 1, 0, 0, 32},
                                         {Op::Rsh64Imm, 1, 0, 0, 32},
                                         {Op::Mov64Reg, 0, 1},
                                         exit_insn()});
  JitOptions options;
  options.listing = true;
  JitProgram code = compile(prog, options);
  EXPECT_EQ(code.listing().find("mov edi, edi"), std::string::npos) << code.listing();
  Result<uint64_t> got = code.run(RunArgs{});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 0xf0000001u);
}

// --- Callbacks ------------------------------------------------------------------------------

TEST(Callback, PseudoFuncLoadsTheSlotIndexAsTheInterpreterDoes) {
  // r0 = the slot of the function at insn 3 (lddw's imm is its offset from the next slot).
  auto prog = program({{Op::LddwFunc, 0, 0, 0, 0, 2}, exit_insn(), mov(0, 1), exit_insn()});
  Result<uint64_t> want = run(prog);
  ASSERT_TRUE(want.ok()) << want.error().str();
  EXPECT_EQ(*want, 3u);
  for (bool harden : {false, true}) {
    JitOptions options;
    options.harden = harden;
    Result<uint64_t> got = compile(prog, options).run(RunArgs{});
    ASSERT_TRUE(got.ok()) << got.error().str();
    EXPECT_EQ(*got, *want);
  }
}

TEST(Callback, BpfLoopRunsItsCallbackOnTheJit) {
  // bpf_loop(3, the function at insn 7, 0, 0): r0 = 3 calls; the callback returns 0 each time.
  auto prog = program({mov(1, 3),
                       {Op::LddwFunc, 2, 0, 0, 0, 5},
                       mov(3, 0),
                       mov(4, 0),
                       {Op::CallHelper, 0, 0, 0, 181},
                       exit_insn(),
                       mov(0, 0),
                       exit_insn()});
  Result<uint64_t> want = run(prog, RunArgs{}, RunOptions{}, helpers::default_helpers());
  ASSERT_TRUE(want.ok()) << want.error().str();
  EXPECT_EQ(*want, 3u);
  Result<uint64_t> got = compile(prog, JitOptions{}, helpers::default_helpers()).run(RunArgs{});
  ASSERT_TRUE(got.ok()) << got.error().str();
  EXPECT_EQ(*got, *want);
}

// --- Options that do not fit the code --------------------------------------------------------

TEST(Options, RunInTheOtherModeIsRefused) {
  JitProgram code = compile(program({mov(0, 1), exit_insn()}), JitOptions{});
  RunOptions options;
  options.checked = true;
  Result<uint64_t> r = code.run(RunArgs{}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::InvalidArgument);
  EXPECT_EQ(r.error().message,
            "the JIT compiled this program for unchecked mode, so it cannot run it in checked "
            "mode (compile it again for that mode)");
}

TEST(Options, BudgetNeedsCounting) {
  JitProgram code = compile(program({mov(0, 1), exit_insn()}), JitOptions{});
  RunOptions options;
  options.insn_budget = 10;
  Result<uint64_t> r = code.run(RunArgs{}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::NotSupported);
  EXPECT_EQ(r.error().message,
            "instruction budget of 10: the JIT compiled this program without instruction "
            "counting (JitOptions::count_insns)");
  ASSERT_TRUE(code.run(RunArgs{}).ok());
  EXPECT_EQ(JitProgram::last_insn_count(), 0u);
}

// run_times: the runs share the memory, as a test run's repeats do, in both modes; the last
// run's r0 comes back; the first fault stops them and is reported.
TEST(RunTimes, RunsAgainOnWhatTheRunBeforeLeft) {
  // ++mem[0]; return mem[0]; then fault when it reaches 7
  const std::vector<isa::Insn> prog = program({{Op::LdxB, 0, 1, 0},
                                               {Op::Add64Imm, 0, 0, 0, 1},
                                               {Op::StxB, 1, 0, 0},
                                               {Op::JneImm, 0, 0, 2, 7},
                                               mov(2, 0),
                                               {Op::LdxB, 3, 2, 0},
                                               exit_insn()});
  for (bool checked : {false, true}) {
    SCOPED_TRACE(checked ? "checked" : "unchecked");
    JitOptions jit_options;
    jit_options.checked = checked;
    JitProgram code = compile(prog, jit_options);
    RunOptions options;
    options.checked = checked;
    std::array<uint8_t, 8> mem{};
    Result<uint64_t> r = code.run_times(memory_args(mem), 5, options);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, 5u);
    EXPECT_EQ(mem[0], 5);
    if (!checked) continue;  // unchecked code would read address 0
    Result<uint64_t> fault = code.run_times(memory_args(mem), 10, options);
    ASSERT_FALSE(fault.ok());
    EXPECT_EQ(fault.error().code, Errc::RuntimeFault);
    EXPECT_EQ(mem[0], 7) << "the runs after the fault must not happen";
  }
}

TEST(Options, CompileRejectsAStructurallyInvalidProgram) {
  Result<JitProgram> code =
      JitProgram::compile(program({{Op::Ja, 0, 0, 5}, exit_insn()}), HelperTable{}, {});
  ASSERT_FALSE(code.ok());
  EXPECT_EQ(code.error().code, Errc::InvalidProgram);
}

// --- Listing --------------------------------------------------------------------------------

TEST(Listing, ShowsEachInstructionWithItsMachineCode) {
  auto prog = program({mov(0, 7), {Op::Add64Reg, 0, 1}, exit_insn()});
  JitOptions options;
  EXPECT_EQ(compile(prog, options).listing(), "");
  options.listing = true;
  const std::string listing = compile(prog, options).listing();
  EXPECT_NE(listing.find("   0: r0 = 0x7\n        mov eax, 7 "), std::string::npos) << listing;
  EXPECT_NE(listing.find("   1: r0 += r1\n        add rax, rdi "), std::string::npos) << listing;
  EXPECT_NE(listing.find("   2: exit\n"), std::string::npos) << listing;
  EXPECT_NE(listing.find("; 4801F8\n"), std::string::npos) << "machine code bytes\n" << listing;
}

// A small loop's head is aligned (to a cache line when it is this small); a backward jump to a
// shared exit, which closes no loop, and a long loop's backward jump are not.
TEST(Listing, AlignsTheHeadsOfSmallLoopsOnly) {
  JitOptions options;
  options.listing = true;
  auto small_loop = program({mov(0, 10), {Op::Sub64Imm, 0, 0, 0, 1}, {Op::JneImm, 0, 0, -2, 0},
                             exit_insn()});
  JitProgram code = compile(small_loop, options);
  EXPECT_NE(code.listing().find("align 64"), std::string::npos) << code.listing();
  Result<uint64_t> r = code.run(RunArgs{});
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 0u);

  auto to_exit = program({mov(0, 1), {Op::Ja, 0, 0, 1}, exit_insn(), {Op::JeqImm, 1, 0, -2, 0},
                          mov(0, 2), exit_insn()});
  EXPECT_EQ(compile(to_exit, options).listing().find("align"), std::string::npos)
      << compile(to_exit, options).listing();

  std::vector<I> body = {mov(0, 0), mov(6, 3)};
  for (int k = 0; k < 40; ++k) body.push_back({Op::Add64Imm, 0, 0, 0, k});
  body.push_back({Op::Sub64Imm, 6, 0, 0, 1});
  body.push_back({Op::JneImm, 6, 0, -42, 0});
  body.push_back(exit_insn());
  std::vector<isa::Insn> insns;
  for (const I& i : body)
    for (const isa::Insn& slot : program({i})) insns.push_back(slot);
  JitProgram long_loop = compile(insns, options);
  EXPECT_EQ(long_loop.listing().find("align"), std::string::npos) << long_loop.listing();
  r = long_loop.run(RunArgs{});
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 3u * (39 * 40 / 2));
}

// --- A long program -------------------------------------------------------------------------

// 1000 instructions of ALU work, memory traffic, forward branches and divisions, ending in an
// exit; every branch is taken or not depending on the data.
std::vector<isa::Insn> long_program() {
  std::vector<I> body = {mov(0, 0), mov(6, 1)};
  for (int32_t k = 0; body.size() < 990; ++k) {
    body.push_back({Op::Add64Imm, 6, 0, 0, k * 7919});
    body.push_back({Op::Mul32Reg, 6, 6});
    body.push_back({Op::StxDW, 1, 6, static_cast<int16_t>(8 * (k % 4))});
    body.push_back({Op::LdxW, 7, 1, static_cast<int16_t>(4 * (k % 8))});
    body.push_back({Op::JsetImm, 7, 0, 2, 1 << (k % 31)});
    body.push_back({Op::Xor64Reg, 0, 7});
    body.push_back({Op::Ja, 0, 0, 1});
    body.push_back({Op::Mod64Reg, 0, 6});
    body.push_back({Op::Rsh64Imm, 6, 0, 0, k % 64});
    body.push_back({Op::Add64Reg, 0, 6});
  }
  body.push_back(exit_insn());
  std::vector<isa::Insn> out;
  for (const I& i : body)
    for (const isa::Insn& slot : program({i})) out.push_back(slot);
  return out;
}

TEST(LongProgram, CompilesAndAgreesWithTheInterpreterInEveryMode) {
  const std::vector<isa::Insn> prog = long_program();
  ASSERT_GE(prog.size(), 990u);
  alignas(8) std::array<uint8_t, 32> want_mem{};
  Result<uint64_t> want = run(prog, want_mem, true);
  ASSERT_TRUE(want.ok()) << want.error().str();
  for (int bits = 0; bits < 16; ++bits) {
    JitOptions options;
    options.checked = bits & 1;
    options.harden = bits & 2;
    options.count_insns = bits & 4;
    options.use_bmi2 = bits & 8;
    JitProgram code = compile(prog, options);
    // A bound that catches runaway code growth, far above what the lowering emits.
    EXPECT_LT(code.code().size(), prog.size() * 160) << "options " << bits;
    alignas(8) std::array<uint8_t, 32> mem{};
    RunOptions run_options;
    run_options.checked = options.checked;
    Result<uint64_t> r = code.run(memory_args(mem), run_options);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, *want) << "options " << bits;
    EXPECT_EQ(mem, want_mem) << "options " << bits;
  }
}

}  // namespace
}  // namespace pollen::vm::test

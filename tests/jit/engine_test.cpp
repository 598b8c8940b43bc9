// SPDX-License-Identifier: MIT
// What the JIT offers helpers, against the interpreter with Pollen's own helpers and real maps:
// bpf_tail_call continues in the target's JIT code (with Linux's 33-tail-call limit, the
// registers and stack frame kept, faults located in the target, refusals from local calls) or
// hands the run over to an interpreter; bpf_loop and bpf_for_each_map_elem run their callbacks
// as JIT code in a frame of their own (frame limit, faults inside, budget, checked mode's fresh
// frames); bpf_map_lookup_elem on an ARRAY map is inlined with the helper's results. Every case
// runs on both engines in both modes, and must give the same r0, or the same error, and the
// same instruction count.
#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <regex>
#include <memory>
#include <string>

#include "helper_test_util.hpp"
#include "jit/array_layout.hpp"
#include "jit/jit.hpp"
#include "maps/ref_maps.hpp"

namespace pollen::helpers::test {
namespace {

using jit::JitOptions;
using jit::JitProgram;

JitOptions jit_options(bool checked) {
  JitOptions options;
  options.checked = checked;
  options.count_insns = true;
  return options;
}

Result<JitProgram> compile(const std::vector<isa::Insn>& prog, const JitOptions& options) {
  return JitProgram::compile(prog, default_helpers(), options);
}

vm::RunArgs args_of(const RunSetup& setup) {
  vm::RunArgs args = vm::memory_args(setup.memory);
  for (maps::Map* map : setup.maps) args.maps.push_back(address(map));
  return args;
}

vm::RunOptions options_of(const RunSetup& setup, bool checked) {
  vm::RunOptions options;
  options.checked = checked;
  options.insn_budget = setup.insn_budget;
  return options;
}

// The engines' stacks are in different places, so addresses in them differ.
std::string without_stack_addresses(const Error& e) {
  return std::regex_replace(e.str(), std::regex("0x[0-9a-f]{6,}"), "<stack>");
}

// Runs `prog` on the interpreter and on the JIT in both modes (checked only, with
// `checked_only`: a program that faults would crash unchecked) and expects the same result, the
// same instruction count and, when `want` is given, that r0. Returns the JIT's checked result.
Result<uint64_t> expect_same(const std::vector<isa::Insn>& prog, RunSetup setup,
                             std::optional<uint64_t> want = std::nullopt,
                             const jit::TailCallTargets* targets_by_mode = nullptr,
                             bool checked_only = false) {
  Result<uint64_t> last = make_error(Errc::InvalidArgument, Location::none(), "not run");
  for (bool checked : {false, true}) {
    if (checked_only && !checked) continue;
    setup.checked = checked;
    Result<uint64_t> expected = run(prog, setup);
    const uint64_t expected_count = vm::Interpreter::last_insn_count();
    Result<JitProgram> code = compile(prog, jit_options(checked));
    EXPECT_TRUE(code.ok()) << code.error().str();
    if (!code) return code.error();
    maps::EpochGuard guard;
    Result<uint64_t> got = code->run(args_of(setup), options_of(setup, checked),
                                     targets_by_mode ? targets_by_mode[checked] : jit::TailCallTargets{});
    const char* mode = checked ? "checked" : "unchecked";
    EXPECT_EQ(got.ok(), expected.ok())
        << mode << ": interpreter " << (expected ? "ok" : expected.error().str()) << ", JIT "
        << (got ? "ok" : got.error().str());
    if (got.ok() && expected.ok()) {
      EXPECT_EQ(*got, *expected) << mode;
    }
    if (!got.ok() && !expected.ok()) {
      EXPECT_EQ(without_stack_addresses(got.error()), without_stack_addresses(expected.error()))
          << mode;
    }
    if (want && expected.ok()) {
      EXPECT_EQ(*expected, *want) << mode;
    }
    EXPECT_EQ(JitProgram::last_insn_count(), expected_count) << mode;
    last = got;
  }
  return last;
}

// --- Tail calls --------------------------------------------------------------------------------

// A PROG_ARRAY whose slots hold interpreters, as the runtime fills it, and the JIT code of each
// for both modes, which TailCallTargets finds from the interpreter.
class JitTailCallTest : public ::testing::Test {
 protected:
  std::shared_ptr<maps::Map> array = make_map(maps::MapType::ProgArray, 4, 4, 4);
  struct Compiled {
    std::unique_ptr<JitProgram> code[2];  // unchecked, checked
  };
  std::map<const void*, Compiled> jit_of;
  jit::TailCallTargets targets[2] = {{&find<false>, this}, {&find<true>, this}};

  template <bool Checked>
  static const JitProgram* find(void* self, const void* target) {
    auto& map = static_cast<JitTailCallTest*>(self)->jit_of;
    auto it = map.find(target);
    return it == map.end() ? nullptr : it->second.code[Checked].get();
  }

  void set(uint32_t index, std::string_view text, bool with_jit = true) {
    Result<vm::Interpreter> interp =
        vm::Interpreter::create(link(text, {array.get()}), default_helpers());
    ASSERT_TRUE(interp.ok()) << interp.error().str();
    auto prog = std::make_shared<vm::Interpreter>(std::move(*interp));
    if (with_jit) {
      Compiled& c = jit_of[prog.get()];
      for (bool checked : {false, true}) {
        Result<JitProgram> code = compile(link(text, {array.get()}), jit_options(checked));
        ASSERT_TRUE(code.ok()) << code.error().str();
        c.code[checked] = std::make_unique<JitProgram>(std::move(*code));
      }
    }
    ASSERT_EQ(static_cast<maps::RefArrayMap*>(array.get())->set_prog(index, prog, index + 100), 0);
  }
  RunSetup setup() { return {.maps = {array.get()}}; }
  Result<uint64_t> same(std::string_view main, std::optional<uint64_t> want = std::nullopt,
                        RunSetup s = {}, bool checked_only = false) {
    s.maps = {array.get()};
    return expect_same(link(main, {array.get()}), s, want, targets, checked_only);
  }
};

// Tail calls index r3 = `index` of map 0, with r1 = the context.
std::string tail_call_to(int index) {
  return "lddw %r2, map_fd 0\nmov %r3, " + std::to_string(index) + "\ncall 12\n";
}

TEST_F(JitTailCallTest, JumpsToTheTargetWhichNeverReturns) {
  set(1, "mov %r0, 7\nexit");
  same(tail_call_to(1) + "mov %r0, 99\nexit", 7);
}

TEST_F(JitTailCallTest, TargetKeepsRegistersAndStackFrame) {
  set(1, "ldxdw %r0, [%r10-8]\nadd %r0, %r6\nadd %r0, %r1\nadd %r0, %r4\nexit");
  same("stdw [%r10-8], 6\nmov %r6, 5\nmov %r1, 1000\nmov %r4, 20000\n" + tail_call_to(1) + "exit",
       21011);
}

TEST_F(JitTailCallTest, FailureContinuesAfterTheCallWithAnError) {
  set(1, "mov %r0, 7\nexit");
  for (int index : {2, 4, -1}) {
    same(tail_call_to(index) + "exit", neg(ENOENT));
    same(tail_call_to(index) + "mov %r0, 99\nexit", 99);
  }
}

TEST_F(JitTailCallTest, AChainEndsAfter33TailCalls) {
  const std::string self = "add %r6, 1\n" + tail_call_to(0) + "mov %r0, %r6\nexit";
  set(0, self);
  same(self, 34);
  same(self, 34);  // each run starts its own count
}

TEST_F(JitTailCallTest, AnAttemptOnAnEmptySlotCountsTowardsTheLimit) {
  const std::string self =
      "add %r6, 1\n" + tail_call_to(3) + tail_call_to(0) + "mov %r0, %r6\nexit";
  set(0, self);
  same(self, 17);
}

TEST_F(JitTailCallTest, TheBudgetRunsOutInsideTheChainAsInTheInterpreter) {
  const std::string self = "add %r6, 1\n" + tail_call_to(0) + "mov %r0, %r6\nexit";
  set(0, self);
  for (uint64_t budget : {3, 6, 7, 50, 1000}) {
    Result<uint64_t> r = same(self, std::nullopt, {.insn_budget = budget});
    if (budget < 34 * 6) {
      ASSERT_FALSE(r.ok());
      EXPECT_NE(r.error().message.find("instruction budget of " + std::to_string(budget)),
                std::string::npos);
    }
  }
}

TEST_F(JitTailCallTest, FaultsInTheTargetAreLocatedInTheTarget) {
  set(1, "mov %r0, 0\nmov %r2, 0\nldxw %r0, [%r2+16]\nexit");
  // Unchecked, the load would crash: only checked mode runs it.
  Result<uint64_t> r = same("mov %r0, 0\n" + tail_call_to(1) + "exit", std::nullopt, {}, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 2u);
  EXPECT_NE(r.error().message.find("ldxw: out-of-bounds read of 4 bytes at 0x10"),
            std::string::npos)
      << r.error().str();
}

TEST_F(JitTailCallTest, FromAMainFunctionThatIsAlsoCalled) {
  // The main function calls itself once (r7 tells the inner call), then tail calls.
  set(1, "mov %r0, %r6\nadd %r0, 10\nexit");
  same("main:\njeq %r7, 1, +8\nmov %r7, 1\ncall local main\nmov %r6, %r0\n" + tail_call_to(1) +
           "exit\nmov %r0, 5\nexit",
       15);
}

TEST_F(JitTailCallTest, FromALocalCallTheTargetReturnsToTheCaller) {
  // The target takes f's place: its r0 is f's result, and main's r6 survives it.
  set(1, "mov %r6, 99\nmov %r0, 7\nexit");
  const std::string main = "mov %r6, 5\ncall local f\nadd %r0, %r6\nexit\nf:\n";
  same(main + tail_call_to(1) + "mov %r0, 1\nexit", 12);
  set(2, "mov %r6, 99\nmov %r0, 7\nexit", false);  // an interpreter target
  same(main + tail_call_to(2) + "mov %r0, 1\nexit", 12);
  // Deeper: f calls g, which tail calls; f goes on afterwards.
  same("mov %r6, 5\ncall local f\nadd %r0, %r6\nexit\nf:\ncall local g\nadd %r0, 100\nexit\n"
       "g:\n" + tail_call_to(1) + "exit",
       112);
}

TEST_F(JitTailCallTest, FromALocalCallAnEmptySlotFallsThrough) {
  same("call local f\nexit\nf:\n" + tail_call_to(3) + "mov %r0, 9\nexit", 9);
}

TEST_F(JitTailCallTest, FromALocalCallTheCountGoesOn) {
  // Each program calls a function that tail calls the next, handing its depth on in r1: the
  // chain still ends after 33 tail calls, in the 34th program.
  const std::string self = "mov %r6, %r1\nadd %r6, 1\nmov %r1, %r6\ncall local f\nexit\nf:\n"
                           "mov %r6, %r1\n" + tail_call_to(0) + "mov %r0, %r6\nexit";
  set(0, self);
  same("mov %r1, 0\n" + self, 34);
}

TEST_F(JitTailCallTest, FromALocalCallATargetsFaultIsTheCallsFault) {
  set(1, "mov %r0, 0\nmov %r2, 0\nldxw %r0, [%r2+16]\nexit");
  Result<uint64_t> r =
      same("call local f\nexit\nf:\n" + tail_call_to(1) + "exit", std::nullopt, {}, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 5u);
  EXPECT_NE(r.error().message.find("run in place of the calling function, stopped: insn 2: ldxw: "
                                   "out-of-bounds read of 4 bytes at 0x10"),
            std::string::npos)
      << r.error().str();
}

TEST_F(JitTailCallTest, FromALocalCallTheBudgetIsShared) {
  set(1, "mov %r0, 1\nmov %r0, 2\nmov %r0, 3\nexit");
  const std::string main = "call local f\nexit\nf:\n" + tail_call_to(1) + "exit";
  for (uint64_t budget : {3, 5, 6, 7, 9, 10, 100}) same(main, std::nullopt, {.insn_budget = budget});
  same(main, 3, {.insn_budget = 100});
}

TEST_F(JitTailCallTest, FromACallbackTheTargetIsTheCallbacksResult) {
  // bpf_loop stops after the callback returns 1: once with a target returning 1, twice with 0.
  set(1, "mov %r0, 1\nexit");
  set(2, "mov %r0, 0\nexit");
  for (int index : {1, 2}) {
    const std::string callback = tail_call_to(index) + "mov %r0, 0\nexit";
    auto prog = link("mov %r1, 2\nlddw %r2, func 0\nmov %r3, 0\nmov %r4, 0\ncall 181\nexit",
                     {array.get()}, {callback});
    expect_same(prog, setup(), index == 1 ? 1u : 2u, targets);
  }
}

TEST_F(JitTailCallTest, ATargetCompiledForAnotherModeIsRefused) {
  set(1, "mov %r0, 7\nexit");
  Result<JitProgram> code = compile(link(tail_call_to(1) + "exit", {array.get()}), JitOptions{});
  ASSERT_TRUE(code.ok());
  maps::EpochGuard guard;
  Result<uint64_t> r = code->run(args_of(setup()), {}, targets[0]);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().str(),
            "insn 3: helper 12: bpf_tail_call: the target's JIT code was compiled for unchecked "
            "mode with instruction counting, the caller's for unchecked mode without "
            "instruction counting");
}

TEST_F(JitTailCallTest, AnInterpreterTargetTakesTheRunOver) {
  set(1, "mov %r0, %r1\nadd %r0, 5\nexit", false);
  set(2, "mov %r0, 0\nmov %r2, 0\nldxw %r0, [%r2+16]\nexit", false);
  RunSetup s = setup();
  for (bool checked : {false, true}) {
    Result<JitProgram> code =
        compile(link("mov %r1, 37\n" + tail_call_to(1) + "exit", {array.get()}),
                jit_options(checked));
    ASSERT_TRUE(code.ok());
    maps::EpochGuard guard;
    Result<uint64_t> r = code->run(args_of(s), options_of(s, checked), targets[checked]);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, 42u);
    EXPECT_EQ(JitProgram::last_insn_count(), 4u + 3u);  // both programs' instructions
  }
  Result<JitProgram> code =
      compile(link(tail_call_to(2) + "exit", {array.get()}), jit_options(true));
  maps::EpochGuard guard;
  Result<uint64_t> r = code->run(args_of(s), options_of(s, true), targets[1]);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 2u) << "located in the interpreter's program";
  EXPECT_NE(r.error().message.find("ldxw: out-of-bounds read of 4 bytes at 0x10"),
            std::string::npos)
      << r.error().str();
}

// --- Callbacks ---------------------------------------------------------------------------------

// bpf_loop(nr_loops, callback 0, ctx = r10 - 8, flags); r0 = its result * 1000 + the u64 the
// callbacks accumulate at r10 - 8.
std::vector<isa::Insn> loop_program(std::string_view callback, uint64_t loops, int flags = 0) {
  const std::string main =
      "lddw %r7, " + std::to_string(loops) + "\nmov %r8, " + std::to_string(flags) + R"(
    stdw [%r10-8], 0
    mov %r1, %r7
    lddw %r2, func 0
    mov %r3, %r10
    add %r3, -8
    mov %r4, %r8
    call 181
    ldxdw %r1, [%r10-8]
    mul %r0, 1000
    add %r0, %r1
    exit)";
  return link(main, {}, {callback});
}

constexpr std::string_view kSumUntilThree = R"(
  ldxdw %r3, [%r2+0]
  add %r3, %r1
  stxdw [%r2+0], %r3
  mov %r0, 0
  jne %r1, 3, +1
  mov %r0, 1
  exit
)";

TEST(JitCallback, BpfLoopRunsTheCallbackAsTheInterpreterDoes) {
  expect_same(loop_program(kSumUntilThree, 3), {}, 3003);
  expect_same(loop_program(kSumUntilThree, 0), {}, 0);
  expect_same(loop_program(kSumUntilThree, 100), {}, 4006);
  expect_same(loop_program(kSumUntilThree, 5, 1), {}, neg(EINVAL) * 1000);
}

TEST(JitCallback, HasAFrameOfItsOwnZeroedOnEveryCallInCheckedMode) {
  // Each call reads its own r10 - 8 before writing it: checked mode zeroes the frame every time
  // (the interpreter's), so the sum stays 0 there; unchecked it sees the previous call's value.
  constexpr std::string_view kScribble = R"(
    ldxdw %r4, [%r10-8]
    stxdw [%r10-8], %r1
    ldxdw %r3, [%r2+0]
    add %r3, %r4
    add %r3, 1
    stxdw [%r2+0], %r3
    mov %r0, 0
    exit
  )";
  RunSetup s;
  s.checked = true;
  Result<JitProgram> code = compile(loop_program(kScribble, 4), jit_options(true));
  ASSERT_TRUE(code.ok());
  Result<uint64_t> r = code->run(args_of(s), options_of(s, true));
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 4004u);
  expect_same(loop_program(kScribble, 4), {}, 4004, nullptr, true);
}

TEST(JitCallback, NestedLoopsStopAtLinuxsFrameLimit) {
  constexpr std::string_view kRecurse = R"(
    mov %r1, 1
    lddw %r2, func 0
    mov %r3, 0
    mov %r4, 0
    call 181
    exit
  )";
  Result<uint64_t> r = expect_same(loop_program(kRecurse, 1), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("callback: too many nested calls (more than 8 frames"),
            std::string::npos)
      << r.error().str();
}

TEST(JitCallback, AFaultInTheCallbackIsLocatedThereAndStopsTheRun) {
  // Checked mode only: unchecked, the load from 0 would crash. Slot 16 is the load.
  constexpr std::string_view kBadLoad = "mov %r0, 0\nldxdw %r0, [%r0+0]\nexit";
  Result<uint64_t> r = expect_same(loop_program(kBadLoad, 2), {}, std::nullopt, nullptr, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 16u);
  EXPECT_NE(r.error().message.find("ldxdw: out-of-bounds read of 8 bytes at 0x0"),
            std::string::npos)
      << r.error().str();
  // A refusal inside the callback (bpf_probe_read to address 0) is located at that call.
  constexpr std::string_view kRefuse = "mov %r1, 0\nmov %r2, 8\nmov %r3, 0\ncall 4\nexit";
  r = expect_same(loop_program(kRefuse, 3), {}, std::nullopt, nullptr, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().location.value, 18u) << r.error().str();
}

TEST(JitCallback, InstructionsOfCallbacksCountTowardsTheBudget) {
  for (uint64_t budget : {5, 14, 17, 20, 23, 40, 0}) expect_same(loop_program(kSumUntilThree, 3), {.insn_budget = budget});
}

TEST(JitCallback, ForEachMapElemVisitsAnArrayWithKeysAndValues) {
  auto array = make_map(maps::MapType::Array, 4, 8, 5);
  for (uint32_t k = 0; k < 5; ++k) {
    uint64_t v = 10 * k + 1;
    ASSERT_EQ(array->update(&k, &v, 0, 0), 0);
  }
  // r0 = visited * 1000 + the sum of key * value over the elements, which the callback
  // accumulates at its ctx; it stops after key 3.
  const std::string main = R"(
    stdw [%r10-8], 0
    lddw %r1, map_fd 0
    lddw %r2, func 0
    mov %r3, %r10
    add %r3, -8
    mov %r4, 0
    call 164
    ldxdw %r1, [%r10-8]
    mul %r0, 1000
    add %r0, %r1
    exit)";
  constexpr std::string_view kCallback = R"(
    ldxw %r6, [%r2+0]
    ldxdw %r7, [%r3+0]
    mul %r7, %r6
    ldxdw %r8, [%r4+0]
    add %r8, %r7
    stxdw [%r4+0], %r8
    mov %r0, 0
    jne %r6, 3, +1
    mov %r0, 1
    exit)";
  expect_same(link(main, {array.get()}, {kCallback}), {.maps = {array.get()}},
              4000 + 0 * 1 + 1 * 11 + 2 * 21 + 3 * 31);
}

TEST(JitCallback, TheMainFunctionIsNotACallback) {
  // lddw r2, 0 names slot 0: the interpreter runs it; the JIT refuses, saying why.
  auto prog = link("mov %r1, 1\nlddw %r2, 0\nmov %r3, 0\nmov %r4, 0\ncall 181\nexit");
  Result<JitProgram> code = compile(prog, jit_options(false));
  ASSERT_TRUE(code.ok());
  Result<uint64_t> r = code->run(vm::RunArgs{}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().str(),
            "insn 5: helper 181: callback 0 is the main function, which JIT code runs as a "
            "callback only when a local call or a BPF_PSEUDO_FUNC lddw names it");
}

TEST(JitLocalCall, TheMainFunctionMayCallItself) {
  // r0 = 2 * 5 + 1 through five nested calls of the main function; then unbounded recursion,
  // which ends at Linux's frame limit.
  expect_same(link("main:\nmov %r0, 1\njeq %r1, 0, +4\nsub %r1, 1\ncall local main\n"
                   "add %r0, 2\nexit\nexit"),
              {}, std::nullopt);
  Result<uint64_t> r = expect_same(link("main:\nmov %r0, 1\ncall local main\nexit"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too many nested calls"), std::string::npos) << r.error().str();
}

// --- Inlined array lookups ---------------------------------------------------------------------

// A call in the machine code of a listing that is not the callback entry's `call r11`.
const std::regex kHelperCall("\n {8}call (?!r11)");

TEST(JitArrayLookup, InlinedLookupsGiveTheHelpersResults) {
  auto array = make_map(maps::MapType::Array, 4, 12, 6);
  for (uint32_t k = 0; k < 6; ++k) {
    uint32_t v[3] = {k * 7 + 1, 0, 0};
    ASSERT_EQ(array->update(&k, v, 0, 0), 0);
  }
  std::optional<jit::ArrayLayout> layout = jit::array_layout(*array);
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->elem_size, 16u);  // 12 rounded up to 8
  // r0 = value[key][0] + 1000 * (lookup of key + 1 returned null), for key = r6.
  for (int key : {0, 3, 4, 5, 6, 1000, -1}) {
    const std::string text = "mov %r6, " + std::to_string(key) + R"(
      stxw [%r10-4], %r6
      lddw %r1, map_fd 0
      mov %r2, %r10
      add %r2, -4
      call 1
      mov %r7, 0
      jeq %r0, 0, +1
      ldxw %r7, [%r0+0]
      add %r6, 1
      stxw [%r10-4], %r6
      lddw %r1, map_fd 0
      mov %r2, %r10
      add %r2, -4
      call 1
      mov %r8, 1000
      jeq %r0, 0, +1
      mov %r8, 0
      mov %r0, %r7
      add %r0, %r8
      exit)";
    auto prog = link(text, {array.get()});
    Result<uint64_t> want = run(prog, {.maps = {array.get()}});
    ASSERT_TRUE(want.ok()) << want.error().str();
    JitOptions options;
    options.arrays = {*layout};
    options.listing = true;
    Result<JitProgram> code = compile(prog, options);
    ASSERT_TRUE(code.ok()) << code.error().str();
    EXPECT_FALSE(std::regex_search(code->listing(), kHelperCall)) << code->listing();
    maps::EpochGuard guard;
    Result<uint64_t> got = code->run(vm::RunArgs{}, {});
    ASSERT_TRUE(got.ok()) << got.error().str();
    EXPECT_EQ(*got, *want) << "key " << key;
  }
}

TEST(JitArrayLookup, OnlyAConstantMapOfTheBlockIsInlined) {
  auto array = make_map(maps::MapType::Array, 4, 8, 2);
  JitOptions options;
  options.arrays = {*jit::array_layout(*array)};
  options.listing = true;
  // r1 is copied from another register, and the map comes from a jump target's other side.
  for (const char* text : {"lddw %r6, map_fd 0\nmov %r1, %r6\nmov %r2, %r10\ncall 1\nexit",
                           "lddw %r1, map_fd 0\nja +0\nmov %r2, %r10\ncall 1\nexit"}) {
    Result<JitProgram> code = compile(link(text, {array.get()}), options);
    ASSERT_TRUE(code.ok());
    EXPECT_TRUE(std::regex_search(code->listing(), kHelperCall)) << text;
  }
  EXPECT_FALSE(jit::array_layout(*make_map(maps::MapType::PercpuArray, 4, 8, 2)).has_value());
  EXPECT_FALSE(jit::array_layout(*make_map(maps::MapType::Hash, 4, 8, 2)).has_value());
}

}  // namespace
}  // namespace pollen::helpers::test

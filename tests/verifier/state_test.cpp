// SPDX-License-Identifier: MIT
// The pieces around the domains: subsumption of states (what pruning relies on), the stack's
// spill and fill rules, the program-type tables, the context rewrite, and the test runner
// itself, which must catch an unsafe program (a test that cannot fail is a defect), and what a
// rejection shows of a long path.
#include <gtest/gtest.h>

#include "case_runner.hpp"
#include "isa/assembler.hpp"
#include "verifier/ctx_rewrite.hpp"
#include "verifier/rewrite.hpp"
#include "vm/interpreter.hpp"
#include "verifier/state.hpp"

namespace pollen::verifier {
namespace {

State with_regs(std::initializer_list<std::pair<int, RegState>> regs) {
  State s;
  s.frames.emplace_back();
  s.top().regs[kFp] = RegState::pointer(RegType::Stack);
  for (const auto& [r, v] : regs) s.reg(r) = v;
  return s;
}

RegState packet(int32_t off, int32_t range, uint32_t id = 0) {
  RegState p = RegState::pointer(RegType::Packet);
  p.off = off;
  p.range = range;
  p.id = id;
  return p;
}

TEST(Subsumption, WiderScalarsCoverNarrowerOnes) {
  State wide = with_regs({{1, RegState::scalar(Scalar::urange(0, 100))}});
  State narrow = with_regs({{1, RegState::scalar(Scalar::urange(10, 20))}});
  EXPECT_TRUE(subsumes(wide, narrow));
  EXPECT_FALSE(subsumes(narrow, wide));
}

TEST(Subsumption, RegistersNeverWrittenCoverAnything) {
  EXPECT_TRUE(subsumes(with_regs({}), with_regs({{3, RegState::pointer(RegType::Ctx)}})));
  EXPECT_FALSE(subsumes(with_regs({{3, RegState::known(1)}}), with_regs({})));
}

TEST(Subsumption, KindsMustMatch) {
  EXPECT_FALSE(subsumes(with_regs({{1, RegState::unknown()}}),
                        with_regs({{1, RegState::pointer(RegType::Ctx)}})));
}

TEST(Subsumption, PacketPointersNeedAtLeastTheOldRange) {
  EXPECT_TRUE(subsumes(with_regs({{2, packet(0, 10)}}), with_regs({{2, packet(0, 14)}})));
  EXPECT_FALSE(subsumes(with_regs({{2, packet(0, 14)}}), with_regs({{2, packet(0, 10)}})));
  EXPECT_FALSE(subsumes(with_regs({{2, packet(4, 10)}}), with_regs({{2, packet(0, 10)}})));
}

RegState record(uint32_t ref) {
  RegState r = RegState::pointer(RegType::Mem);
  r.mem_size = 16;
  r.ref = r.id = ref;
  return r;
}

TEST(Subsumption, ReferencesHeldMustBeTheSame) {
  State holding = with_regs({{6, record(3)}});
  holding.refs.push_back({3, 4});
  State released = with_regs({{6, RegState::unknown()}});
  EXPECT_FALSE(subsumes(released, holding));
  EXPECT_FALSE(subsumes(holding, released));
  // The same reference under another id is the same state.
  State renamed = with_regs({{6, record(9)}});
  renamed.refs.push_back({9, 4});
  EXPECT_TRUE(subsumes(holding, renamed));
  // Two records tied to one reference are not two records with a reference each.
  State two = with_regs({{6, record(3)}, {7, record(3)}});
  two.refs.push_back({3, 4});
  State other = with_regs({{6, record(3)}, {7, record(5)}});
  other.refs.push_back({3, 4});
  other.refs.push_back({5, 4});
  EXPECT_FALSE(subsumes(two, other));
}

TEST(Subsumption, ALockHeldIsNotALockFree) {
  State locked = with_regs({});
  locked.lock = HeldLock{0, 1};
  EXPECT_FALSE(subsumes(with_regs({}), locked));
  EXPECT_FALSE(subsumes(locked, with_regs({})));
}

TEST(Subsumption, CallbackFramesAreNotCallFrames) {
  State call = with_regs({});
  call.frames.emplace_back();
  State callback = call;
  callback.frames.back().callback = true;
  EXPECT_FALSE(subsumes(call, callback));
  EXPECT_TRUE(subsumes(callback, callback));
}

TEST(Subsumption, TiesTheOldStateReliedOnMustHold) {
  RegState a = RegState::scalar(Scalar::urange(0, 9)), b = a;
  a.id = b.id = 5;
  State tied = with_regs({{1, a}, {2, b}});
  State untied = with_regs(
      {{1, RegState::scalar(Scalar::urange(0, 9))}, {2, RegState::scalar(Scalar::urange(0, 9))}});
  EXPECT_FALSE(subsumes(tied, untied));
  EXPECT_TRUE(subsumes(untied, tied));
  RegState c = a, d = b;
  c.id = d.id = 9;  // the same tie under another id
  EXPECT_TRUE(subsumes(tied, with_regs({{1, c}, {2, d}})));
}

TEST(Subsumption, StackBytesNeverWrittenCoverAnything) {
  State old = with_regs({});
  State cur = with_regs({});
  cur.top().stack.write(-8, 8, RegState::known(3));
  EXPECT_TRUE(subsumes(old, cur));
  EXPECT_FALSE(subsumes(cur, old));
}

TEST(Subsumption, HashIgnoresIds) {
  RegState a = RegState::scalar(Scalar::urange(0, 9));
  RegState b = a;
  a.id = 1;
  b.id = 2;
  EXPECT_EQ(state_hash(with_regs({{1, a}})), state_hash(with_regs({{1, b}})));
  EXPECT_NE(state_hash(with_regs({{1, a}})), state_hash(with_regs({{2, a}})));
}

TEST(Stack, PointersComeBackWhole) {
  StackState st;
  st.write(-16, 8, RegState::pointer(RegType::Ctx));
  StackReadError error{};
  EXPECT_EQ(st.read(-16, 8, error)->type, RegType::Ctx);
  EXPECT_FALSE(st.read(-16, 4, error));
  EXPECT_EQ(error.off, -16);
}

TEST(Stack, NarrowScalarSpillsKeepTheirBounds) {
  StackState st;
  st.write(-8, 4, RegState::scalar(Scalar::urange(0, 15)));
  StackReadError error{};
  std::optional<RegState> r = st.read(-8, 4, error);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value.umax, 15u);
  // Bytes fp-4..fp-1 were never written: some number, as Linux reads them for root.
  r = st.read(-8, 8, error);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_scalar());
  EXPECT_FALSE(r->value.is_const());
  EXPECT_EQ(st.unwritten(-8, 0), std::make_pair(-4, 0));
  EXPECT_EQ(st.unwritten(-8, -4), std::nullopt);
}

TEST(Stack, WritesAtAVariableOffsetDoNotInitialise) {
  StackState st;
  st.write(-8, 8, RegState::known(0));
  st.write_somewhere(-16, -4);
  EXPECT_EQ(st.byte(-16), SlotType::Invalid);
  EXPECT_EQ(st.byte(-8), SlotType::Misc);
  // fp-4..fp-1 may not have been written, but the spill the write may have cut into is gone:
  // its bytes are numbers now.
  EXPECT_EQ(st.byte(-1), SlotType::Misc);
  EXPECT_FALSE(st.slot_at(-8)->has_spill());
}

TEST(ProgramTypes, TablesAnswerLookups) {
  ASSERT_NE(find_program_type("xdp"), nullptr);
  EXPECT_EQ(find_program_type(6u), find_program_type("xdp"));
  EXPECT_EQ(find_program_type(31u)->name, "syscall");
  EXPECT_EQ(find_program_type("tc"), nullptr);
  EXPECT_TRUE(allows_helper(*find_program_type("xdp"), 44));  // xdp_adjust_head
  EXPECT_FALSE(allows_helper(*find_program_type("socket_filter"), 44));
  EXPECT_TRUE(allows_helper(*find_program_type("raw"), 5));
}

TEST(ProgramTypes, ContextFieldsFollowLinux) {
  const ProgramTypeInfo& xdp = *find_program_type("xdp");
  EXPECT_EQ(check_ctx_field(xdp, 0, 4, false).field->kind, FieldKind::PacketData);
  EXPECT_EQ(check_ctx_field(xdp, 0, 2, false).field, nullptr);
  EXPECT_EQ(check_ctx_field(xdp, 12, 4, true).field, nullptr);
  const ProgramTypeInfo& skb = *find_program_type("socket_filter");
  EXPECT_NE(check_ctx_field(skb, 2, 2, false).field, nullptr);  // narrow read of len
  EXPECT_NE(check_ctx_field(skb, 56, 8, true).field, nullptr);  // cb[2..3]
  EXPECT_EQ(check_ctx_field(skb, 64, 8, true).field, nullptr);  // past cb[4]
}

// No type Pollen has today limits its return value (Linux limits none of them); the rule is
// data, so a type that does (as Linux's cgroup and LSM types do) gets it checked.
TEST(ProgramTypes, ReturnRangesAreChecked) {
  ProgramTypeInfo limited = *find_program_type("xdp");
  limited.return_range = std::pair<int64_t, int64_t>{0, 4};
  auto verdict = [&](const char* text) {
    auto prog = isa::assemble(text);
    EXPECT_TRUE(prog) << text;
    Analysis a = verify({*prog, &limited, &default_platform(), {}, {}});
    return a.accepted() ? std::string("accepted") : a.rejection->reason;
  };
  EXPECT_EQ(verdict("mov %r0, 2\nexit\n"), "accepted");
  EXPECT_NE(verdict("mov %r0, 5\nexit\n").find("r0 at exit may be outside [0, 4]"),
            std::string::npos);
  EXPECT_NE(verdict("call 7\nexit\n").find("outside [0, 4]"), std::string::npos);
  EXPECT_NE(verdict("mov %r0, %r10\nexit\n").find("must be a number"), std::string::npos);
}

TEST(CtxRewrite, PacketFieldsBecomeRuntimePointers) {
  auto prog = isa::assemble("ldxw %r2, [%r1+4]\nmov %r0, 0\nexit\n");
  ASSERT_TRUE(prog);
  Input input{*prog, find_program_type("xdp"), &default_platform(), {}, {}};
  Analysis a = verify(input);
  ASSERT_TRUE(a.accepted());
  ASSERT_EQ(a.facts.ctx_accesses.size(), 1u);
  std::vector<isa::Insn> out = rewrite_context(*prog, a.facts);
  EXPECT_EQ(*isa::classify(out[0]), isa::Op::LdxDW);
  EXPECT_EQ(out[0].off, 8);  // data_end in the runtime's context
}

// Verifies a raw program (no memory) and runs it as the runtime does, unchecked: r0.
uint64_t run_rewritten(const char* text, std::vector<isa::Insn>* rewritten = nullptr) {
  auto prog = isa::assemble(text);
  EXPECT_TRUE(prog);
  if (!prog) return ~uint64_t{0};
  Input input{*prog, find_program_type("raw"), &default_platform(), {}, {}};
  Analysis a = verify(input);
  EXPECT_TRUE(a.accepted()) << a.rejection->message();
  std::vector<isa::Insn> out = rewrite_for_run(*prog, a.facts);
  if (rewritten) *rewritten = out;
  auto interp = vm::Interpreter::create(out, vm::HelperTable{});
  EXPECT_TRUE(interp);
  if (!interp) return ~uint64_t{0};
  auto r0 = interp->run(vm::RunArgs{});
  EXPECT_TRUE(r0) << r0.error().str();
  return r0 ? *r0 : ~uint64_t{0};
}

TEST(StackZeroing, ProgramsReadingOnlyWrittenBytesAreUnchanged) {
  auto prog = isa::assemble("stdw [%r10-8], 1\nldxdw %r0, [%r10-8]\nexit\n");
  ASSERT_TRUE(prog);
  Input input{*prog, find_program_type("raw"), &default_platform(), {}, {}};
  Analysis a = verify(input);
  ASSERT_TRUE(a.accepted());
  EXPECT_EQ(zero_unwritten_stack(*prog, a.facts), *prog);
}

TEST(StackZeroing, EachCallStartsFromZero) {
  // Without the zeroing, the second call reads the 7 the first one left in the same frame.
  std::vector<isa::Insn> out;
  EXPECT_EQ(run_rewritten("ldxdw %r7, [%r10-16]\ncall local f\nmov %r6, %r0\ncall local f\n"
                          "add %r0, %r6\nadd %r0, %r7\nexit\n"
                          "f:\nldxdw %r0, [%r10-8]\nstdw [%r10-8], 7\nexit\n",
                          &out),
            0u);
  ASSERT_EQ(out.size(), 12u);  // one store in front of each function
  EXPECT_EQ(out[0].opcode, 0x7a);
  EXPECT_EQ(out[0].off, -16);
  EXPECT_EQ(out[2].imm, 5);  // call f: to f's store
  EXPECT_EQ(out[4].imm, 3);
  EXPECT_EQ(out[8].opcode, 0x7a);
  EXPECT_EQ(out[8].off, -8);
}

TEST(StackZeroing, CallsAndCallbacksPastAnotherFunctionsStoresMove) {
  // The call to g passes f's store: without the fix it would land on f's exit.
  std::vector<isa::Insn> out;
  EXPECT_EQ(run_rewritten("call local f\nmov %r6, %r0\ncall local g\nadd %r0, %r6\nexit\n"
                          "f:\nldxdw %r0, [%r10-8]\nexit\ng:\nmov %r0, 5\nexit\n",
                          &out),
            5u);
  EXPECT_EQ(out[2].imm, 5);  // was 4
  auto prog = isa::assemble(
      "mov %r1, 4\nlddw %r2, func 8\nmov %r3, 0\nmov %r4, 0\ncall 181\ncall local f\nexit\n"
      "f:\nldxdw %r0, [%r10-8]\nexit\ncb:\nmov %r0, 0\nexit\n");
  ASSERT_TRUE(prog);
  Analysis a = verify({*prog, find_program_type("xdp"), &default_platform(), {}, {}});
  ASSERT_TRUE(a.accepted()) << a.rejection->message();
  out = zero_unwritten_stack(*prog, a.facts);
  ASSERT_EQ(out.size(), prog->size() + 1);
  EXPECT_EQ((*prog)[1].imm, 8);
  EXPECT_EQ(out[1].imm, 9);  // lddw of cb: past f's store
  EXPECT_EQ(out[6].imm, 1);   // call f: to its store
}

TEST(StackZeroing, CoversWholeSlotsOfTheBytesRead) {
  std::vector<isa::Insn> out;
  // Bytes fp-16..fp-9 and fp-3..fp-1 are read unwritten: slots fp-16 and fp-8 are zeroed.
  run_rewritten("stw [%r10-8], 1\nldxdw %r0, [%r10-16]\nstb [%r10-4], 0\n"
                "ldxw %r1, [%r10-4]\nldxdw %r2, [%r10-8]\nexit\n",
                &out);
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(out[0].off, -16);
  EXPECT_EQ(out[1].off, -8);
}

TEST(StackZeroing, ALoopBackToTheFirstInstructionDoesNotZeroAgain) {
  // g's first instruction is its loop head: the byte it reads is 0 on the first iteration and
  // the 1 stored since on the others.
  std::vector<isa::Insn> out;
  EXPECT_EQ(run_rewritten("mov %r1, 0\ncall local g\nexit\n"
                          "g:\nldxb %r2, [%r10-1]\nstb [%r10-1], 1\nadd %r1, 1\n"
                          "jlt %r1, 3, g\nmov %r0, %r2\nexit\n",
                          &out),
            1u);
  ASSERT_EQ(out.size(), 10u);
  EXPECT_EQ(out[3].opcode, 0x7a);  // the store in front of g
  EXPECT_EQ(out[7].off, -4);       // jlt: back to ldxb, after the store
}

TEST(Runner, CatchesUnsafePrograms) {
  // The verifier is not asked: these programs are unsafe, and the runner must say so.
  struct Unsafe {
    const char* what;
    const char* type;
    const char* text;
    uint32_t mem;
  } const cases[] = {
      {"a load past the memory", "raw", "ldxb %r0, [%r1+20]\nexit\n", 16},
      {"a load of a stack slot never written", "raw", "ldxdw %r0, [%r10-8]\nexit\n", 0},
      {"a register never written", "raw", "mov %r0, %r4\nexit\n", 0},
      {"an endless loop", "raw", "ja -1\nexit\n", 0},
      {"a store into the read-only context", "socket_filter",
       "mov %r2, 1\nstxw [%r1+8], %r2\nmov %r0, 0\nexit\n", 0},
  };
  for (const Unsafe& u : cases) {
    auto prog = isa::assemble(u.text);
    ASSERT_TRUE(prog) << u.what;
    test::TestPlatform platform({});
    std::string fault =
        test::run_checked(*prog, *find_program_type(u.type), Analysis{}, platform, u.mem, 1);
    EXPECT_NE(fault, "") << u.what;
  }
}

TEST(Rejection, PathOfAProgramOutOfBudgetShowsItsEnd) {
  // A loop a million times round: the path is far longer than anyone reads; the rejection
  // keeps its last instructions and says how many came before.
  auto prog = isa::assemble(
      "mov %r0, 0\n"
      "add %r0, 1\n"
      "jne %r0, 10000000, -2\n"
      "exit\n");
  ASSERT_TRUE(prog);
  test::TestPlatform platform({});
  Input input{*prog, find_program_type("raw"), &platform, {}, {}};
  input.options.record_path = true;
  Analysis a = verify(input);
  ASSERT_FALSE(a.accepted());
  EXPECT_NE(a.rejection->reason.find("too complex"), std::string::npos) << a.rejection->str();
  ASSERT_EQ(a.rejection->path.size(), 2001u);
  EXPECT_NE(a.rejection->path.front().find("earlier instructions of the path"), std::string::npos)
      << a.rejection->path.front();
  // It ends with the instruction before the one that ran out of budget (the jump).
  EXPECT_EQ(a.rejection->insn, 2u);
  EXPECT_EQ(a.rejection->path.back().rfind("1: r0 += 0x1", 0), 0u) << a.rejection->path.back();
}

}  // namespace
}  // namespace pollen::verifier

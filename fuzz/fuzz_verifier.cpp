// SPDX-License-Identifier: MIT
// libFuzzer soundness check of src/verifier. The input bytes steer a generator of plausible
// programs (raw, xdp, socket_filter or syscall): scalar arithmetic and branches, helper calls,
// packet accesses with and without bounds checks, stack spills and fills at good and bad
// offsets, map lookups with and without null checks, pointer arithmetic, bounded and unbounded
// loops, local calls, ring buffer records reserved and (not always) released. Every program
// the verifier accepts is run on many inputs in the interpreter's checked mode and in a shadow
// run that tracks initialised registers and stack bytes (tests/verifier/case_runner.hpp); a
// fault, an uninitialised read, a run past the instruction budget or a difference between the
// two runs aborts with the program, which then belongs in tests/verifier/cases.
#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "case_runner.hpp"
#include "isa/disassembler.hpp"
#include "verifier/verifier.hpp"

namespace {

using namespace pollen;
using isa::Insn;

// Choices from the input bytes; 0 once they run out.
class Choices {
 public:
  explicit Choices(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint32_t below(uint32_t n) {
    if (n <= 1) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 2 && pos_ < bytes_.size(); ++i) v = v << 8 | bytes_[pos_++];
    return v % n;
  }
  bool chance(uint32_t one_in) { return below(one_in) == 0; }
  bool done() const { return pos_ >= bytes_.size(); }
  // Small numbers mostly, edges sometimes.
  int32_t imm() {
    static const int32_t kEdges[] = {
        0,  1,  2,  4,   7,   8,  14, 15,  16,         31,
        32, 63, 64, 255, 256, -1, -8, -16, 0x7fffffff, static_cast<int32_t>(0x80000000)};
    if (chance(3)) return kEdges[below(std::size(kEdges))];
    return static_cast<int32_t>(below(128)) - 16;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

Insn insn(uint8_t code, int dst, int src, int16_t off, int32_t imm) {
  Insn i;
  i.opcode = code;
  i.dst = static_cast<uint8_t>(dst) & 0xf;
  i.src = static_cast<uint8_t>(src) & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

constexpr uint8_t kAluOps[] = {0x00, 0x10, 0x20, 0x30, 0x40, 0x50,
                               0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0};
constexpr uint8_t kJmpOps[] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0};
constexpr uint8_t kSizes[] = {0x00, 0x08, 0x10, 0x18};  // W, H, B, DW

// Builds a program statement by statement; forward jumps are fixed up at the end.
class Generator {
 public:
  Generator(Choices& c, const verifier::ProgramTypeInfo& type, bool has_map)
      : c_(c), type_(type), has_map_(has_map) {}

  std::vector<Insn> generate();

 private:
  int reg() { return static_cast<int>(c_.below(10)); }
  void emit(Insn i) { code_.push_back(i); }
  void jump_forward(uint8_t code, int dst, int src, int32_t imm);
  void statement();
  void alu();
  void memory();
  void packet_check();
  void stack_access();
  void map_lookup();
  void loop();
  void misc();
  void context_load();
  void packet_variable();
  void legacy_load();
  void local_call();
  void subprogram();
  void record();

  Choices& c_;
  const verifier::ProgramTypeInfo& type_;
  bool has_map_;
  std::vector<Insn> code_;
  std::vector<std::pair<size_t, size_t>> jumps_;  ///< (slot of the jump, statements to skip)
  std::vector<size_t> starts_;                    ///< first slot of each statement
  std::vector<size_t> calls_;                     ///< slots of calls to the subprogram
};

void Generator::jump_forward(uint8_t code, int dst, int src, int32_t imm) {
  jumps_.emplace_back(code_.size(), 1 + c_.below(4));
  emit(insn(code, dst, src, 0, imm));
}

void Generator::alu() {
  bool wide = !c_.chance(4);
  uint8_t op = kAluOps[c_.below(std::size(kAluOps))];
  uint8_t cls = wide ? isa::kClassAlu64 : isa::kClassAlu;
  if (c_.chance(2)) {
    int32_t imm = c_.imm();
    if ((op == 0x30 || op == 0x90) && imm == 0 && !c_.chance(8)) imm = 3;
    if ((op == 0x60 || op == 0x70 || op == 0xc0) && !c_.chance(8)) imm &= wide ? 63 : 31;
    emit(insn(cls | op, reg(), 0, 0, imm));
  } else {
    emit(insn(cls | op | 0x08, reg(), reg(), 0, 0));
  }
}

// A load or store through any register, at a small offset: most are refused, some must be.
void Generator::memory() {
  uint8_t size = kSizes[c_.below(4)];
  int base = c_.chance(3) ? 10 : reg();
  auto off = static_cast<int16_t>(static_cast<int32_t>(c_.below(96)) - 24);
  switch (c_.below(3)) {
    case 0: emit(insn(isa::kClassLdx | 0x60 | size, reg(), base, off, 0)); break;
    case 1: emit(insn(isa::kClassStx | 0x60 | size, base, reg(), off, 0)); break;
    default: emit(insn(isa::kClassSt | 0x60 | size, base, 0, off, c_.imm())); break;
  }
}

// r2 = data, r3 = data_end (from the context), a check `if r4 > r3` of r2 + N, then accesses.
void Generator::packet_check() {
  if (type_.name != "xdp") return alu();
  emit(insn(isa::kClassLdx | 0x60 | 0x00, 2, 6, 0, 0));
  emit(insn(isa::kClassLdx | 0x60 | 0x00, 3, 6, 4, 0));
  emit(insn(isa::kClassAlu64 | 0xb0 | 0x08, 4, 2, 0, 0));
  emit(insn(isa::kClassAlu64 | 0x00, 4, 0, 0, static_cast<int32_t>(c_.below(64))));
  uint8_t cond = c_.chance(2) ? 0x20 : kJmpOps[c_.below(std::size(kJmpOps))];
  jump_forward(isa::kClassJmp | cond | 0x08, 4, 3, 0);
  for (uint32_t n = 1 + c_.below(3); n > 0; --n) {
    uint8_t size = kSizes[c_.below(4)];
    auto off = static_cast<int16_t>(c_.below(64));
    int base = c_.chance(4) ? 4 : 2;
    if (c_.chance(2))
      emit(insn(isa::kClassLdx | 0x60 | size, 5, base, off, 0));
    else
      emit(insn(isa::kClassSt | 0x60 | size, base, 0, off, c_.imm()));
  }
}

// Stores then loads at fp-8*k, sometimes misaligned or out of the frame, sometimes spilling
// a pointer or reading a slot never written; sometimes at a variable offset.
void Generator::stack_access() {
  uint8_t size = kSizes[c_.below(4)];
  int width = size == 0x18 ? 8 : size == 0x00 ? 4 : size == 0x08 ? 2 : 1;
  int32_t off = -width * static_cast<int32_t>(1 + c_.below(70));
  if (c_.chance(16)) off += static_cast<int32_t>(c_.below(8));
  int base = 10;
  if (c_.chance(5)) {
    emit(insn(isa::kClassAlu64 | 0xb0 | 0x08, 8, 10, 0, 0));
    emit(insn(isa::kClassAlu64 | 0x50, 7, 0, 0, static_cast<int32_t>(c_.below(4) * 8)));
    emit(insn(isa::kClassAlu64 | 0x00 | 0x08, 8, 7, 0, 0));
    base = 8;
  }
  if (!c_.chance(4))
    emit(insn(isa::kClassStx | 0x60 | size, base, reg(), static_cast<int16_t>(off), 0));
  emit(insn(isa::kClassLdx | 0x60 | size, reg(), base, static_cast<int16_t>(off), 0));
}

// key on the stack, lookup, maybe a null check, accesses into the value.
void Generator::map_lookup() {
  if (!has_map_) return stack_access();
  if (!c_.chance(6)) emit(insn(isa::kClassSt | 0x60, 10, 0, -4, static_cast<int32_t>(c_.below(4))));
  emit(insn(isa::kClassLd | 0x18, 1, 1, 0, 1));  // lddw r1, map_fd 1
  emit(insn(0, 0, 0, 0, 0));
  emit(insn(isa::kClassAlu64 | 0xb0 | 0x08, 2, 10, 0, 0));
  emit(insn(isa::kClassAlu64 | 0x00, 2, 0, 0, -4));
  emit(insn(isa::kClassJmp | 0x80, 0, 0, 0, 1));
  if (!c_.chance(5)) jump_forward(isa::kClassJmp | 0x10, 0, 0, 0);  // if r0 == 0
  for (uint32_t n = 1 + c_.below(3); n > 0; --n) {
    uint8_t size = kSizes[c_.below(4)];
    auto off = static_cast<int16_t>(c_.below(40));
    if (c_.chance(3)) {  // a bounded or unbounded index
      emit(insn(isa::kClassJmp | 0x80, 0, 0, 0, 7));
      if (!c_.chance(4))
        emit(insn(isa::kClassAlu64 | 0x50, 0, 0, 0, static_cast<int32_t>(c_.below(32))));
      emit(insn(isa::kClassAlu64 | 0x00 | 0x08, 6, 0, 0, 0));
    }
    emit(insn(isa::kClassLdx | 0x60 | size, 5, c_.chance(3) ? 6 : 0, off, 0));
  }
}

// A ring buffer record (map fd 2): reserved with a constant size (or not), maybe null-checked,
// written and read through r7, then maybe submitted or discarded (through r7, or a moved r7),
// maybe used after that. Forward jumps elsewhere may skip any part: leaks must be refused.
void Generator::record() {
  if (!has_map_) return stack_access();
  emit(insn(isa::kClassLd | 0x18, 1, 1, 0, 2));  // lddw r1, map_fd 2
  emit(insn(0, 0, 0, 0, 0));
  if (c_.chance(6))
    emit(insn(isa::kClassAlu64 | 0xb0 | 0x08, 2, static_cast<int>(c_.below(10)), 0, 0));
  else
    emit(insn(isa::kClassAlu64 | 0xb0, 2, 0, 0, static_cast<int32_t>(8 * c_.below(4))));
  emit(insn(isa::kClassAlu64 | 0xb0, 3, 0, 0, 0));
  emit(insn(isa::kClassJmp | 0x80, 0, 0, 0, 131));
  emit(insn(isa::kClassAlu64 | 0xb0 | 0x08, 7, 0, 0, 0));
  if (!c_.chance(5)) jump_forward(isa::kClassJmp | 0x10, 7, 0, 0);  // if r7 == 0
  for (uint32_t n = c_.below(3); n > 0; --n) {
    uint8_t size = kSizes[c_.below(4)];
    auto off = static_cast<int16_t>(c_.below(32));
    if (c_.chance(2))
      emit(insn(isa::kClassStx | 0x60 | size, 7, reg(), off, 0));
    else
      emit(insn(isa::kClassLdx | 0x60 | size, reg(), 7, off, 0));
  }
  if (c_.chance(4)) return;
  emit(insn(isa::kClassAlu64 | 0xb0 | 0x08, 1, 7, 0, 0));
  if (c_.chance(8)) emit(insn(isa::kClassAlu64 | 0x00, 1, 0, 0, 8));
  emit(insn(isa::kClassAlu64 | 0xb0, 2, 0, 0, 0));
  emit(insn(isa::kClassJmp | 0x80, 0, 0, 0, c_.chance(2) ? 132 : 133));
  if (c_.chance(6)) emit(insn(isa::kClassStx | 0x60 | 0x18, 7, 0, 0, 0));
}

// r9 counts up to a bound (or not, or is reset), around a few statements.
void Generator::loop() {
  emit(insn(isa::kClassAlu64 | 0xb0, 9, 0, 0, 0));
  size_t head = code_.size();
  for (uint32_t n = c_.below(3); n > 0; --n) alu();
  if (!c_.chance(8)) emit(insn(isa::kClassAlu64 | 0x00, 9, 0, 0, 1));
  auto back =
      static_cast<int16_t>(static_cast<int64_t>(head) - static_cast<int64_t>(code_.size()) - 1);
  emit(insn(isa::kClassJmp | 0xa0, 9, 0, back, static_cast<int32_t>(c_.below(20))));
}

void Generator::misc() {
  switch (c_.below(6)) {
    case 0: emit(insn(isa::kClassJmp | 0x80, 0, 0, 0, c_.chance(2) ? 7 : 5)); break;
    case 1: emit(insn(isa::kClassAlu64 | 0x80, reg(), 0, 0, 0)); break;  // neg
    case 2:
      emit(insn(isa::kClassAlu | 0xd0 | (c_.chance(2) ? 0x08 : 0), reg(), 0, 0, 16 << c_.below(3)));
      break;
    case 3:
      emit(insn(isa::kClassAlu64 | 0xb0 | 0x08, reg(), reg(),
                static_cast<int16_t>(8 << c_.below(3)), 0));
      break;
    case 4: {
      uint8_t op = kJmpOps[c_.below(std::size(kJmpOps))];
      bool w = c_.chance(3);
      if (c_.chance(2))
        jump_forward((w ? isa::kClassJmp32 : isa::kClassJmp) | op, reg(), 0, c_.imm());
      else
        jump_forward((w ? isa::kClassJmp32 : isa::kClassJmp) | op | 0x08, reg(), reg(), 0);
      break;
    }
    default: {  // atomic add or fetch-add on the stack
      emit(insn(isa::kClassSt | 0x60 | 0x18, 10, 0, -16, 0));
      emit(insn(isa::kClassStx | 0xc0 | (c_.chance(2) ? 0x18 : 0x00), 10, reg(), -16,
                c_.chance(2) ? 0x01 : 0x00));
      break;
    }
  }
}

// A load of a context field (from the table, or anywhere) through the context kept in r6.
void Generator::context_load() {
  uint8_t size = kSizes[c_.below(4)];
  auto off = static_cast<int16_t>(c_.below(200));
  if (!type_.fields.empty() && !c_.chance(4)) {
    const verifier::CtxField& f =
        type_.fields[c_.below(static_cast<uint32_t>(type_.fields.size()))];
    off = static_cast<int16_t>(f.offset);
    size = f.size == 4 ? 0x00 : 0x18;
  }
  emit(insn(isa::kClassLdx | 0x60 | size, reg(), 6, off, 0));
}

// A packet pointer moved by a number read from the packet, masked or not, checked or not.
void Generator::packet_variable() {
  if (type_.name != "xdp") return context_load();
  packet_check();
  emit(insn(isa::kClassLdx | 0x60 | 0x10, 5, 2, 0, 0));
  if (!c_.chance(4))
    emit(insn(isa::kClassAlu64 | 0x50, 5, 0, 0, static_cast<int32_t>(c_.below(64))));
  emit(insn(isa::kClassAlu64 | 0x00 | 0x08, 2, 5, 0, 0));
  if (!c_.chance(3)) packet_check();
  emit(insn(isa::kClassLdx | 0x60 | kSizes[c_.below(4)], 0, 2, static_cast<int16_t>(c_.below(16)),
            0));
}

// ld_abs / ld_ind, which need the context in r6 (socket filters) and clobber r1-r5.
void Generator::legacy_load() {
  uint8_t size = kSizes[c_.below(3)];
  if (c_.chance(2))
    emit(insn(isa::kClassLd | 0x20 | size, 0, 0, 0, static_cast<int32_t>(c_.below(64))));
  else
    emit(insn(isa::kClassLd | 0x40 | size, 0, reg(), 0, static_cast<int32_t>(c_.below(64))));
}

// A call of the subprogram with r1 = the context or memory or a stack pointer, r2 = a number.
void Generator::local_call() {
  if (c_.chance(2)) {
    emit(insn(isa::kClassAlu64 | 0xb0 | 0x08, 1, 6, 0, 0));
  } else {
    emit(insn(isa::kClassSt | 0x60 | 0x18, 10, 0, -8, 0));
    emit(insn(isa::kClassAlu64 | 0xb0 | 0x08, 1, 10, 0, 0));
    emit(insn(isa::kClassAlu64 | 0x00, 1, 0, 0, -8));
  }
  emit(insn(isa::kClassAlu64 | 0xb0, 2, 0, 0, static_cast<int32_t>(c_.below(16))));
  calls_.push_back(code_.size());
  emit(insn(isa::kClassJmp | 0x80, 0, 1, 0, 0));
}

// The subprogram: a few operations on its arguments, an access through r1, a number back.
void Generator::subprogram() {
  size_t start = code_.size();
  for (size_t call : calls_) code_[call].imm = static_cast<int32_t>(start - call - 1);
  for (uint32_t n = c_.below(3); n > 0; --n) alu();
  if (!c_.chance(3))
    emit(insn(isa::kClassLdx | 0x60 | kSizes[c_.below(4)], 3, 1, static_cast<int16_t>(c_.below(16)),
              0));
  if (c_.chance(3))
    emit(insn(isa::kClassStx | 0x60 | kSizes[c_.below(4)], 1, 2, static_cast<int16_t>(c_.below(16)),
              0));
  emit(insn(isa::kClassAlu64 | 0xb0 | 0x08, 0, 2, 0, 0));
  emit(insn(isa::kClassJmp | 0x90, 0, 0, 0, 0));
}

void Generator::statement() {
  starts_.push_back(code_.size());
  switch (c_.below(14)) {
    case 0:
    case 1: alu(); break;
    case 2: memory(); break;
    case 3: packet_check(); break;
    case 4: stack_access(); break;
    case 5: map_lookup(); break;
    case 6:
      if (c_.chance(3))
        loop();
      else
        alu();
      break;
    case 7: context_load(); break;
    case 8: packet_variable(); break;
    case 9: legacy_load(); break;
    case 10: local_call(); break;
    case 11: record(); break;
    default: misc(); break;
  }
}

std::vector<Insn> Generator::generate() {
  // Keep the context (or memory) in r6, as compilers do.
  emit(insn(isa::kClassAlu64 | 0xb0 | 0x08, 6, 1, 0, 0));
  uint32_t count = 1 + c_.below(24);
  for (uint32_t i = 0; i < count && !c_.done(); ++i) statement();
  starts_.push_back(code_.size());
  if (!c_.chance(10))
    emit(insn(isa::kClassAlu64 | 0xb0, 0, 0, 0, static_cast<int32_t>(c_.below(4))));
  emit(insn(isa::kClassJmp | 0x90, 0, 0, 0, 0));
  if (!calls_.empty()) subprogram();
  for (auto [slot, skip] : jumps_) {
    size_t here = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), slot) -
                                      starts_.begin());
    size_t target = starts_[std::min(here - 1 + skip, starts_.size() - 1)];
    code_[slot].off =
        static_cast<int16_t>(static_cast<int64_t>(target) - static_cast<int64_t>(slot) - 1);
  }
  return code_;
}

// With FUZZ_VERIFIER_STATS set, how many generated programs were valid and accepted, printed
// at exit: a generator whose programs are all refused would check nothing.
struct Tally {
  uint64_t generated = 0, valid = 0, accepted = 0;
  ~Tally() {
    if (std::getenv("FUZZ_VERIFIER_STATS"))
      fmt::print(stderr, "fuzz_verifier: {} programs, {} valid, {} accepted and run\n", generated,
                 valid, accepted);
  }
};
Tally tally;

[[noreturn]] void fail(std::span<const Insn> prog, const verifier::ProgramTypeInfo& type,
                       uint32_t mem, const std::string& fault) {
  auto listing = isa::disassemble(prog, {isa::Syntax::Conformance, false, false});
  fmt::print(stderr, "fuzz_verifier: an accepted {} program (memory {}) is unsafe: {}\n{}\n",
             type.name, mem, fault, listing ? *listing : "(no listing)");
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Choices c({data, size});
  const auto types = verifier::program_types();
  const verifier::ProgramTypeInfo& type = types[c.below(static_cast<uint32_t>(types.size()))];
  static const uint32_t kMemSizes[] = {0, 1, 8, 16, 64};
  uint32_t mem = type.name == "raw" ? kMemSizes[c.below(std::size(kMemSizes))] : 0;
  bool has_map = c.chance(2);
  std::vector<test::TestMap> maps;
  if (has_map) {
    verifier::MapInfo array;  // an ARRAY of 4 elements
    array.type = 2;
    array.key_size = 4;
    array.value_size = 8u + 8u * c.below(4);
    array.max_entries = 4;
    maps.push_back({1, array});
    verifier::MapInfo ringbuf;
    ringbuf.type = 27;
    ringbuf.max_entries = 4096;
    maps.push_back({2, ringbuf});
  }
  test::TestPlatform platform(maps);
  std::vector<Insn> prog = Generator(c, type, has_map).generate();
  ++tally.generated;
  if (!isa::validate(prog)) return 0;
  ++tally.valid;
  // Reproducing a finding: FUZZ_VERIFIER_PRINT=1 ./fuzz_verifier <input> shows the program.
  if (std::getenv("FUZZ_VERIFIER_PRINT"))
    if (auto listing = isa::disassemble(prog, {isa::Syntax::Conformance, false, false}))
      fmt::print(stderr, "{} program:\n{}\n", type.name, *listing);
  verifier::Input input{prog, &type, &platform, {}, {}};
  input.options.raw_memory_size = mem;
  input.options.max_insns_processed = 200'000;
  verifier::Analysis analysis = verifier::verify(input);
  if (!analysis.accepted()) return 0;
  ++tally.accepted;
  std::string fault = test::run_checked(prog, type, analysis, platform, mem, size);
  if (!fault.empty()) fail(prog, type, mem, fault);
  return 0;
}

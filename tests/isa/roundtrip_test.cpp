// SPDX-License-Identifier: MIT
// The table round-trip property: for every row of opcodes.def and many random legal field
// values, encode -> decode -> print (conformance syntax) -> assemble gives the same bytes, and
// the llvm syntax prints something for the row. Which fields are operands is written down here
// again, apart from src/isa, so that a printer that drops a field fails the test.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "insn_builder.hpp"
#include "isa/assembler.hpp"
#include "isa/disassembler.hpp"

namespace pollen::isa {
namespace {

constexpr int kSamplesPerRow = 300;

struct OperandFields {
  bool dst = false, src = false, off = false, imm = false;
};

// The fields each form takes as operands (RFC 9669 and linux/bpf.h); lddw's imm is its imm64.
OperandFields operand_fields(Form form) {
  switch (form) {
    case Form::AluImm:
    case Form::Lddw: return {true, false, false, true};
    case Form::AluReg:
    case Form::MovsxReg: return {true, true, false, false};
    case Form::AluNeg:
    case Form::Endian:
    case Form::Callx: return {true, false, false, false};
    case Form::LdAbs:
    case Form::Ja32:
    case Form::CallHelper:
    case Form::CallLocal: return {false, false, false, true};
    case Form::LdInd: return {false, true, false, true};
    case Form::Ldx:
    case Form::Stx:
    case Form::Atomic:
    case Form::JmpReg: return {true, true, true, false};
    case Form::St:
    case Form::JmpImm: return {true, false, true, true};
    case Form::Ja: return {false, false, true, false};
    case Form::CallKfunc: return {false, false, true, true};
    case Form::Exit: return {};
  }
  return {};
}

// Linux rejects writes to r10: ALU results, loads, lddw, and the register a fetching atomic
// loads into (cmpxchg loads into r0, not src).
bool writes_dst(Form form) {
  return form == Form::AluImm || form == Form::AluReg || form == Form::AluNeg ||
         form == Form::Endian || form == Form::MovsxReg || form == Form::Lddw || form == Form::Ldx;
}
bool writes_src(const OpInfo& row) {
  return row.form == Form::Atomic && (row.sel_value & 0x01) && row.sel_value != 0xf1;
}
// lddw pseudo sources whose second slot must hold 0 (only the value forms carry an offset there).
bool second_slot_is_zero(LddwSrc src) {
  return src != LddwSrc::Imm64 && src != LddwSrc::MapValue && src != LddwSrc::MapIdxValue;
}

class Sampler {
 public:
  explicit Sampler(uint32_t seed) : rng_(seed) {}

  uint8_t reg(bool written) { return static_cast<uint8_t>(pick(0, written ? 9 : 10)); }
  // A quarter of the values are edge cases, the rest uniform over the field's range.
  int64_t value(int64_t lo, int64_t hi) {
    if (pick(0, 3) != 0) return pick(lo, hi);
    const int64_t edges[] = {0, 1, -1, lo, hi};
    return edges[pick(0, 4)];
  }
  uint64_t imm64() { return std::uniform_int_distribution<uint64_t>()(rng_); }

 private:
  int64_t pick(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  std::mt19937_64 rng_;
};

Decoded random_insn(const OpInfo& row, Sampler& s) {
  OperandFields f = operand_fields(row.form);
  Decoded d{row.op, 0, 0, 0, 0, 0, 0};
  if (f.dst) d.dst = s.reg(writes_dst(row.form));
  if (f.src) d.src = s.reg(writes_src(row));
  if (f.off) d.off = static_cast<int16_t>(s.value(INT16_MIN, INT16_MAX));
  if (f.imm) d.imm = static_cast<int32_t>(s.value(INT32_MIN, INT32_MAX));
  switch (row.sel) {
    case Sel::Off: d.off = static_cast<int16_t>(row.sel_value); break;
    case Sel::Imm: d.imm = row.sel_value; break;
    case Sel::Src: d.src = static_cast<uint8_t>(row.sel_value); break;
    case Sel::None: break;
  }
  if (row.form == Form::Lddw) {
    d.imm64 = s.imm64();
    if (second_slot_is_zero(static_cast<LddwSrc>(d.src))) d.imm64 &= UINT32_MAX;
  }
  return d;
}

std::string row_name(const testing::TestParamInfo<size_t>& info) {
  const OpInfo& row = kOps[info.param];
  std::string name = fmt::format("row{:03}_{}_{:02x}", info.param, row.mnemonic, row.opcode);
  for (char& c : name)
    if (c == ' ') c = '_';
  return name;
}

class TableRoundTrip : public testing::TestWithParam<size_t> {};

TEST_P(TableRoundTrip, EncodeDecodePrintAssembleGivesTheSameBytes) {
  const OpInfo& row = kOps[GetParam()];
  Sampler sampler(static_cast<uint32_t>(GetParam()) * 7919u + 1);
  for (int i = 0; i < kSamplesPerRow; ++i) {
    std::vector<Insn> bytes = encode(random_insn(row, sampler));
    Result<Decoded> decoded = decode(bytes, 0);
    ASSERT_TRUE(decoded.ok()) << decoded.error().str();
    ASSERT_EQ(decoded->op, row.op);
    std::string text = format(*decoded, 0, Syntax::Conformance);
    Result<std::vector<Insn>> assembled = assemble(text);
    ASSERT_TRUE(assembled.ok()) << text << ": " << assembled.error().str();
    ASSERT_EQ(*assembled, bytes) << text;
    EXPECT_FALSE(format(*decoded, 0, Syntax::Llvm).empty());
  }
}

// The sampler must only produce legal instructions: each one validates in a program that ends
// in two exits. Branches get target +1 (the second exit; for a local call, a one-exit function),
// since their random targets would lie outside the program; a callback address (lddw src=4)
// names that same one-exit function, counted from its second slot.
TEST_P(TableRoundTrip, SamplesAreLegal) {
  const OpInfo& row = kOps[GetParam()];
  Sampler sampler(static_cast<uint32_t>(GetParam()) + 17);
  for (int i = 0; i < kSamplesPerRow; ++i) {
    Decoded d = random_insn(row, sampler);
    if (row.form == Form::Ja32 || row.form == Form::CallLocal) d.imm = 1;
    if (row.form == Form::Ja || row.form == Form::JmpImm || row.form == Form::JmpReg) d.off = 1;
    if (row.op == Op::LddwFunc) d.imm64 = 2;
    std::vector<Insn> prog = encode(d);
    prog.insert(prog.end(), {test::exit_insn(), test::exit_insn()});
    Result<void> valid = validate(prog);
    ASSERT_TRUE(valid.ok()) << valid.error().str();
  }
}

INSTANTIATE_TEST_SUITE_P(EveryRow, TableRoundTrip, testing::Range<size_t>(0, kOpCount), row_name);

// A listing of every row at once assembles back, so disassemble() keeps lines and lddw whole.
TEST(ListingRoundTrip, ConformanceListingOfEveryRowAssemblesToTheSameProgram) {
  Sampler sampler(4242);
  std::vector<Insn> prog;
  for (const OpInfo& row : kOps)
    for (const Insn& slot : encode(random_insn(row, sampler))) prog.push_back(slot);
  ListingOptions plain{Syntax::Conformance, false, false};
  Result<std::string> listing = disassemble(prog, plain);
  ASSERT_TRUE(listing.ok()) << listing.error().str();
  Result<std::vector<Insn>> assembled = assemble(*listing);
  ASSERT_TRUE(assembled.ok()) << assembled.error().str();
  EXPECT_EQ(*assembled, prog);
}

}  // namespace
}  // namespace pollen::isa

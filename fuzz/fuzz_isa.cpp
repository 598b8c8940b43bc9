// SPDX-License-Identifier: MIT
// libFuzzer harness for src/isa, in two modes (two targets built from this file). Bytes mode
// (fuzz_isa): the input is a program; it is split into slots, validated and listed in both
// syntaxes, and when it validates, its conformance listing must assemble back to the same bytes.
// Text mode (fuzz_isa_asm, POLLEN_FUZZ_TEXT=1): the input is assembly; errors must be located
// at a line, and whatever assembles must list and assemble back to the same bytes. Any broken
// property aborts, so libFuzzer keeps the input.
#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "isa/assembler.hpp"
#include "isa/disassembler.hpp"

namespace {

using namespace pollen;
using namespace pollen::isa;

[[noreturn]] void fail(std::string_view what, std::string_view detail) {
  fmt::print(stderr, "fuzz_isa: {}\n{}\n", what, detail);
  std::abort();
}

// The property both modes end in: the conformance listing assembles back to the same slots.
void check_listing_round_trip(std::span<const Insn> prog) {
  Result<std::string> listing = disassemble(prog, {Syntax::Conformance, false, false});
  if (!listing) fail("a program that decodes does not list", listing.error().str());
  Result<std::vector<Insn>> again = assemble(*listing);
  if (!again) fail("the listing does not assemble", again.error().str() + "\n" + *listing);
  if (*again != std::vector<Insn>(prog.begin(), prog.end()))
    fail("the listing assembles to other bytes", *listing);
}

void fuzz_bytes(std::span<const uint8_t> bytes) {
  // Whole slots only, so that most inputs get past from_bytes.
  Result<std::vector<Insn>> prog = from_bytes(bytes.first(bytes.size() - bytes.size() % 8));
  if (!prog) fail("from_bytes rejects whole slots", prog.error().str());
  for (Syntax syntax : {Syntax::Llvm, Syntax::Conformance}) (void)disassemble(*prog, {syntax});
  if (validate(*prog)) check_listing_round_trip(*prog);
}

void fuzz_text(std::string_view text) {
  Result<std::vector<Insn>> prog = assemble(text, "fuzz.s");
  if (!prog) {
    if (prog.error().location.kind != Location::Kind::Line || prog.error().message.empty())
      fail("an assembler error without a line or message", prog.error().str());
    return;
  }
  (void)disassemble(*prog);
  check_listing_round_trip(*prog);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (POLLEN_FUZZ_TEXT)
    fuzz_text({reinterpret_cast<const char*>(data), size});
  else
    fuzz_bytes({data, size});
  return 0;
}

// SPDX-License-Identifier: MIT
// pollen::Program over the isa module: bytecode and assembly in, structural validation, and
// listings in the two syntaxes. Also the listing of bytecode that need not be valid, which the
// CLI's disassembler uses so that a broken program can still be read.
#include <utility>

#include "isa/assembler.hpp"
#include "isa/disassembler.hpp"
#include "pollen/pollen.hpp"
#include "runtime/program_impl.hpp"

namespace pollen {
namespace {

isa::Syntax to_isa(Syntax syntax) {
  switch (syntax) {
    case Syntax::Conformance: return isa::Syntax::Conformance;
    case Syntax::Llvm: return isa::Syntax::Llvm;
  }
  return isa::Syntax::Llvm;
}

isa::ListingOptions to_isa(const Program::ListingOptions& options) {
  return {to_isa(options.syntax), options.addresses, options.raw_bytes};
}

}  // namespace

Result<Program> Program::from_bytes(std::span<const uint8_t> bytes) {
  POLLEN_TRY(std::vector<isa::Insn> insns, isa::from_bytes(bytes));
  POLLEN_CHECK(isa::validate(insns));
  return Program(std::make_shared<const Impl>(Impl{std::move(insns)}));
}

Result<Program> Program::from_assembly(std::string_view text, std::string_view file_name) {
  POLLEN_TRY(std::vector<isa::Insn> insns, isa::assemble(text, file_name));
  POLLEN_CHECK(isa::validate(insns));
  return Program(std::make_shared<const Impl>(Impl{std::move(insns)}));
}

std::vector<uint8_t> Program::bytes() const {
  return isa::to_bytes(impl_->insns);
}

size_t Program::slot_count() const {
  return impl_->insns.size();
}

std::string Program::disassemble(const ListingOptions& options) const {
  // Every slot of a validated program decodes, so the listing cannot fail.
  return *isa::disassemble(impl_->insns, to_isa(options));
}

Result<std::string> disassemble_bytes(std::span<const uint8_t> bytes,
                                      const Program::ListingOptions& options) {
  POLLEN_TRY(std::vector<isa::Insn> insns, isa::from_bytes(bytes));
  return isa::disassemble(insns, to_isa(options));
}

Result<std::vector<ListedInsn>> list_insns(std::span<const uint8_t> bytes, Syntax syntax) {
  POLLEN_TRY(std::vector<isa::Insn> insns, isa::from_bytes(bytes));
  std::vector<ListedInsn> listing;
  for (size_t slot = 0; slot < insns.size();) {
    POLLEN_TRY(isa::Decoded d, isa::decode(insns, slot));
    size_t width = isa::is_wide(d.op) ? 2 : 1;
    auto first = bytes.begin() + static_cast<std::ptrdiff_t>(slot * sizeof(isa::Insn));
    listing.push_back({slot,
                       {first, first + static_cast<std::ptrdiff_t>(width * sizeof(isa::Insn))},
                       isa::format(d, slot, to_isa(syntax))});
    slot += width;
  }
  return listing;
}

}  // namespace pollen

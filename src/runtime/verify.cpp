// SPDX-License-Identifier: MIT
// pollen::verify: the public face of src/verifier. A Program's validated slots go to the
// verifier with the program type's table and Pollen's helpers as the platform; the analysis
// comes back as a report (a rejection is a verdict, not an Error). ELF programs, with their
// maps and BTF line info, reach the same verifier through the object API once it links them.
#include <fmt/format.h>

#include <array>
#include <limits>

#include "pollen/pollen.hpp"
#include "runtime/object_impl.hpp"
#include "runtime/program_impl.hpp"
#include "verifier/verifier.hpp"

namespace pollen {
namespace {

constexpr std::array<std::pair<ProgramType, std::string_view>, 4> kTypeNames = {{
    {ProgramType::Raw, "raw"},
    {ProgramType::Xdp, "xdp"},
    {ProgramType::SocketFilter, "socket_filter"},
    {ProgramType::Syscall, "syscall"},
}};

VerifyError to_public(verifier::Rejection r, bool verbose) {
  VerifyError e;
  e.insn = r.insn;
  e.source = std::move(r.source);
  e.message = r.message();
  if (verbose) {
    e.state = std::move(r.state);
    e.path = std::move(r.path);
  }
  return e;
}

}  // namespace

VerifyReport to_report(verifier::Analysis analysis, bool verbose) {
  VerifyReport report;
  report.accepted = analysis.accepted();
  if (analysis.rejection) report.error = to_public(std::move(*analysis.rejection), verbose);
  report.stats = {analysis.stats.insns_processed, analysis.stats.states, analysis.stats.time_us};
  return report;
}

std::string_view program_type_name(ProgramType type) {
  for (const auto& [t, name] : kTypeNames)
    if (t == type) return name;
  return "unknown";
}

std::optional<ProgramType> parse_program_type(std::string_view name) {
  for (const auto& [t, n] : kTypeNames)
    if (n == name) return t;
  return std::nullopt;
}

std::string VerifyError::str() const {
  std::string where =
      source.empty() ? fmt::format("insn {}", insn) : fmt::format("insn {} ({})", insn, source);
  return fmt::format("{}: {}", where, message);
}

Result<VerifyReport> verify(const Program& program, ProgramType type,
                            const VerifyOptions& options) {
  if (options.raw_memory_size > std::numeric_limits<uint32_t>::max())
    return make_error(Errc::InvalidArgument, Location::none(),
                      fmt::format("raw memory size {} is too large (at most {})",
                                  options.raw_memory_size, std::numeric_limits<uint32_t>::max()));
  if (options.max_insns_processed == 0)
    return make_error(Errc::InvalidArgument, Location::none(),
                      "max_insns_processed must be at least 1 (is 0)");
  verifier::Input input;
  input.insns = program.impl().insns;
  input.type = verifier::find_program_type(program_type_name(type));
  input.options.max_insns_processed = options.max_insns_processed;
  input.options.raw_memory_size = static_cast<uint32_t>(options.raw_memory_size);
  input.options.record_path = options.verbose;
  return to_report(verifier::verify(input), options.verbose);
}

}  // namespace pollen

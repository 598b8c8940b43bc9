// SPDX-License-Identifier: MIT
// The verifier's rules, one data file per rule under cases/ (format: case_file.hpp). Each case
// is assembled and verified: the verdict must match, a rejection must name the expected
// instruction and contain the expected message, and an accepted program must run without a
// fault in checked mode on the interpreter, on many inputs (case_runner.hpp).
#include <gtest/gtest.h>

#include "case_file.hpp"
#include "case_runner.hpp"
#include "isa/assembler.hpp"

namespace pollen::test {
namespace {

std::vector<VerifierCase> all_cases() {
  std::string error;
  std::vector<VerifierCase> cases = read_cases(POLLEN_VERIFIER_CASES_DIR, error);
  if (!error.empty()) ADD_FAILURE() << error;
  return cases;
}

TestPlatform platform_for(const VerifierCase& c) {
  std::vector<TestMap> maps;
  for (const CaseMap& m : c.maps) maps.push_back({m.fd, map_info(m)});
  return TestPlatform(std::move(maps));
}

class VerifierCaseTest : public testing::TestWithParam<VerifierCase> {};

TEST_P(VerifierCaseTest, GivesTheExpectedVerdict) {
  const VerifierCase& c = GetParam();
  auto insns = isa::assemble(c.assembly, c.file);
  ASSERT_TRUE(insns) << insns.error().str();
  ASSERT_TRUE(isa::validate(*insns)) << isa::validate(*insns).error().str();
  const verifier::ProgramTypeInfo* type = verifier::find_program_type(c.type);
  ASSERT_NE(type, nullptr) << "unknown type " << c.type;
  TestPlatform platform = platform_for(c);
  verifier::Input input{*insns, type, &platform, {}, {}};
  input.options.raw_memory_size = c.mem;
  input.options.record_path = true;
  verifier::Analysis a = verifier::verify(input);
  if (c.accept) {
    ASSERT_TRUE(a.accepted()) << c.where() << ": rejected: " << a.rejection->str()
                              << "\nstate: " << a.rejection->state;
    std::string fault = run_checked(*insns, *type, a, platform, c.mem, c.line);
    EXPECT_EQ(fault, "") << c.where() << ": accepted, but faults in checked mode";
    return;
  }
  ASSERT_FALSE(a.accepted()) << c.where() << ": accepted, expected a rejection with '" << c.message
                             << "'";
  EXPECT_NE(a.rejection->str().find(c.message), std::string::npos)
      << c.where() << ": the rejection\n  " << a.rejection->str() << "\ndoes not contain '"
      << c.message << "'";
  if (c.insn) {
    EXPECT_EQ(a.rejection->insn, *c.insn) << c.where() << ": " << a.rejection->str();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, VerifierCaseTest, testing::ValuesIn(all_cases()),
                         [](const testing::TestParamInfo<VerifierCase>& info) {
                           return info.param.test_name();
                         });

}  // namespace
}  // namespace pollen::test

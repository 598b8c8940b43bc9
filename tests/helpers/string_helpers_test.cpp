// SPDX-License-Identifier: MIT
// bpf_strncmp, bpf_strtol and bpf_strtoul as tables of the kernel's behaviour (lib/string.c,
// kernel/bpf/helpers.c, lib/kstrtox.c): strncmp gives -1/0/1 over unsigned bytes; the
// conversions skip white space (the kernel's, 0xa0 included) and one '-', detect the base
// like kstrtox, look at no more than 63 characters, and report characters consumed, -EINVAL
// or -ERANGE, writing the result only on success. One program calls strtol from a program.
#include <gtest/gtest.h>

#include <cerrno>
#include <climits>
#include <string>

#include "helper_test_util.hpp"

namespace pollen::helpers::test {
namespace {

struct StrncmpCase {
  std::string s1;
  uint32_t size;
  const char* s2;
  int64_t expected;
};

TEST(Strncmp, ComparesLikeTheKernel) {
  const StrncmpCase cases[] = {
      {"abc", 3, "abc", 0}, {"abd", 3, "abc", 1},        {"abb", 3, "abc", -1},
      {"abX", 2, "abc", 0}, {{"abc\0", 4}, 4, "abc", 0}, {"abcd", 4, "abc", 1},
      {"\xff", 1, "a", 1},  {"a", 1, "\xff", -1},        {"", 0, "x", 0},
  };
  for (const StrncmpCase& c : cases) {
    vm::RunContext ctx;
    EXPECT_EQ(
        static_cast<int64_t>(call(id::kStrncmp, ctx, address(c.s1.data()), c.size, address(c.s2))),
        c.expected)
        << c.s1 << " vs " << c.s2;
  }
}

struct StrtoCase {
  std::string buf;
  uint64_t flags;
  int64_t ret;     ///< characters consumed or a negative errno
  uint64_t value;  ///< the result, when ret > 0
};

constexpr uint64_t kUntouched = 0x5a5a5a5a5a5a5a5a;

void check(uint32_t helper, const StrtoCase& c) {
  vm::RunContext ctx;
  uint64_t result = kUntouched;
  const uint64_t r =
      call(helper, ctx, address(c.buf.data()), c.buf.size(), c.flags, address(&result));
  EXPECT_EQ(static_cast<int64_t>(r), c.ret) << '"' << c.buf << "\" flags " << c.flags;
  EXPECT_EQ(result, c.ret > 0 ? c.value : kUntouched) << '"' << c.buf << '"';
}

// Cases where strtol and strtoul agree.
const StrtoCase kCommon[] = {
    {"123", 0, 3, 123},
    {"123456", 10, 6, 123456},
    {"0x1F", 0, 4, 31},
    {"0X1f", 16, 4, 31},
    {"1F", 16, 2, 31},
    {"0x1F", 10, 1, 0},  // base 10 stops at the 'x'
    {"017", 0, 3, 15},
    {"019", 0, 2, 1},  // octal stops at the 9
    {"0xg", 0, 1, 0},  // no hex digit after 0x: octal 0
    {"0x", 16, -EINVAL, 0},
    {" \t\n42 ", 10, 5, 42},
    {"\xa0"
     "7",
     10, 2, 7},
    {"", 0, -EINVAL, 0},
    {"   ", 0, -EINVAL, 0},
    {"-", 0, -EINVAL, 0},
    {"abc", 10, -EINVAL, 0},
    {"+5", 10, -EINVAL, 0},
    {"12", 2, -EINVAL, 0},     // base 2 is not one of 0, 8, 10, 16
    {"12", 0x2a, -EINVAL, 0},  // bits above the base are reserved
    {"18446744073709551616", 10, -ERANGE, 0},
    {std::string(70, '0') + "1", 10, 63, 0},  // only 63 characters are looked at
};

TEST(Strtol, ParsesLikeTheKernel) {
  for (const StrtoCase& c : kCommon) check(id::kStrtol, c);
  const StrtoCase cases[] = {
      {"-42abc", 10, 3, static_cast<uint64_t>(-42)},
      {"  -0x10", 0, 7, static_cast<uint64_t>(-16)},
      {"-0", 0, 2, 0},
      {"9223372036854775807", 10, 19, LLONG_MAX},
      {"9223372036854775808", 10, -ERANGE, 0},
      {"-9223372036854775808", 10, 20, static_cast<uint64_t>(LLONG_MIN)},
      {"-9223372036854775809", 10, -ERANGE, 0},
  };
  for (const StrtoCase& c : cases) check(id::kStrtol, c);
}

TEST(Strtoul, ParsesLikeTheKernel) {
  for (const StrtoCase& c : kCommon) check(id::kStrtoul, c);
  const StrtoCase cases[] = {
      {"-1", 10, -EINVAL, 0},
      {"18446744073709551615", 10, 20, ULLONG_MAX},
      {"0xffffffffffffffff", 0, 18, ULLONG_MAX},
      {"9223372036854775808", 10, 19, 9223372036854775808ull},
  };
  for (const StrtoCase& c : cases) check(id::kStrtoul, c);
}

TEST(Strtol, FromAProgramWritesTheResultToTheStack) {
  // " -31" on the stack, parsed with base 0 into r10 - 16.
  auto prog = link(R"(
    stw [%r10-8], 0x31332d20
    mov %r1, %r10
    add %r1, -8
    mov %r2, 4
    mov %r3, 0
    mov %r4, %r10
    add %r4, -16
    call 105
    ldxdw %r1, [%r10-16]
    mul %r0, 1000
    add %r0, %r1
    exit)");
  expect_r0(prog, 4000 - 31);
}

}  // namespace
}  // namespace pollen::helpers::test

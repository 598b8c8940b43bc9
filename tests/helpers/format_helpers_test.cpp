// SPDX-License-Identifier: MIT
// bpf_snprintf and bpf_trace_printk: a table of formats with the kernel's output (vsnprintf's
// rules for flags and widths, int-sized arguments truncated to 32 bits, %p without hashing),
// the formats Linux refuses with -EINVAL, the argument buffer's -ENOSPC, truncation and the
// returned lengths, and where trace_printk's messages go.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "helper_test_util.hpp"

namespace pollen::helpers::test {
namespace {

const char kWorld[] = "world";
const uint8_t kIp4[4] = {192, 168, 1, 2};
const uint8_t kIp6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const std::string kLong(600, 'a');  // longer than the 512-byte argument buffer

struct FormatCase {
  const char* fmt;
  std::vector<uint64_t> args;
  std::string expected;  ///< the output, or empty when `error` is set
  int error = 0;         ///< the errno Linux refuses the format with
};

std::vector<FormatCase> format_cases() {
  return {
      {"%d|%i|%u", {static_cast<uint64_t>(-5), 42, static_cast<uint64_t>(-1)}, "-5|42|4294967295"},
      {"%x|%X|%lx|%llx",
       {0xdeadbeefcafe, 255, 0xdeadbeefcafe, 0xdeadbeefcafe},
       "beefcafe|FF|deadbeefcafe|deadbeefcafe"},
      {"%ld|%lld|%llu|%li",
       {static_cast<uint64_t>(-1), 0x8000000000000000, ~uint64_t{0}, 7},
       "-1|-9223372036854775808|18446744073709551615|7"},
      {"%5d|%-5d|%05d|%+d|% d|%-05d", {42, 42, 42, 42, 42, 42}, "   42|42   |00042|+42| 42|42   "},
      {"%05d|%+05d|%08x", {static_cast<uint64_t>(-42), 7, 0xbeef}, "-0042|+0007|0000beef"},
      {"%c%c|%3c|%-3c|", {'h', 'i', 'x', 'y'}, "hi|  x|y  |"},
      {"hello %s!", {address(kWorld)}, "hello world!"},
      {"[%7s][%-7s]", {address(kWorld), address(kWorld)}, "[  world][world  ]"},
      {"[%s]", {0}, "[]"},
      {"%pks %pus.", {address(kWorld), address(kWorld)}, "world world."},
      {"%p|%px|%pK|%ps",
       {0x1234, 0x1234, 0x1234, 0x1234},
       "0000000000001234|0000000000001234|0000000000001234|0x1234"},
      {"%pI4 %pi4", {address(kIp4), address(kIp4)}, "192.168.1.2 192.168.001.002"},
      {"%pI6", {address(kIp6)}, "2001:0db8:0000:0000:0000:0000:0000:0001"},
      {"%pi6", {address(kIp6)}, "20010db8000000000000000000000001"},
      {"%pI4", {0}, "0.0.0.0"},
      {"100%% %d%%", {5}, "100% 5%"},
      {"%s", {address(kLong.c_str())}, std::string(511, 'a')},
      {"%d", {}, "", EINVAL},
      {"%d %d", {1}, "", EINVAL},
      {"%q", {1}, "", EINVAL},
      {"%.2d", {1}, "", EINVAL},
      {"%hd", {1}, "", EINVAL},
      {"%lf", {1}, "", EINVAL},
      {"%sa", {address(kWorld)}, "", EINVAL},
      {"%pa", {1}, "", EINVAL},
      {"%pI5", {1}, "", EINVAL},
      {"bell\a", {}, "", EINVAL},
      {"%s%d", {address(kLong.c_str()), 1}, "", ENOSPC},
  };
}

// bpf_snprintf of case `c` into `out`.
uint64_t snprintf_call(const FormatCase& c, char* out, uint32_t size) {
  vm::RunContext ctx;
  return call(id::kSnprintf, ctx, address(out), size, address(c.fmt), address(c.args.data()),
              c.args.size() * 8);
}

TEST(Snprintf, FormatsLikeTheKernel) {
  for (const FormatCase& c : format_cases()) {
    char out[1024];
    std::memset(out, 'x', sizeof out);
    const uint64_t r = snprintf_call(c, out, sizeof out);
    if (c.error != 0) {
      EXPECT_EQ(r, neg(c.error)) << c.fmt;
      continue;
    }
    EXPECT_EQ(std::string(out), c.expected) << c.fmt;
    EXPECT_EQ(r, c.expected.size() + 1) << c.fmt;
  }
}

TEST(Snprintf, CutsToTheBufferAndReturnsTheFullLength) {
  const FormatCase c{"hello %s", {address(kWorld)}, ""};
  char out[8];
  std::memset(out, 'x', sizeof out);
  EXPECT_EQ(snprintf_call(c, out, 4), 12u);
  EXPECT_STREQ(out, "hel");
  EXPECT_EQ(out[4], 'x');
  EXPECT_EQ(snprintf_call(c, nullptr, 0), 12u) << "size 0 writes nothing";
}

TEST(Snprintf, DataLengthMustBeWholeU64sAndAtMostTwelve) {
  vm::RunContext ctx;
  char out[16];
  const uint64_t args[13] = {};
  const char* fmt = "x";
  for (uint64_t len : {uint64_t{4}, uint64_t{13 * 8}})
    EXPECT_EQ(call(id::kSnprintf, ctx, address(out), sizeof out, address(fmt), address(args), len),
              neg(EINVAL));
  EXPECT_EQ(call(id::kSnprintf, ctx, address(out), sizeof out, address(fmt), 0, 8), neg(EINVAL));
  EXPECT_EQ(call(id::kSnprintf, ctx, address(out), sizeof out, address(fmt), address(args), 96),
            2u);
}

struct Captured {
  std::vector<std::string> lines;
  static void write(void* self, std::string_view line) {
    static_cast<Captured*>(self)->lines.emplace_back(line);
  }
};

TEST(TracePrintk, WritesTheMessageToTheSinkAndReturnsItsLength) {
  Captured sink;
  vm::RunContext ctx;
  ctx.trace = {&Captured::write, &sink};
  const char fmt[] = "x=%d y=%s\n";
  EXPECT_EQ(call(id::kTracePrintk, ctx, address(fmt), sizeof fmt, 5, address(kWorld)), 12u);
  EXPECT_EQ(sink.lines, std::vector<std::string>{"x=5 y=world\n"});
}

TEST(TracePrintk, RefusesAFormatWithoutNulOrWithMoreThanThreeArguments) {
  Captured sink;
  vm::RunContext ctx;
  ctx.trace = {&Captured::write, &sink};
  const char four[] = "%d %d %d %d";
  EXPECT_EQ(call(id::kTracePrintk, ctx, address(four), sizeof four, 1, 2, 3), neg(EINVAL));
  const char unterminated[] = {'a', 'b'};
  EXPECT_EQ(call(id::kTracePrintk, ctx, address(unterminated), 2), neg(EINVAL));
  EXPECT_TRUE(sink.lines.empty());
}

// bpf_trace_vprintk: the arguments in an array of u64, up to twelve (bpf_printk with more than
// three); the array's length follows bpf_snprintf's rules.
TEST(TraceVprintk, TakesItsArgumentsFromAnArray) {
  Captured sink;
  vm::RunContext ctx;
  ctx.trace = {&Captured::write, &sink};
  const char fmt[] = "%d %d %d %d %s";
  const uint64_t args[13] = {1, 2, 3, 4, address(kWorld)};
  EXPECT_EQ(call(id::kTraceVprintk, ctx, address(fmt), sizeof fmt, address(args), 40), 13u);
  EXPECT_EQ(sink.lines, std::vector<std::string>{"1 2 3 4 world"});
  for (uint64_t len : {uint64_t{4}, uint64_t{13 * 8}})
    EXPECT_EQ(call(id::kTraceVprintk, ctx, address(fmt), sizeof fmt, address(args), len),
              neg(EINVAL));
  EXPECT_EQ(call(id::kTraceVprintk, ctx, address(fmt), sizeof fmt, 0, 8), neg(EINVAL));
  EXPECT_EQ(call(id::kTraceVprintk, ctx, address(fmt), sizeof fmt, address(args), 32),
            neg(EINVAL));  // five conversions, four arguments
  EXPECT_EQ(sink.lines.size(), 1u);
}

TEST(TracePrintk, CutsTheMessageAt1023Bytes) {
  Captured sink;
  vm::RunContext ctx;
  ctx.trace = {&Captured::write, &sink};
  const char fmt[] = "%1100d";
  EXPECT_EQ(call(id::kTracePrintk, ctx, address(fmt), sizeof fmt, 7), 1100u);
  ASSERT_EQ(sink.lines.size(), 1u);
  EXPECT_EQ(sink.lines[0], std::string(1023, ' '));
}

TEST(TracePrintk, FromAProgramWithoutASinkWritesATracePipeLineToStderr) {
  auto prog = link(R"(
    lddw %r1, 0x000a6425203d20
    stxdw [%r10-8], %r1
    mov %r1, %r10
    add %r1, -8
    mov %r2, 7
    mov %r3, 42
    call 6
    exit)");
  testing::internal::CaptureStderr();
  Result<uint64_t> r = run(prog, {.slot = 3});
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, 6u);
  EXPECT_NE(err.find(" [003] "), std::string::npos) << err;
  EXPECT_NE(err.find(": bpf_trace_printk:  = 42\n"), std::string::npos) << err;
}

}  // namespace
}  // namespace pollen::helpers::test

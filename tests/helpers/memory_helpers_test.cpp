// SPDX-License-Identifier: MIT
// The probe_read family on good and bad addresses (null, a PROT_NONE page, a read running into
// one): bad ones give -EFAULT and a zeroed destination, never a crash; the _str variants'
// lengths, cuts and NUL rules. bpf_csum_diff against results Linux 6.18 on x86-64 returned for
// the same bytes (BPF_PROG_TEST_RUN of a program calling the helper).
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "helper_test_util.hpp"

namespace pollen::helpers::test {
namespace {

// Two pages, the second one PROT_NONE: what lies at the end of the first is readable right up
// to where the second starts.
class GuardPage : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = static_cast<char*>(
        mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(base_, MAP_FAILED);
    ASSERT_EQ(mprotect(base_ + kPage, kPage, PROT_NONE), 0);
  }
  void TearDown() override { munmap(base_, 2 * kPage); }
  /// Places `text` (without its NUL) so that it ends where the readable page ends.
  uint64_t at_end(std::string_view text) {
    char* p = base_ + kPage - text.size();
    std::memcpy(p, text.data(), text.size());
    return address(p);
  }
  uint64_t guard() const { return address(base_ + kPage); }

  static constexpr size_t kPage = 4096;
  char* base_ = nullptr;
};

constexpr uint32_t kReads[] = {id::kProbeRead, id::kProbeReadUser, id::kProbeReadKernel};
constexpr uint32_t kStrReads[] = {id::kProbeReadStr, id::kProbeReadUserStr,
                                  id::kProbeReadKernelStr};

TEST_F(GuardPage, ProbeReadCopiesReadableMemory) {
  const uint64_t src = at_end("12345678");
  for (uint32_t helper : kReads) {
    vm::RunContext ctx;
    char dst[8] = {};
    EXPECT_EQ(call(helper, ctx, address(dst), sizeof dst, src), 0u);
    EXPECT_EQ(std::string(dst, 8), "12345678");
    EXPECT_EQ(call(helper, ctx, 0, 0, guard()), 0u) << "nothing to read, nothing to check";
  }
}

TEST_F(GuardPage, ProbeReadOfABadAddressFailsAndZeroes) {
  const uint64_t straddling = at_end("1234");
  for (uint32_t helper : kReads) {
    for (uint64_t src : {uint64_t{0}, guard(), straddling}) {
      vm::RunContext ctx;
      char dst[8];
      std::memset(dst, 'x', sizeof dst);
      EXPECT_EQ(call(helper, ctx, address(dst), sizeof dst, src), neg(EFAULT)) << helper;
      EXPECT_EQ(std::string(dst, 8), std::string(8, '\0'));
    }
  }
}

TEST_F(GuardPage, ProbeReadStrReturnsTheLengthWithItsNul) {
  const uint64_t src = at_end(std::string_view("hello\0", 6));
  for (uint32_t helper : kStrReads) {
    vm::RunContext ctx;
    char dst[16];
    std::memset(dst, 'x', sizeof dst);
    EXPECT_EQ(call(helper, ctx, address(dst), sizeof dst, src), 6u);
    EXPECT_STREQ(dst, "hello");
    EXPECT_EQ(dst[6], 'x') << "no padding after the NUL";
    // Cut to size - 1 characters and a NUL; the result is the size.
    EXPECT_EQ(call(helper, ctx, address(dst), 4, src), 4u);
    EXPECT_STREQ(dst, "hel");
    EXPECT_EQ(call(helper, ctx, address(dst), 0, src), 0u);
  }
}

TEST_F(GuardPage, ProbeReadStrFailsWhenTheStringRunsIntoABadPage) {
  const uint64_t unterminated = at_end("abcd");
  for (uint32_t helper : kStrReads) {
    vm::RunContext ctx;
    char dst[16];
    std::memset(dst, 'x', sizeof dst);
    EXPECT_EQ(call(helper, ctx, address(dst), sizeof dst, unterminated), neg(EFAULT));
    EXPECT_EQ(std::string(dst, 16), std::string(16, '\0'));
    EXPECT_EQ(call(helper, ctx, address(dst), sizeof dst, 0), neg(EFAULT));
    // A cut before the bad page is not a failure.
    EXPECT_EQ(call(helper, ctx, address(dst), 3, unterminated), 3u);
    EXPECT_STREQ(dst, "ab");
  }
}

TEST(ProbeRead, FromAProgramIntoItsStack) {
  uint64_t secret = 0x1122334455667788;
  const std::string text = "lddw %r3, " + std::to_string(address(&secret)) + R"(
    mov %r1, %r10
    add %r1, -8
    mov %r2, 8
    call 113
    ldxdw %r0, [%r10-8]
    exit)";
  expect_r0(link(text), 0x1122334455667788);
}

// The 32 bytes Linux's csum_diff ran over: these four u64 stored little-endian.
constexpr uint64_t kWords[] = {0x1122334455667788, 0x99aabbccddeeff00, 0x0123456789abcdef,
                               0xfedcba9876543210};

struct CsumCase {
  uint32_t from_offset;
  uint32_t from_size;  ///< `to` starts right after `from`
  uint32_t to_size;
  uint64_t seed;
  uint64_t kernel_result;
};

TEST(CsumDiff, MatchesLinux618OnX86) {
  const CsumCase cases[] = {
      {0, 8, 8, 0, 0x2112},          {0, 0, 8, 0, 0x1155},
      {0, 8, 0, 0, 0xeeaa},          {0, 0, 8, 0x12345678, 0x7a01},
      {0, 8, 0, 0x12345678, 0x5757}, {0, 4, 12, 0xdeadbeef, 0x477c},
      {0, 12, 4, 0, 0x6732},         {0, 16, 16, 0, 0xbc43},
      {0, 0, 0, 0x12345678, 0x68ac}, {0, 0, 0, 0xffffffffffff, 0xffff},
      {0, 4, 4, 0, 0x7777},          {0, 0, 4, 0xffff0000, 0xccee},
      {0, 3, 4, 0, 0xee99},          {0, 0, 32, 0, 0x43bc},
      {0, 0, 4, 0, 0xccee},          {0, 0, 4, 1, 0xccef},
      {0, 0, 4, 0xffff, 0xccee},     {0, 0, 4, 0x10000, 0xccef},
      {0, 0, 8, 0xffff0000, 0x1155}, {0, 0, 4, 0xaa998877, 0xffff},
      {0, 0, 4, 0xaa998878, 0x1},    {0, 4, 0, 0, 0x3311},
      {0, 4, 0, 0x12345678, 0x9bbd}, {0, 12, 0, 0, 0x11bb},
      {0, 4, 8, 0, 0x5467},          {0, 8, 4, 0, 0xcb9a},
      {0, 4, 4, 0x1234, 0x89ab},     {1, 4, 4, 0, 0x7777},
      {1, 5, 7, 0, 0x43de},          {3, 0, 13, 0x1234, 0xdfff},
      {1, 9, 0, 0, 0x31f0},          {1, 10, 11, 0xabcdef, 0x8d59},
      {5, 1, 1, 0, 0xffee},
  };
  uint8_t bytes[32];
  std::memcpy(bytes, kWords, sizeof bytes);  // the tests run on little-endian hosts
  for (const CsumCase& c : cases) {
    vm::RunContext ctx;
    const uint8_t* from = bytes + c.from_offset;
    EXPECT_EQ(call(id::kCsumDiff, ctx, address(from), c.from_size, address(from + c.from_size),
                   c.to_size, c.seed),
              c.kernel_result)
        << "from +" << c.from_offset << " size " << c.from_size << ", to size " << c.to_size
        << ", seed " << std::hex << c.seed;
  }
}

TEST(CsumDiff, ZeroesAndOnesComplementZero) {
  // Linux 6.18: all-zero data and seed give 0, a sum equal to zero in ones' complement 0xffff.
  const uint32_t zero = 0, ones = 0xffffffff, one = 1;
  vm::RunContext ctx;
  EXPECT_EQ(call(id::kCsumDiff, ctx, 0, 0, address(&zero), 4, 0), 0u);
  EXPECT_EQ(call(id::kCsumDiff, ctx, address(&zero), 4, address(&zero), 4, 0), 0xffffu);
  EXPECT_EQ(call(id::kCsumDiff, ctx, 0, 0, address(&ones), 4, 0), 0xffffu);
  EXPECT_EQ(call(id::kCsumDiff, ctx, address(&one), 4, address(&zero), 4, 0), 0xfffeu);
}

}  // namespace
}  // namespace pollen::helpers::test

// SPDX-License-Identifier: MIT
// The string helpers of kernel/bpf/helpers.c: bpf_strncmp, and bpf_strtol / bpf_strtoul, which
// parse like the kernel's own kstrto* family (lib/kstrtox.c) rather than like libc: the base is
// 0, 8, 10 or 16 from the low five bits of flags, leading white space and one '-' are skipped,
// at most 63 characters after them are looked at, and the result is the number of characters
// consumed or -EINVAL / -ERANGE.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "helpers/helpers_p.hpp"

namespace pollen::helpers::detail {
namespace {

using vm::RunContext;

// Linux's strncmp (lib/string.c): -1, 0 or 1, comparing bytes as unsigned.
uint64_t strncmp_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t,
                        RunContext* ctx) {
  const auto size = static_cast<uint32_t>(r2);
  if (!readable(ctx, id::kStrncmp, 1, r1, size) || !const_string(ctx, id::kStrncmp, 3, r3))
    return 0;
  const auto* s1 = ptr<const unsigned char>(r1);
  const auto* s2 = ptr<const unsigned char>(r3);
  for (uint32_t i = 0; i < size; ++i) {
    if (s1[i] != s2[i]) return s1[i] < s2[i] ? ~uint64_t{0} : 1;
    if (s1[i] == 0) break;
  }
  return 0;
}

constexpr uint64_t kBaseMask = 0x1f;  // BPF_STRTOX_BASE_MASK
constexpr size_t kMaxDigits = 63;     // the kernel parses from a 64-byte copy

// The kernel's isspace, whose table also counts 0xa0 (no-break space in Latin-1).
bool kernel_isspace(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0;
}

// The value of hex digit `c`, or 16 for any other character.
unsigned digit_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const unsigned lower = c | 0x20u;  // the kernel's _tolower
  return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : 16;
}

// _parse_integer_fixup_radix: base 0 becomes 16 after "0x" and a hex digit, 8 after "0", else
// 10; base 16 skips an "0x" prefix. Returns how many characters the prefix takes.
size_t fixup_radix(const char* s, unsigned& base) {
  const bool hex_prefix = s[0] == '0' && (s[1] | 0x20) == 'x';
  if (base == 0) {
    base = s[0] != '0'                                                        ? 10
           : hex_prefix && digit_value(static_cast<unsigned char>(s[2])) < 16 ? 16
                                                                              : 8;
  }
  return base == 16 && hex_prefix ? 2 : 0;
}

// _parse_integer: digits of `base` until the first other character; the count of digits
// parsed, with `overflow` set when the value passed 2^64 - 1.
size_t parse_digits(const char* s, unsigned base, uint64_t& value, bool& overflow) {
  size_t n = 0;
  value = 0;
  overflow = false;
  for (unsigned digit; (digit = digit_value(static_cast<unsigned char>(s[n]))) < base; ++n) {
    if (value > (UINT64_MAX - digit) / base) overflow = true;
    value = value * base + digit;
  }
  return n;
}

struct Parsed {
  long consumed;  ///< characters consumed, or a negative errno
  uint64_t value = 0;
  bool negative = false;
};

// __bpf_strtoull: the unsigned magnitude and the sign of the number at the start of `buf`.
Parsed parse_strtoull(const char* buf, size_t len, uint64_t flags) {
  auto base = static_cast<unsigned>(flags & kBaseMask);
  if (len == 0 || (base != 0 && base != 8 && base != 10 && base != 16) || (flags & ~kBaseMask) != 0)
    return {-EINVAL};
  size_t at = 0;
  while (at < len && kernel_isspace(static_cast<unsigned char>(buf[at]))) ++at;
  Parsed out{0};
  out.negative = at < len && buf[at] == '-';
  at += out.negative;
  if (at == len) return {-EINVAL};
  char str[kMaxDigits + 1] = {};
  std::memcpy(str, buf + at, std::min(len - at, kMaxDigits));
  const size_t prefix = fixup_radix(str, base);
  bool overflow = false;
  const size_t digits = parse_digits(str + prefix, base, out.value, overflow);
  if (overflow) return {-ERANGE};
  if (digits == 0) return {-EINVAL};
  out.consumed = static_cast<long>(at + prefix + digits);
  return out;
}

uint64_t strtol_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t,
                       RunContext* ctx) {
  if (!readable(ctx, id::kStrtol, 1, r1, r2) || !writable(ctx, id::kStrtol, 4, r4, sizeof(int64_t)))
    return 0;
  Parsed p = parse_strtoull(ptr<const char>(r1), r2, r3);
  if (p.consumed < 0) return from_long(p.consumed);
  // __bpf_strtoll: the magnitude must fit the sign (LLONG_MIN itself does).
  const uint64_t result = p.negative ? 0 - p.value : p.value;
  if (p.negative ? static_cast<int64_t>(result) > 0 : static_cast<int64_t>(result) < 0)
    return neg_errno(ERANGE);
  std::memcpy(ptr(r4), &result, sizeof result);
  return from_long(p.consumed);
}

uint64_t strtoul_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t,
                        RunContext* ctx) {
  if (!readable(ctx, id::kStrtoul, 1, r1, r2) ||
      !writable(ctx, id::kStrtoul, 4, r4, sizeof(uint64_t)))
    return 0;
  Parsed p = parse_strtoull(ptr<const char>(r1), r2, r3);
  if (p.consumed < 0) return from_long(p.consumed);
  if (p.negative) return neg_errno(EINVAL);
  std::memcpy(ptr(r4), &p.value, sizeof p.value);
  return from_long(p.consumed);
}

constexpr Implementation kImplementations[] = {
    {id::kStrtol, strtol_helper},
    {id::kStrtoul, strtoul_helper},
    {id::kStrncmp, strncmp_helper},
};

}  // namespace

std::span<const Implementation> string_helpers() {
  return kImplementations;
}

}  // namespace pollen::helpers::detail

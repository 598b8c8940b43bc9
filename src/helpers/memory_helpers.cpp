// SPDX-License-Identifier: MIT
// Helpers over raw memory: the probe_read family, which reads any address and fails instead
// of faulting, and bpf_csum_diff. In Linux the probe reads copy from user or kernel memory
// with page faults disabled (copy_from_user_nofault); Pollen's programs live in one user
// process, so every variant reads this process's memory the same way, through
// process_vm_readv on its own pid: the kernel walks the page tables and reports an unmapped
// or unreadable page as EFAULT, so a bad address costs an error code, never a crash.
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "helpers/helpers_p.hpp"

namespace pollen::helpers::detail {
namespace {

using vm::RunContext;

constexpr uint64_t kPage = 4096;  // the smallest page size of any host; reads split on it

bool vm_read(void* dst, uint64_t src, size_t size) {
  iovec local{dst, size};
  iovec remote{ptr(src), size};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(size);
}

// bpf_probe_read_{user,kernel} and the compat bpf_probe_read: on failure the destination is
// zeroed and -EFAULT returned (bpf_probe_read_user_common).
uint64_t read_mem(uint32_t helper, uint64_t dst, uint32_t size, uint64_t src, RunContext* ctx) {
  if (!writable(ctx, helper, 1, dst, size)) return 0;
  if (safe_read(ptr(dst), src, size)) return 0;
  std::memset(ptr(dst), 0, size);
  return neg_errno(EFAULT);
}

// The _str variants: the string's length with its NUL, size when it was cut; on failure the
// whole destination is zeroed (bpf_probe_read_user_str_common).
uint64_t read_str(uint32_t helper, uint64_t dst, uint32_t size, uint64_t src, RunContext* ctx) {
  if (size == 0) return 0;
  if (!writable(ctx, helper, 1, dst, size)) return 0;
  const long n = safe_read_str(ptr<char>(dst), src, size);
  if (n < 0) std::memset(ptr(dst), 0, size);
  return from_long(n);
}

template <uint32_t Helper>
uint64_t probe_read(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t, RunContext* ctx) {
  return read_mem(Helper, r1, static_cast<uint32_t>(r2), r3, ctx);
}

template <uint32_t Helper>
uint64_t probe_read_str(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t,
                        RunContext* ctx) {
  return read_str(Helper, r1, static_cast<uint32_t>(r2), r3, ctx);
}

// --- bpf_csum_diff: the ones' complement arithmetic of Linux's x86-64 checksum code. ---

// `n` (at most 8) bytes as a little-endian number: x86 loads words, and the tail of a buffer,
// zero-extended, in little-endian order.
uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

// csum_partial (arch/x86/lib/csum-partial_64.c): 64-bit words added with end-around carry,
// then folded to 32 bits the same way. The result is not folded to 16 bits.
uint32_t csum_partial(const uint8_t* p, size_t len, uint32_t sum) {
  uint64_t acc = sum;
  auto add = [&acc](uint64_t word) {
    acc += word;
    acc += acc < word;
  };
  for (; len >= 8; p += 8, len -= 8) add(load_le(p, 8));
  if (len != 0) add(load_le(p, len));
  const auto low = static_cast<uint32_t>(acc);
  const uint32_t folded = low + static_cast<uint32_t>(acc >> 32);
  return folded + (folded < low);
}

uint32_t csum_add(uint32_t a, uint32_t b) {
  const uint32_t sum = a + b;
  return sum + (sum < b);
}

// csum_from32to16: the 32-bit sum folded to 16 bits, not complemented.
uint16_t from32to16(uint32_t sum) {
  sum += std::rotl(sum, 16);
  return static_cast<uint16_t>(sum >> 16);
}

// bpf_csum_diff as Linux 6.12 and later compute it (net/core/filter.c): the sum of `to` minus
// the sum of `from`, plus the seed, folded to 16 bits on every architecture. Older kernels
// returned the unfolded 32-bit sum and required sizes that are multiples of 4; the kernels the
// differential tests run against do neither.
uint64_t csum_diff(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                   RunContext* ctx) {
  const auto from_size = static_cast<uint32_t>(r2);
  const auto to_size = static_cast<uint32_t>(r4);
  if (!readable(ctx, id::kCsumDiff, 1, r1, from_size) ||
      !readable(ctx, id::kCsumDiff, 3, r3, to_size))
    return 0;
  const auto* from = ptr<const uint8_t>(r1);
  const auto* to = ptr<const uint8_t>(r3);
  auto sum = static_cast<uint32_t>(r5);
  if (from_size != 0 && to_size != 0) {
    sum = csum_add(csum_partial(to, to_size, sum), ~csum_partial(from, from_size, 0));
  } else if (to_size != 0) {
    sum = csum_partial(to, to_size, sum);
  } else if (from_size != 0) {
    sum = ~csum_partial(from, from_size, ~sum);
  }
  return from32to16(sum);
}

constexpr Implementation kImplementations[] = {
    {id::kProbeRead, probe_read<id::kProbeRead>},
    {id::kCsumDiff, csum_diff},
    {id::kProbeReadStr, probe_read_str<id::kProbeReadStr>},
    {id::kProbeReadUser, probe_read<id::kProbeReadUser>},
    {id::kProbeReadKernel, probe_read<id::kProbeReadKernel>},
    {id::kProbeReadUserStr, probe_read_str<id::kProbeReadUserStr>},
    {id::kProbeReadKernelStr, probe_read_str<id::kProbeReadKernelStr>},
};

}  // namespace

bool safe_read(void* dst, uint64_t src, size_t size) {
  return size == 0 || vm_read(dst, src, size);
}

// Reads page by page, so that a string ending just before an unreadable page is still read.
long safe_read_str(char* dst, uint64_t src, size_t size) {
  if (size == 0) return 0;
  size_t done = 0;
  while (done < size) {
    const uint64_t at = src + done;
    const size_t chunk = std::min<uint64_t>(size - done, kPage - at % kPage);
    if (!vm_read(dst + done, at, chunk)) return -EFAULT;
    if (const void* nul = std::memchr(dst + done, 0, chunk))
      return static_cast<long>(static_cast<const char*>(nul) - dst + 1);
    done += chunk;
  }
  dst[size - 1] = '\0';
  return static_cast<long>(size);
}

std::span<const Implementation> memory_helpers() {
  return kImplementations;
}

}  // namespace pollen::helpers::detail

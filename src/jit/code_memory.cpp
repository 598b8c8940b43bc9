// SPDX-License-Identifier: MIT
// CodeMemory on POSIX: mmap read + write, fill, mprotect read + execute. The write and execute
// permissions never overlap, so no page of generated code is ever both.
#include "jit/code_memory_p.hpp"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace pollen::jit::detail {
namespace {

Error os_error(std::string_view what) {
  return make_error(Errc::Io, Location::none(),
                    fmt::format("JIT code memory: {} failed ({})", what, std::strerror(errno)));
}

}  // namespace

Result<CodeMemory> CodeMemory::create(size_t size,
                                      const std::function<Result<void>(uint8_t* base)>& write) {
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t mapped = (size + page - 1) / page * page;
  void* base = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return os_error("mmap");
  // From here on the mapping belongs to `memory`, which unmaps it on every way out.
  CodeMemory memory(static_cast<uint8_t*>(base), size, mapped);
  POLLEN_CHECK(write(memory.base_));
  if (mprotect(base, mapped, PROT_READ | PROT_EXEC) != 0) return os_error("mprotect");
  return memory;
}

CodeMemory::CodeMemory(CodeMemory&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

CodeMemory& CodeMemory::operator=(CodeMemory&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) munmap(base_, mapped_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

CodeMemory::~CodeMemory() {
  if (base_ != nullptr) munmap(base_, mapped_);
}

}  // namespace pollen::jit::detail

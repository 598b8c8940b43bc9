// SPDX-License-Identifier: MIT
// The locks maps use. MapLock guards map internals for the few instructions an update takes
// (the kernel uses raw spinlocks there, which is safe because the kernel holder cannot be
// preempted); Pollen's threads can be preempted while holding a lock, so a waiter spins only
// briefly and then sleeps on the lock word (a futex), letting the holder run. value_spin_lock
// and value_spin_unlock implement `struct bpf_spin_lock` (a u32 inside a map value) the same
// way: the bpf_spin_lock helpers and BPF_F_LOCK map copies must both use them.
#pragma once

#include <atomic>
#include <cstdint>

namespace pollen::maps {

namespace detail {
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Word states: 0 free, 1 held, 2 held and a waiter may be asleep (Drepper's futex mutex).
// Word is std::atomic<uint32_t> or std::atomic_ref<uint32_t>.
template <class Word>
void lock_word(Word& word) {
  uint32_t expected = 0;
  if (word.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return;
  for (int spins = 0; spins < 100; ++spins) {
    cpu_relax();
    expected = 0;
    if (word.load(std::memory_order_relaxed) == 0 &&
        word.compare_exchange_weak(expected, 1, std::memory_order_acquire)) {
      return;
    }
  }
  while (word.exchange(2, std::memory_order_acquire) != 0) word.wait(2, std::memory_order_relaxed);
}

template <class Word>
void unlock_word(Word& word) {
  if (word.exchange(0, std::memory_order_release) == 2) word.notify_one();
}
}  // namespace detail

/// A small lock for map internals; meets BasicLockable for std::lock_guard.
class MapLock {
 public:
  void lock() { detail::lock_word(word_); }
  void unlock() { detail::unlock_word(word_); }

 private:
  std::atomic<uint32_t> word_{0};
};

/// Takes the `struct bpf_spin_lock` at `lock` (4-byte aligned, inside a map value).
inline void value_spin_lock(void* lock) {
  std::atomic_ref<uint32_t> word(*static_cast<uint32_t*>(lock));
  detail::lock_word(word);
}

/// Releases a `struct bpf_spin_lock` taken with value_spin_lock.
inline void value_spin_unlock(void* lock) {
  std::atomic_ref<uint32_t> word(*static_cast<uint32_t*>(lock));
  detail::unlock_word(word);
}

}  // namespace pollen::maps

// SPDX-License-Identifier: MIT
// Epoch-based reclamation, Pollen's stand-in for the kernel's RCU: map elements that a running
// program may still point at are retired instead of freed, and freed only once every thread
// that could have seen them has left its read-side section. A thread enters a section with an
// EpochGuard (the runtime holds one around every program run; host map operations take their
// own); sections nest. Retired objects are freed after the global epoch has advanced twice past
// the epoch they were retired in, which cannot happen while a reader from that time is inside.
#pragma once

#include <cstddef>

namespace pollen::maps {

/// The process-wide reclamation domain. All functions are thread-safe.
class Epoch {
 public:
  /// Enters a read-side section (nests). Prefer EpochGuard.
  static void enter();
  /// Leaves the innermost section.
  static void leave();
  /// True while the calling thread is inside a section.
  static bool inside();
  /// Frees `object` with `free_fn` once no reader can still see it. The caller has already
  /// made it unreachable for new readers.
  static void retire(void* object, void (*free_fn)(void*));
  /// Hands this thread's retired objects to the domain, advances the epoch where readers allow
  /// and frees what has become safe. Called automatically every few retirements.
  static void collect();
  /// Number of retired objects not yet freed (all threads).
  static size_t pending();
};

/// A read-side section for the lifetime of the guard.
class EpochGuard {
 public:
  EpochGuard() { Epoch::enter(); }
  ~EpochGuard() { Epoch::leave(); }
  EpochGuard(const EpochGuard&) = delete;
  EpochGuard& operator=(const EpochGuard&) = delete;
};

}  // namespace pollen::maps

// SPDX-License-Identifier: MIT
// The epoch domain behind EpochGuard: one global epoch counter, one record per thread announcing
// the epoch it entered at (or idle), per-thread bags of retired objects and one shared list they
// are flushed to. The global epoch moves from e to e+1 only when every active record is at e, so
// once it reaches e+2 no reader that entered at e or before is left, and whatever was retired
// at e can be freed.
#include "maps/epoch.hpp"

#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace pollen::maps {
namespace {

struct Retired {
  void* object;
  void (*free_fn)(void*);
  uint64_t epoch;
};

// A record is owned by one thread at a time and reused after that thread exits; records are
// never unlinked, so the advancing thread can walk the list without a lock.
struct alignas(64) Record {
  // 0 when idle, (epoch << 1) | 1 inside a section.
  std::atomic<uint64_t> state{0};
  std::atomic<bool> in_use{true};
  Record* next = nullptr;
};

constexpr size_t kBagFlushSize = 64;

// Entering a section announces the epoch and must then re-read it, a store followed by a load
// that the processor must not reorder: a full memory barrier, which costs more than a short
// program's run. Where Linux offers membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), the readers
// only keep the compiler from reordering, and the thread that advances the epoch -- rarely, a
// few times per 64 retirements -- makes every running thread of the process execute a full
// barrier before it reads their announcements: a store a reader made before its barrier is then
// visible, and a reader whose store comes after it also loads after it, so it cannot see what
// was unlinked before the advance began (the asymmetric fence of liburcu's membarrier flavour).
class Barrier {
 public:
  Barrier() {
#if defined(__linux__)
    const long commands = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    asymmetric_ = commands > 0 && (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
                  syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
  }
  /// Between a reader's announcement and its re-read of the epoch.
  void light() const {
    if (asymmetric_)
      std::atomic_signal_fence(std::memory_order_seq_cst);
    else
      std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  /// Before the advancing thread reads the announcements.
  void heavy() const {
#if defined(__linux__)
    if (asymmetric_ && syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
      return;
#endif
    // Without membarrier the readers fence themselves; this pairs with their fences.
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }

 private:
  bool asymmetric_ = false;
};

class Domain {
 public:
  static Domain& get() {
    static Domain domain;
    return domain;
  }

  const Barrier& barrier() const { return barrier_; }

  ~Domain() {
    for (Retired& r : garbage_) r.free_fn(r.object);
    for (Record* r = records_.load(); r != nullptr;) delete std::exchange(r, r->next);
  }

  uint64_t epoch() const { return epoch_.load(std::memory_order_seq_cst); }
  Record* acquire_record();
  void release_record(Record* record) { record->in_use.store(false, std::memory_order_release); }
  void collect(std::vector<Retired>& bag);
  size_t pending() const { return pending_.load(std::memory_order_relaxed); }
  void add_pending() { pending_.fetch_add(1, std::memory_order_relaxed); }

 private:
  bool try_advance();

  Barrier barrier_;
  std::atomic<uint64_t> epoch_{1};
  std::atomic<Record*> records_{nullptr};
  std::atomic<size_t> pending_{0};
  std::mutex mutex_;
  std::vector<Retired> garbage_;  // guarded by mutex_
};

Record* Domain::acquire_record() {
  for (Record* r = records_.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    bool expected = false;
    if (r->in_use.compare_exchange_strong(expected, true, std::memory_order_acquire)) return r;
  }
  auto* record = new Record;
  Record* head = records_.load(std::memory_order_relaxed);
  do {
    record->next = head;
  } while (!records_.compare_exchange_weak(head, record, std::memory_order_release,
                                           std::memory_order_relaxed));
  return record;
}

// Called with mutex_ held, so only one thread advances at a time.
bool Domain::try_advance() {
  barrier_.heavy();
  uint64_t e = epoch_.load(std::memory_order_seq_cst);
  for (Record* r = records_.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    uint64_t s = r->state.load(std::memory_order_seq_cst);
    if ((s & 1) != 0 && (s >> 1) != e) return false;
  }
  epoch_.store(e + 1, std::memory_order_seq_cst);
  return true;
}

void Domain::collect(std::vector<Retired>& bag) {
  std::vector<Retired> ready;
  {
    std::lock_guard lock(mutex_);
    garbage_.insert(garbage_.end(), bag.begin(), bag.end());
    bag.clear();
    // Two advances let a quiet process free everything retired before this call.
    if (try_advance()) try_advance();
    uint64_t now = epoch_.load(std::memory_order_seq_cst);
    auto keep = garbage_.begin();
    for (Retired& r : garbage_) {
      if (r.epoch + 2 <= now) {
        ready.push_back(r);
      } else {
        *keep++ = r;
      }
    }
    garbage_.erase(keep, garbage_.end());
  }
  // Free outside the lock: a free function may release an inner map, which retires in turn.
  for (Retired& r : ready) r.free_fn(r.object);
  pending_.fetch_sub(ready.size(), std::memory_order_relaxed);
}

struct ThreadState {
  Record* record = nullptr;
  uint32_t nesting = 0;
  std::vector<Retired> bag;

  Record* get_record() {
    if (record == nullptr) record = Domain::get().acquire_record();
    return record;
  }
  ~ThreadState() {
    if (!bag.empty()) Domain::get().collect(bag);
    if (record != nullptr) Domain::get().release_record(record);
  }
};

thread_local ThreadState t_state;

}  // namespace

void Epoch::enter() {
  ThreadState& ts = t_state;
  if (ts.nesting++ > 0) return;
  Record* record = ts.get_record();
  Domain& domain = Domain::get();
  // Announce, then confirm the epoch did not move meanwhile: an announcement of a stale epoch
  // could otherwise be missed by an advance that already scanned this record.
  uint64_t e = domain.epoch();
  for (;;) {
    // The store and the re-read must not be reordered: see Barrier.
    record->state.store((e << 1) | 1, std::memory_order_relaxed);
    domain.barrier().light();
    uint64_t now = domain.epoch();
    if (now == e) break;
    e = now;
  }
}

void Epoch::leave() {
  ThreadState& ts = t_state;
  if (--ts.nesting > 0) return;
  // Release: everything read in the section happens before an advance that sees us idle.
  ts.record->state.store(0, std::memory_order_release);
}

bool Epoch::inside() {
  return t_state.nesting > 0;
}

void Epoch::retire(void* object, void (*free_fn)(void*)) {
  ThreadState& ts = t_state;
  Domain& domain = Domain::get();
  // The object was unlinked before this point; the fence orders the unlink before the epoch
  // read, so readers entering at a later epoch cannot find it.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  ts.bag.push_back(Retired{object, free_fn, domain.epoch()});
  domain.add_pending();
  if (ts.bag.size() >= kBagFlushSize) domain.collect(ts.bag);
}

void Epoch::collect() {
  Domain::get().collect(t_state.bag);
}

size_t Epoch::pending() {
  return Domain::get().pending();
}

}  // namespace pollen::maps

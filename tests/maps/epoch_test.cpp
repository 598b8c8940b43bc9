// SPDX-License-Identifier: MIT
// Epoch reclamation: sections nest; an object retired while another thread is inside a section
// is not freed until that thread leaves; retirement frees on its own every few objects, and a
// thread's retired objects are handed over when it exits.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "maps/epoch.hpp"

namespace pollen::maps {
namespace {

std::atomic<int> g_freed{0};

struct Tracked {
  int payload = 1234;
};

void free_tracked(void* p) {
  delete static_cast<Tracked*>(p);
  g_freed.fetch_add(1);
}

TEST(Epoch, SectionsNest) {
  EXPECT_FALSE(Epoch::inside());
  {
    EpochGuard outer;
    {
      EpochGuard inner;
      EXPECT_TRUE(Epoch::inside());
    }
    EXPECT_TRUE(Epoch::inside());
  }
  EXPECT_FALSE(Epoch::inside());
}

// A one-shot signal between two threads.
class Signal {
 public:
  void set() {
    std::lock_guard lock(mutex_);
    set_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return set_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool set_ = false;
};

TEST(Epoch, ObjectOutlivesAReaderThatMightSeeIt) {
  Signal reader_inside, retired, reader_done;
  std::atomic<Tracked*> shared{new Tracked};
  int seen = 0;
  std::thread reader([&] {
    EpochGuard guard;
    Tracked* t = shared.load();
    reader_inside.set();
    retired.wait();
    seen = t->payload;  // still valid: the writer cannot free it yet
  });
  reader_inside.wait();
  const int before = g_freed.load();
  Tracked* old = shared.exchange(nullptr);
  Epoch::retire(old, &free_tracked);
  for (int i = 0; i < 3; ++i) Epoch::collect();
  EXPECT_EQ(g_freed.load(), before) << "freed while a reader was inside";
  retired.set();
  reader.join();
  EXPECT_EQ(seen, 1234);
  Epoch::collect();
  EXPECT_EQ(g_freed.load(), before + 1);
}

TEST(Epoch, RetiringFreesOnItsOwnEveryFewObjects) {
  Epoch::collect();
  const int before = g_freed.load();
  for (int i = 0; i < 200; ++i) Epoch::retire(new Tracked, &free_tracked);
  EXPECT_GE(g_freed.load(), before + 128) << "bags are flushed without an explicit collect";
  Epoch::collect();
  EXPECT_EQ(g_freed.load(), before + 200);
  EXPECT_EQ(Epoch::pending(), 0u);
}

TEST(Epoch, ExitingThreadHandsOverItsRetiredObjects) {
  Epoch::collect();
  const int before = g_freed.load();
  std::thread worker([] {
    for (int i = 0; i < 5; ++i) Epoch::retire(new Tracked, &free_tracked);
  });
  worker.join();
  Epoch::collect();
  EXPECT_EQ(g_freed.load(), before + 5);
}

}  // namespace
}  // namespace pollen::maps

// SPDX-License-Identifier: MIT
// Maps used from several threads at once, as programs on several execution slots and the host
// use them: counters incremented through lookup pointers with atomic adds (lock xadd in BPF)
// and created with BPF_NOEXIST must end at the exact expected totals; churning inserts,
// deletes and LRU evictions must never show a reader another element's value; queues and LPM
// tries must stay consistent. Bounded operation counts; the soak test runs for
// POLLEN_MAPS_SOAK_SECONDS (default 1) and checks exact totals the same way.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <thread>
#include <vector>

#include "map_test_util.hpp"
#include "maps/epoch.hpp"
#include "maps/hash_map.hpp"
#include "maps/keyless_maps.hpp"
#include "maps/lpm_trie.hpp"
#include "maps/ringbuf.hpp"

namespace pollen::maps {
namespace {

using test::make_def;
using test::make_map;

constexpr uint32_t kOpsPerThread = 200000;

void run_threads(uint32_t count, const std::function<void(uint32_t)>& body) {
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < count; ++i) threads.emplace_back(body, i);
  for (auto& t : threads) t.join();
}

uint64_t atomic_load(void* p) {
  return std::atomic_ref<uint64_t>(*static_cast<uint64_t*>(p)).load(std::memory_order_relaxed);
}

// What a BPF program does to count: look up, add atomically, or create with BPF_NOEXIST and
// retry if another slot created it first. Runs inside the caller's epoch section.
void count_in(Map& map, const void* key, uint32_t slot) {
  for (;;) {
    if (void* value = map.lookup(key, slot)) {
      std::atomic_ref<uint64_t>(*static_cast<uint64_t*>(value)).fetch_add(1);
      return;
    }
    const uint64_t one = 1;
    long rc = map.update(key, &one, kBpfNoExist, slot);
    if (rc == 0) return;
    ASSERT_EQ(rc, -EEXIST);
  }
}

// Host reader: every counter only grows, so each read must be >= the previous one.
void check_monotonic(Map& map, uint32_t keys, std::vector<uint64_t>& last) {
  for (uint32_t k = 0; k < keys; ++k) {
    uint64_t v = 0;
    if (map.lookup_copy(&k, &v) == 0) {
      EXPECT_GE(v, last[k]) << "counter " << k << " went backwards";
      last[k] = v;
    }
  }
}

TEST(Concurrency, HashCountersFromTwoSlotsAreExact) {
  constexpr uint32_t kKeys = 16;
  auto map = make_map(make_def(MapType::Hash, 4, 8, kKeys));
  ASSERT_NE(map, nullptr);
  std::atomic<bool> done{false};
  std::thread host([&] {
    std::vector<uint64_t> last(kKeys, 0);
    while (!done.load()) check_monotonic(*map, kKeys, last);
  });
  run_threads(2, [&](uint32_t slot) {
    for (uint32_t i = 0; i < kOpsPerThread; ++i) {
      EpochGuard guard;
      const uint32_t key = (i * 7 + slot) % kKeys;
      count_in(*map, &key, slot);
    }
  });
  done = true;
  host.join();
  uint64_t total = 0;
  for (uint32_t k = 0; k < kKeys; ++k) {
    uint64_t v = 0;
    ASSERT_EQ(map->lookup_copy(&k, &v), 0);
    EXPECT_EQ(v, 2u * kOpsPerThread / kKeys) << k;
    total += v;
  }
  EXPECT_EQ(total, 2u * kOpsPerThread);
}

TEST(Concurrency, PercpuHashSlotsCountIndependently) {
  constexpr uint32_t kKeys = 8;
  constexpr uint32_t kSlots = 3;
  auto map = make_map(make_def(MapType::PercpuHash, 4, 8, kKeys), kSlots);
  ASSERT_NE(map, nullptr);
  run_threads(kSlots, [&](uint32_t slot) {
    for (uint32_t i = 0; i < kOpsPerThread; ++i) {
      EpochGuard guard;
      const uint32_t key = i % kKeys;
      if (void* value = map->lookup(&key, slot)) {
        // Each slot owns its value, so a plain add is what a program would do.
        std::atomic_ref<uint64_t> v(*static_cast<uint64_t*>(value));
        v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      } else {
        const uint64_t one = 1;
        long rc = map->update(&key, &one, kBpfNoExist, slot);
        if (rc == -EEXIST) {
          count_in(*map, &key, slot);
        } else {
          ASSERT_EQ(rc, 0);
        }
      }
    }
  });
  for (uint32_t k = 0; k < kKeys; ++k) {
    uint64_t values[kSlots];
    ASSERT_EQ(map->lookup_copy(&k, values), 0);
    for (uint32_t slot = 0; slot < kSlots; ++slot) {
      EXPECT_EQ(values[slot], kOpsPerThread / kKeys) << "key " << k << " slot " << slot;
    }
  }
}

TEST(Concurrency, ArrayAtomicAddsAndHostWritesDoNotInterfere) {
  auto map = make_map(make_def(MapType::Array, 4, 8, 4));
  ASSERT_NE(map, nullptr);
  std::atomic<bool> done{false};
  std::thread host([&] {
    for (uint64_t n = 0; !done.load(); ++n) {
      const uint32_t key = 3;
      ASSERT_EQ(map->update_host(&key, &n), 0);
      uint32_t counter = 0;
      uint64_t v = 0;
      ASSERT_EQ(map->lookup_copy(&counter, &v), 0);
    }
  });
  run_threads(2, [&](uint32_t) {
    for (uint32_t i = 0; i < kOpsPerThread; ++i) {
      EpochGuard guard;
      const uint32_t key = 0;
      std::atomic_ref<uint64_t>(*static_cast<uint64_t*>(map->lookup(&key, 0))).fetch_add(2);
    }
  });
  done = true;
  host.join();
  uint32_t key = 0;
  uint64_t v = 0;
  ASSERT_EQ(map->lookup_copy(&key, &v), 0);
  EXPECT_EQ(v, 4u * kOpsPerThread);
}

// Writers churn keys with value = key * 3 + 1; a reader holding a pointer across other
// operations must keep seeing exactly that value, even after the element is deleted.
void churn_and_verify(MapType type, uint32_t max_entries) {
  auto map = make_map(make_def(type, 4, 8, max_entries));
  ASSERT_NE(map, nullptr);
  run_threads(3, [&](uint32_t thread) {
    uint32_t seed = 12345 + thread;
    for (uint32_t i = 0; i < kOpsPerThread / 2; ++i) {
      seed = seed * 1103515245 + 12345;
      const uint32_t key = (seed >> 8) % (max_entries * 2);
      const uint64_t value = key * 3 + 1;
      EpochGuard guard;
      void* held = map->lookup(&key, 0);
      if ((seed >> 4) % 3 == 0) {
        long rc = map->erase(&key);
        ASSERT_TRUE(rc == 0 || rc == -ENOENT) << rc;
      } else {
        long rc = map->update(&key, &value, kBpfAny, 0);
        ASSERT_TRUE(rc == 0 || rc == -E2BIG) << rc;
      }
      if (held != nullptr) {
        ASSERT_EQ(atomic_load(held), value);
      }
    }
  });
  auto* hash = dynamic_cast<HashMap*>(map.get());
  ASSERT_NE(hash, nullptr);
  EXPECT_LE(hash->size(), max_entries);
  EXPECT_EQ(test::walk_keys(*map).size(), hash->size());
}

TEST(Concurrency, HashChurnNeverShowsAnotherElementsValue) {
  churn_and_verify(MapType::Hash, 64);
}

TEST(Concurrency, LruChurnEvictsSafely) {
  churn_and_verify(MapType::LruHash, 32);
}

TEST(Concurrency, LpmLookupsSeeAConsistentTrieWhileItChanges) {
  auto trie = make_map<LpmTrie>(make_def(MapType::LpmTrie, 8, 8, 64, kBpfFNoPrealloc));
  ASSERT_NE(trie, nullptr);
  struct Key {
    uint32_t prefixlen;
    unsigned char data[4];
  };
  const Key base{8, {10, 0, 0, 0}};
  const uint64_t eight = 8;
  ASSERT_EQ(trie->update_host(&base, &eight), 0);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint32_t i = 0; i < kOpsPerThread / 4; ++i) {
      const uint32_t len = 9 + i % 24;
      const auto second = static_cast<unsigned char>(i % 3);
      const Key k{len, {10, second, 1, 1}};
      const uint64_t value = len + 256 * second;
      if (i % 2 == 0) {
        ASSERT_EQ(trie->update_host(&k, &value), 0);
      } else {
        long rc = trie->erase(&k);
        ASSERT_TRUE(rc == 0 || rc == -ENOENT);
      }
    }
    done = true;
  });
  run_threads(2, [&](uint32_t) {
    while (!done.load()) {
      EpochGuard guard;
      const Key probe{32, {10, 1, 1, 1}};
      void* value = trie->lookup(&probe, 0);
      ASSERT_NE(value, nullptr) << "10.0.0.0/8 always matches";
      // The match is 10.0.0.0/8 or some 10.b.1.1/len; the latter must really contain the
      // probe: the prefix may not reach the first bit where b and the probe's 1 differ.
      const uint64_t stored = atomic_load(value);
      const uint32_t len = stored % 256;
      const auto second = static_cast<unsigned char>(stored / 256);
      ASSERT_GE(len, 8u);
      ASSERT_LE(len, 32u);
      if (second != 1) {
        ASSERT_LE(len, 8u + std::countl_zero(static_cast<unsigned char>(second ^ 1))) << stored;
      }
    }
  });
  writer.join();
}

TEST(Concurrency, QueueDeliversEveryValueExactlyOnce) {
  auto queue = make_map<QueueStackMap>(make_def(MapType::Queue, 0, 8, 64));
  ASSERT_NE(queue, nullptr);
  constexpr uint32_t kPerProducer = kOpsPerThread / 4;
  std::vector<std::atomic<uint32_t>> seen(2 * kPerProducer);
  std::atomic<uint32_t> popped{0};
  run_threads(4, [&](uint32_t thread) {
    if (thread < 2) {
      for (uint64_t v = thread * kPerProducer; v < (thread + 1) * kPerProducer;) {
        if (queue->push(&v, kBpfAny) == 0) {
          ++v;
        } else {
          std::this_thread::yield();  // full: let the consumers in
        }
      }
      return;
    }
    while (popped.load() < 2 * kPerProducer) {
      uint64_t v;
      if (queue->pop(&v) == 0) {
        seen[v].fetch_add(1);
        popped.fetch_add(1);
      } else {
        std::this_thread::yield();  // empty: let the producers in
      }
    }
  });
  for (uint32_t v = 0; v < 2 * kPerProducer; ++v) ASSERT_EQ(seen[v].load(), 1u) << v;
}

// The soak test's maps and what its threads did: two threads, as two execution slots, count
// in a hash map, an array and a per-CPU hash, churn a second hash map and write ring buffer
// records, while the host reads counters and consumes records. Nothing may be lost.
struct Soak {
  static constexpr uint32_t kKeys = 32;
  std::shared_ptr<Map> counters = make_map(make_def(MapType::Hash, 4, 8, kKeys));
  std::shared_ptr<Map> array = make_map(make_def(MapType::Array, 4, 8, kKeys));
  std::shared_ptr<Map> percpu = make_map(make_def(MapType::PercpuHash, 4, 8, kKeys), 2);
  std::shared_ptr<Map> churn = make_map(make_def(MapType::Hash, 4, 8, 128));
  std::shared_ptr<RingBuf> ring = make_map<RingBuf>(make_def(MapType::Ringbuf, 0, 0, 1 << 16));
  std::atomic<bool> stop{false};
  uint64_t iterations[2] = {0, 0};
  uint64_t records_sent[2] = {0, 0};
  uint64_t records_received = 0;

  void program(uint32_t slot, std::chrono::steady_clock::time_point deadline) {
    uint32_t seed = 77 + slot;
    while (std::chrono::steady_clock::now() < deadline) {
      for (int batch = 0; batch < 64; ++batch, ++iterations[slot]) {
        EpochGuard guard;
        seed = seed * 1103515245 + 12345;
        const uint32_t key = (seed >> 8) % kKeys;
        count_in(*counters, &key, slot);
        std::atomic_ref<uint64_t>(*static_cast<uint64_t*>(array->lookup(&key, slot))).fetch_add(1);
        count_in(*percpu, &key, slot);
        const uint32_t churn_key = (seed >> 16) % 256;
        if (seed % 2 == 0) {
          churn->update(&churn_key, &iterations[slot], kBpfAny, slot);
        } else {
          churn->erase(&churn_key);
        }
        const uint64_t record = iterations[slot];
        if (ring->output(&record, sizeof record, 0) == 0) ++records_sent[slot];
      }
    }
  }

  void consume() {
    ring->consume([&](const void*, uint32_t) {
      ++records_received;
      return 0;
    });
  }

  void host() {
    std::vector<uint64_t> last(kKeys, 0);
    while (!stop.load()) {
      check_monotonic(*counters, kKeys, last);
      consume();
    }
  }

  void check_totals() {
    uint64_t hash_total = 0, array_total = 0, slot_totals[2] = {0, 0};
    for (uint32_t k = 0; k < kKeys; ++k) {
      uint64_t v = 0, per_slot[2] = {0, 0};
      if (counters->lookup_copy(&k, &v) == 0) hash_total += v;
      ASSERT_EQ(array->lookup_copy(&k, &v), 0);
      array_total += v;
      if (percpu->lookup_copy(&k, per_slot) == 0) {
        slot_totals[0] += per_slot[0];
        slot_totals[1] += per_slot[1];
      }
    }
    EXPECT_EQ(hash_total, iterations[0] + iterations[1]);
    EXPECT_EQ(array_total, iterations[0] + iterations[1]);
    EXPECT_EQ(slot_totals[0], iterations[0]);
    EXPECT_EQ(slot_totals[1], iterations[1]);
    EXPECT_EQ(records_received, records_sent[0] + records_sent[1]);
  }
};

TEST(Soak, TwoThreadsLoseNoUpdate) {
  Soak soak;
  ASSERT_TRUE(soak.counters && soak.array && soak.percpu && soak.churn && soak.ring);
  const char* env = std::getenv("POLLEN_MAPS_SOAK_SECONDS");
  const double seconds = env != nullptr ? std::atof(env) : 1.0;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(seconds));
  std::thread host([&] { soak.host(); });
  run_threads(2, [&](uint32_t slot) { soak.program(slot, deadline); });
  soak.stop = true;
  host.join();
  soak.consume();
  std::cout << "soak: " << seconds << " s, " << soak.iterations[0] + soak.iterations[1]
            << " iterations (" << soak.iterations[0] << " + " << soak.iterations[1] << "), "
            << soak.records_received << " ring records\n";
  soak.check_totals();
}

}  // namespace
}  // namespace pollen::maps

// SPDX-License-Identifier: MIT
// RINGBUF: Linux's record header (busy and discard bits, page offset back to the ring), the
// space rules (never a whole ring ahead of the consumer), wrap-around with records crossing
// the end of the data area, consume() order and skipping, queries, and concurrent producers
// with a concurrent consumer losing nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>

#include "map_test_util.hpp"
#include "maps/ringbuf.hpp"

namespace pollen::maps {
namespace {

using test::make_def;
using test::make_map;

std::shared_ptr<RingBuf> make_ring(uint32_t size = 4096) {
  return make_map<RingBuf>(make_def(MapType::Ringbuf, 0, 0, size));
}

uint32_t header_len(const void* sample) {
  uint32_t len;
  std::memcpy(&len, static_cast<const unsigned char*>(sample) - kRingbufHdrSize, sizeof len);
  return len;
}

std::vector<std::vector<unsigned char>> drain(RingBuf& ring) {
  std::vector<std::vector<unsigned char>> records;
  ring.consume([&](const void* data, uint32_t size) {
    auto* bytes = static_cast<const unsigned char*>(data);
    records.emplace_back(bytes, bytes + size);
    return 0;
  });
  return records;
}

TEST(RingBuf, RecordHeaderCarriesBusyBitUntilSubmit) {
  auto ring = make_ring();
  ASSERT_NE(ring, nullptr);
  void* sample = ring->reserve(5, 0);
  ASSERT_NE(sample, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(sample) % 8, 0u);
  EXPECT_EQ(header_len(sample), 5u | kRingbufBusyBit);
  EXPECT_EQ(RingBuf::from_sample(sample), ring.get()) << "the page offset leads to the ring";
  EXPECT_EQ(ring->query(kRbProdPos), 16u) << "8-byte header + 5 bytes, rounded up to 8";
  EXPECT_EQ(ring->query(kRbAvailData), 16u);
  EXPECT_EQ(ring->query(kRbRingSize), 4096u);
  EXPECT_EQ(ring->query(99), 0u);
  EXPECT_TRUE(drain(*ring).empty()) << "a busy record blocks the consumer";
  std::memcpy(sample, "hello", 5);
  RingBuf::submit(sample, 0);
  EXPECT_EQ(header_len(sample), 5u);
  auto records = drain(*ring);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(std::string(records[0].begin(), records[0].end()), "hello");
  EXPECT_EQ(ring->query(kRbConsPos), 16u);
  EXPECT_EQ(ring->query(kRbAvailData), 0u);
}

TEST(RingBuf, ConsumerSkipsDiscardedRecordsInOrder) {
  auto ring = make_ring();
  ASSERT_NE(ring, nullptr);
  void* first = ring->reserve(8, 0);
  void* second = ring->reserve(8, 0);
  void* third = ring->reserve(8, 0);
  ASSERT_TRUE(first && second && third);
  std::memcpy(second, "second!", 8);
  std::memcpy(third, "third!!", 8);
  RingBuf::submit(third, 0);
  RingBuf::submit(second, kRbNoWakeup);
  EXPECT_TRUE(drain(*ring).empty()) << "records are consumed in reservation order";
  RingBuf::discard(first, 0);
  EXPECT_EQ(header_len(first), 8u | kRingbufDiscardBit);
  auto records = drain(*ring);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_STREQ(reinterpret_cast<const char*>(records[0].data()), "second!");
  EXPECT_STREQ(reinterpret_cast<const char*>(records[1].data()), "third!!");
  EXPECT_EQ(ring->query(kRbConsPos), 48u);
}

TEST(RingBuf, RefusesRecordsThatDoNotFit) {
  auto ring = make_ring();
  ASSERT_NE(ring, nullptr);
  EXPECT_EQ(ring->reserve(4096, 0), nullptr) << "larger than the ring";
  EXPECT_EQ(ring->reserve(4088, 0), nullptr) << "the producer stays less than a ring ahead";
  EXPECT_EQ(ring->reserve(8, 1), nullptr) << "reserve flags must be 0";
  void* big = ring->reserve(4080, 0);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(ring->reserve(1, 0), nullptr);
  const char byte = 'x';
  EXPECT_EQ(ring->output(&byte, 1, 0), -EAGAIN);
  EXPECT_EQ(ring->output(&byte, 1, 4), -EINVAL);
  RingBuf::submit(big, 0);
  EXPECT_EQ(drain(*ring).size(), 1u);
  EXPECT_EQ(ring->output(&byte, 1, kRbForceWakeup), 0);
}

TEST(RingBuf, WrapsAroundWithRecordsCrossingTheEnd) {
  auto ring = make_ring();
  ASSERT_NE(ring, nullptr);
  uint32_t produced = 0, consumed = 0;
  bool crossed_end = false;
  while (ring->query(kRbProdPos) < 10 * 4096) {
    for (int i = 0; i < 5; ++i, ++produced) {
      const uint32_t size = 100 + produced % 300;
      const uint64_t pos = ring->query(kRbProdPos);
      crossed_end |= (pos % 4096) + size + kRingbufHdrSize > 4096;
      std::vector<unsigned char> record(size, static_cast<unsigned char>(produced));
      std::memcpy(record.data(), &produced, sizeof produced);
      ASSERT_EQ(ring->output(record.data(), size, 0), 0) << produced;
    }
    long rc = ring->consume([&](const void* data, uint32_t size) {
      uint32_t seq;
      std::memcpy(&seq, data, sizeof seq);
      EXPECT_EQ(seq, consumed);
      EXPECT_EQ(size, 100 + consumed % 300);
      EXPECT_EQ(static_cast<const unsigned char*>(data)[size - 1],
                static_cast<unsigned char>(consumed));
      ++consumed;
      return 0;
    });
    ASSERT_EQ(rc, 5);
  }
  EXPECT_TRUE(crossed_end);
  EXPECT_EQ(consumed, produced);
}

TEST(RingBuf, NegativeCallbackResultStopsConsumeAfterThatRecord) {
  auto ring = make_ring();
  ASSERT_NE(ring, nullptr);
  for (uint32_t v = 0; v < 3; ++v) ASSERT_EQ(ring->output(&v, sizeof v, 0), 0);
  EXPECT_EQ(ring->consume([](const void*, uint32_t) { return -7; }), -7);
  auto rest = drain(*ring);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0][0], 1);
}

TEST(RingBuf, HasNoElementOperations) {
  auto ring = make_ring();
  ASSERT_NE(ring, nullptr);
  uint32_t key = 0, value = 0;
  EXPECT_EQ(ring->lookup_copy(&key, &value), -kEnotsupp);
  EXPECT_EQ(ring->update_host(&key, &value), -kEnotsupp);
  EXPECT_EQ(ring->erase(&key), -kEnotsupp);
  EXPECT_EQ(ring->get_next_key(nullptr, &key), -kEnotsupp);
}

TEST(RingBuf, ConcurrentProducersAndConsumerLoseNothing) {
  auto ring = make_ring(16384);
  ASSERT_NE(ring, nullptr);
  constexpr uint32_t kProducers = 3;
  constexpr uint32_t kPerProducer = 20000;
  std::atomic<uint32_t> finished{0};
  std::vector<std::thread> producers;
  for (uint32_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (uint32_t seq = 0; seq < kPerProducer;) {
        // Alternate output with reserve/submit, with a discarded record now and then.
        const uint32_t record[2] = {p, seq};
        if (seq % 10 == 1) {
          if (void* junk = ring->reserve(sizeof record, 0)) RingBuf::discard(junk, 0);
        }
        if (seq % 2 == 0) {
          if (ring->output(record, sizeof record, 0) == 0) ++seq;
        } else if (void* sample = ring->reserve(sizeof record, 0)) {
          std::memcpy(sample, record, sizeof record);
          RingBuf::submit(sample, 0);
          ++seq;
        }
        std::this_thread::yield();
      }
      finished.fetch_add(1);
    });
  }
  std::vector<uint32_t> next(kProducers, 0);
  uint64_t received = 0;
  auto check = [&](const void* data, uint32_t size) {
    uint32_t record[2];
    EXPECT_EQ(size, sizeof record);
    std::memcpy(record, data, sizeof record);
    EXPECT_EQ(record[1], next[record[0]]) << "producer " << record[0];
    next[record[0]] = record[1] + 1;
    ++received;
    return 0;
  };
  while (finished.load() < kProducers) {
    if (ring->consume(check) == 0) std::this_thread::yield();
  }
  ring->consume(check);
  for (auto& t : producers) t.join();
  EXPECT_EQ(received, uint64_t{kProducers} * kPerProducer);
  EXPECT_EQ(ring->query(kRbAvailData), 0u);
}

}  // namespace
}  // namespace pollen::maps

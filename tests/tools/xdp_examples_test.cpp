// SPDX-License-Identifier: MIT
// The XDP examples (examples/bpf/xdp_*.bpf.c) in the Linux kernel: each object is loaded with
// libbpf and run with BPF_PROG_TEST_RUN on every frame of the demo capture (pollen-pcapgen,
// seed 1), and its verdicts, output frames and maps are checked against what its header comment
// promises, worked out from the capture with the tests' own parser (packet_view). This shows the
// examples do what they say and that the demo capture exercises them; the Pollen-versus-kernel
// comparison is tests/differential's. Skips, saying why, where BPF is unavailable.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "packet_view.hpp"

namespace {

using pollen::test::Capture;
using pollen::test::PacketView;
using pollen::test::view;
using Bytes = std::vector<uint8_t>;

constexpr uint32_t kDrop = XDP_DROP, kPass = XDP_PASS, kTx = XDP_TX;

struct ObjectCloser {
  void operator()(bpf_object* object) const { bpf_object__close(object); }
};
using ObjectPtr = std::unique_ptr<bpf_object, ObjectCloser>;

struct XdpRun {
  uint32_t verdict = 0;
  Bytes out;
};

class XdpExamplesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    capture_ = new Capture(pollen::test::read_capture(POLLEN_DEMO_PCAP));
  }
  static void TearDownTestSuite() { delete capture_; }

  // Loads examples/bpf/<name>.bpf.c's object; skips when the kernel refuses BPF altogether.
  void load(const std::string& name) {
    ASSERT_TRUE(capture_->error.empty()) << capture_->error;
    ASSERT_EQ(capture_->frames.size(), 20000u);
    if (geteuid() != 0) GTEST_SKIP() << "BPF_PROG_LOAD needs root";
    const std::string path = std::string(POLLEN_EXAMPLES_DIR) + "/example_" + name + ".o";
    object_.reset(bpf_object__open_file(path.c_str(), nullptr));
    ASSERT_TRUE(object_) << path << ": " << std::strerror(errno);
    const int err = bpf_object__load(object_.get());
    if (err == -EPERM) GTEST_SKIP() << "the kernel refuses BPF here (EPERM)";
    ASSERT_EQ(err, 0) << name << ": the kernel refused the object: " << std::strerror(-err);
    prog_fd_ = bpf_program__fd(bpf_object__next_program(object_.get(), nullptr));
  }

  // Every frame through BPF_PROG_TEST_RUN, one run each, in capture order.
  std::vector<XdpRun> run_capture() {
    std::vector<XdpRun> runs;
    std::array<uint8_t, 4096> out{};
    for (const auto& frame : capture_->frames) {
      LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.bytes.data(), .data_out = out.data(),
                  .data_size_in = static_cast<uint32_t>(frame.bytes.size()),
                  .data_size_out = static_cast<uint32_t>(out.size()), .repeat = 1);
      const int err = bpf_prog_test_run_opts(prog_fd_, &opts);
      EXPECT_EQ(err, 0) << std::strerror(-err);
      runs.push_back({opts.retval, Bytes(out.begin(), out.begin() + opts.data_size_out)});
    }
    return runs;
  }

  int map_fd(const char* name) {
    const bpf_map* map = bpf_object__find_map_by_name(object_.get(), name);
    EXPECT_NE(map, nullptr) << name;
    return map ? bpf_map__fd(map) : -1;
  }

  // Every entry of a map, key bytes to value bytes.
  std::map<Bytes, Bytes> entries(const char* name) {
    const bpf_map* map = bpf_object__find_map_by_name(object_.get(), name);
    std::map<Bytes, Bytes> out;
    if (!map) return out;
    Bytes key(bpf_map__key_size(map)), next(key.size()), value(bpf_map__value_size(map));
    const void* prev = nullptr;
    while (bpf_map_get_next_key(bpf_map__fd(map), prev, next.data()) == 0) {
      EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(map), next.data(), value.data()), 0);
      out[next] = value;
      key = next;
      prev = key.data();
    }
    return out;
  }

  uint64_t u64_at(const char* map, uint32_t index, size_t offset = 0) {
    Bytes value(64);
    EXPECT_EQ(bpf_map_lookup_elem(map_fd(map), &index, value.data()), 0) << map;
    uint64_t v = 0;
    std::memcpy(&v, value.data() + offset, sizeof v);
    return v;
  }

  static inline Capture* capture_ = nullptr;
  ObjectPtr object_;
  int prog_fd_ = -1;
};

uint64_t le64(const Bytes& b, size_t at) {
  uint64_t v = 0;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

bool is_ip(const PacketView& p) {
  return p.ip_version != 0;
}

// Checks verdicts one frame at a time; names the first frame that differs.
void expect_verdicts(const std::vector<XdpRun>& runs, const std::vector<uint32_t>& expected) {
  ASSERT_EQ(runs.size(), expected.size());
  size_t wrong = 0;
  for (size_t i = 0; i < runs.size(); ++i)
    if (runs[i].verdict != expected[i] && wrong++ == 0)
      ADD_FAILURE() << "frame " << i << ": verdict " << runs[i].verdict << ", expected "
                    << expected[i];
  EXPECT_EQ(wrong, 0u) << "frames with a wrong verdict";
}

TEST_F(XdpExamplesTest, FirewallDropsExactlyTheBlockedSources) {
  load("xdp_firewall");
  if (IsSkipped()) return;
  const auto runs = run_capture();
  std::vector<uint32_t> expected;
  uint64_t blocked = 0;
  for (const auto& frame : capture_->frames) {
    const PacketView p = view(frame.bytes);
    const bool drop = is_ip(p) && pollen::test::from_blocked_prefix(p);
    blocked += drop;
    expected.push_back(drop ? kDrop : kPass);
  }
  expect_verdicts(runs, expected);
  EXPECT_GT(blocked, 100u) << "the demo capture must show drops";
  // The rules' own counters and the verdict counters (drop IPv4 + drop IPv6) agree.
  uint64_t rule_hits = 0;
  for (const char* map : {"blocklist_v4", "blocklist_v6"})
    for (const auto& [key, value] : entries(map)) rule_hits += le64(value, 0);
  EXPECT_EQ(rule_hits, blocked);
  EXPECT_EQ(u64_at("verdicts", 3) + u64_at("verdicts", 4), blocked);
  EXPECT_EQ(u64_at("verdicts", 5), 0u) << "no malformed frames in the demo capture";
}

// struct flow_key of xdp_flow_counter.bpf.c, from the tests' parser.
Bytes flow_key(const PacketView& p, const Bytes& frame) {
  Bytes key(40, 0);
  key[0] = p.ip_version;
  key[1] = p.protocol;
  uint16_t sport = p.sport, dport = p.dport;
  if (p.protocol == 1 || p.protocol == 58) {
    const bool echo = p.protocol == 1 ? p.icmp_type == 0 || p.icmp_type == 8
                                      : p.icmp_type == 128 || p.icmp_type == 129;
    sport = echo ? p.sport : 0;
    dport = static_cast<uint16_t>(p.icmp_type << 8 | frame[p.l4_at + 1]);
  }
  key[2] = static_cast<uint8_t>(sport >> 8), key[3] = static_cast<uint8_t>(sport);
  key[4] = static_cast<uint8_t>(dport >> 8), key[5] = static_cast<uint8_t>(dport);
  const uint16_t vlan = p.vlans.empty() ? 0 : p.vlans.back();
  std::memcpy(&key[6], &vlan, 2);  // host byte order
  std::copy(p.src.begin(), p.src.end(), key.begin() + 8);
  std::copy(p.dst.begin(), p.dst.end(), key.begin() + 24);
  return key;
}

TEST_F(XdpExamplesTest, FlowCounterSumsEveryIpPacketIntoItsFlow) {
  load("xdp_flow_counter");
  if (IsSkipped()) return;
  const auto runs = run_capture();
  std::map<Bytes, std::pair<uint64_t, uint64_t>> expected;  // packets, bytes
  uint64_t not_ip = 0;
  for (const auto& frame : capture_->frames) {
    const PacketView p = view(frame.bytes);
    if (!is_ip(p)) {
      ++not_ip;
      continue;
    }
    auto& [packets, bytes] = expected[flow_key(p, frame.bytes)];
    ++packets;
    bytes += frame.bytes.size();
  }
  expect_verdicts(runs, std::vector<uint32_t>(runs.size(), kPass));
  const auto flows = entries("flows");
  EXPECT_EQ(flows.size(), expected.size());
  size_t wrong = 0;
  for (const auto& [key, counts] : expected) {
    const auto it = flows.find(key);
    if (it == flows.end() || le64(it->second, 0) != counts.first ||
        le64(it->second, 8) != counts.second)
      ++wrong;
  }
  EXPECT_EQ(wrong, 0u) << "flows missing or with other counts, of " << expected.size();
  EXPECT_GT(expected.size(), 1000u);
  EXPECT_EQ(u64_at("totals", 0), capture_->frames.size());
  EXPECT_EQ(u64_at("totals", 1), not_ip);
}

TEST_F(XdpExamplesTest, RateLimiterDropsWhatASourceSendsBeyondItsWindow) {
  load("xdp_rate_limit");
  if (IsSkipped()) return;
  const auto start = std::chrono::steady_clock::now();
  const auto runs = run_capture();
  const auto took = std::chrono::steady_clock::now() - start;
  // The verdicts are a function of the counts only while the run fits in one window (1 s).
  if (took > std::chrono::milliseconds(900))
    GTEST_SKIP() << "the run took longer than the limiter's one-second window";
  constexpr uint64_t kLimit = 500;
  std::map<Bytes, uint64_t> sent;
  std::vector<uint32_t> expected;
  uint64_t dropped = 0;
  for (const auto& frame : capture_->frames) {
    const PacketView p = view(frame.bytes);
    const bool over = p.ip_version == 4 && ++sent[p.src] > kLimit;
    dropped += over;
    expected.push_back(over ? kDrop : kPass);
  }
  expect_verdicts(runs, expected);
  EXPECT_GT(dropped, 100u) << "the demo capture must have heavy sources";
  const auto sources = entries("sources");
  EXPECT_EQ(sources.size(), sent.size());
  for (const auto& [addr, count] : sent) {
    const auto it = sources.find(addr);
    ASSERT_NE(it, sources.end());
    EXPECT_EQ(le64(it->second, 8), count);
    EXPECT_EQ(le64(it->second, 16), count > kLimit ? count - kLimit : 0);
  }
}

// A reflected frame: the input with Ethernet and IP addresses, UDP ports swapped, TTL 64, an
// echo request made a reply, and every checksum valid again.
void expect_reflected(const Bytes& in, const Bytes& out, size_t i) {
  const PacketView a = view(in), b = view(out);
  ASSERT_EQ(out.size(), in.size()) << "frame " << i;
  EXPECT_TRUE(std::equal(in.begin(), in.begin() + 6, out.begin() + 6)) << "frame " << i;
  EXPECT_TRUE(std::equal(in.begin() + 6, in.begin() + 12, out.begin())) << "frame " << i;
  EXPECT_EQ(b.src, a.dst) << "frame " << i;
  EXPECT_EQ(b.dst, a.src) << "frame " << i;
  EXPECT_EQ(b.ttl, 64) << "frame " << i;
  EXPECT_TRUE(b.ip_header_ok && b.l4_checksum_ok) << "frame " << i;
  if (a.protocol == 17) {
    EXPECT_EQ(b.sport, a.dport) << "frame " << i;
    EXPECT_EQ(b.dport, a.sport) << "frame " << i;
  } else {
    EXPECT_EQ(b.icmp_type, 0) << "frame " << i;
  }
  EXPECT_TRUE(std::equal(in.begin() + a.l4_at + 8, in.end(), out.begin() + b.l4_at + 8))
      << "payload of frame " << i;
}

TEST_F(XdpExamplesTest, RewriterReflectsUdpAndEchoRequests) {
  load("xdp_rewriter");
  if (IsSkipped()) return;
  const auto runs = run_capture();
  std::vector<uint32_t> expected;
  for (size_t i = 0; i < runs.size(); ++i) {
    const Bytes& in = capture_->frames[i].bytes;
    const PacketView p = view(in);
    const bool reflect = p.ip_version == 4 && (p.frag & 0x3fff) == 0 &&
                         (p.protocol == 17 || (p.protocol == 1 && p.icmp_type == 8));
    expected.push_back(reflect ? kTx : kPass);
    if (reflect && runs[i].verdict == kTx) expect_reflected(in, runs[i].out, i);
    if (!reflect) {
      EXPECT_EQ(runs[i].out, in) << "frame " << i << " passes unchanged";
    }
    if (HasFailure()) break;
  }
  expect_verdicts(runs, expected);
  EXPECT_GT(u64_at("totals", 0), 1000u) << "UDP";
  EXPECT_GT(u64_at("totals", 1), 100u) << "ICMP echo";
}

// An encapsulated frame: the next hop's MAC, the outer header (192.168.100.1 -> 192.168.200.1,
// protocol 4, a valid checksum), then the input's IP packet unchanged.
void expect_encapsulated(const Bytes& in, const Bytes& out, size_t i) {
  ASSERT_EQ(out.size(), in.size() + 20) << "frame " << i;
  const Bytes next_hop = {0x02, 0, 0, 0, 0xc8, 0x01};
  EXPECT_TRUE(std::equal(next_hop.begin(), next_hop.end(), out.begin())) << "frame " << i;
  EXPECT_TRUE(std::equal(in.begin(), in.begin() + 6, out.begin() + 6)) << "frame " << i;
  const PacketView inner = view(in), outer = view(out);
  EXPECT_EQ(outer.ip_version, 4) << "frame " << i;
  EXPECT_EQ(outer.protocol, 4) << "frame " << i;
  EXPECT_TRUE(outer.ip_header_ok) << "frame " << i;
  EXPECT_EQ(outer.src, (Bytes{192, 168, 100, 1})) << "frame " << i;
  EXPECT_EQ(outer.dst, (Bytes{192, 168, 200, 1})) << "frame " << i;
  EXPECT_EQ(outer.ip_end - outer.ip_at, inner.ip_end - inner.ip_at + 20) << "frame " << i;
  EXPECT_TRUE(std::equal(in.begin() + 14, in.end(), out.begin() + 34)) << "frame " << i;
}

TEST_F(XdpExamplesTest, IpipEncapsulatesTrafficToTheTunnelledNetwork) {
  load("xdp_ipip");
  if (IsSkipped()) return;
  const auto runs = run_capture();
  std::vector<uint32_t> expected;
  for (size_t i = 0; i < runs.size(); ++i) {
    const Bytes& in = capture_->frames[i].bytes;
    const PacketView p = view(in);
    const bool encapsulate = p.ip_version == 4 && p.vlans.empty() &&
                             pollen::test::in_prefix(p.dst, {10, 0, 1, 0}, 24) &&
                             p.ip_end - p.ip_at + 20 <= 1500;
    expected.push_back(encapsulate ? kTx : kPass);
    if (encapsulate && runs[i].verdict == kTx) expect_encapsulated(in, runs[i].out, i);
    if (!encapsulate) {
      EXPECT_EQ(runs[i].out, in) << "frame " << i << " passes unchanged";
    }
    if (HasFailure()) break;
  }
  expect_verdicts(runs, expected);
  EXPECT_GT(u64_at("totals", 0), 1000u);
}

}  // namespace

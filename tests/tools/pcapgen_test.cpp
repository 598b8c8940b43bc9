// SPDX-License-Identifier: MIT
// pollen-pcapgen end to end: each case runs the binary in a fresh directory, reads the capture
// back with libpcap and checks it with the tests' own parser (packet_view.hpp): packet
// count, link type, the same bytes for the same seed, valid IPv4 header and TCP, UDP, ICMP and
// ICMPv6 checksums, increasing timestamps, the traffic mix the XDP examples rely on, exact
// sizes with --fixed-size, and exit code 2 with one line on stderr for bad options.
#include <pcap/pcap.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "packet_view.hpp"

namespace {

namespace fs = std::filesystem;
using pollen::test::Capture;
using pollen::test::Frame;
using pollen::test::read_capture;
using pollen::test::view;

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class PcapgenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("pollen_pcapgen_" + std::string(info->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path path(const std::string& name) const { return dir_ / name; }

  RunResult run(const std::vector<std::string>& args) const {
    std::string command = "'" POLLEN_PCAPGEN "'";
    for (const std::string& arg : args) command += " '" + arg + "'";
    command += " >'" + path("stdout").string() + "' 2>'" + path("stderr").string() + "'";
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(path("stdout")),
            slurp(path("stderr"))};
  }

  // Generates `packets` packets into `name` and reads them back.
  Capture generate(const std::string& name, uint64_t packets, uint64_t seed,
                   std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--packets", std::to_string(packets),
                                     "--seed",    std::to_string(seed),
                                     "--out",     path(name).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult result = run(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    Capture capture = read_capture(path(name).string());
    EXPECT_TRUE(capture.error.empty()) << capture.error;
    return capture;
  }

  fs::path dir_;
};

// --- Cases ----------------------------------------------------------------------------------

TEST_F(PcapgenTest, WritesTheRequestedNumberOfEthernetFrames) {
  const Capture capture = generate("a.pcap", 1234, 1);
  EXPECT_EQ(capture.link_type, DLT_EN10MB);
  EXPECT_EQ(capture.frames.size(), 1234u);
}

TEST_F(PcapgenTest, DefaultsToTenThousandPackets) {
  ASSERT_EQ(run({"--out", path("d.pcap").string()}).exit_code, 0);
  EXPECT_EQ(read_capture(path("d.pcap").string()).frames.size(), 10000u);
}

TEST_F(PcapgenTest, SameSeedGivesTheSameBytesAndAnotherSeedDoesNot) {
  generate("a.pcap", 2000, 42);
  generate("b.pcap", 2000, 42);
  generate("c.pcap", 2000, 43);
  const std::string a = slurp(path("a.pcap"));
  EXPECT_GT(a.size(), 2000u * 60);
  EXPECT_EQ(a, slurp(path("b.pcap")));
  EXPECT_NE(a, slurp(path("c.pcap")));
}

TEST_F(PcapgenTest, EveryChecksumIsValid) {
  const Capture capture = generate("a.pcap", 5000, 3);
  size_t ip_packets = 0;
  for (size_t i = 0; i < capture.frames.size(); ++i) {
    const Frame& frame = capture.frames[i];
    const auto p = view(frame.bytes);
    if (p.ether_type != 0x0800 && p.ether_type != 0x86dd) continue;
    ++ip_packets;
    EXPECT_NE(p.ip_version, 0) << "packet " << i << " is truncated";
    EXPECT_TRUE(p.ip_header_ok) << "IPv4 header checksum of packet " << i;
    EXPECT_TRUE(p.l4_checksum_ok) << "protocol " << int{p.protocol} << " checksum of packet " << i;
    EXPECT_LE(p.ip_end, frame.bytes.size()) << "IP length of packet " << i;
    if (p.protocol == 17) {
      EXPECT_EQ(p.udp_length, p.l4_len) << "UDP length of packet " << i;
      EXPECT_NE(p.udp_check, 0) << "every UDP datagram carries a checksum: packet " << i;
    }
    // Only frames padded to Ethernet's 60-byte minimum have bytes after the IP packet.
    if (frame.bytes.size() > 60) {
      EXPECT_EQ(p.ip_end, frame.bytes.size()) << "packet " << i;
    }
  }
  EXPECT_GT(ip_packets, 4800u);
}

TEST_F(PcapgenTest, TimestampsIncreaseAndFramesAreWhole) {
  const Capture capture = generate("a.pcap", 3000, 5);
  ASSERT_FALSE(capture.frames.empty());
  for (size_t i = 0; i < capture.frames.size(); ++i) {
    const Frame& frame = capture.frames[i];
    EXPECT_EQ(frame.wire_len, frame.bytes.size());
    EXPECT_GE(frame.bytes.size(), 60u);
    EXPECT_LE(frame.bytes.size(), 1514u + 8);  // a 1500-byte packet behind two VLAN tags
    if (i > 0) {
      EXPECT_GT(frame.time_us, capture.frames[i - 1].time_us) << "packet " << i;
    }
  }
}

TEST_F(PcapgenTest, MixHasWhatTheXdpExamplesShow) {
  const Capture capture = generate("a.pcap", 20000, 1);
  std::map<std::string, size_t> seen;
  std::map<std::vector<uint8_t>, size_t> per_source;
  size_t small = 0, large = 0;
  for (const Frame& frame : capture.frames) {
    const auto p = view(frame.bytes);
    small += frame.bytes.size() <= 100;
    large += frame.bytes.size() >= 1400;
    if (!p.vlans.empty()) ++seen["vlan"];
    if (p.vlans.size() == 2) ++seen["qinq"];
    if (p.ether_type == 0x0806) ++seen["arp"];
    if (p.ip_version == 4) ++seen["ipv4"];
    if (p.ip_version == 6) ++seen["ipv6"];
    if (p.protocol == 6 && p.tcp_flags == 0x02) ++seen["tcp syn"];
    if (p.protocol == 6 && p.tcp_flags == 0x12) ++seen["tcp syn-ack"];
    if (p.protocol == 6 && (p.tcp_flags & 0x01)) ++seen["tcp fin"];
    if (p.protocol == 17 && p.dport == 53) ++seen["dns"];
    if (p.protocol == 17 && p.dport == 443) ++seen["quic"];
    if (p.protocol == 1) ++seen["icmp"];
    if (p.protocol == 58) ++seen["icmpv6"];
    if (p.ip_version != 0 && pollen::test::from_blocked_prefix(p)) ++seen["blocked"];
    if (p.ip_version != 0) ++per_source[p.src];
  }
  for (const char* kind : {"vlan", "qinq", "arp", "ipv4", "ipv6", "tcp syn", "tcp syn-ack",
                           "tcp fin", "dns", "quic", "icmp", "icmpv6", "blocked"})
    EXPECT_GT(seen[kind], 20u) << kind;
  EXPECT_GT(seen["ipv4"], seen["ipv6"]);
  EXPECT_LT(seen["blocked"], capture.frames.size() / 10);  // a handful of sources
  EXPECT_GT(small, 1000u);
  EXPECT_GT(large, 1000u);
  // Zipf-like skew: the heaviest source sends far more than a typical one.
  std::vector<size_t> counts;
  for (const auto& [source, n] : per_source) counts.push_back(n);
  std::sort(counts.rbegin(), counts.rend());
  ASSERT_GT(counts.size(), 100u);
  EXPECT_GT(counts[0], 20 * counts[counts.size() / 2]);
}

TEST_F(PcapgenTest, FixedSizeMakesEveryFrameThatLong) {
  for (const uint32_t size : {64u, 128u, 1514u}) {
    const std::string name = "fixed" + std::to_string(size) + ".pcap";
    const Capture capture = generate(name, 2000, 9, {"--fixed-size", std::to_string(size)});
    ASSERT_EQ(capture.frames.size(), 2000u);
    size_t ipv6 = 0;
    for (const Frame& frame : capture.frames) {
      ASSERT_EQ(frame.bytes.size(), size);
      const auto p = view(frame.bytes);
      ipv6 += p.ip_version == 6;
      if (p.ether_type != 0x0800 && p.ether_type != 0x86dd) continue;
      EXPECT_NE(p.ip_version, 0) << "truncated";
      EXPECT_TRUE(p.ip_header_ok);
      EXPECT_TRUE(p.l4_checksum_ok);
      EXPECT_EQ(p.ip_end, size) << "the IP packet fills the frame";
    }
    EXPECT_GT(ipv6, 0u) << size;
  }
}

struct BadOptions {
  const char* name;
  std::vector<std::string> args;
};

TEST_F(PcapgenTest, BadOptionsExitTwoWithOneLine) {
  const std::string out = path("x.pcap").string();
  const BadOptions cases[] = {
      {"no --out", {"--packets", "10"}},
      {"zero packets", {"--packets", "0", "--out", out}},
      {"packets not a number", {"--packets", "ten", "--out", out}},
      {"seed not a number", {"--seed", "x", "--out", out}},
      {"fixed size below 64", {"--fixed-size", "63", "--out", out}},
      {"fixed size above 1514", {"--fixed-size", "1515", "--out", out}},
      {"unknown option", {"--bogus", "--out", out}},
      {"stray argument", {"extra", "--out", out}},
  };
  for (const BadOptions& c : cases) {
    const RunResult result = run(c.args);
    EXPECT_EQ(result.exit_code, 2) << c.name;
    EXPECT_EQ(result.err.rfind("pollen-pcapgen: ", 0), 0u) << c.name << ": " << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << c.name;
    EXPECT_TRUE(result.out.empty()) << c.name;
    EXPECT_FALSE(fs::exists(out)) << c.name;
  }
}

TEST_F(PcapgenTest, UnwritableOutputExitsOne) {
  const RunResult result = run({"--packets", "5", "--out", path("no/such/dir/x.pcap").string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("no/such/dir/x.pcap"), std::string::npos) << result.err;
}

TEST_F(PcapgenTest, HelpNamesEveryOption) {
  const RunResult result = run({"--help"});
  EXPECT_EQ(result.exit_code, 0);
  for (const char* option : {"--packets", "--seed", "--out", "--fixed-size"})
    EXPECT_NE(result.out.find(option), std::string::npos) << option;
}

}  // namespace

// SPDX-License-Identifier: MIT
// `pollen run` end to end. The capture cases write their own small pcap files with libpcap, run
// the test programs of bpf/run_programs.bpf.c over them, and check the per-verdict counts, the
// --out file record by record (bytes, lengths, timestamps), --json, maps, and that every bad
// input is exit 2 with one line on stderr and nothing on stdout. The live cases build a veth
// pair between two fresh network namespaces, run `pollen run --iface` on one end with a program
// that reflects frames (XDP_TX after swapping the Ethernet addresses), send frames from the
// other end through an AF_PACKET socket and check that they come back rewritten and counted.
// They skip (never pass) without root, the `ip` command, or namespaces and veth.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pollen_process.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using pollen::test::finish_pollen;
using pollen::test::Output;
using pollen::test::read_whole;
using pollen::test::start_pollen;
using Json = nlohmann::json;
using Bytes = std::vector<uint8_t>;
using Clock = std::chrono::steady_clock;

const fs::path kPrograms = POLLEN_RUN_PROGRAMS;  // "" without a BPF clang
const fs::path kUnchecked = POLLEN_RUN_UNCHECKED;

// ---- frames and capture files ---------------------------------------------------------------

const Bytes kMacA = {0x02, 0, 0, 0, 0, 0x0a};
const Bytes kMacB = {0x02, 0, 0, 0, 0, 0x0b};
constexpr uint16_t kEtherIpv4 = 0x0800, kEtherArp = 0x0806, kEtherTest = 0x88b5;

// An Ethernet frame of `size` bytes: dst, src, EtherType, then `payload` and zero padding.
Bytes frame(uint16_t ether_type, const Bytes& payload, size_t size = 60, const Bytes& dst = kMacA,
            const Bytes& src = kMacB) {
  Bytes f = dst;
  f.insert(f.end(), src.begin(), src.end());
  f.push_back(static_cast<uint8_t>(ether_type >> 8));
  f.push_back(static_cast<uint8_t>(ether_type));
  f.insert(f.end(), payload.begin(), payload.end());
  f.resize(std::max(size, f.size()), 0);
  return f;
}

// An IPv4 packet (20-byte header, no options) of protocol `proto` in a frame of `size` bytes.
Bytes ipv4(uint8_t proto, size_t size = 60, uint8_t tag = 0) {
  Bytes header = {0x45, 0, 0, 46, 0, tag, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
  return frame(kEtherIpv4, header, size);
}

constexpr uint8_t kTcp = 6, kUdp = 17;

struct Record {
  Bytes bytes;
  uint32_t wire_length = 0;  // 0: bytes.size()
  int64_t seconds = 1'700'000'000;
  uint32_t fraction = 0;  // micro- or nanoseconds
};

void write_pcap(const fs::path& path, const std::vector<Record>& records,
                int link_type = DLT_EN10MB, bool nano = false) {
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(
      link_type, 65535, nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
  ASSERT_NE(dead, nullptr);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(dumper, nullptr) << pcap_geterr(dead);
  for (const Record& r : records) {
    pcap_pkthdr h{};
    h.ts.tv_sec = r.seconds;
    h.ts.tv_usec = r.fraction;
    h.caplen = static_cast<bpf_u_int32>(r.bytes.size());
    h.len = r.wire_length ? r.wire_length : h.caplen;
    pcap_dump(reinterpret_cast<u_char*>(dumper), &h, r.bytes.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
}

std::vector<Record> read_pcap(const fs::path& path, bool nano = false) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline_with_tstamp_precision(
      path.c_str(), nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  EXPECT_NE(p, nullptr) << errbuf;
  std::vector<Record> out;
  if (!p) return out;
  EXPECT_EQ(pcap_datalink(p), DLT_EN10MB);
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(p, &h, &data) == 1)
    out.push_back({Bytes(data, data + h->caplen), h->len, h->ts.tv_sec,
                   static_cast<uint32_t>(h->ts.tv_usec)});
  pcap_close(p);
  return out;
}

// ---- running the binary -------------------------------------------------------------------

class Workspace : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "pollen-run-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  Output run(const std::vector<std::string>& args) {
    return finish_pollen(dir_, start_pollen(dir_, args));
  }

  // `pollen run --json`, which must succeed.
  Json run_json(std::vector<std::string> args) {
    args.insert(args.begin(), "run");
    args.push_back("--json");
    Output r = run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    Json j = Json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  // A failure: exit `code`, nothing on stdout, exactly one line on stderr matching `pattern`.
  void expect_error(const std::vector<std::string>& args, int code, const std::string& pattern) {
    Output r = run(args);
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(std::regex_search(r.err, std::regex(pattern))) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }

  fs::path dir_;
};

class RunCapture : public Workspace {
 protected:
  void SetUp() override {
    if (kPrograms.empty() || !fs::exists(kPrograms))
      GTEST_SKIP() << "the test programs were not built (no clang with the BPF target)";
    Workspace::SetUp();
  }
  const std::string obj_ = kPrograms.string();
};

Json counts(uint64_t packets, uint64_t bytes) {
  return {{"packets", packets}, {"bytes", bytes}};
}

// ---- capture files ------------------------------------------------------------------------

class RunCaptureEngine : public RunCapture, public testing::WithParamInterface<const char*> {};

TEST_P(RunCaptureEngine, DropsUdpAndWritesTheOtherPacketsWithTheirTimestamps) {
  // UDP 60, TCP 70, UDP 80, ARP 60, UDP 100, TCP 64: 3 dropped (240 bytes), 3 passed (194).
  std::vector<Record> in = {{ipv4(kUdp, 60)},  {ipv4(kTcp, 70, 1)},
                            {ipv4(kUdp, 80)},  {frame(kEtherArp, {0, 1, 8, 0}, 60)},
                            {ipv4(kUdp, 100)}, {ipv4(kTcp, 64, 2)}};
  for (size_t i = 0; i < in.size(); ++i) in[i].fraction = static_cast<uint32_t>(1000 * i + 7);
  write_pcap(dir_ / "in.pcap", in);
  Json j = run_json({obj_, "--pcap", "in.pcap", "--program", "xdp_drop_udp", "--out", "out.pcap",
                     "--engine", GetParam()});
  EXPECT_EQ(j["program"], "xdp_drop_udp");
  EXPECT_EQ(j["engine"], GetParam());
  EXPECT_EQ(j["input"], Json({{"pcap", "in.pcap"}}));
  EXPECT_EQ(j["packets"], 6);
  EXPECT_EQ(j["bytes"], 434);
  EXPECT_EQ(j["verdicts"], Json({{"aborted", counts(0, 0)},
                                 {"drop", counts(3, 240)},
                                 {"pass", counts(3, 194)},
                                 {"tx", counts(0, 0)},
                                 {"redirect", counts(0, 0)}}));
  EXPECT_EQ(j["skipped"]["too_long"], counts(0, 0));
  EXPECT_EQ(j["skipped"]["too_short"], counts(0, 0));
  EXPECT_EQ(j["out"], Json({{"path", "out.pcap"}, {"packets", 3}}));
  EXPECT_EQ(j["interrupted"], false);
  EXPECT_FALSE(j.contains("maps"));  // only with --dump-maps
  EXPECT_FALSE(j.contains("sent"));  // live runs only
  for (const char* part : {"run", "loop"}) {
    const Json& t = j["time"][part];
    EXPECT_GT(t["ns"].get<double>(), 0) << part;
    EXPECT_GT(t["packets_per_second"].get<double>(), 0) << part;
    EXPECT_GT(t["mbit_per_second"].get<double>(), 0) << part;
    EXPECT_GT(t["ns_per_packet"].get<double>(), 0) << part;
  }
  EXPECT_LE(j["time"]["run"]["ns"].get<double>(), j["time"]["loop"]["ns"].get<double>());

  const std::vector<Record> out = read_pcap(dir_ / "out.pcap");
  ASSERT_EQ(out.size(), 3u);
  for (auto [o, i] : {std::pair{0, 1}, {1, 3}, {2, 5}}) {
    EXPECT_EQ(out[o].bytes, in[i].bytes) << "record " << o;
    EXPECT_EQ(out[o].wire_length, in[i].bytes.size()) << "record " << o;
    EXPECT_EQ(out[o].seconds, in[i].seconds) << "record " << o;
    EXPECT_EQ(out[o].fraction, in[i].fraction) << "record " << o;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, RunCaptureEngine, testing::Values("interp", "jit"));

TEST_F(RunCapture, CountsEveryVerdictAndTreatsAnUnknownOneAsAborted) {
  // The byte after the Ethernet header is the verdict: 7 is no XDP action (Linux: aborted).
  std::vector<Record> in;
  for (uint8_t v : {0, 1, 2, 3, 4, 7, 2}) in.push_back({frame(kEtherTest, {v, 9}, 60 + v)});
  write_pcap(dir_ / "in.pcap", in);
  Json j = run_json({obj_, "--pcap", "in.pcap", "--program", "xdp_verdict", "--out", "out.pcap"});
  EXPECT_EQ(j["verdicts"], Json({{"aborted", counts(2, 60 + 67)},
                                 {"drop", counts(1, 61)},
                                 {"pass", counts(2, 62 + 62)},
                                 {"tx", counts(1, 63)},
                                 {"redirect", counts(1, 64)}}));
  const std::vector<Record> out = read_pcap(dir_ / "out.pcap");
  ASSERT_EQ(out.size(), 3u);  // PASS, TX, PASS
  EXPECT_EQ(out[0].bytes, in[2].bytes);
  EXPECT_EQ(out[1].bytes, in[3].bytes);
  EXPECT_EQ(out[2].bytes, in[6].bytes);
}

TEST_F(RunCapture, WritesTxPacketsAsTheProgramRewroteThem) {
  write_pcap(dir_ / "in.pcap", {{frame(kEtherTest, {1, 2, 3})}, {ipv4(kUdp)}});
  Json j = run_json({obj_, "--pcap", "in.pcap", "--program", "xdp_reflect", "--out", "out.pcap"});
  EXPECT_EQ(j["verdicts"]["tx"], counts(1, 60));
  EXPECT_EQ(j["verdicts"]["drop"], counts(1, 60));
  const std::vector<Record> out = read_pcap(dir_ / "out.pcap");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes, frame(kEtherTest, {1, 2, 3}, 60, kMacB, kMacA));
}

TEST_F(RunCapture, TextSummaryHasEveryVerdictAndTheThroughput) {
  write_pcap(dir_ / "in.pcap", {{ipv4(kUdp)}, {ipv4(kTcp)}});
  Output r = run({"run", obj_, "--pcap", "in.pcap", "--program", "xdp_drop_udp"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(std::regex_search(
      r.out,
      std::regex(R"(^program xdp_drop_udp \((jit|interp)\) on in\.pcap: 2 packets, 120 bytes\n)")))
      << r.out;
  for (const char* line :
       {R"(\n  aborted +0 packets +0 bytes\n)", R"(\n  drop +1 packets +60 bytes\n)",
        R"(\n  pass +1 packets +60 bytes\n)", R"(\n  tx +0 packets +0 bytes\n)",
        R"(\n  redirect +0 packets +0 bytes\n)",
        R"(\nprogram runs: [0-9.]+ ms, [0-9.]+ ns/packet, [0-9]+ packets/s, [0-9.]+ Mbit/s\n)",
        R"(\nwhole loop: +[0-9.]+ ms, [0-9.]+ ns/packet, [0-9]+ packets/s, [0-9.]+ Mbit/s\n)"})
    EXPECT_TRUE(std::regex_search(r.out, std::regex(line))) << line << "\n" << r.out;
}

TEST_F(RunCapture, MapsInFillsMapsAndDumpMapsShowsThemAfterTheRun) {
  write_pcap(dir_ / "in.pcap", {{ipv4(kUdp)}, {ipv4(kUdp)}, {ipv4(kTcp)}});
  // seen[0] (UDP) starts at 100: 0x64 little-endian.
  std::ofstream(dir_ / "maps.json")
      << R"({"seen": {"entries": [{"key": "00000000", "value": "6400000000000000"}]}})";
  Json j = run_json({obj_, "--pcap", "in.pcap", "--program", "xdp_drop_udp", "--maps-in",
                     "maps.json", "--dump-maps"});
  ASSERT_TRUE(j.contains("maps"));
  EXPECT_EQ(j["maps"]["seen"], Json::parse(R"({"type": "array", "entries": [
                {"key": "00000000", "value": "6600000000000000"},
                {"key": "01000000", "value": "0100000000000000"}]})"));
  // The text form prints each map on a line of its own.
  Output r = run({"run", obj_, "--pcap", "in.pcap", "--program", "xdp_drop_udp", "--dump-maps"});
  EXPECT_NE(r.out.find("\nmap seen: {\"type\":\"array\""), std::string::npos) << r.out;
}

TEST_F(RunCapture, SkipsAndCountsPacketsOneFrameCannotHold) {
  // 4000 bytes is beyond one frame's 3520 (4096 less headroom and tailroom); 10 bytes is less
  // than an Ethernet header. Both are counted, and the packets around them still run.
  write_pcap(dir_ / "in.pcap", {{ipv4(kTcp)}, {ipv4(kTcp, 4000)}, {Bytes(10, 0xee)}, {ipv4(kUdp)}});
  Json j = run_json({obj_, "--pcap", "in.pcap", "--program", "xdp_drop_udp", "--out", "out.pcap"});
  EXPECT_EQ(j["packets"], 4);
  EXPECT_EQ(j["skipped"]["too_long"], counts(1, 4000));
  EXPECT_EQ(j["skipped"]["too_short"], counts(1, 10));
  EXPECT_EQ(j["verdicts"]["pass"], counts(1, 60));
  EXPECT_EQ(j["verdicts"]["drop"], counts(1, 60));
  EXPECT_EQ(read_pcap(dir_ / "out.pcap").size(), 1u);
  Output r = run({"run", obj_, "--pcap", "in.pcap", "--program", "xdp_drop_udp"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("skipped 1 packets too long for one frame (a packet of 4000 bytes"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("skipped 1 packets shorter than an Ethernet header"), std::string::npos)
      << r.out;
}

TEST_F(RunCapture, RunsOnTheCapturedBytesOfAShortSnapshot) {
  // caplen 60 of a 1500-byte packet: the program sees 60 bytes, --out keeps the wire length.
  write_pcap(dir_ / "in.pcap", {{ipv4(kTcp), 1500}});
  Json j = run_json({obj_, "--pcap", "in.pcap", "--program", "xdp_drop_udp", "--out", "out.pcap"});
  EXPECT_EQ(j["verdicts"]["pass"], counts(1, 60));
  const std::vector<Record> out = read_pcap(dir_ / "out.pcap");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes.size(), 60u);
  EXPECT_EQ(out[0].wire_length, 1500u);
}

TEST_F(RunCapture, KeepsNanosecondTimestamps) {
  write_pcap(dir_ / "in.pcap", {{ipv4(kTcp), 0, 1'700'000'001, 123'456'789}}, DLT_EN10MB, true);
  run_json({obj_, "--pcap", "in.pcap", "--program", "xdp_drop_udp", "--out", "out.pcap"});
  const std::vector<Record> out = read_pcap(dir_ / "out.pcap", true);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seconds, 1'700'000'001);
  EXPECT_EQ(out[0].fraction, 123'456'789u);
}

TEST_F(RunCapture, CountStopsAfterNPackets) {
  write_pcap(dir_ / "in.pcap", {{ipv4(kUdp)}, {ipv4(kTcp)}, {ipv4(kUdp)}, {ipv4(kUdp)}});
  Json j = run_json({obj_, "--pcap", "in.pcap", "--program", "xdp_drop_udp", "--count", "2"});
  EXPECT_EQ(j["packets"], 2);
  EXPECT_EQ(j["verdicts"]["drop"], counts(1, 60));
  EXPECT_EQ(j["verdicts"]["pass"], counts(1, 60));
}

TEST_F(RunCapture, PicksTheOnlyXdpProgramOrAsksForOne) {
  // Three XDP programs: --program is needed.
  write_pcap(dir_ / "in.pcap", {{ipv4(kUdp)}});
  expect_error({"run", obj_, "--pcap", "in.pcap"}, 2,
               R"(^pollen run: .*run_programs\.o: the object has 4 programs, 3 of them XDP; )"
               R"(choose one with --program\n$)");
  expect_error({"run", obj_, "--pcap", "in.pcap", "--program", "nope"}, 2,
               R"(^pollen run: .*: no program named 'nope'\n$)");
}

// ---- bad input: exit 2, one line ------------------------------------------------------------

TEST_F(RunCapture, RefusesAFileThatIsNotACapture) {
  std::ofstream(dir_ / "bad.pcap") << "this is not a capture file at all";
  expect_error({"run", obj_, "--pcap", "bad.pcap", "--program", "xdp_drop_udp"}, 2,
               R"(^pollen run: bad\.pcap: not a readable capture file \(.*\)\n$)");
}

TEST_F(RunCapture, RefusesAMissingCapture) {
  expect_error({"run", obj_, "--pcap", "missing.pcap", "--program", "xdp_drop_udp"}, 2,
               R"(^pollen run: missing\.pcap: cannot open \(No such file or directory\)\n$)");
}

TEST_F(RunCapture, ReportsAnOutFileThatCannotBeCreated) {
  write_pcap(dir_ / "in.pcap", {{ipv4(kUdp)}});
  expect_error(
      {"run", obj_, "--pcap", "in.pcap", "--program", "xdp_drop_udp", "--out",
       "no/such/dir/out.pcap"},
      2, R"(^pollen run: no/such/dir/out\.pcap: cannot create \(No such file or directory\)\n$)");
}

TEST_F(RunCapture, ReportsAFileCutInTheMiddleOfARecord) {
  write_pcap(dir_ / "in.pcap", {{ipv4(kUdp)}, {ipv4(kTcp)}, {ipv4(kUdp)}});
  const auto size = fs::file_size(dir_ / "in.pcap");  // 24 + 3 * (16 + 60)
  ASSERT_EQ(size, 24u + 3 * 76);
  fs::copy_file(dir_ / "in.pcap", dir_ / "cut_data.pcap");
  fs::resize_file(dir_ / "cut_data.pcap", size - 20);  // inside the third packet's bytes
  expect_error(
      {"run", obj_, "--pcap", "cut_data.pcap", "--program", "xdp_drop_udp", "--out", "out.pcap"}, 2,
      R"(^pollen run: cut_data\.pcap: packet 3: truncated dump file.*\n$)");
  fs::copy_file(dir_ / "in.pcap", dir_ / "cut_header.pcap");
  fs::resize_file(dir_ / "cut_header.pcap", 24 + 2 * 76 + 5);  // inside its record header
  expect_error({"run", obj_, "--pcap", "cut_header.pcap", "--program", "xdp_drop_udp"}, 2,
               R"(^pollen run: cut_header\.pcap: packet 3: truncated dump file.*\n$)");
}

TEST_F(RunCapture, RefusesALinkTypeOtherThanEthernet) {
  write_pcap(dir_ / "raw.pcap", {{Bytes(40, 0x45)}}, DLT_RAW);
  expect_error({"run", obj_, "--pcap", "raw.pcap", "--program", "xdp_drop_udp"}, 2,
               R"(^pollen run: raw\.pcap: link type RAW \(\d+\) is not Ethernet \(EN10MB\))");
}

TEST_F(RunCapture, RefusesAProgramThatIsNotXdp) {
  write_pcap(dir_ / "in.pcap", {{ipv4(kUdp)}});
  expect_error({"run", obj_, "--pcap", "in.pcap", "--program", "not_xdp"}, 2,
               R"(^pollen run: .*'not_xdp' is of type 'syscall', not an XDP program\n$)");
}

TEST_F(RunCapture, ARejectedProgramOrAFaultExitsOne) {
  write_pcap(dir_ / "in.pcap", {{ipv4(kUdp)}, {ipv4(kTcp)}});
  const std::string unchecked = kUnchecked.string();
  expect_error({"run", unchecked, "--pcap", "in.pcap"}, 1,
               R"(^pollen run: .*'xdp_unchecked' was rejected by the verifier: )"
               R"(.*invalid access to packet.*\n$)");
  // Run anyway, in checked mode: the first packet's run faults, and the run stops there.
  expect_error({"run", unchecked, "--pcap", "in.pcap", "--unsafe-no-verify"}, 1,
               R"(^pollen run: in\.pcap: packet 1: insn \d+: .*\n$)");
}

TEST_F(RunCapture, RefusesAnObjectThatIsNotElf) {
  std::ofstream(dir_ / "prog.o") << "not an ELF object";
  write_pcap(dir_ / "in.pcap", {{ipv4(kUdp)}});
  expect_error({"run", "prog.o", "--pcap", "in.pcap"}, 2, R"(^pollen run: prog\.o: )");
}

TEST_F(Workspace, NeedsExactlyOneSource) {
  expect_error({"run", "prog.o"}, 2, R"(^pollen run: one of --pcap or --iface is required\n$)");
  expect_error({"run", "prog.o", "--pcap", "a.pcap", "--iface", "lo"}, 2,
               R"(^pollen run: .*--pcap excludes --iface)");
  expect_error({"run", "prog.o", "--iface", "lo", "--out", "o.pcap"}, 2,
               R"(^pollen run: --out requires --pcap)");
}

TEST_F(Workspace, HelpSaysWhatHappensToEachVerdict) {
  Output r = run({"run", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* text :
       {"--pcap", "--iface", "--out", "--count", "--duration", "--dump-maps", "--maps-in", "--json",
        "--engine", "user space cannot hand a frame to the kernel's network stack"})
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
}

// ---- a live interface: a veth pair between two network namespaces ---------------------------

int sh(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

// Two namespaces joined by two veth pairs, "a" holding one end of each (if_a, if_c) and "b" the
// other (if_b, if_d); IPv6 is off in both, so that no router solicitation or DAD frame adds to
// the counts. Removed on destruction, which removes the veth pairs with them.
class VethPair {
 public:
  VethPair() {
    const std::string id = std::to_string(getpid());
    ns_a = "pollen-run-a-" + id, ns_b = "pollen-run-b-" + id;
    if_a = "pra" + id, if_b = "prb" + id, if_c = "prc" + id, if_d = "prd" + id;
  }
  // Empty when it worked; otherwise why not.
  std::string create() {
    if (geteuid() != 0) return "not root";
    if (sh("ip -V") != 0) return "no `ip` command (iproute2)";
    for (const std::string& command : {"ip netns add " + ns_a, "ip netns add " + ns_b,
                                       "ip netns exec " + ns_a +
                                           " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                                           "net.ipv6.conf.default.disable_ipv6=1",
                                       "ip netns exec " + ns_b +
                                           " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                                           "net.ipv6.conf.default.disable_ipv6=1",
                                       "ip link add " + if_a + " netns " + ns_a +
                                           " type veth peer name " + if_b + " netns " + ns_b,
                                       "ip link add " + if_c + " netns " + ns_a +
                                           " type veth peer name " + if_d + " netns " + ns_b,
                                       "ip -n " + ns_a + " link set " + if_a + " up",
                                       "ip -n " + ns_b + " link set " + if_b + " up",
                                       "ip -n " + ns_a + " link set " + if_c + " up",
                                       "ip -n " + ns_b + " link set " + if_d + " up"})
      if (sh(command) != 0)
        return "cannot set up network namespaces and veth: `" + command + "` failed";
    return {};
  }
  ~VethPair() {
    sh("ip netns del " + ns_a);
    sh("ip netns del " + ns_b);
  }
  int netns_fd(const std::string& ns) const { return open(("/run/netns/" + ns).c_str(), O_RDONLY); }

  std::string ns_a, ns_b, if_a, if_b, if_c, if_d;
};

// Runs `f` in network namespace `ns_fd` and comes back: a socket stays in the namespace it was
// created in, an ifindex means something only in its namespace.
template <class F>
auto in_netns(int ns_fd, F f) -> decltype(f()) {
  int self = open("/proc/self/ns/net", O_RDONLY);
  if (self < 0 || setns(ns_fd, CLONE_NEWNET) != 0) std::abort();
  auto result = f();
  if (setns(self, CLONE_NEWNET) != 0) std::abort();  // the test process must get back
  close(self);
  return result;
}

// An AF_PACKET socket on interface `iface` of network namespace `ns_fd`.
int packet_socket_in(int ns_fd, const std::string& iface) {
  return in_netns(ns_fd, [&] {
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    const int one = 1;
    if (fd >= 0 && (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
                    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0)) {
      close(fd);
      fd = -1;
    }
    return fd;
  });
}

std::optional<Bytes> receive(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  Bytes buffer(2048);
  ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
  if (n < 0) return std::nullopt;
  buffer.resize(static_cast<size_t>(n));
  return buffer;
}

// A frame and the VLAN tag the kernel took out of it (PACKET_AUXDATA), if any.
struct TaggedFrame {
  Bytes bytes;
  std::optional<uint16_t> vlan_tci;
};

std::optional<TaggedFrame> receive_tagged(int fd, std::chrono::milliseconds timeout) {
  const int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) != 0) return std::nullopt;
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  TaggedFrame out;
  out.bytes.resize(2048);
  iovec data{out.bytes.data(), out.bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n = recvmsg(fd, &message, 0);
  if (n < 0) return std::nullopt;
  out.bytes.resize(static_cast<size_t>(n));
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
    tpacket_auxdata aux{};
    std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
    if (c->cmsg_type == PACKET_AUXDATA && (aux.tp_status & TP_STATUS_VLAN_VALID))
      out.vlan_tci = aux.tp_vlan_tci;
  }
  return out;
}

class RunLive : public RunCapture {
 protected:
  void SetUp() override {
    RunCapture::SetUp();
    if (IsSkipped()) return;
    if (std::string why = veth_.create(); !why.empty()) GTEST_SKIP() << "live run: " << why;
    ns_a_ = veth_.netns_fd(veth_.ns_a);
    ns_b_ = veth_.netns_fd(veth_.ns_b);
    ASSERT_GE(ns_a_, 0);
    ASSERT_GE(ns_b_, 0);
    sender_ = packet_socket_in(ns_b_, veth_.if_b);
    ASSERT_GE(sender_, 0) << "AF_PACKET socket on " << veth_.if_b;
    other_ = packet_socket_in(ns_b_, veth_.if_d);
    ASSERT_GE(other_, 0) << "AF_PACKET socket on " << veth_.if_d;
  }
  void TearDown() override {
    for (int fd : {sender_, other_, ns_a_, ns_b_})
      if (fd >= 0) close(fd);
    RunCapture::TearDown();
  }

  // Starts `pollen run --iface` in namespace a and waits until its socket is bound.
  pid_t start_live(std::vector<std::string> args, const std::string& program = "xdp_reflect") {
    args.insert(args.begin(), {"run", obj_, "--iface", veth_.if_a, "--program", program});
    pid_t pid = start_pollen(dir_, args, "/dev/null", ns_a_);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (read_whole(dir_ / ".stderr").find("listening on") == std::string::npos) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        ADD_FAILURE() << "pollen stopped before listening: " << read_whole(dir_ / ".stderr");
        return -1;
      }
      if (Clock::now() > deadline) {
        ADD_FAILURE() << "pollen did not start listening within 10 s";
        return pid;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pid;
  }

  void send_frame(const Bytes& f) {
    ASSERT_EQ(send(sender_, f.data(), f.size(), 0), static_cast<ssize_t>(f.size()));
  }

  // Sends `n` test frames and checks that each comes back with its addresses swapped.
  void expect_reflected(int n) {
    for (int i = 0; i < n; ++i) {
      const Bytes payload = {'p', 'o', 'l', 'l', 'e', 'n', static_cast<uint8_t>(i)};
      send_frame(frame(kEtherTest, payload));
      auto back = receive(sender_, std::chrono::seconds(5));
      ASSERT_TRUE(back) << "frame " << i << " did not come back";
      EXPECT_EQ(*back, frame(kEtherTest, payload, 60, kMacB, kMacA)) << "frame " << i;
    }
  }

  VethPair veth_;
  int ns_a_ = -1, ns_b_ = -1;
  int sender_ = -1;  // on if_b, the peer of the interface pollen runs on
  int other_ = -1;   // on if_d, the peer of if_c
};

TEST_F(RunLive, ReflectsTxFramesBackOutOfTheInterfaceAndStopsAfterCount) {
  pid_t pid = start_live({"--count", "7", "--json"});
  ASSERT_GT(pid, 0);
  expect_reflected(5);
  send_frame(ipv4(kUdp));  // dropped: not the test EtherType
  send_frame(ipv4(kTcp));
  EXPECT_FALSE(receive(sender_, std::chrono::milliseconds(300))) << "a dropped frame came back";
  Output r = finish_pollen(dir_, pid, std::chrono::seconds(10));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["input"], Json({{"iface", veth_.if_a}}));
  EXPECT_EQ(j["packets"], 7);
  EXPECT_EQ(j["verdicts"]["tx"], counts(5, 300));
  EXPECT_EQ(j["verdicts"]["drop"], counts(2, 120));
  EXPECT_EQ(j["verdicts"]["pass"], counts(0, 0));
  EXPECT_EQ(j["sent"],
            Json({{"tx", 5}, {"redirect", 0}, {"redirect_not_interface", 0}, {"errors", 0}}));
  EXPECT_EQ(j["interrupted"], false);
}

TEST_F(RunLive, SigintStopsTheRunAndStillPrintsTheSummary) {
  pid_t pid = start_live({"--json"});
  ASSERT_GT(pid, 0);
  expect_reflected(3);
  ASSERT_EQ(kill(pid, SIGINT), 0);
  Output r = finish_pollen(dir_, pid, std::chrono::seconds(10));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["interrupted"], true);
  EXPECT_EQ(j["packets"], 3);
  EXPECT_EQ(j["verdicts"]["tx"], counts(3, 180));
  EXPECT_EQ(j["sent"]["tx"], 3);
}

TEST_F(RunLive, RedirectSendsOutOfTheTargetInterfaceAndPassIsOnlyCounted) {
  const uint32_t ifindex_c = in_netns(ns_a_, [&] { return if_nametoindex(veth_.if_c.c_str()); });
  ASSERT_GT(ifindex_c, 0u);
  ASSERT_LT(ifindex_c, 256u);  // xdp_verdict takes it from one byte
  pid_t pid = start_live({"--count", "3", "--json"}, "xdp_verdict");
  ASSERT_GT(pid, 0);
  const Bytes redirected = frame(kEtherTest, {4, static_cast<uint8_t>(ifindex_c)});
  send_frame(redirected);
  auto out_c = receive(other_, std::chrono::seconds(5));
  ASSERT_TRUE(out_c) << "the redirected frame did not come out of " << veth_.if_c;
  EXPECT_EQ(*out_c, redirected);
  const Bytes tx = frame(kEtherTest, {3, 0});
  send_frame(tx);
  auto back = receive(sender_, std::chrono::seconds(5));
  ASSERT_TRUE(back) << "the TX frame did not come back";
  EXPECT_EQ(*back, tx);
  send_frame(frame(kEtherTest, {2, 0}));  // XDP_PASS: counted, sent nowhere
  Output r = finish_pollen(dir_, pid, std::chrono::seconds(10));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(receive(sender_, std::chrono::milliseconds(100)));
  EXPECT_FALSE(receive(other_, std::chrono::milliseconds(100)));
  Json j = Json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["verdicts"], Json({{"aborted", counts(0, 0)},
                                 {"drop", counts(0, 0)},
                                 {"pass", counts(1, 60)},
                                 {"tx", counts(1, 60)},
                                 {"redirect", counts(1, 60)}}));
  EXPECT_EQ(j["sent"],
            Json({{"tx", 1}, {"redirect", 1}, {"redirect_not_interface", 0}, {"errors", 0}}));
}

TEST_F(RunLive, TheProgramSeesTheVlanTagTheKernelTookOut) {
  // xdp_verdict reads its verdict from the byte after the Ethernet header: with the tag back in
  // place that is the TCI's high byte, 3 (TX); without it, the first payload byte, 1 (DROP).
  pid_t pid = start_live({"--count", "1", "--json"}, "xdp_verdict");
  ASSERT_GT(pid, 0);
  const uint16_t tci = 0x0300;
  send_frame(frame(0x8100, {tci >> 8, tci & 0xff, 0x88, 0xb5, 1, 0}));
  // On the way back the kernel takes the tag out again, now for the test's socket.
  auto back = receive_tagged(sender_, std::chrono::seconds(5));
  ASSERT_TRUE(back) << "the tagged frame did not come back (the program saw no tag)";
  EXPECT_EQ(back->vlan_tci, tci);
  EXPECT_EQ(back->bytes, frame(kEtherTest, {1, 0}, 56));
  Output r = finish_pollen(dir_, pid, std::chrono::seconds(10));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["verdicts"]["tx"], counts(1, 60));  // the frame as sent, tag included
}

TEST_F(RunLive, DurationStopsAQuietRun) {
  const auto begin = Clock::now();
  pid_t pid = start_live({"--duration", "0.3"});
  ASSERT_GT(pid, 0);
  Output r = finish_pollen(dir_, pid, std::chrono::seconds(10));
  EXPECT_GE(Clock::now() - begin, std::chrono::milliseconds(300));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("on interface " + veth_.if_a + ": 0 packets, 0 bytes\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("sent 0 TX frames back out"), std::string::npos) << r.out;
}

TEST_F(RunCapture, RefusesAnUnknownInterface) {
  expect_error({"run", obj_, "--iface", "no-such-if0", "--program", "xdp_reflect"}, 2,
               R"(^pollen run: no-such-if0: no such interface)");
}

}  // namespace

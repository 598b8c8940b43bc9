// SPDX-License-Identifier: MIT
// pollen-pcapgen: writes a synthetic but realistic Ethernet capture (pcap, microsecond
// timestamps) for the XDP examples, the pcap hook's tests and the throughput benchmark. The
// traffic is TrafficModel's; the same --seed gives the same file, byte for byte. Exit codes:
// 0 written, 1 the file could not be written, 2 bad usage.
#include <pcap/pcap.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "traffic_model.hpp"

namespace {

using pollen::pcapgen::Packet;
using pollen::pcapgen::TrafficModel;
using pollen::pcapgen::TrafficOptions;

constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2;
constexpr int kSnapLen = 65535;

struct Options {
  uint64_t packets = 10000;
  std::string out;
  TrafficOptions traffic;
};

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
  void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
};

int fail(const std::string& message) {
  std::cerr << "pollen-pcapgen: " << message << '\n';
  return kExitFailed;
}

int write_capture(const Options& options) {
  std::unique_ptr<pcap_t, PcapCloser> dead(pcap_open_dead(DLT_EN10MB, kSnapLen));
  if (!dead) return fail("libpcap: cannot open an Ethernet capture handle");
  std::unique_ptr<pcap_dumper_t, PcapCloser> dumper(
      pcap_dump_open(dead.get(), options.out.c_str()));
  if (!dumper) return fail(options.out + ": " + pcap_geterr(dead.get()));
  TrafficModel model(options.traffic);
  for (uint64_t i = 0; i < options.packets; ++i) {
    const Packet packet = model.next();
    pcap_pkthdr header{};
    header.ts.tv_sec = static_cast<time_t>(packet.time_us / 1'000'000);
    header.ts.tv_usec = static_cast<suseconds_t>(packet.time_us % 1'000'000);
    header.caplen = header.len = static_cast<bpf_u_int32>(packet.frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper.get()), &header, packet.frame.data());
  }
  if (pcap_dump_flush(dumper.get()) != 0) return fail(options.out + ": write failed");
  const auto& s = model.stats();
  std::cout << "wrote " << s.packets << " packets (" << s.bytes << " bytes) to " << options.out
            << ": " << s.ipv4 << " IPv4, " << s.ipv6 << " IPv6, " << s.arp << " ARP; " << s.tcp
            << " TCP, " << s.udp << " UDP, " << s.icmp << " ICMP; " << s.vlan_tagged
            << " VLAN-tagged; " << s.blocked_source << " from blocked prefixes\n";
  return kExitOk;
}

int run(int argc, char** argv) {
  Options options;
  CLI::App app{
      "Writes a synthetic Ethernet capture (pcap): IPv4 and IPv6 TCP, UDP and ICMP "
      "between 400 Zipf-weighted clients and a few servers, some VLAN-tagged, some from "
      "blocked prefixes (198.18.0.0/15, 192.0.2.0/24, 2001:db8:dead::/48, "
      "203.0.113.66/32). The same seed gives the same file.",
      "pollen-pcapgen"};
  app.add_option("--packets", options.packets, "Number of packets (default 10000)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}))
      ->type_name("N");
  app.add_option("--seed", options.traffic.seed, "Random seed (default 1)")->type_name("S");
  app.add_option("--out", options.out, "The capture file to write")
      ->required()
      ->type_name("FILE.pcap");
  app.add_option("--fixed-size", options.traffic.fixed_size,
                 "Every frame exactly BYTES long (64..1514), e.g. 64 for throughput runs")
      ->check(CLI::Range(uint32_t{64}, uint32_t{1514}))
      ->type_name("BYTES");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(error);
    std::string message = error.what();
    std::replace(message.begin(), message.end(), '\n', ' ');
    std::cerr << "pollen-pcapgen: " << message << " (see pollen-pcapgen --help)\n";
    return kExitUsage;
  }
  return write_capture(options);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

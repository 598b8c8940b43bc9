// SPDX-License-Identifier: MIT
// The synthetic traffic that pollen-pcapgen writes: what a router port of a small service
// network would capture. 400 clients talk to 16 IPv4 and 8 IPv6 servers; a client's share of
// the packets falls with its rank as 1/rank (Zipf), so a few heavy sources dominate. Each client
// keeps a few flows per service (HTTPS/HTTP and SSH over TCP, DNS and QUIC over UDP, ICMP or
// ICMPv6 echo), servers answer about a third of the time, some clients sit behind one or two
// VLAN tags, and a few ARP requests mix in. Four clients send from blocked prefixes
// (kBlockedPrefixes), the ones the XDP firewall example blocks. The same seed gives the same
// packets, byte for byte.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "frame_builder.hpp"
#include "rng.hpp"

namespace pollen::pcapgen {

/// The source prefixes of the blocked clients (examples/bpf/xdp_firewall.bpf.c blocks them).
inline constexpr std::string_view kBlockedPrefixes[] = {"198.18.0.0/15", "192.0.2.0/24",
                                                        "2001:db8:dead::/48", "203.0.113.66/32"};

struct TrafficOptions {
  uint64_t seed = 1;
  uint32_t fixed_size = 0;  ///< every frame exactly this long (64..1514), or 0 for a mix
};

struct Packet {
  uint64_t time_us = 0;  ///< microseconds since the Unix epoch, strictly increasing
  std::vector<uint8_t> frame;
};

/// What was generated, for the summary line.
struct TrafficStats {
  uint64_t packets = 0, bytes = 0, ipv4 = 0, ipv6 = 0, arp = 0, vlan_tagged = 0;
  uint64_t tcp = 0, udp = 0, icmp = 0, blocked_source = 0;
};

class TrafficModel {
 public:
  explicit TrafficModel(const TrafficOptions& options);

  Packet next();
  const TrafficStats& stats() const { return stats_; }

 private:
  enum class Service { Web, Ssh, Dns, Quic, Echo };
  struct Host {
    bool ipv6 = false;
    bool blocked = false;
    IpAddr addr{};
    MacAddr mac{};
    std::vector<uint16_t> vlans;
    uint8_t ttl = 64;  ///< as the packets arrive: initial TTL less the hops
    uint16_t ip_id = 0;
    uint16_t echo_seq = 0;
  };

  Host make_client(uint32_t rank);
  uint32_t pick_client();
  Service pick_service();
  FrameSpec flow_packet(Host& client, uint32_t rank);
  void fill_tcp(FrameSpec& spec, Service service, bool response);
  void fill_udp(FrameSpec& spec, Service service, bool response);
  void fill_echo(FrameSpec& spec, Host& client, uint64_t flow, bool response);
  void fit_fixed_size(FrameSpec& spec);
  std::vector<uint8_t> random_bytes(size_t n);
  void count(const FrameSpec& spec, const Host& client, size_t frame_size);

  TrafficOptions options_;
  Rng rng_;
  std::vector<Host> clients_;
  std::vector<uint64_t> cumulative_weight_;  // Zipf: client rank r weighs 1/(r+1)
  uint64_t time_us_;
  TrafficStats stats_;
};

}  // namespace pollen::pcapgen

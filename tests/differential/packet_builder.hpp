// SPDX-License-Identifier: MIT
// Test packets built from their layers, with every checksum right: an L4 segment (UDP, TCP,
// ICMP or ICMPv6 echo, or raw bytes of any protocol) goes into an IPv4 or IPv6 packet, which
// computes the segment's pseudo-header checksum and its own header checksum, and that goes into
// an Ethernet frame with optional VLAN tags. `ethernet(kIpv4, ipv4({}, udp(1, 53, {})))`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace pollen::test {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;
using Ipv6Address = std::array<uint8_t, 16>;

constexpr uint16_t kIpv4 = 0x0800, kIpv6 = 0x86dd, kArp = 0x0806, kVlan = 0x8100, kQinQ = 0x88a8;
constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpPsh = 0x08, kTcpAck = 0x10;

/// An L4 segment: its protocol number, its bytes, and where its checksum goes (none: npos).
struct Segment {
  uint8_t protocol = 0;
  Bytes bytes;
  size_t checksum_at = static_cast<size_t>(-1);
};

Segment udp(uint16_t sport, uint16_t dport, Bytes payload);
Segment tcp(uint16_t sport, uint16_t dport, uint8_t flags, Bytes payload, uint32_t seq = 1000);
/// An echo request (type 8, or 128 for ICMPv6), or another type.
Segment icmp_echo(uint16_t id, uint16_t seq, Bytes payload, bool v6 = false, uint8_t type = 0xff);
/// Bytes of protocol `protocol` with no checksum (an inner IP packet: protocol 4).
Segment raw(uint8_t protocol, Bytes bytes);

struct Ipv4Header {
  uint32_t src = 0x0a000001;  // 10.0.0.1
  uint32_t dst = 0x0a010203;  // 10.1.2.3
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t id = 1;
  Bytes options;  ///< a multiple of 4 bytes, at most 40
};

struct Ipv6Header {
  Ipv6Address src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  Ipv6Address dst = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  uint8_t hop_limit = 64;
};

Bytes ipv4(const Ipv4Header& header, Segment segment);
Bytes ipv6(const Ipv6Header& header, Segment segment);

struct EthernetHeader {
  Mac dst = {0x02, 0, 0, 0, 0, 0x02};
  Mac src = {0x02, 0, 0, 0, 0, 0x01};
  std::vector<std::pair<uint16_t, uint16_t>> tags;  ///< VLAN tags, outer first: {TPID, TCI}
};

Bytes ethernet(uint16_t ethertype, Bytes payload, const EthernetHeader& header = {});

/// The RFC 1071 Internet checksum of `bytes`, starting from the 32-bit sum `sum`.
uint16_t internet_checksum(const uint8_t* bytes, size_t size, uint32_t sum = 0);
/// Recomputes the checksum of the IPv4 header at `offset` in `frame`.
void fix_ipv4_checksum(Bytes& frame, size_t offset);

/// `text`'s bytes, without a terminator.
Bytes text(std::string_view text);
/// `size` bytes counting up from `first`.
Bytes counting(size_t size, uint8_t first = 0);
/// `a` followed by `b`.
Bytes concat(Bytes a, const Bytes& b);
/// Little-endian bytes of `value`, `size` of them.
Bytes le(uint64_t value, size_t size);

}  // namespace pollen::test

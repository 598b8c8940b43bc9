// SPDX-License-Identifier: MIT
// The tools tests' own view of captured frames, written apart from the generator so that the
// tests do not check its code with itself: reading a pcap file with libpcap, and a
// bounds-checked parse of Ethernet (with VLAN tags), IPv4 or IPv6 and the transport header,
// verifying every checksum on the way (RFC 1071). Used by the pcapgen and XDP example tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pollen::test {

struct Frame {
  uint64_t time_us = 0;
  uint32_t wire_len = 0;
  std::vector<uint8_t> bytes;
};

struct Capture {
  int link_type = -1;
  std::vector<Frame> frames;
  std::string error;  ///< libpcap's message when the file could not be read
};

Capture read_capture(const std::string& path);

struct PacketView {
  std::vector<uint16_t> vlans;  ///< VLAN ids, outermost first
  uint16_t ether_type = 0;      ///< after the tags
  uint8_t ip_version = 0;       ///< 4 or 6; 0 when not IP or truncated
  size_t ip_at = 0, ip_end = 0, l4_at = 0, l4_len = 0;
  uint8_t protocol = 0, ttl = 0, tcp_flags = 0, icmp_type = 0;
  uint16_t frag = 0;  ///< IPv4 flags and fragment offset
  std::vector<uint8_t> src, dst;
  uint16_t sport = 0, dport = 0;  ///< TCP or UDP ports; ICMP echo: identifier and sequence
  uint16_t udp_length = 0, udp_check = 0;
  bool ip_header_ok = false;    ///< the IPv4 header checksum verifies (IPv6: always)
  bool l4_checksum_ok = false;  ///< TCP, UDP (unless 0), ICMP or ICMPv6 checksum verifies
};

PacketView view(std::span<const uint8_t> frame);

/// Whether `addr` (4 or 16 bytes) lies in prefix/len (`prefix` of the same family).
bool in_prefix(const std::vector<uint8_t>& addr, const std::vector<uint8_t>& prefix, unsigned len);
/// The source prefixes pollen-pcapgen documents as blocked (xdp_firewall blocks them).
bool from_blocked_prefix(const PacketView& p);

}  // namespace pollen::test

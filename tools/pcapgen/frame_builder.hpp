// SPDX-License-Identifier: MIT
// Wire-format Ethernet frames from a FrameSpec: Ethernet II with up to two VLAN tags (802.1Q,
// and 802.1ad outside it for QinQ), IPv4 (RFC 791) or IPv6 (RFC 8200), and TCP (RFC 9293, with
// an MSS option on SYNs), UDP (RFC 768), ICMP echo (RFC 792) or ICMPv6 echo (RFC 4443); or an
// ARP request (RFC 826). Every checksum is computed: the IPv4 header's, and TCP's, UDP's and
// ICMPv6's over their pseudo-headers. Frames shorter than Ethernet's 60-byte minimum are padded
// with zeros after the IP packet, as a NIC sends them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace pollen::pcapgen {

using MacAddr = std::array<uint8_t, 6>;
/// An IPv4 address in its first 4 bytes, or an IPv6 address; network byte order.
using IpAddr = std::array<uint8_t, 16>;

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmp6 = 58;

inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08,
                         kTcpAck = 0x10;

inline constexpr size_t kEthMinFrame = 60;    // without the frame check sequence
inline constexpr size_t kEthMaxFrame = 1514;  // 1500-byte MTU, untagged

struct FrameSpec {
  MacAddr dst_mac{};
  MacAddr src_mac{};
  std::vector<uint16_t> vlans;  ///< VLAN ids, outermost first; at most 2
  bool arp = false;             ///< an ARP request from src (IPv4) for dst; no other fields
  bool ipv6 = false;
  IpAddr src{};
  IpAddr dst{};
  uint8_t protocol = kProtoUdp;
  uint8_t ttl = 64;  ///< hop limit for IPv6
  uint16_t ip_id = 0;
  bool dont_fragment = true;
  uint16_t sport = 0;  ///< TCP/UDP ports; ICMP echo: identifier and sequence number
  uint16_t dport = 0;
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint8_t tcp_flags = kTcpAck;
  uint16_t tcp_window = 64240;
  uint8_t icmp_type = 8;  ///< echo request (ICMP 8, ICMPv6 128) or reply (0, 129)
  std::vector<uint8_t> payload;
};

/// Bytes of every header of the frame: Ethernet, VLAN tags, IP, transport (with TCP options).
size_t header_length(const FrameSpec& spec);

/// The frame, at least kEthMinFrame bytes.
std::vector<uint8_t> build_frame(const FrameSpec& spec);

/// The Internet checksum (RFC 1071) of `bytes` added to `sum`, not yet folded or complemented.
uint32_t checksum_add(std::span<const uint8_t> bytes, uint32_t sum);
/// The folded, complemented checksum of a partial sum.
uint16_t checksum_finish(uint32_t sum);

}  // namespace pollen::pcapgen

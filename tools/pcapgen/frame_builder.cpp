// SPDX-License-Identifier: MIT
// Frame assembly: each header is appended in wire order with its checksum field zero, and the
// checksums are filled in once the lengths they cover are known.
#include "frame_builder.hpp"

#include <algorithm>

namespace pollen::pcapgen {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86dd, kEtherArp = 0x0806;
constexpr uint16_t kEtherVlan = 0x8100, kEtherQinQ = 0x88a8;
constexpr size_t kEthHeader = 14, kVlanTag = 4, kIpv4Header = 20, kIpv6Header = 40;
constexpr size_t kTcpHeader = 20, kTcpMssOption = 4, kUdpHeader = 8, kIcmpHeader = 8;
constexpr size_t kArpBody = 28;

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    u8(static_cast<uint8_t>(v >> 8));
    u8(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }

 private:
  std::vector<uint8_t>& out_;
};

void put16(std::vector<uint8_t>& frame, size_t at, uint16_t v) {
  frame[at] = static_cast<uint8_t>(v >> 8);
  frame[at + 1] = static_cast<uint8_t>(v);
}

size_t address_length(const FrameSpec& spec) {
  return spec.ipv6 ? 16 : 4;
}

bool has_mss_option(const FrameSpec& spec) {
  return spec.protocol == kProtoTcp && (spec.tcp_flags & kTcpSyn);
}

size_t transport_header_length(const FrameSpec& spec) {
  switch (spec.protocol) {
    case kProtoTcp: return kTcpHeader + (has_mss_option(spec) ? kTcpMssOption : 0);
    case kProtoUdp: return kUdpHeader;
    default: return kIcmpHeader;
  }
}

void write_ethernet(Writer& w, const FrameSpec& spec, uint16_t ether_type) {
  w.bytes(spec.dst_mac);
  w.bytes(spec.src_mac);
  // QinQ: the outer tag is the service tag (802.1ad), the inner one the customer tag (802.1Q).
  for (size_t i = 0; i < spec.vlans.size(); ++i) {
    w.u16(spec.vlans.size() == 2 && i == 0 ? kEtherQinQ : kEtherVlan);
    w.u16(spec.vlans[i] & 0x0fff);
  }
  w.u16(ether_type);
}

void write_ip(Writer& w, const FrameSpec& spec, size_t l4_length) {
  const auto addr = address_length(spec);
  if (spec.ipv6) {
    w.u32(0x60000000);  // version 6, traffic class 0, flow label 0
    w.u16(static_cast<uint16_t>(l4_length));
    w.u8(spec.protocol);
    w.u8(spec.ttl);
  } else {
    w.u8(0x45);  // version 4, IHL 5
    w.u8(0);     // DSCP, ECN
    w.u16(static_cast<uint16_t>(kIpv4Header + l4_length));
    w.u16(spec.ip_id);
    w.u16(spec.dont_fragment ? 0x4000 : 0);
    w.u8(spec.ttl);
    w.u8(spec.protocol);
    w.u16(0);  // checksum, filled in later
  }
  w.bytes(std::span(spec.src).first(addr));
  w.bytes(std::span(spec.dst).first(addr));
}

void write_transport(Writer& w, const FrameSpec& spec, size_t l4_length) {
  if (spec.protocol == kProtoTcp) {
    w.u16(spec.sport);
    w.u16(spec.dport);
    w.u32(spec.tcp_seq);
    w.u32(spec.tcp_ack);
    w.u8(static_cast<uint8_t>(transport_header_length(spec) / 4 << 4));  // data offset
    w.u8(spec.tcp_flags);
    w.u16(spec.tcp_window);
    w.u32(0);  // checksum, urgent pointer
    if (has_mss_option(spec)) w.u32(0x02040000 | (spec.ipv6 ? 1440 : 1460));  // kind 2, len 4
  } else if (spec.protocol == kProtoUdp) {
    w.u16(spec.sport);
    w.u16(spec.dport);
    w.u16(static_cast<uint16_t>(l4_length));
    w.u16(0);
  } else {  // ICMP or ICMPv6 echo
    w.u8(spec.icmp_type);
    w.u8(0);
    w.u16(0);
    w.u16(spec.sport);
    w.u16(spec.dport);
  }
}

// The pseudo-header sum (RFC 9293 3.1, RFC 8200 8.1); ICMP (v4) has none.
uint32_t pseudo_header_sum(const FrameSpec& spec, size_t l4_length) {
  if (spec.protocol == kProtoIcmp) return 0;
  const auto addr = address_length(spec);
  uint32_t sum = checksum_add(std::span(spec.src).first(addr), 0);
  sum = checksum_add(std::span(spec.dst).first(addr), sum);
  return sum + spec.protocol + static_cast<uint32_t>(l4_length);
}

size_t checksum_offset(uint8_t protocol) {
  switch (protocol) {
    case kProtoTcp: return 16;
    case kProtoUdp: return 6;
    default: return 2;
  }
}

void fill_checksums(std::vector<uint8_t>& frame, const FrameSpec& spec, size_t ip_at,
                    size_t l4_length) {
  const size_t l4_at = ip_at + (spec.ipv6 ? kIpv6Header : kIpv4Header);
  if (!spec.ipv6)
    put16(frame, ip_at + 10,
          checksum_finish(checksum_add(std::span(frame).subspan(ip_at, kIpv4Header), 0)));
  uint32_t sum = pseudo_header_sum(spec, l4_length);
  uint16_t check = checksum_finish(checksum_add(std::span(frame).subspan(l4_at, l4_length), sum));
  if (spec.protocol == kProtoUdp && check == 0) check = 0xffff;  // RFC 768
  put16(frame, l4_at + checksum_offset(spec.protocol), check);
}

void write_arp(Writer& w, const FrameSpec& spec) {
  w.u16(1);  // hardware: Ethernet
  w.u16(kEtherIpv4);
  w.u8(6);
  w.u8(4);
  w.u16(1);  // request
  w.bytes(spec.src_mac);
  w.bytes(std::span(spec.src).first(4));
  w.bytes(MacAddr{});  // target hardware address: unknown
  w.bytes(std::span(spec.dst).first(4));
}

}  // namespace

uint32_t checksum_add(std::span<const uint8_t> bytes, uint32_t sum) {
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) sum += static_cast<uint32_t>(bytes[i] << 8 | bytes[i + 1]);
  if (i < bytes.size()) sum += static_cast<uint32_t>(bytes[i] << 8);
  return sum;
}

uint16_t checksum_finish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

size_t header_length(const FrameSpec& spec) {
  const size_t l2 = kEthHeader + kVlanTag * spec.vlans.size();
  if (spec.arp) return l2 + kArpBody;
  return l2 + (spec.ipv6 ? kIpv6Header : kIpv4Header) + transport_header_length(spec);
}

std::vector<uint8_t> build_frame(const FrameSpec& spec) {
  std::vector<uint8_t> frame;
  frame.reserve(header_length(spec) + spec.payload.size() + kEthMinFrame);
  Writer w(frame);
  if (spec.arp) {
    write_ethernet(w, spec, kEtherArp);
    write_arp(w, spec);
  } else {
    write_ethernet(w, spec, spec.ipv6 ? kEtherIpv6 : kEtherIpv4);
    const size_t ip_at = frame.size();
    const size_t l4_length = transport_header_length(spec) + spec.payload.size();
    write_ip(w, spec, l4_length);
    write_transport(w, spec, l4_length);
    w.bytes(spec.payload);
    fill_checksums(frame, spec, ip_at, l4_length);
  }
  frame.resize(std::max(frame.size(), kEthMinFrame), 0);
  return frame;
}

}  // namespace pollen::pcapgen

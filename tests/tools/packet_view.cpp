// SPDX-License-Identifier: MIT
// Capture reading (libpcap) and the independent frame parser of the tools tests.
#include "packet_view.hpp"

#include <pcap/pcap.h>

namespace pollen::test {
namespace {

uint16_t be16(std::span<const uint8_t> b, size_t at) {
  return at + 1 < b.size() ? static_cast<uint16_t>(b[at] << 8 | b[at + 1]) : 0;
}

uint32_t sum_words(std::span<const uint8_t> b, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < b.size(); i += 2) sum += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
  if (b.size() % 2) sum += static_cast<uint32_t>(b.back() << 8);
  return sum;
}

// A ones' complement sum over data that includes its checksum verifies when it is all ones.
bool verifies(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

void view_transport(std::span<const uint8_t> f, uint32_t pseudo, PacketView& p) {
  const auto l4 = f.subspan(p.l4_at, p.l4_len);
  p.l4_checksum_ok = verifies(sum_words(l4, pseudo));
  if (p.protocol == 6 || p.protocol == 17 || p.protocol == 1 || p.protocol == 58) {
    p.sport = be16(l4, p.protocol == 1 || p.protocol == 58 ? 4 : 0);
    p.dport = be16(l4, p.protocol == 1 || p.protocol == 58 ? 6 : 2);
  }
  if (p.protocol == 6 && l4.size() > 13) p.tcp_flags = l4[13];
  if ((p.protocol == 1 || p.protocol == 58) && !l4.empty()) p.icmp_type = l4[0];
  if (p.protocol == 17) {
    p.udp_length = be16(l4, 4);
    p.udp_check = be16(l4, 6);
    if (p.udp_check == 0 && p.ip_version == 4) p.l4_checksum_ok = true;  // RFC 768: none sent
  }
}

void view_ipv4(std::span<const uint8_t> f, PacketView& p) {
  const size_t ihl = (f[p.ip_at] & 0x0f) * 4u, total = be16(f, p.ip_at + 2);
  if (ihl < 20 || total < ihl || p.ip_at + total > f.size()) return;
  p.ip_version = 4;
  p.ip_end = p.ip_at + total;
  p.frag = be16(f, p.ip_at + 6);
  p.ttl = f[p.ip_at + 8];
  p.protocol = f[p.ip_at + 9];
  p.src.assign(f.begin() + p.ip_at + 12, f.begin() + p.ip_at + 16);
  p.dst.assign(f.begin() + p.ip_at + 16, f.begin() + p.ip_at + 20);
  p.ip_header_ok = verifies(sum_words(f.subspan(p.ip_at, ihl)));
  p.l4_at = p.ip_at + ihl;
  p.l4_len = total - ihl;
  if ((p.frag & 0x3fff) != 0) return;  // a fragment: its checksum covers the whole datagram
  uint32_t pseudo = 0;
  if (p.protocol != 1) pseudo = sum_words(f.subspan(p.ip_at + 12, 8)) + p.protocol + p.l4_len;
  view_transport(f, pseudo, p);
}

void view_ipv6(std::span<const uint8_t> f, PacketView& p) {
  const size_t payload = be16(f, p.ip_at + 4);
  if (p.ip_at + 40 + payload > f.size()) return;
  p.ip_version = 6;
  p.ip_end = p.ip_at + 40 + payload;
  p.protocol = f[p.ip_at + 6];
  p.ttl = f[p.ip_at + 7];
  p.src.assign(f.begin() + p.ip_at + 8, f.begin() + p.ip_at + 24);
  p.dst.assign(f.begin() + p.ip_at + 24, f.begin() + p.ip_at + 40);
  p.ip_header_ok = true;  // IPv6 has no header checksum
  p.l4_at = p.ip_at + 40;
  p.l4_len = payload;
  view_transport(f, sum_words(f.subspan(p.ip_at + 8, 32)) + p.protocol + payload, p);
}

}  // namespace

Capture read_capture(const std::string& path) {
  Capture capture;
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pcap = pcap_open_offline(path.c_str(), error);
  if (pcap == nullptr) {
    capture.error = error;
    return capture;
  }
  capture.link_type = pcap_datalink(pcap);
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(pcap, &header, &data) == 1)
    capture.frames.push_back({static_cast<uint64_t>(header->ts.tv_sec) * 1'000'000 +
                                  static_cast<uint64_t>(header->ts.tv_usec),
                              header->len, std::vector<uint8_t>(data, data + header->caplen)});
  pcap_close(pcap);
  return capture;
}

PacketView view(std::span<const uint8_t> f) {
  PacketView p;
  size_t at = 12;
  p.ether_type = be16(f, at);
  while (p.ether_type == 0x8100 || p.ether_type == 0x88a8) {
    p.vlans.push_back(be16(f, at + 2) & 0x0fff);
    at += 4;
    p.ether_type = be16(f, at);
  }
  p.ip_at = at + 2;
  if (p.ether_type == 0x0800 && p.ip_at + 20 <= f.size()) view_ipv4(f, p);
  if (p.ether_type == 0x86dd && p.ip_at + 40 <= f.size()) view_ipv6(f, p);
  return p;
}

bool in_prefix(const std::vector<uint8_t>& addr, const std::vector<uint8_t>& prefix, unsigned len) {
  if (addr.size() != prefix.size() || len > 8 * addr.size()) return false;
  for (unsigned bit = 0; bit < len; ++bit) {
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((addr[bit / 8] & mask) != (prefix[bit / 8] & mask)) return false;
  }
  return true;
}

bool from_blocked_prefix(const PacketView& p) {
  const std::vector<uint8_t> v6 = {0x20, 0x01, 0x0d, 0xb8, 0xde, 0xad, 0, 0,
                                   0,    0,    0,    0,    0,    0,    0, 0};
  return in_prefix(p.src, {198, 18, 0, 0}, 15) || in_prefix(p.src, {192, 0, 2, 0}, 24) ||
         in_prefix(p.src, {203, 0, 113, 66}, 32) || in_prefix(p.src, v6, 48);
}

}  // namespace pollen::test

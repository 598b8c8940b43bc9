// SPDX-License-Identifier: MIT
// The layers of test packets (packet_builder.hpp), in network byte order.
#include "packet_builder.hpp"

namespace pollen::test {
namespace {

void put16(Bytes& out, size_t at, uint16_t value) {
  out[at] = static_cast<uint8_t>(value >> 8);
  out[at + 1] = static_cast<uint8_t>(value);
}

void append16(Bytes& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

void append32(Bytes& out, uint32_t value) {
  append16(out, static_cast<uint16_t>(value >> 16));
  append16(out, static_cast<uint16_t>(value));
}

uint32_t sum16(const uint8_t* bytes, size_t size) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < size; i += 2) sum += uint32_t(bytes[i]) << 8 | bytes[i + 1];
  if (size % 2) sum += uint32_t(bytes[size - 1]) << 8;
  return sum;
}

// The segment's checksum over the pseudo-header sum; UDP sends a computed 0 as 0xffff.
Bytes finish(Segment segment, uint32_t pseudo) {
  if (segment.checksum_at == static_cast<size_t>(-1)) return std::move(segment.bytes);
  uint16_t check = internet_checksum(segment.bytes.data(), segment.bytes.size(), pseudo);
  if (segment.protocol == 17 && check == 0) check = 0xffff;
  put16(segment.bytes, segment.checksum_at, check);
  return std::move(segment.bytes);
}

}  // namespace

uint16_t internet_checksum(const uint8_t* bytes, size_t size, uint32_t sum) {
  uint64_t total = uint64_t(sum) + sum16(bytes, size);
  while (total >> 16) total = (total & 0xffff) + (total >> 16);
  return static_cast<uint16_t>(~total);
}

Segment udp(uint16_t sport, uint16_t dport, Bytes payload) {
  Segment s{17, {}, 6};
  append16(s.bytes, sport);
  append16(s.bytes, dport);
  append16(s.bytes, static_cast<uint16_t>(8 + payload.size()));
  append16(s.bytes, 0);
  s.bytes.insert(s.bytes.end(), payload.begin(), payload.end());
  return s;
}

Segment tcp(uint16_t sport, uint16_t dport, uint8_t flags, Bytes payload, uint32_t seq) {
  Segment s{6, {}, 16};
  append16(s.bytes, sport);
  append16(s.bytes, dport);
  append32(s.bytes, seq);
  append32(s.bytes, (flags & kTcpAck) ? 1 : 0);
  s.bytes.push_back(5 << 4);  // data offset: 20 bytes
  s.bytes.push_back(flags);
  append16(s.bytes, 65535);  // window
  append16(s.bytes, 0);      // checksum
  append16(s.bytes, 0);      // urgent pointer
  s.bytes.insert(s.bytes.end(), payload.begin(), payload.end());
  return s;
}

Segment icmp_echo(uint16_t id, uint16_t seq, Bytes payload, bool v6, uint8_t type) {
  Segment s{static_cast<uint8_t>(v6 ? 58 : 1), {}, 2};
  s.bytes.push_back(type != 0xff ? type : (v6 ? 128 : 8));
  s.bytes.push_back(0);
  append16(s.bytes, 0);
  append16(s.bytes, id);
  append16(s.bytes, seq);
  s.bytes.insert(s.bytes.end(), payload.begin(), payload.end());
  return s;
}

Segment raw(uint8_t protocol, Bytes bytes) {
  return Segment{protocol, std::move(bytes)};
}

Bytes ipv4(const Ipv4Header& h, Segment segment) {
  const size_t header_len = 20 + h.options.size();
  const uint8_t protocol = segment.protocol;
  // RFC 768 / 793 pseudo-header: addresses, protocol, segment length. ICMP has none.
  uint32_t pseudo = 0;
  if (protocol != 1) {
    pseudo = (h.src >> 16) + (h.src & 0xffff) + (h.dst >> 16) + (h.dst & 0xffff) + protocol +
             static_cast<uint32_t>(segment.bytes.size());
  }
  Bytes body = finish(std::move(segment), pseudo);
  Bytes out;
  out.push_back(static_cast<uint8_t>(0x40 | header_len / 4));
  out.push_back(h.tos);
  append16(out, static_cast<uint16_t>(header_len + body.size()));
  append16(out, h.id);
  append16(out, 0);  // flags and fragment offset
  out.push_back(h.ttl);
  out.push_back(protocol);
  append16(out, 0);
  append32(out, h.src);
  append32(out, h.dst);
  out.insert(out.end(), h.options.begin(), h.options.end());
  put16(out, 10, internet_checksum(out.data(), header_len));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes ipv6(const Ipv6Header& h, Segment segment) {
  const uint8_t protocol = segment.protocol;
  // RFC 8200 pseudo-header: addresses, upper-layer length, next header.
  const uint32_t pseudo = sum16(h.src.data(), 16) + sum16(h.dst.data(), 16) +
                          static_cast<uint32_t>(segment.bytes.size()) + protocol;
  Bytes body = finish(std::move(segment), pseudo);
  Bytes out;
  append32(out, 0x60000000);  // version 6, no traffic class or flow label
  append16(out, static_cast<uint16_t>(body.size()));
  out.push_back(protocol);
  out.push_back(h.hop_limit);
  out.insert(out.end(), h.src.begin(), h.src.end());
  out.insert(out.end(), h.dst.begin(), h.dst.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes ethernet(uint16_t ethertype, Bytes payload, const EthernetHeader& h) {
  Bytes out(h.dst.begin(), h.dst.end());
  out.insert(out.end(), h.src.begin(), h.src.end());
  for (auto [tpid, tci] : h.tags) {
    append16(out, tpid);
    append16(out, tci);
  }
  append16(out, ethertype);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

void fix_ipv4_checksum(Bytes& frame, size_t offset) {
  const size_t header_len = (frame[offset] & 0xf) * 4u;
  put16(frame, offset + 10, 0);
  put16(frame, offset + 10, internet_checksum(frame.data() + offset, header_len));
}

Bytes text(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

Bytes counting(size_t size, uint8_t first) {
  Bytes out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(first + i);
  return out;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes le(uint64_t value, size_t size) {
  Bytes out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
  return out;
}

}  // namespace pollen::test

// SPDX-License-Identifier: MIT
// The traffic mix of pollen-pcapgen: the client table is drawn once from the seed, then every
// packet draws a client (Zipf), a service, one of the client's flows of that service and a
// direction, and fills in headers and a payload of a size typical for it.
#include "traffic_model.hpp"

#include <algorithm>

namespace pollen::pcapgen {
namespace {

constexpr uint32_t kClients = 400;
constexpr uint32_t kFlowsPerService = 4;
constexpr uint64_t kStartUs = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr size_t kIpMtu = 1500;
constexpr MacAddr kRouterMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

// Blocked clients by rank: rank 3 is one of the heaviest sources (an attacker), the others
// range from medium to light. The addresses are in kBlockedPrefixes, in this order.
struct BlockedClient {
  uint32_t rank;
  bool ipv6;
  uint8_t prefix[6];  // the fixed leading bytes
  uint8_t fixed;      // how many of them
};
constexpr BlockedClient kBlocked[] = {
    {3, false, {198, 18}, 1},  // 198.18.0.0/15: the second byte is 18 or 19
    {17, false, {192, 0, 2}, 3},
    {60, true, {0x20, 0x01, 0x0d, 0xb8, 0xde, 0xad}, 6},
    {150, false, {203, 0, 113, 66}, 4},
};

IpAddr ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {a, b, c, d};
}

IpAddr server_address(bool ipv6, uint64_t flow) {
  if (ipv6)
    return {
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
        0,    0,    0,    0,    0, 0, 0, static_cast<uint8_t>(1 + flow % 8)};  // 2001:db8::1 .. ::8
  const uint8_t n = flow % 16;
  return ipv4(10, 0, n / 8, static_cast<uint8_t>(1 + n % 8));  // 10.0.0.1-8, 10.0.1.1-8
}

size_t max_payload(const FrameSpec& spec) {
  // Segments with data carry no TCP options here: a 20-byte TCP header.
  return kIpMtu - (spec.ipv6 ? 40 : 20) - (spec.protocol == kProtoTcp ? 20 : 8);
}

}  // namespace

TrafficModel::TrafficModel(const TrafficOptions& options)
    : options_(options), rng_(options.seed), time_us_(kStartUs) {
  uint64_t total = 0;
  for (uint32_t rank = 0; rank < kClients; ++rank) {
    clients_.push_back(make_client(rank));
    total += 1'000'000'000 / (rank + 1);
    cumulative_weight_.push_back(total);
  }
}

TrafficModel::Host TrafficModel::make_client(uint32_t rank) {
  Host host;
  host.ipv6 = rng_.chance(200);
  const auto blocked = std::find_if(std::begin(kBlocked), std::end(kBlocked),
                                    [rank](const BlockedClient& b) { return b.rank == rank; });
  if (blocked != std::end(kBlocked)) host.ipv6 = blocked->ipv6;
  for (uint8_t& b : host.addr) b = static_cast<uint8_t>(rng_.below(256));
  if (host.ipv6) {
    host.addr[0] = 0x20, host.addr[1] = 0x01, host.addr[2] = 0x0d, host.addr[3] = 0xb8;
    host.addr[4] = static_cast<uint8_t>(0x10 | (host.addr[4] & 0x0f));  // 2001:db8:1000::/36
    host.addr[15] |= 1;
  } else {
    host.addr =
        ipv4(100, static_cast<uint8_t>(64 + rng_.below(64)),  // 100.64.0.0/10
             static_cast<uint8_t>(rng_.below(256)), static_cast<uint8_t>(rng_.between(1, 254)));
  }
  if (blocked != std::end(kBlocked)) {
    host.blocked = true;
    std::copy_n(blocked->prefix, blocked->fixed, host.addr.begin());
    if (rank == 3) host.addr[1] = static_cast<uint8_t>(18 + rng_.below(2));
  }
  host.mac = {0x02, 0, 0, 0, 0, 0};  // locally administered, unicast
  for (size_t i = 1; i < host.mac.size(); ++i) host.mac[i] = static_cast<uint8_t>(rng_.below(256));
  const uint32_t tagging = rng_.below(1000);
  if (tagging < 30)
    host.vlans = {100, static_cast<uint16_t>(10 + 10 * rng_.below(3))};  // QinQ
  else if (tagging < 200)
    host.vlans = {static_cast<uint16_t>(10 + 10 * rng_.below(3))};
  host.ttl = static_cast<uint8_t>((rng_.chance(300) ? 128 : 64) - rng_.between(3, 20));
  host.ip_id = static_cast<uint16_t>(rng_.below(65536));
  return host;
}

uint32_t TrafficModel::pick_client() {
  const uint64_t point = rng_.next() % cumulative_weight_.back();
  return static_cast<uint32_t>(
      std::upper_bound(cumulative_weight_.begin(), cumulative_weight_.end(), point) -
      cumulative_weight_.begin());
}

TrafficModel::Service TrafficModel::pick_service() {
  const uint32_t roll = rng_.below(100);
  if (roll < 47) return Service::Web;
  if (roll < 67) return Service::Quic;
  if (roll < 82) return Service::Dns;
  if (roll < 90) return Service::Ssh;
  return Service::Echo;
}

std::vector<uint8_t> TrafficModel::random_bytes(size_t n) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t word = rng_.next();
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<uint8_t>(word >> (8 * j));
  }
  return out;
}

// TCP: a handshake, teardown or reset now and then, otherwise data or a bare ACK. Clients send
// requests; servers send full segments of a response.
void TrafficModel::fill_tcp(FrameSpec& spec, Service service, bool response) {
  spec.protocol = kProtoTcp;
  spec.tcp_seq = static_cast<uint32_t>(rng_.next());
  spec.tcp_ack = static_cast<uint32_t>(rng_.next());
  const uint32_t phase = rng_.below(100);
  size_t size = 0;
  if (phase < 6) {
    spec.tcp_flags = response ? kTcpSyn | kTcpAck : kTcpSyn;
    if (!response) spec.tcp_ack = 0;
  } else if (phase < 9) {
    spec.tcp_flags = kTcpFin | kTcpAck;
  } else if (phase < 10) {
    spec.tcp_flags = kTcpRst | kTcpAck;
  } else if (service == Service::Ssh) {
    spec.tcp_flags = kTcpPsh | kTcpAck;
    size = rng_.between(36, 200);
  } else if (response) {
    size = rng_.chance(550) ? max_payload(spec) : rng_.between(0, 1460);
  } else {
    size = rng_.chance(450) ? 0 : rng_.between(80, 700);
  }
  if (size > 0 && phase >= 10)
    spec.tcp_flags = size < max_payload(spec) ? kTcpPsh | kTcpAck : kTcpAck;
  spec.payload = random_bytes(std::min(size, max_payload(spec)));
}

// UDP: DNS queries and answers, QUIC long-header (Initial, padded to 1200 bytes) and short-header
// packets.
void TrafficModel::fill_udp(FrameSpec& spec, Service service, bool response) {
  spec.protocol = kProtoUdp;
  size_t size;
  if (service == Service::Dns) {
    size = response ? rng_.between(60, 300) : rng_.between(28, 70);
  } else if (rng_.chance(response ? 400 : 100)) {
    size = rng_.between(1200, 1350);
  } else {
    size = rng_.between(30, 300);
  }
  spec.payload = random_bytes(std::min(size, max_payload(spec)));
  if (service == Service::Dns && spec.payload.size() >= 12) {
    spec.payload[2] = response ? 0x81 : 0x01;  // QR and RD (and RA): a standard query or answer
    spec.payload[3] = response ? 0x80 : 0x00;
    spec.payload[4] = 0, spec.payload[5] = 1;  // one question
  } else if (service == Service::Quic) {
    spec.payload[0] = size >= 1200 ? 0xc3 : static_cast<uint8_t>(0x40 | (spec.payload[0] & 0x3f));
  }
}

// Echo: ping's 56 bytes of data, an identifier per flow and a sequence number per client.
void TrafficModel::fill_echo(FrameSpec& spec, Host& client, uint64_t flow, bool response) {
  spec.protocol = spec.ipv6 ? kProtoIcmp6 : kProtoIcmp;
  spec.icmp_type = spec.ipv6 ? (response ? 129 : 128) : (response ? 0 : 8);
  spec.sport = static_cast<uint16_t>(flow);
  spec.dport = response ? client.echo_seq : ++client.echo_seq;
  spec.payload = random_bytes(56);
}

FrameSpec TrafficModel::flow_packet(Host& client, uint32_t rank) {
  const Service service = pick_service();
  const uint64_t flow =
      mix(options_.seed, rank, static_cast<uint64_t>(service), rng_.below(kFlowsPerService));
  const bool response = rng_.chance(350);
  FrameSpec spec;
  spec.vlans = client.vlans;
  spec.ipv6 = client.ipv6;
  spec.src = client.addr;
  spec.dst = server_address(client.ipv6, flow >> 8);
  spec.src_mac = client.mac;
  spec.dst_mac = kRouterMac;
  spec.ttl = client.ttl;
  spec.ip_id = client.ip_id++;
  spec.sport = static_cast<uint16_t>(32768 + (flow >> 16) % 28232);
  static constexpr uint16_t kPorts[] = {443, 22, 53, 443, 0};
  spec.dport = kPorts[static_cast<int>(service)];
  if (service == Service::Web && (flow >> 40) % 3 == 0) spec.dport = 80;
  if (service == Service::Web || service == Service::Ssh)
    fill_tcp(spec, service, response);
  else if (service == Service::Echo)
    fill_echo(spec, client, flow, response);
  else
    fill_udp(spec, service, response);
  if (response) {  // the server's answer, routed back to the client
    std::swap(spec.src, spec.dst);
    std::swap(spec.src_mac, spec.dst_mac);
    if (spec.protocol == kProtoTcp || spec.protocol == kProtoUdp) std::swap(spec.sport, spec.dport);
    spec.ttl = 63;
  }
  return spec;
}

// A frame of exactly fixed_size bytes: headers that do not fit go (VLAN tags, the SYN's MSS
// option, then TCP for UDP: an IPv6 TCP segment needs 74 bytes), the payload fills the rest.
void TrafficModel::fit_fixed_size(FrameSpec& spec) {
  const size_t size = options_.fixed_size;
  if (header_length(spec) > size) spec.vlans.clear();
  if (header_length(spec) > size && spec.protocol == kProtoTcp) spec.tcp_flags = kTcpAck;
  if (header_length(spec) > size && spec.protocol == kProtoTcp) spec.protocol = kProtoUdp;
  spec.payload = random_bytes(spec.arp ? 0 : size - header_length(spec));
}

void TrafficModel::count(const FrameSpec& spec, const Host& client, size_t frame_size) {
  ++stats_.packets;
  stats_.bytes += frame_size;
  stats_.vlan_tagged += !spec.vlans.empty();
  if (spec.arp) {
    ++stats_.arp;
    return;
  }
  ++(spec.ipv6 ? stats_.ipv6 : stats_.ipv4);
  ++(spec.protocol == kProtoTcp   ? stats_.tcp
     : spec.protocol == kProtoUdp ? stats_.udp
                                  : stats_.icmp);
  stats_.blocked_source += client.blocked && spec.src == client.addr;
}

Packet TrafficModel::next() {
  const uint32_t rank = pick_client();
  Host& client = clients_[rank];
  FrameSpec spec;
  if (!client.ipv6 && rng_.chance(15)) {  // ARP: who has the server's address?
    spec.dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    spec.src_mac = client.mac;
    spec.vlans = client.vlans;
    spec.arp = true;
    spec.src = client.addr;
    spec.dst = server_address(false, rng_.next());
  } else {
    spec = flow_packet(client, rank);
  }
  if (options_.fixed_size != 0) fit_fixed_size(spec);
  Packet packet;
  packet.frame = build_frame(spec);
  if (options_.fixed_size != 0) packet.frame.resize(options_.fixed_size, 0);
  time_us_ += rng_.between(1, 99);  // about 20000 packets a second
  packet.time_us = time_us_;
  count(spec, client, packet.frame.size());
  return packet;
}

}  // namespace pollen::pcapgen

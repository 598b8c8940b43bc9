// SPDX-License-Identifier: MIT
// Packet sources and sinks of `pollen run` (see capture.hpp): capture files through libpcap,
// kept at the timestamp precision the input file has, and live interfaces through an AF_PACKET
// raw socket. libpcap reports a file cut in the middle of a record ("truncated dump file") and
// impossible record lengths itself; this file adds which record it was.
#include "capture.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace pollen::cli {
namespace {

// The largest frame a live interface hands us in one piece: the largest IPv4/IPv6 packet
// (64 KiB, GSO/GRO aside) plus its link header.
constexpr size_t kReceiveBuffer = 65536 + 64;
// An 802.1Q tag: TPID and TCI, after the two Ethernet addresses.
constexpr size_t kVlanTag = 4, kMacAddresses = 12;
constexpr uint16_t kEtherVlan = 0x8100;

Error in_file(const std::string& name, std::string message, Errc code = Errc::Io) {
  return make_error(code, Location{Location::Kind::None, 0, name}, std::move(message));
}

std::string shown(const std::string& path) {
  return path == "-" ? "<stdin>" : path;
}

// Classic pcap files say their timestamp precision in the magic number; pcapng files may carry
// any resolution per interface, so they are read at the finer one.
bool has_nanosecond_magic(FILE* file) {
  unsigned char magic[4] = {};
  const size_t n = std::fread(magic, 1, sizeof magic, file);
  std::rewind(file);
  if (n != sizeof magic) return false;
  const uint32_t be = uint32_t{magic[0]} << 24 | uint32_t{magic[1]} << 16 |
                      uint32_t{magic[2]} << 8 | uint32_t{magic[3]};
  return be == 0xa1b23c4d || be == 0x4d3cb2a1 || be == 0x0a0d0d0a;
}

std::string link_type_name(int dlt) {
  const char* name = pcap_datalink_val_to_name(dlt);
  return name ? fmt::format("{} ({})", name, dlt) : fmt::format("{}", dlt);
}

}  // namespace

// ---- PcapReader ----------------------------------------------------------------------------

struct PcapReader::Impl {
  pcap_t* pcap = nullptr;
  std::string name;
  bool nano = false;
  uint64_t records = 0;
  std::optional<uint64_t> file_size;

  ~Impl() {
    if (pcap) pcap_close(pcap);
  }
};

Result<PcapReader> PcapReader::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->name = shown(path);
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  if (path == "-") {
    impl->pcap =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  } else {
    FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) return in_file(impl->name, fmt::format("cannot open ({})", std::strerror(errno)));
    impl->nano = has_nanosecond_magic(file);
    std::error_code ec;
    if (auto size = std::filesystem::file_size(path, ec); !ec) impl->file_size = size;
    // On success libpcap owns `file`; on failure it does not close it.
    impl->pcap = pcap_fopen_offline_with_tstamp_precision(
        file, impl->nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!impl->pcap) std::fclose(file);
  }
  if (!impl->pcap)
    return in_file(impl->name, fmt::format("not a readable capture file ({})", errbuf),
                   Errc::InvalidArgument);
  if (const int dlt = pcap_datalink(impl->pcap); dlt != DLT_EN10MB)
    return in_file(impl->name,
                   fmt::format("link type {} is not Ethernet (EN10MB): XDP programs see "
                               "Ethernet frames",
                               link_type_name(dlt)),
                   Errc::NotSupported);
  return PcapReader(std::move(impl));
}

Result<std::optional<CapturedPacket>> PcapReader::next() {
  Impl& r = *impl_;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(r.pcap, &header, &data);
  if (rc == PCAP_ERROR_BREAK) return std::optional<CapturedPacket>{};
  ++r.records;
  if (rc != 1)
    return in_file(r.name, fmt::format("packet {}: {}", r.records, pcap_geterr(r.pcap)),
                   Errc::InvalidArgument);
  CapturedPacket packet;
  packet.bytes = {data, header->caplen};
  packet.wire_length = std::max(header->len, header->caplen);
  packet.time = {header->ts.tv_sec, static_cast<uint32_t>(header->ts.tv_usec)};
  return std::optional<CapturedPacket>{packet};
}

bool PcapReader::nanosecond_timestamps() const {
  return impl_->nano;
}

uint32_t PcapReader::snapshot_length() const {
  return static_cast<uint32_t>(pcap_snapshot(impl_->pcap));
}

std::optional<double> PcapReader::progress() const {
  FILE* file = pcap_file(impl_->pcap);
  if (!file || !impl_->file_size || *impl_->file_size == 0) return std::nullopt;
  const long at = std::ftell(file);
  if (at < 0) return std::nullopt;
  return std::min(1.0, static_cast<double>(at) / static_cast<double>(*impl_->file_size));
}

PcapReader::PcapReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PcapReader::PcapReader(PcapReader&&) noexcept = default;
PcapReader& PcapReader::operator=(PcapReader&&) noexcept = default;
PcapReader::~PcapReader() = default;

// ---- PcapWriter ----------------------------------------------------------------------------

struct PcapWriter::Impl {
  pcap_t* dead = nullptr;
  pcap_dumper_t* dumper = nullptr;
  std::string name;
  uint64_t records = 0;

  ~Impl() {
    if (dumper) pcap_dump_close(dumper);
    if (dead) pcap_close(dead);
  }
};

Result<PcapWriter> PcapWriter::create(const std::string& path, uint32_t snapshot_length,
                                      bool nanoseconds) {
  auto impl = std::make_unique<Impl>();
  impl->name = shown(path);
  impl->dead = pcap_open_dead_with_tstamp_precision(
      DLT_EN10MB, static_cast<int>(snapshot_length),
      nanoseconds ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
  if (!impl->dead) return in_file(impl->name, "libpcap cannot open an Ethernet capture handle");
  errno = 0;
  impl->dumper = pcap_dump_open(impl->dead, path.c_str());
  // libpcap's own message repeats the path; fopen's errno says it all.
  if (!impl->dumper)
    return in_file(impl->name,
                   fmt::format("cannot create ({})",
                               errno != 0 ? std::strerror(errno) : pcap_geterr(impl->dead)));
  return PcapWriter(std::move(impl));
}

void PcapWriter::write(std::span<const uint8_t> bytes, uint32_t wire_length, PacketTime time) {
  pcap_pkthdr header{};
  header.ts.tv_sec = static_cast<time_t>(time.seconds);
  // With nanosecond precision libpcap reads this field as nanoseconds.
  header.ts.tv_usec = static_cast<suseconds_t>(time.fraction);
  header.caplen = static_cast<bpf_u_int32>(bytes.size());
  header.len = std::max(wire_length, header.caplen);
  pcap_dump(reinterpret_cast<u_char*>(impl_->dumper), &header, bytes.data());
  ++impl_->records;
}

Result<void> PcapWriter::close() {
  Impl& w = *impl_;
  if (!w.dumper) return {};
  const bool failed = pcap_dump_flush(w.dumper) != 0 || std::ferror(pcap_dump_file(w.dumper));
  pcap_dump_close(w.dumper);
  w.dumper = nullptr;
  if (failed) return in_file(w.name, "write failed");
  return {};
}

uint64_t PcapWriter::records() const {
  return impl_->records;
}

PcapWriter::PcapWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PcapWriter::PcapWriter(PcapWriter&&) noexcept = default;
PcapWriter& PcapWriter::operator=(PcapWriter&&) noexcept = default;
PcapWriter::~PcapWriter() = default;

// ---- PacketSocket --------------------------------------------------------------------------

Result<PacketSocket> PacketSocket::open(const std::string& interface) {
  const uint32_t ifindex = if_nametoindex(interface.c_str());
  if (ifindex == 0)
    return in_file(interface, fmt::format("no such interface ({})", std::strerror(errno)),
                   Errc::InvalidArgument);
  // Protocol 0 until bind(): the socket sees nothing from other interfaces in between.
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return in_file(interface, fmt::format("cannot open an AF_PACKET socket ({}; needs "
                                          "CAP_NET_RAW)",
                                          std::strerror(errno)));
  PacketSocket socket_(fd, ifindex, interface);
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = static_cast<int>(ifindex);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    return in_file(interface, fmt::format("cannot bind ({})", std::strerror(errno)));
  // Linux 4.20 and later; older kernels mark our own frames PACKET_OUTGOING, which receive()
  // skips as well.
  const int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  // The kernel takes a VLAN tag out of the frame before packet sockets see it (skb_vlan_untag,
  // or the NIC does); PACKET_AUXDATA hands it over, and receive() puts it back where XDP sees it.
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) != 0)
    return in_file(interface,
                   fmt::format("cannot enable PACKET_AUXDATA ({})", std::strerror(errno)));
  return socket_;
}

Result<std::optional<ReceivedFrame>> PacketSocket::receive(std::chrono::milliseconds timeout) {
  pollfd waiting{fd_, POLLIN, 0};
  const int ready = poll(&waiting, 1, static_cast<int>(timeout.count()));
  if (ready < 0 && errno != EINTR)
    return in_file(interface_, fmt::format("poll failed ({})", std::strerror(errno)));
  if (ready <= 0) return std::optional<ReceivedFrame>{};
  sockaddr_ll from{};
  // Received kVlanTag bytes in, so that a tag can go back in front of the EtherType.
  iovec data{buffer_.get() + kVlanTag, kReceiveBuffer};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))] = {};
  msghdr message{};
  message.msg_name = &from;
  message.msg_namelen = sizeof from;
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  // MSG_TRUNC: the frame's whole length, even when the buffer holds less of it.
  const ssize_t n = recvmsg(fd_, &message, MSG_TRUNC | MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return std::optional<ReceivedFrame>{};
    return in_file(interface_, fmt::format("receive failed ({})", std::strerror(errno)));
  }
  if (from.sll_pkttype == PACKET_OUTGOING) return std::optional<ReceivedFrame>{};
  size_t length = std::min(static_cast<size_t>(n), kReceiveBuffer);
  uint8_t* start = buffer_.get() + kVlanTag;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
    tpacket_auxdata aux{};
    std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
    if (!(aux.tp_status & TP_STATUS_VLAN_VALID) || length < kMacAddresses) continue;
    const uint16_t tpid = aux.tp_status & TP_STATUS_VLAN_TPID_VALID ? aux.tp_vlan_tpid : kEtherVlan;
    std::memmove(buffer_.get(), start, kMacAddresses);
    start = buffer_.get();
    const uint8_t tag[kVlanTag] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid),
                                   static_cast<uint8_t>(aux.tp_vlan_tci >> 8),
                                   static_cast<uint8_t>(aux.tp_vlan_tci)};
    std::memcpy(start + kMacAddresses, tag, kVlanTag);
    length += kVlanTag;
  }
  ReceivedFrame frame;
  frame.bytes = {start, length};
  frame.wire_length =
      static_cast<uint32_t>(n) + static_cast<uint32_t>(start == buffer_.get() ? kVlanTag : 0);
  return std::optional<ReceivedFrame>{frame};
}

Result<void> PacketSocket::send(std::span<const uint8_t> frame, uint32_t ifindex) {
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(ifindex == 0 ? ifindex_ : ifindex);
  if (sendto(fd_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
    return in_file(interface_, fmt::format("cannot send a frame of {} bytes out of ifindex {} "
                                           "({})",
                                           frame.size(), to.sll_ifindex, std::strerror(errno)));
  return {};
}

PacketSocket::PacketSocket(int fd, uint32_t ifindex, std::string interface)
    : fd_(fd),
      ifindex_(ifindex),
      interface_(std::move(interface)),
      buffer_(std::make_unique<uint8_t[]>(kVlanTag + kReceiveBuffer)) {}

PacketSocket::PacketSocket(PacketSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      ifindex_(other.ifindex_),
      interface_(std::move(other.interface_)),
      buffer_(std::move(other.buffer_)) {}

PacketSocket& PacketSocket::operator=(PacketSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    ifindex_ = other.ifindex_;
    interface_ = std::move(other.interface_);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

PacketSocket::~PacketSocket() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace pollen::cli

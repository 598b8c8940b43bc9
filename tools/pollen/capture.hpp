// SPDX-License-Identifier: MIT
// Where `pollen run` gets packets and where it puts them: capture files read and written with
// libpcap (the only file that includes it is capture.cpp), and a live interface through an
// AF_PACKET raw socket. Every failure is an Error naming the file or interface, so that the
// command reports it on one line.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "pollen/result.hpp"

namespace pollen::cli {

/// A capture timestamp, kept at the precision the file has.
struct PacketTime {
  int64_t seconds = 0;
  uint32_t fraction = 0;  ///< microseconds or nanoseconds, as the file's precision says
};

/// One record of a capture file: the captured bytes (caplen of them) and the packet's length
/// on the wire (len), which is larger when the capture was taken with a short snapshot length.
struct CapturedPacket {
  std::span<const uint8_t> bytes;  ///< valid until the next call to PcapReader::next
  uint32_t wire_length = 0;
  PacketTime time;
};

/// Reads an Ethernet capture (pcap, or pcapng through libpcap), one record at a time.
class PcapReader {
 public:
  /// Opens `path` ("-": standard input). A file libpcap cannot read, or one whose link type is
  /// not Ethernet (XDP programs see Ethernet frames), is an Error naming the file.
  static Result<PcapReader> open(const std::string& path);

  /// The next record, nullopt at the end of the file. A record the file holds only part of
  /// (the file was cut in the middle of it) or an impossible one is an Error naming the record.
  Result<std::optional<CapturedPacket>> next();

  bool nanosecond_timestamps() const;
  uint32_t snapshot_length() const;
  /// How far through the file reading is, 0..1; nullopt when unknown (standard input).
  std::optional<double> progress() const;

  PcapReader(PcapReader&&) noexcept;
  PcapReader& operator=(PcapReader&&) noexcept;
  ~PcapReader();

  struct Impl;

 private:
  explicit PcapReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Writes an Ethernet capture file (classic pcap).
class PcapWriter {
 public:
  /// Creates `path`, with nanosecond timestamps when `nanoseconds` (to keep the input's).
  static Result<PcapWriter> create(const std::string& path, uint32_t snapshot_length,
                                   bool nanoseconds);

  /// Appends a record of `bytes` with wire length `wire_length` (at least bytes.size()).
  void write(std::span<const uint8_t> bytes, uint32_t wire_length, PacketTime time);
  /// Flushes and closes the file; a write that failed is reported here.
  Result<void> close();

  uint64_t records() const;

  PcapWriter(PcapWriter&&) noexcept;
  PcapWriter& operator=(PcapWriter&&) noexcept;
  ~PcapWriter();

  struct Impl;

 private:
  explicit PcapWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A frame received on a live interface.
struct ReceivedFrame {
  std::span<const uint8_t> bytes;  ///< valid until the next receive
  uint32_t wire_length = 0;        ///< larger than bytes.size() when the frame was cut
};

/// An AF_PACKET raw socket bound to one interface: every frame it receives (ETH_P_ALL), but not
/// the ones this host sends (PACKET_IGNORE_OUTGOING), so frames sent back out are not seen
/// again. A VLAN tag the kernel took out of a frame is put back, as XDP would see it. Needs
/// CAP_NET_RAW.
class PacketSocket {
 public:
  static Result<PacketSocket> open(const std::string& interface);

  /// Waits up to `timeout` for a frame: nullopt when none came or a signal interrupted the wait.
  Result<std::optional<ReceivedFrame>> receive(std::chrono::milliseconds timeout);
  /// Sends `frame` out of interface `ifindex` (0: the bound one).
  Result<void> send(std::span<const uint8_t> frame, uint32_t ifindex = 0);

  uint32_t ifindex() const { return ifindex_; }
  const std::string& interface() const { return interface_; }

  PacketSocket(PacketSocket&& other) noexcept;
  PacketSocket& operator=(PacketSocket&& other) noexcept;
  ~PacketSocket();

 private:
  PacketSocket(int fd, uint32_t ifindex, std::string interface);
  int fd_ = -1;
  uint32_t ifindex_ = 0;
  std::string interface_;
  std::unique_ptr<uint8_t[]> buffer_;
};

}  // namespace pollen::cli

// SPDX-License-Identifier: MIT
// XDP differential test: each case runs one XDP program on a sequence of packets with the
// kernel's BPF_PROG_TEST_RUN (through libbpf, pinned to CPU 0) and with Pollen's
// Object::test_run on each engine, from freshly loaded objects whose maps the case may fill
// first through both hosts' map updates. Every run must agree on the verdict, the output packet
// (metadata included), the output struct xdp_md and the errno of a run Linux refuses; after the
// last run every map must hold the same (ring buffer records included). Cases also state what
// the kernel must do (verdict, sometimes the exact output), so that a test program that stopped
// testing what it names shows. The cases are the programs in xdp/ and every XDP program of the
// XDP examples. Skips, saying why, where the kernel cannot load BPF.
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "byte_diff.hpp"
#include "kernel_object_runner.hpp"
#include "packet_builder.hpp"
#include "pollen/object.hpp"

// g++ 12 counts members left out of a designated initializer as missing (-Wextra); the
// packets' headers are written that way on purpose, their other fields keep their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace pollen::test {
namespace {

// XDP verdicts (enum xdp_action).
constexpr int64_t kAborted = 0, kDrop = 1, kPass = 2, kTx = 3, kRedirect = 4;
// A run whose kernel verdict only the comparison checks: the examples', and behaviour that
// changed between kernel versions.
constexpr int64_t kAnyVerdict = INT64_MIN;
// The expectation of a run Linux refuses with `err`.
constexpr int64_t refusal(int err) {
  return -static_cast<int64_t>(err);
}

struct MapFill {
  std::string map;
  Bytes key;
  Bytes value;
};

struct PacketRun {
  PacketRun(std::string label, Bytes data_in, std::optional<Bytes> ctx_in, uint32_t repeat,
            int64_t expect, std::optional<Bytes> expect_out = std::nullopt)
      : label(std::move(label)),
        data_in(std::move(data_in)),
        ctx_in(std::move(ctx_in)),
        repeat(repeat),
        expect(expect),
        expect_out(std::move(expect_out)) {}

  std::string label;
  Bytes data_in;
  std::optional<Bytes> ctx_in;
  uint32_t repeat = 1;
  int64_t expect = kAnyVerdict;     ///< the kernel's verdict, or refusal(errno)
  std::optional<Bytes> expect_out;  ///< the kernel's data_out, where the case knows it
};

struct XdpCase {
  std::string name;
  std::string object;  ///< path of the BPF object
  std::string program;
  std::vector<MapFill> fills;
  std::vector<PacketRun> runs;
  /// A known difference: Pollen has no multi-buffer frames, and must say so (NotSupported)
  /// where the kernel runs the program; the case then reports itself skipped, never passed.
  bool multi_buffer = false;
};

// gtest prints a case by its name, not its bytes.
void PrintTo(const XdpCase& c, std::ostream* os) {
  *os << c.name;
}

std::string test_object(const std::string& name) {
  return std::string(POLLEN_XDP_TEST_OBJECTS_DIR) + "/xdp_test_" + name + ".o";
}

// struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex.
Bytes xdp_md(uint32_t data, uint32_t data_end, uint32_t data_meta = 0, uint32_t ingress = 0,
             uint32_t queue = 0, uint32_t egress = 0) {
  Bytes out;
  for (uint32_t field : {data, data_end, data_meta, ingress, queue, egress})
    out = concat(std::move(out), le(field, 4));
  return out;
}

// ---- The packets the cases share ----------------------------------------------------------

Bytes udp4(uint16_t dport = 53, Bytes payload = text("query"), Ipv4Header ip = {}) {
  return ethernet(kIpv4, ipv4(ip, udp(40000, dport, std::move(payload))));
}
Bytes tcp4(uint8_t flags = kTcpSyn, uint16_t dport = 80, Ipv4Header ip = {}) {
  return ethernet(kIpv4,
                  ipv4(ip, tcp(40001, dport, flags, flags & kTcpPsh ? text("GET /") : Bytes{})));
}
Bytes icmp4(uint16_t id = 0x77, uint16_t seq = 1) {
  return ethernet(kIpv4, ipv4({}, icmp_echo(id, seq, counting(16))));
}
Bytes udp6(uint16_t dport = 547) {
  return ethernet(kIpv6, ipv6({}, udp(546, dport, text("dhcpv6"))));
}
Bytes tcp6() {
  return ethernet(kIpv6, ipv6({}, tcp(40002, 443, kTcpSyn | kTcpAck, {})));
}
Bytes icmp6() {
  return ethernet(kIpv6, ipv6({}, icmp_echo(9, 2, counting(8), true)));
}
Bytes arp() {
  return ethernet(kArp, counting(28, 0x40), {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}});
}
Bytes vlan_udp4() {
  return ethernet(kIpv4, ipv4({}, udp(1000, 2000, text("tagged"))), {.tags = {{kVlan, 10}}});
}
Bytes qinq_tcp6() {
  return ethernet(kIpv6, ipv6({}, tcp(7, 8, kTcpFin | kTcpAck, {})),
                  {.tags = {{kQinQ, 100}, {kVlan, 20}}});
}
Bytes ipv4_options() {
  return ethernet(kIpv4,
                  ipv4({.options = {0x94, 0x04, 0, 0, 1, 1, 1, 0}}, udp(5, 6, text("opts"))));
}
Bytes first_bytes(Bytes frame, size_t size) {
  frame.resize(size);
  return frame;
}
Bytes truncated_ipv4() {
  return first_bytes(udp4(), 14 + 10);
}
Bytes padded_udp4() {  // a short UDP packet padded to Ethernet's 60-byte minimum
  Bytes frame = ethernet(kIpv4, ipv4({}, udp(7, 9, text("x"))));
  frame.resize(60, 0);
  return frame;
}
Bytes bare_ethernet() {
  return ethernet(0x88b5, {});  // exactly 14 bytes; an experimental ethertype
}
Bytes big_udp4(size_t frame_size) {
  return udp4(4000, counting(frame_size - 14 - 20 - 8));
}

// Every shape of packet the parsers know, and some they must not trip over.
std::vector<std::pair<std::string, Bytes>> varied_packets() {
  return {{"udp4", udp4()},
          {"tcp4_syn", tcp4()},
          {"tcp4_psh", tcp4(kTcpPsh | kTcpAck, 8080)},
          {"icmp4", icmp4()},
          {"udp6", udp6()},
          {"tcp6", tcp6()},
          {"icmp6", icmp6()},
          {"arp", arp()},
          {"vlan_udp4", vlan_udp4()},
          {"qinq_tcp6", qinq_tcp6()},
          {"ipv4_options", ipv4_options()},
          {"truncated_ipv4", truncated_ipv4()},
          {"padded_udp4", padded_udp4()},
          {"bare_ethernet", bare_ethernet()},
          {"udp4_1500", big_udp4(1500)},
          {"udp4_to_blocked", udp4(53, text("x"), {.src = 0xc0a80105, .dst = 0x0a0000fe})},
          {"udp4_testnet_to_tunnel", udp4(4789, text("x"), {.src = 0xc0000207, .dst = 0x0a000105})},
          {"tcp6_from_dead_net", ethernet(kIpv6, ipv6({.src = {0x20, 0x01, 0x0d, 0xb8, 0xde, 0xad,
                                                               0, 0, 0, 0, 0, 0, 0, 0, 0, 7}},
                                                      tcp(1, 2, kTcpSyn, {})))}};
}

// Each packet once, then the first three again with repeat 3 (state that builds up).
std::vector<PacketRun> every_packet(int64_t expect) {
  std::vector<PacketRun> runs;
  for (auto& [label, packet] : varied_packets()) runs.push_back({label, packet, {}, 1, expect});
  for (size_t i = 0; i < 3; ++i)
    runs.push_back({runs[i].label + "_repeat_3", runs[i].data_in, {}, 3, expect});
  return runs;
}

// ---- Expected outputs the cases know ------------------------------------------------------

Bytes ipip_of(const Bytes& frame) {
  Bytes inner(frame.begin() + 14, frame.end());
  return ethernet(
      kIpv4, ipv4({.src = 0xc0000201, .dst = 0xc0000202, .id = 0x4242}, raw(4, std::move(inner))));
}

Bytes with_vlans(const Bytes& udp_payload, int tags) {
  EthernetHeader eth;
  for (int i = 0; i < tags; ++i) eth.tags.push_back({kVlan, 100});
  return ethernet(kIpv4, ipv4({}, udp(40000, 53, udp_payload)), eth);
}

Bytes nat_rewritten(Bytes frame) {
  frame[14 + 8] -= 1;  // TTL
  const Bytes daddr = {10, 0, 0, 99};
  std::copy(daddr.begin(), daddr.end(), frame.begin() + 14 + 16);
  fix_ipv4_checksum(frame, 14);
  return frame;
}

Bytes zeroed_after_ethernet(Bytes frame) {
  std::fill(frame.begin() + 14, frame.end(), 0);
  return frame;
}

Bytes corrupt_ipv4_checksum(Bytes frame) {
  frame[14 + 10] ^= 0x5a;
  return frame;
}

Bytes echo_reply_of(uint16_t id, uint16_t seq) {
  EthernetHeader eth{.dst = {0x02, 0, 0, 0, 0, 0x01}, .src = {0x02, 0, 0, 0, 0, 0x02}};
  return ethernet(
      kIpv4,
      ipv4({.src = 0x0a010203, .dst = 0x0a000001}, icmp_echo(id, seq, counting(16), false, 0)),
      eth);
}

// A redirect request in a UDP payload (xdp/redirect.bpf.c): target and flags, little-endian.
Bytes redirect_request(uint32_t target, uint32_t flags) {
  return udp4(7777, concat(le(target, 4), le(flags, 4)));
}

// An LPM_TRIE key (prefix length, IPv4 address) and a route (verdict, next hop, hits).
Bytes lpm_key(uint32_t prefixlen, uint32_t addr) {
  return concat(le(prefixlen, 4),
                {uint8_t(addr >> 24), uint8_t(addr >> 16), uint8_t(addr >> 8), uint8_t(addr)});
}
Bytes route(uint32_t verdict, uint32_t next_hop) {
  return concat(concat(le(verdict, 4), le(next_hop, 4)), le(0, 8));
}
Bytes udp4_to(uint32_t dst) {
  return udp4(53, text("q"), {.dst = dst});
}

// ---- The cases ----------------------------------------------------------------------------

std::vector<XdpCase> program_cases() {
  const Bytes frame = udp4();
  const uint32_t len = static_cast<uint32_t>(frame.size());
  const Bytes meta8 = {0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, 0};
  return {
      {"parses_every_header_and_counts",
       test_object("parse_count"),
       "parse_count",
       {},
       every_packet(kPass)},
      {"returns_each_verdict",
       test_object("verdicts"),
       "verdicts",
       {},
       {{"aborted", udp4(9000), {}, 1, kAborted},
        {"drop", udp4(9001), {}, 1, kDrop},
        {"pass", udp4(9002), {}, 1, kPass},
        {"tx", udp4(9003), {}, 1, kTx},
        {"redirect_value", udp4(9004), {}, 1, kRedirect},
        {"unnamed_value_7", udp4(9007), {}, 1, 7},
        {"tcp_passes", tcp4(kTcpSyn, 9001), {}, 1, kPass},
        {"drop_repeated", udp4(9001), {}, 5, kDrop},
        {"repeat_0_runs_once", udp4(9003), {}, 0, kTx}}},
      {"refuses_input_shorter_than_ethernet",
       test_object("verdicts"),
       "verdicts",
       {},
       {{"empty", {}, {}, 1, refusal(EINVAL)},
        {"13_bytes", counting(13), {}, 1, refusal(EINVAL)},
        {"14_bytes", counting(14), {}, 1, kPass},
        {"13_bytes_with_ctx", counting(13), xdp_md(0, 13), 1, refusal(EINVAL)}}},
      {"refuses_bad_ctx_in",
       test_object("ctx_fields"),
       "ctx_fields",
       {},
       {{"data_meta_set", frame, xdp_md(0, len, 4), 1, refusal(EINVAL)},
        {"data_end_beyond_input", frame, xdp_md(0, len + 1), 1, refusal(EINVAL)},
        {"data_beyond_end", frame, xdp_md(len + 4, len), 1, refusal(EINVAL)},
        {"metadata_not_multiple_of_4", concat(counting(6), frame), xdp_md(6, len + 6), 1,
         refusal(EINVAL)},
        {"no_such_interface", frame, xdp_md(0, len, 0, 9999), 1, refusal(ENODEV)},
        {"lo_has_one_queue", frame, xdp_md(0, len, 0, 1, 1), 1, refusal(EINVAL)},
        {"queue_without_interface", frame, xdp_md(0, len, 0, 0, 1), 1, refusal(EINVAL)},
        {"egress_ifindex_set", frame, xdp_md(0, len, 0, 1, 0, 1), 1, refusal(EINVAL)},
        {"nonzero_bytes_beyond_xdp_md", frame, concat(xdp_md(0, len), le(1, 8)), 1, refusal(E2BIG)},
        {"zero_bytes_beyond_xdp_md", frame, concat(xdp_md(0, len, 0, 1), le(0, 8)), 1, kPass},
        {"short_ctx_with_data_end", frame, concat(le(0, 4), le(len, 4)), 1, kPass}}},
      // Linux 6.18 takes a ctx_in data_end short of the input as the end of the frame's linear
      // part and puts the rest of the input in fragments (a multi-buffer frame; earlier
      // kernels refuse with EINVAL), so data_end 0 leaves the program an empty linear part.
      {"ctx_in_data_end_short_of_input_makes_fragments",
       test_object("ctx_fields"),
       "ctx_fields",
       {},
       {{"one_byte_in_a_fragment", frame, xdp_md(0, len - 1), 1, kAnyVerdict},
        {"data_end_0", frame, le(0, 4), 1, kAnyVerdict},
        // Without ctx_in, input beyond 3520 bytes (a page less headroom and tailroom) goes
        // into fragments too.
        {"input_of_4000_bytes", big_udp4(4000), {}, 1, kPass}},
       true},
      // Linux 6.18 takes metadata up to the headroom less its struct xdp_frame (216 bytes, in
      // whole 32-bit words) where earlier kernels stopped at 32.
      {"ctx_in_metadata_limits",
       test_object("ctx_fields"),
       "ctx_fields",
       {},
       {{"metadata_32", concat(counting(32), frame), xdp_md(32, len + 32), 1, kPass},
        {"metadata_36", concat(counting(36), frame), xdp_md(36, len + 36), 1, kAnyVerdict},
        {"metadata_216", concat(counting(216), frame), xdp_md(216, len + 216), 1, kAnyVerdict},
        {"metadata_220", concat(counting(220), frame), xdp_md(220, len + 220), 1, kAnyVerdict},
        {"metadata_256", concat(counting(256), frame), xdp_md(256, len + 256), 1, kAnyVerdict}}},
      {"reads_ingress_ifindex_and_queue",
       test_object("ctx_fields"),
       "ctx_fields",
       {},
       {{"no_ctx_in_is_lo", frame, {}, 1, kPass},
        {"ctx_in_lo", tcp4(), xdp_md(0, uint32_t(tcp4().size()), 0, 1, 0), 1, kPass},
        {"ctx_in_default", icmp4(), xdp_md(0, uint32_t(icmp4().size())), 1, kPass},
        {"ctx_in_metadata_4", concat({1, 2, 3, 4}, frame), xdp_md(4, len + 4, 0, 1), 1, kPass}}},
      {"adjust_head_encapsulates_ipip",
       test_object("adjust_head"),
       "encap_ipip",
       {},
       {{"udp4", frame, {}, 1, kTx, ipip_of(frame)},
        {"tcp4", tcp4(), {}, 1, kTx, ipip_of(tcp4())},
        {"ipv6_untouched", udp6(), {}, 1, kPass, udp6()},
        {"twice_repeated", frame, {}, 2, kTx, ipip_of(ipip_of(frame))}}},
      {"adjust_head_decapsulates_ipip",
       test_object("adjust_head"),
       "decap_ipip",
       {},
       {{"ipip", ipip_of(frame), {}, 1, kPass, frame},
        {"ipip_of_icmp", ipip_of(icmp4()), {}, 1, kPass, icmp4()},
        {"plain_udp4", frame, {}, 1, kPass, frame},
        {"shorter_than_ipv4", truncated_ipv4(), {}, 1, kPass, truncated_ipv4()}}},
      {"adjust_head_accumulates_over_repeats",
       test_object("adjust_head"),
       "push_vlan",
       {},
       {{"once", udp4(53, text("query")), {}, 1, kPass, with_vlans(text("query"), 1)},
        {"repeat_3", udp4(53, text("query")), {}, 3, kPass, with_vlans(text("query"), 3)},
        {"repeat_50", udp4(53, text("query")), {}, 50, kPass, with_vlans(text("query"), 50)},
        {"repeat_60_runs_out_of_headroom", udp4(53, text("q")), {}, 60, kAborted}}},
      {"adjust_head_limits",
       test_object("limits"),
       "head_limits",
       {},
       {{"udp4", frame, {}, 1, kPass, frame},
        {"bare_ethernet", bare_ethernet(), {}, 1, kPass, bare_ethernet()},
        {"udp4_1500", big_udp4(1500), {}, 1, kPass, big_udp4(1500)}}},
      {"adjust_head_limits_with_metadata",
       test_object("limits"),
       "head_limits_meta",
       {},
       {{"udp4", frame, {}, 1, kPass}, {"with_ctx", frame, xdp_md(0, len, 0, 1), 1, kPass}}},
      // Undoing the shrink to an Ethernet header grows the frame back with zero bytes.
      {"adjust_tail_limits",
       test_object("limits"),
       "tail_limits",
       {},
       {{"udp4", frame, {}, 1, kPass, zeroed_after_ethernet(frame)},
        {"bare_ethernet", bare_ethernet(), {}, 1, kPass, bare_ethernet()},
        {"udp4_3520_largest_linear",
         big_udp4(3520),
         {},
         1,
         kPass,
         zeroed_after_ethernet(big_udp4(3520))},
        {"with_metadata", concat(meta8, frame), xdp_md(8, len + 8), 1, kPass,
         concat(meta8, zeroed_after_ethernet(frame))}}},
      {"adjust_meta_limits",
       test_object("limits"),
       "meta_limits",
       {},
       {{"udp4", frame, {}, 1, kPass, frame},
        {"with_metadata_8", concat(meta8, frame), xdp_md(8, len + 8), 1, kPass,
         concat(meta8, frame)}}},
      {"adjust_tail_grows_with_zero_bytes",
       test_object("adjust_tail"),
       "tail_by_config",
       {{"config", le(0, 4), le(64, 4)}},
       {{"udp4", frame, {}, 1, kPass, concat(frame, Bytes(64, 0))},
        {"repeat_3", frame, {}, 3, kPass, concat(frame, Bytes(192, 0))},
        {"near_the_end", big_udp4(3456), {}, 1, kPass, concat(big_udp4(3456), Bytes(64, 0))},
        {"past_the_end", big_udp4(3457), {}, 1, kDrop, big_udp4(3457)}}},
      {"adjust_tail_shrinks",
       test_object("adjust_tail"),
       "tail_by_config",
       {{"config", le(0, 4), le(uint32_t(-10), 4)}},
       {{"udp4", frame, {}, 1, kPass, first_bytes(frame, frame.size() - 10)},
        {"repeat_until_ethernet", first_bytes(frame, 34), {}, 3, kDrop, first_bytes(frame, 14)},
        {"bare_ethernet", bare_ethernet(), {}, 1, kDrop, bare_ethernet()}}},
      {"adjust_tail_appends_trailer",
       test_object("adjust_tail"),
       "tail_trailer",
       {},
       {{"udp4", frame, {}, 1, kTx, concat(frame, {0xfe, 0xed, 0, uint8_t(len)})},
        {"repeat_2",
         frame,
         {},
         2,
         kTx,
         concat(frame, {0xfe, 0xed, 0, uint8_t(len), 0xfe, 0xed, 0, uint8_t(len + 4)})},
        {"with_metadata", concat(meta8, frame), xdp_md(8, len + 8), 1, kTx,
         concat(concat(meta8, frame), {0xfe, 0xed, 0, uint8_t(len)})}}},
      {"adjust_tail_trims_ethernet_padding",
       test_object("adjust_tail"),
       "tail_trim_ipv4",
       {},
       {{"padded", padded_udp4(), {}, 1, kTx, first_bytes(padded_udp4(), 43)},
        {"unpadded", frame, {}, 1, kPass, frame}}},
      {"adjust_meta_writes_metadata",
       test_object("adjust_meta"),
       "meta_write",
       {},
       {{"udp4", frame, {}, 1, kPass, concat(concat(le(0xc0ffee00, 4), le(len, 4)), frame)},
        {"with_ctx", frame, xdp_md(0, len, 0, 1), 1, kPass,
         concat(concat(le(0xc0ffee00, 4), le(len, 4)), frame)},
        {"repeat_2_accumulates",
         frame,
         {},
         2,
         kPass,
         concat(
             concat(concat(le(0xc0ffee00, 4), le(len, 4)), concat(le(0xc0ffee00, 4), le(len, 4))),
             frame)},
        {"repeat_30_runs_out_of_headroom", frame, {}, 30, kAborted}}},
      {"adjust_meta_moves_with_head",
       test_object("adjust_meta"),
       "meta_then_head",
       {},
       {{"udp4",
         frame,
         {},
         1,
         kPass,
         concat(concat(le(0xabcd1234, 4), {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5}), frame)},
        {"with_ctx", frame, xdp_md(0, len), 1, kPass}}},
      {"reads_metadata_from_ctx_in",
       test_object("adjust_meta"),
       "meta_read",
       {},
       {{"metadata_8", concat(meta8, frame), xdp_md(8, len + 8), 1, kPass,
         concat(concat({0x55, 0x44, 0x33, 0x22}, le(len + 8, 4)), frame)},
        {"metadata_32", concat(counting(32), frame), xdp_md(32, len + 32), 1, kPass},
        {"metadata_4_too_short", concat({1, 2, 3, 4}, frame), xdp_md(4, len + 4), 1, kDrop},
        {"no_metadata", frame, {}, 1, kDrop, frame}}},
      {"csum_diff_fixes_ipv4_after_rewrite",
       test_object("csum_diff"),
       "nat_rewrite",
       {},
       {{"udp4", frame, {}, 1, kTx, nat_rewritten(frame)},
        {"tcp4", tcp4(), {}, 1, kTx, nat_rewritten(tcp4())},
        {"ttl_1_dropped", udp4(53, text("q"), {.ttl = 1}), {}, 1, kDrop},
        {"repeat_3", frame, {}, 3, kTx, nat_rewritten(nat_rewritten(nat_rewritten(frame)))}}},
      {"csum_diff_recomputes_ipv4_checksum",
       test_object("csum_diff"),
       "recompute_csum",
       {},
       {{"corrupted", corrupt_ipv4_checksum(frame), {}, 1, kPass, frame},
        {"options_ignored_20_bytes", ipv4_options(), {}, 1, kPass},
        {"already_right", tcp4(), {}, 1, kPass, tcp4()}}},
      {"csum_diff_refuses_bad_sizes",
       test_object("csum_diff"),
       "csum_errors",
       {},
       {{"udp4", frame, {}, 1, kPass, frame}}},
      {"core_relocations_against_the_programs_btf",
       test_object("core_relos"),
       "core_reads",
       {},
       {{"udp4_100", udp4(4791, Bytes(100, 0x22)), {}, 1, kTx}}},
      {"check_mtu_on_the_loopback_device",
       test_object("net_helpers"),
       "mtu_checks",
       {},
       {{"udp4_200", udp4(53, Bytes(200, 0x11)), {}, 1, kTx}}},
      {"fib_lookup_refusals",
       test_object("net_helpers"),
       "fib_errors",
       {},
       {{"udp4_200", udp4(53, Bytes(200, 0x11)), {}, 1, kTx}}},
      {"numa_node_and_a_foreign_pid_namespace",
       test_object("net_helpers"),
       "task_questions",
       {},
       {{"udp4_200", udp4(53, Bytes(200, 0x11)), {}, 1, kTx}}},
      {"redirect_to_ifindex",
       test_object("redirect"),
       "redirect_ifindex",
       {},
       {{"lo", redirect_request(1, 0), {}, 1, kRedirect},
        {"unknown_ifindex", redirect_request(4242, 0), {}, 1, kRedirect},
        {"flags_abort", redirect_request(1, 1), {}, 1, kAborted},
        {"not_a_request", tcp4(), {}, 1, kPass}}},
      {"redirect_through_devmap",
       test_object("redirect"),
       "redirect_devmap",
       {{"devices", le(0, 4), le(1, 4)}},
       {{"key_0_lo", redirect_request(0, 0), {}, 1, kRedirect},
        {"missing_key_default_aborted", redirect_request(2, 0), {}, 1, kAborted},
        {"missing_key_falls_back_drop", redirect_request(2, 1), {}, 1, kDrop},
        {"missing_key_falls_back_pass", redirect_request(2, 2), {}, 1, kPass},
        {"missing_key_falls_back_tx", redirect_request(3, 3), {}, 1, kTx},
        {"key_beyond_max_entries", redirect_request(100, 2), {}, 1, kPass},
        {"found_ignores_fallback", redirect_request(0, 2), {}, 1, kRedirect},
        {"unknown_flag_aborts", redirect_request(0, 4), {}, 1, kAborted},
        {"unknown_high_flag_aborts", redirect_request(2, 0x100 | 2), {}, 1, kAborted},
        {"broadcast_missing_key", redirect_request(2, 8), {}, 1, kRedirect},
        {"broadcast_exclude_ingress", redirect_request(0, 8 | 16), {}, 1, kRedirect}}},
      {"routes_by_longest_prefix",
       test_object("lpm_route"),
       "lpm_route",
       {{"routes", lpm_key(8, 0x0a000000), route(kPass, 0x08)},
        {"routes", lpm_key(16, 0x0a010000), route(kTx, 0x16)},
        {"routes", lpm_key(24, 0x0a010200), route(kDrop, 0x24)},
        {"routes", lpm_key(32, 0x0a010203), route(kTx, 0x32)},
        {"routes", lpm_key(0, 0), route(kAborted, 0)},
        {"routes", lpm_key(12, 0xc0a80000), route(kPass, 0x12)}},
       {{"host_route", udp4_to(0x0a010203), {}, 1, kTx},
        {"slash_24", udp4_to(0x0a010299), {}, 1, kDrop},
        {"slash_16", udp4_to(0x0a01ff01), {}, 1, kTx},
        {"slash_8", udp4_to(0x0a7f0001), {}, 1, kPass},
        {"slash_12", udp4_to(0xc0a8fe01), {}, 1, kPass},
        {"default_route", udp4_to(0x08080808), {}, 1, kAborted},
        {"host_route_again", udp4_to(0x0a010203), {}, 2, kTx}}},
      {"counts_flows_in_lru_hash",
       test_object("lru_flows"),
       "lru_flows",
       {},
       {{"syn", tcp4(kTcpSyn), {}, 1, kPass},
        {"ack", tcp4(kTcpAck), {}, 1, kPass},
        {"psh", tcp4(kTcpPsh | kTcpAck), {}, 3, kPass},
        {"udp_a", udp4(53), {}, 1, kPass},
        {"udp_b", udp4(54), {}, 2, kPass},
        {"udp_other_host", udp4(53, text("q"), {.src = 0x0a0000aa}), {}, 1, kPass},
        {"icmp_ignored", icmp4(), {}, 1, kPass},
        {"ipv6_ignored", udp6(), {}, 1, kPass}}},
      {"samples_headers_to_ringbuf",
       test_object("ringbuf"),
       "ringbuf_headers",
       {},
       {{"udp4", frame, {}, 1, kPass},
        {"arp_discarded", arp(), {}, 1, kPass},
        {"tcp4_repeat_2", tcp4(), {}, 2, kPass},
        {"ipv6", udp6(), {}, 1, kPass},
        {"with_ctx", icmp4(), xdp_md(0, uint32_t(icmp4().size()), 0, 1), 1, kPass},
        {"truncated", truncated_ipv4(), {}, 1, kPass},
        // 4096 bytes hold 56 runs' records (an 8-byte header each, sizes rounded up to 8);
        // then reserve and output fail and `dropped` counts.
        {"repeat_80_fills_the_ring", tcp4(), {}, 80, kPass}}},
      {"tail_calls_by_protocol",
       test_object("tail_call"),
       "tail_call_entry",
       {},
       {{"udp4_two_stages", frame, {}, 1, kTx},
        {"tcp4_one_stage", tcp4(), {}, 1, kPass},
        {"ipv6", udp6(), {}, 1, kDrop},
        {"arp_empty_slot", arp(), {}, 1, kPass},
        {"other_beyond_array", bare_ethernet(), {}, 1, kPass},
        {"udp4_repeat_3", udp4(99), {}, 3, kTx}}},
      {"stops_tail_calls_at_linux_limit",
       test_object("tail_call"),
       "tail_loop",
       {},
       {{"once", frame, {}, 1, kPass}, {"repeat_3", tcp4(), {}, 3, kPass}}},
      {"tail_calls_from_a_function_return_to_its_caller",
       test_object("tail_call"),
       "tail_call_from_function",
       {},
       {{"udp4_two_stages", frame, {}, 1, kDrop},
        {"tcp4_one_stage", tcp4(), {}, 1, kPass},
        {"arp_empty_slot", arp(), {}, 1, kPass},
        {"udp4_repeat_3", udp4(99), {}, 3, kDrop}}},
      {"stops_tail_calls_from_a_function_at_linux_limit",
       test_object("tail_call"),
       "tail_loop_from_function",
       {},
       {{"once", frame, {}, 1, kPass}, {"repeat_3", tcp4(), {}, 3, kPass}}},
      {"reads_and_writes_bytes_through_helpers",
       test_object("xdp_bytes"),
       "xdp_bytes",
       {},
       {{"udp4", frame, {}, 1, kPass},
        {"bare_ethernet", bare_ethernet(), {}, 1, kPass},
        {"with_metadata", concat(meta8, frame), xdp_md(8, len + 8), 1, kPass}}},
      {"looks_up_maps_in_maps", test_object("map_in_map"), "map_in_map", {}, every_packet(kPass)},
      {"uses_rodata_data_and_bss",
       test_object("global_data"),
       "global_data",
       {},
       {{"blocked_port", udp4(53), {}, 1, kDrop},
        {"other_port", udp4(54), {}, 1, kPass},
        {"low_ttl", udp4(54, text("q"), {.ttl = 1}), {}, 1, kDrop},
        {"tcp", tcp4(), {}, 2, kPass},
        {"arp", arp(), {}, 1, kPass}}},
      {"hashes_header_bytes_in_a_loop",
       test_object("loops"),
       "header_hash",
       {},
       {{"udp4", frame, {}, 1, kTx},
        {"bare_ethernet", bare_ethernet(), {}, 1, kTx},
        {"big", big_udp4(1500), {}, 1, kTx},
        {"repeat_4", tcp6(), {}, 4, kTx}}},
      {"checks_ipv4_checksum_with_options_in_a_loop",
       test_object("loops"),
       "ipv4_options_csum",
       {},
       {{"with_options", ipv4_options(), {}, 1, kPass},
        {"plain", frame, {}, 1, kPass},
        {"corrupted", corrupt_ipv4_checksum(frame), {}, 1, kDrop},
        {"truncated", truncated_ipv4(), {}, 1, kPass}}},
      {"answers_echo_with_subprograms",
       test_object("subprogs"),
       "echo_reply",
       {},
       {{"echo", icmp4(0x77, 1), {}, 1, kTx, echo_reply_of(0x77, 1)},
        {"echo_other_id", icmp4(0x1234, 9), {}, 1, kTx, echo_reply_of(0x1234, 9)},
        {"echo_same_id", icmp4(0x77, 2), {}, 1, kTx, echo_reply_of(0x77, 2)},
        {"udp_passes", frame, {}, 1, kPass, frame}}},
  };
}

// Every XDP program of the XDP examples on every varied packet (their maps as the object
// leaves them: the examples are self-contained).
std::vector<XdpCase> example_cases() {
  std::vector<XdpCase> out;
  std::stringstream list(POLLEN_XDP_EXAMPLE_OBJECTS);
  std::string path;
  while (std::getline(list, path, ',')) {
    if (path.empty()) continue;
    bpf_object* object = bpf_object__open_file(path.c_str(), nullptr);
    std::string stem = path.substr(path.find_last_of('/') + 1);
    stem = stem.substr(0, stem.find('.'));
    if (!object) {
      out.push_back({"example_" + stem + "_unreadable", path, "", {}, {}});
      continue;
    }
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, object) {
      if (bpf_program__type(prog) != BPF_PROG_TYPE_XDP) continue;
      std::string name = bpf_program__name(prog);
      out.push_back({stem + "_" + name, path, name, {}, every_packet(kAnyVerdict)});
    }
    bpf_object__close(object);
  }
  return out;
}

std::vector<XdpCase> all_cases() {
  std::vector<XdpCase> out = program_cases();
  for (auto& c : example_cases()) out.push_back(std::move(c));
  return out;
}

// ---- Running and comparing ----------------------------------------------------------------

// One run's result on either side, in the same shape.
struct Outcome {
  std::string refused;  ///< the errno's name ("EINVAL") of a refused run
  uint32_t retval = 0;
  Bytes data_out;
  Bytes ctx_out;
};

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "errno " + std::to_string(err);
}

Outcome from_kernel(const KernelXdpRun& run) {
  if (run.refused) return {errno_name(run.refused), 0, {}, {}};
  return {"", run.retval, run.data_out, run.ctx_out};
}

// Pollen's refusals are Errc::InvalidArgument whose message ends in "(EINVAL)"; anything else
// it returns is not a run Linux would refuse, so the caller fails with it.
std::optional<Outcome> from_pollen(const Result<TestRunResult>& run, std::string& error) {
  if (run) return Outcome{"", static_cast<uint32_t>(run->retval), run->data_out, run->ctx_out};
  const std::string& message = run.error().message;
  const size_t open = message.rfind("(E");
  if (run.error().code == Errc::InvalidArgument && open != std::string::npos &&
      message.back() == ')')
    return Outcome{message.substr(open + 1, message.size() - open - 2), 0, {}, {}};
  error = run.error().str();
  return std::nullopt;
}

std::string describe(const Outcome& o) {
  return o.refused.empty() ? "verdict " + std::to_string(o.retval) : "refused " + o.refused;
}

// Empty when the two agree; otherwise every field that differs, bytes as hex diffs.
std::string difference(const Outcome& kernel, const Outcome& ours) {
  std::string out;
  if (kernel.refused != ours.refused || kernel.retval != ours.retval)
    out += "kernel: " + describe(kernel) + ", pollen: " + describe(ours) + "\n";
  if (auto d = byte_diff(kernel.data_out, ours.data_out); !d.empty()) out += "data_out: " + d;
  if (auto d = byte_diff(kernel.ctx_out, ours.ctx_out); !d.empty()) out += "ctx_out: " + d;
  return out;
}

// Empty when the kernel did what the case says it must.
std::string unexpected(const PacketRun& run, const Outcome& kernel) {
  std::string out;
  if (run.expect != kAnyVerdict) {
    const Outcome want{run.expect < 0 ? errno_name(int(-run.expect)) : "",
                       run.expect < 0 ? 0u : uint32_t(run.expect)};
    if (want.refused != kernel.refused || want.retval != kernel.retval)
      out += "expected " + describe(want) + ", the kernel gave " + describe(kernel) + "\n";
  }
  if (run.expect_out)
    if (auto d = byte_diff(*run.expect_out, kernel.data_out, "expected", "kernel"); !d.empty())
      out += "data_out: " + d;
  return out;
}

// When the case ran, in CLOCK_MONOTONIC nanoseconds, the clock of bpf_ktime_get_ns.
struct TimeWindow {
  uint64_t begin = 0, end = 0;
  bool holds(uint64_t ns) const { return ns >= begin && ns <= end; }
};

uint64_t monotonic_ns() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return uint64_t(now.tv_sec) * 1000000000 + uint64_t(now.tv_nsec);
}

// A bpf_ktime_get_ns value stored in a map differs between the kernel's run and Pollen's by
// when each ran. An aligned 64-bit word that differs but holds a time within the case's run
// on both sides is such a timestamp and counts as equal (zeroed in the copies compared).
std::pair<Bytes, Bytes> without_timestamps(Bytes kernel, Bytes ours, const TimeWindow& window) {
  for (size_t i = 0; i + 8 <= kernel.size() && i + 8 <= ours.size(); i += 8) {
    uint64_t k, p;
    std::memcpy(&k, kernel.data() + i, 8);
    std::memcpy(&p, ours.data() + i, 8);
    if (k != p && window.holds(k) && window.holds(p)) {
      std::fill_n(kernel.begin() + i, 8, 0);
      std::fill_n(ours.begin() + i, 8, 0);
    }
  }
  return {std::move(kernel), std::move(ours)};
}

std::string map_difference(const MapContents& kernel, const MapContents& ours,
                           const TimeWindow& window) {
  std::ostringstream out;
  if (kernel.entries.size() != ours.entries.size())
    out << "kernel has " << kernel.entries.size() << " entries, pollen " << ours.entries.size()
        << "\n";
  for (size_t i = 0; i < std::min(kernel.entries.size(), ours.entries.size()); ++i) {
    const MapEntry &k = kernel.entries[i], &p = ours.entries[i];
    if (auto d = byte_diff(k.key, p.key); !d.empty()) {
      out << "entry " << i << " key: " << d;
      continue;
    }
    if (k.values.size() != p.values.size()) {
      out << "entry " << i << ": kernel has " << k.values.size() << " values, pollen "
          << p.values.size() << "\n";
      continue;
    }
    for (size_t v = 0; v < k.values.size(); ++v) {
      auto [kv, pv] = without_timestamps(k.values[v], p.values[v], window);
      if (auto d = byte_diff(kv, pv); !d.empty())
        out << "entry " << i << " (key " << hex_dump(k.key).substr(5) << ") value: " << d;
    }
  }
  for (auto [what, a, b] : {std::tuple{"value", &kernel.values, &ours.values},
                            std::tuple{"record", &kernel.records, &ours.records}}) {
    if (a->size() != b->size())
      out << "kernel has " << a->size() << " " << what << "s, pollen " << b->size() << "\n";
    for (size_t i = 0; i < std::min(a->size(), b->size()); ++i) {
      auto [av, bv] = without_timestamps((*a)[i], (*b)[i], window);
      if (auto d = byte_diff(av, bv); !d.empty()) out << what << " " << i << ": " << d;
    }
  }
  return out.str();
}

class XdpDifferential : public testing::TestWithParam<std::tuple<XdpCase, Engine>> {};

TEST_P(XdpDifferential, KernelAndPollenAgree) {
  const auto& [c, engine] = GetParam();
  std::string why;
  if (!KernelObject::available(why)) GTEST_SKIP() << "BPF is unavailable: " << why;
  if (!engine_supported(engine)) GTEST_SKIP() << "this Pollen build has no JIT for this host";
  ASSERT_FALSE(c.program.empty()) << "libbpf cannot open " << c.object;
  const bool verbose = std::getenv("POLLEN_XDP_DIFF_VERBOSE") != nullptr;
  TimeWindow window{monotonic_ns()};
  auto kernel = KernelObject::load(c.object);
  ASSERT_TRUE(kernel) << kernel.error().str();
  auto ours = Object::open(c.object);
  ASSERT_TRUE(ours) << ours.error().str();
  for (const MapFill& fill : c.fills) {
    auto k = kernel->update(fill.map, fill.key, fill.value);
    ASSERT_TRUE(k) << k.error().str();
    auto p = ours->update(fill.map, fill.key, fill.value);
    ASSERT_TRUE(p) << "pollen: " << p.error().str();
  }
  for (const PacketRun& run : c.runs) {
    SCOPED_TRACE("run '" + run.label + "' (" + std::to_string(run.data_in.size()) +
                 " bytes, repeat " + std::to_string(run.repeat) + ")");
    auto k = kernel->test_run_xdp(c.program, {run.data_in, run.ctx_in, run.repeat});
    ASSERT_TRUE(k) << k.error().str();
    const Outcome expected = from_kernel(*k);
    if (verbose)
      std::cout << run.label << ": kernel " << describe(expected) << "\n"
                << hex_dump(expected.data_out) << "ctx_out:\n"
                << hex_dump(expected.ctx_out);
    EXPECT_EQ(unexpected(run, expected), "") << "the case's expectation of the kernel";
    TestRunOptions options;
    options.data_in = run.data_in;
    options.ctx_in = run.ctx_in;
    options.repeat = run.repeat;
    options.engine = engine;
    if (c.multi_buffer) {
      auto refused = ours->test_run(c.program, options);
      ASSERT_FALSE(refused) << "pollen ran a multi-buffer case; make it a normal case";
      EXPECT_EQ(refused.error().code, Errc::NotSupported) << refused.error().str();
      EXPECT_NE(refused.error().message.find("multi-buffer frame"), std::string::npos)
          << refused.error().message;
      continue;
    }
    std::string error;
    auto actual = from_pollen(ours->test_run(c.program, options), error);
    ASSERT_TRUE(actual) << "pollen failed where the kernel gave " << describe(expected) << ": "
                        << error;
    EXPECT_EQ(difference(expected, *actual), "");
  }
  if (c.multi_buffer)
    GTEST_SKIP() << "known difference: the kernel runs these on multi-buffer frames, which "
                    "Pollen does not support yet (it says so with NotSupported)";
  auto kernel_maps = kernel->dump();
  ASSERT_TRUE(kernel_maps) << kernel_maps.error().str();
  window.end = monotonic_ns();
  for (const auto& [name, contents] : *kernel_maps) {
    if (verbose) {
      std::cout << "map " << name << ":\n";
      for (const MapEntry& e : contents.entries)
        for (const Bytes& v : e.values) std::cout << hex_dump(e.key) << " ->\n" << hex_dump(v);
      for (const Bytes& r : contents.records) std::cout << "record\n" << hex_dump(r);
    }
    auto mine = ours->dump(name);
    ASSERT_TRUE(mine) << "pollen cannot dump map " << name << ": " << mine.error().str();
    EXPECT_EQ(map_difference(contents, *mine, window), "")
        << "map " << name << " (" << mine->type << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(Xdp, XdpDifferential,
                         testing::Combine(testing::ValuesIn(all_cases()),
                                          testing::Values(Engine::Interpreter, Engine::Jit)),
                         [](const auto& info) {
                           return std::get<0>(info.param).name +
                                  (std::get<1>(info.param) == Engine::Jit ? "_jit"
                                                                          : "_interpreter");
                         });

}  // namespace
}  // namespace pollen::test

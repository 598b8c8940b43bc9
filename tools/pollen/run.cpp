// SPDX-License-Identifier: MIT
// `pollen run OBJ --pcap IN.pcap` and `pollen run OBJ --iface NAME`: Pollen's main job, an XDP
// program run on one packet after another. From a capture file, PASS and TX packets go to --out
// as the program left them, with their original timestamps. On a live interface (an AF_PACKET
// socket), TX sends the frame back out of the interface and REDIRECT out of the target
// interface; PASS and DROP are only counted, as user space cannot hand a frame to the kernel's
// stack. Either way the result is the count of packets and bytes per verdict and the program's
// throughput, with --dump-maps every map at the end. Exit codes: 0 ok, 1 the verifier rejected
// the program or a run faulted, 2 bad usage or unreadable input (a corrupt or cut capture, a
// link type other than Ethernet, a program that is not XDP).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>

#include "capture.hpp"
#include "cli.hpp"
#include "maps_json.hpp"
#include "pollen/object.hpp"

namespace pollen::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Linux's enum xdp_action, in order.
constexpr std::array<const char*, 5> kVerdicts = {"aborted", "drop", "pass", "tx", "redirect"};
constexpr uint32_t kXdpAborted = 0, kXdpPass = 2, kXdpTx = 3, kXdpRedirect = 4;
constexpr uint32_t kEthHeaderLen = 14;  // ETH_HLEN: Linux delivers no shorter frame
constexpr auto kProgressEvery = std::chrono::milliseconds(500);
constexpr auto kPollEvery = std::chrono::milliseconds(100);

struct RunCliOptions {
  std::string path;
  std::string program;
  std::string pcap;
  std::string out;
  std::string iface;
  std::string maps_in;
  uint64_t count = 0;   // 0: no limit
  double duration = 0;  // seconds; 0: no limit
  Engine engine = Engine::Auto;
  bool json = false;
  bool dump_maps = false;
  bool unsafe_no_verify = false;
};

struct Counter {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  void add(size_t size) {
    ++packets;
    bytes += size;
  }
};

struct Stats {
  Counter input;                    // every packet read or received
  std::array<Counter, 5> verdicts;  // by XDP action; Linux treats unknown ones as aborted
  Counter too_long;                 // more than one frame holds
  Counter too_short;                // shorter than an Ethernet header
  std::string too_long_reason;      // the runner's word on the first one
  Clock::duration run_time{};       // the program's runs only
  Clock::duration loop_time{};      // reading, running and writing
  uint64_t written = 0;             // --out records
  uint64_t tx_sent = 0, redirect_sent = 0, redirect_not_interface = 0, send_errors = 0;
  std::string first_send_error;
  bool interrupted = false;
};

// SIGINT stops the loop; the summary is still printed.
volatile std::sig_atomic_t g_interrupted = 0;

class InterruptGuard {
 public:
  InterruptGuard() {
    struct sigaction action {};
    action.sa_handler = [](int) { g_interrupted = 1; };
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: a blocked poll() returns at once
    sigaction(SIGINT, &action, &previous_);
  }
  ~InterruptGuard() { sigaction(SIGINT, &previous_, nullptr); }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction previous_ {};
};

// A progress line on stderr, rewritten in place, for a person watching a terminal only.
class Progress {
 public:
  Progress() : enabled_(isatty(STDERR_FILENO) == 1) {}
  template <class Describe>
  void tick(Describe describe) {
    if (!enabled_) return;
    const auto now = Clock::now();
    if (now < next_) return;
    next_ = now + kProgressEvery;
    std::cerr << '\r' << describe() << "\x1b[K" << std::flush;
    shown_ = true;
  }
  ~Progress() {
    if (shown_) std::cerr << "\r\x1b[K" << std::flush;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  Clock::time_point next_ = Clock::now() + kProgressEvery;
};

// Errors as one line, "pollen run: <file>: <what>", with the exit code for their kind.
int fail(const Error& error, std::string_view input) {
  std::string line = error.str();
  if (error.location.file.empty() && !input.empty()) line = fmt::format("{}: {}", input, line);
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::replace(line.begin(), line.end(), '\r', ' ');
  std::cerr << "pollen run: " << line << '\n';
  return error.code == Errc::RuntimeFault || error.code == Errc::Rejected ? kExitFailed
                                                                          : kExitUsage;
}

Error usage_error(std::string message) {
  return make_error(Errc::InvalidArgument, Location::none(), std::move(message));
}

// --program, or the object's only XDP program, or its only program (refused later if it is
// not XDP).
Result<std::string> choose_program(const Object& object, const std::string& wanted) {
  const auto programs = object.programs();
  if (!wanted.empty()) {
    if (std::none_of(programs.begin(), programs.end(),
                     [&](const ProgramInfo& p) { return p.name == wanted; }))
      return usage_error(fmt::format("no program named '{}'", wanted));
    return wanted;
  }
  const auto xdp = std::count_if(programs.begin(), programs.end(),
                                 [](const ProgramInfo& p) { return p.type == "xdp"; });
  if (xdp == 1)
    return std::find_if(programs.begin(), programs.end(),
                        [](const ProgramInfo& p) { return p.type == "xdp"; })
        ->name;
  if (programs.size() == 1) return programs[0].name;
  return usage_error(
      fmt::format("the object has {} programs, {} of them XDP; choose one with "
                  "--program",
                  programs.size(), xdp));
}

// Runs the program on one packet and counts the verdict. nullopt: the packet was skipped.
Result<std::optional<XdpOutcome>> run_one(XdpRunner& runner, std::span<const uint8_t> packet,
                                          uint32_t ifindex, Stats& stats) {
  stats.input.add(packet.size());
  if (packet.size() < kEthHeaderLen) {
    stats.too_short.add(packet.size());
    return std::optional<XdpOutcome>{};
  }
  const auto start = Clock::now();
  auto outcome = runner.run(packet, ifindex);
  stats.run_time += Clock::now() - start;
  if (!outcome) {
    // The runner refuses only a packet one frame cannot hold as NotSupported; anything else
    // (a fault in unsafe mode) ends the run.
    if (outcome.error().code != Errc::NotSupported) return std::move(outcome).error();
    if (stats.too_long.packets == 0) stats.too_long_reason = outcome.error().message;
    stats.too_long.add(packet.size());
    return std::optional<XdpOutcome>{};
  }
  const uint32_t action = outcome->action < kVerdicts.size() ? outcome->action : kXdpAborted;
  stats.verdicts[action].add(packet.size());
  return std::optional<XdpOutcome>{*outcome};
}

// "packet 5: insn 10: ...": the packet first, then where in the program.
Error in_packet(const Error& error, uint64_t index) {
  const bool located = error.location.kind != Location::Kind::None;
  const std::string where = located ? error.location.str() + ": " : "";
  return make_error(error.code,
                    Location{Location::Kind::None, 0, located ? "" : error.location.file},
                    fmt::format("packet {}: {}{}", index, where, error.message));
}

// When --duration runs out, counted from `start`.
Clock::time_point deadline_of(const RunCliOptions& options, Clock::time_point start) {
  if (options.duration <= 0) return Clock::time_point::max();
  return start + std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(options.duration));
}

// Whether the loop stops before the next packet: --count, --duration or SIGINT.
bool should_stop(const RunCliOptions& options, Clock::time_point deadline, Stats& stats) {
  if (options.count != 0 && stats.input.packets >= options.count) return true;
  stats.interrupted = g_interrupted != 0;
  return stats.interrupted || (options.duration > 0 && Clock::now() >= deadline);
}

// ---- the capture file loop -----------------------------------------------------------------

// A PASS or TX packet as the program left it; its wire length follows the change the program
// made to the captured bytes.
void write_packet(PcapWriter& writer, const CapturedPacket& in, std::span<const uint8_t> out) {
  const int64_t wire = int64_t{in.wire_length} + static_cast<int64_t>(out.size()) -
                       static_cast<int64_t>(in.bytes.size());
  writer.write(out, static_cast<uint32_t>(std::max<int64_t>(wire, 0)), in.time);
}

Result<Stats> run_pcap(XdpRunner& runner, const RunCliOptions& options) {
  POLLEN_TRY(PcapReader reader, PcapReader::open(options.pcap));
  std::optional<PcapWriter> writer;
  if (!options.out.empty()) {
    // Room for packets the program grew (bpf_xdp_adjust_head/tail) beyond a short snapshot.
    POLLEN_TRY(PcapWriter created,
               PcapWriter::create(options.out, std::max<uint32_t>(reader.snapshot_length(), 65535),
                                  reader.nanosecond_timestamps()));
    writer.emplace(std::move(created));
  }
  Stats stats;
  Progress progress;
  InterruptGuard interrupt;
  const auto start = Clock::now();
  const auto deadline = deadline_of(options, start);
  while (!should_stop(options, deadline, stats)) {
    POLLEN_TRY(std::optional<CapturedPacket> packet, reader.next());
    if (!packet) break;
    // Packets from a file come in on the loopback device, as in Linux's test runs.
    auto outcome = run_one(runner, packet->bytes, 1, stats);
    if (!outcome) return in_packet(outcome.error(), stats.input.packets);
    if (writer && *outcome && ((*outcome)->action == kXdpPass || (*outcome)->action == kXdpTx))
      write_packet(*writer, *packet, (*outcome)->packet);
    progress.tick([&] {
      auto done = reader.progress();
      return done ? fmt::format("{} packets, {:.0f}% of {}", stats.input.packets, *done * 100,
                                display_name(options.pcap))
                  : fmt::format("{} packets", stats.input.packets);
    });
  }
  stats.loop_time = Clock::now() - start;
  if (writer) {
    POLLEN_CHECK(writer->close());
    stats.written = writer->records();
  }
  return stats;
}

// ---- the live interface loop ---------------------------------------------------------------

void send_counted(PacketSocket& socket, std::span<const uint8_t> frame, uint32_t ifindex,
                  uint64_t& sent, Stats& stats) {
  if (auto ok = socket.send(frame, ifindex); ok) {
    ++sent;
  } else {
    if (stats.send_errors++ == 0) stats.first_send_error = ok.error().str();
  }
}

Result<Stats> run_iface(XdpRunner& runner, const RunCliOptions& options) {
  POLLEN_TRY(PacketSocket socket, PacketSocket::open(options.iface));
  Stats stats;
  InterruptGuard interrupt;
  // Said on stderr so that a script (and the tests) can wait for it before sending.
  std::cerr << fmt::format("pollen run: listening on {} (ifindex {}); Ctrl-C stops\n",
                           socket.interface(), socket.ifindex())
            << std::flush;
  Progress progress;
  const auto start = Clock::now();
  const auto deadline = deadline_of(options, start);
  while (!should_stop(options, deadline, stats)) {
    // Never negative: poll() would take that as "wait forever".
    const auto wait =
        std::clamp<Clock::duration>(deadline - Clock::now(), Clock::duration::zero(), kPollEvery);
    POLLEN_TRY(std::optional<ReceivedFrame> frame,
               socket.receive(std::chrono::ceil<std::chrono::milliseconds>(wait)));
    if (!frame) continue;
    auto outcome = run_one(runner, frame->bytes, socket.ifindex(), stats);
    if (!outcome) return in_packet(outcome.error(), stats.input.packets);
    if (*outcome && (*outcome)->action == kXdpTx)
      send_counted(socket, (*outcome)->packet, 0, stats.tx_sent, stats);
    if (*outcome && (*outcome)->action == kXdpRedirect) {
      if ((*outcome)->redirect_ifindex == 0)
        ++stats.redirect_not_interface;  // a CPU map or AF_XDP socket: nothing to send to
      else
        send_counted(socket, (*outcome)->packet, (*outcome)->redirect_ifindex, stats.redirect_sent,
                     stats);
    }
    progress.tick([&] { return fmt::format("{} packets", stats.input.packets); });
  }
  stats.loop_time = Clock::now() - start;
  return stats;
}

// ---- the summary ---------------------------------------------------------------------------

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

Json rate_json(uint64_t packets, uint64_t bytes, Clock::duration time) {
  const double s = seconds(time);
  return {{"ns", std::chrono::duration<double, std::nano>(time).count()},
          {"ns_per_packet", packets == 0 ? 0.0 : s * 1e9 / static_cast<double>(packets)},
          {"packets_per_second", s == 0 ? 0.0 : static_cast<double>(packets) / s},
          {"mbit_per_second", s == 0 ? 0.0 : static_cast<double>(bytes) * 8 / s / 1e6}};
}

Json counter_json(const Counter& c) {
  return {{"packets", c.packets}, {"bytes", c.bytes}};
}

// What the program ran on: every packet not skipped.
Counter ran(const Stats& s) {
  Counter out;
  for (const Counter& c : s.verdicts) {
    out.packets += c.packets;
    out.bytes += c.bytes;
  }
  return out;
}

Json summary_json(const std::string& program, const XdpRunner& runner, const RunCliOptions& options,
                  const Stats& s) {
  Json input = options.iface.empty() ? Json{{"pcap", display_name(options.pcap)}}
                                     : Json{{"iface", options.iface}};
  Json verdicts = Json::object();
  for (size_t i = 0; i < kVerdicts.size(); ++i)
    verdicts[kVerdicts[i]] = counter_json(s.verdicts[i]);
  const Counter r = ran(s);
  Json out = {{"program", program},
              {"engine", runner.engine() == Engine::Jit ? "jit" : "interp"},
              {"input", std::move(input)},
              {"packets", s.input.packets},
              {"bytes", s.input.bytes},
              {"verdicts", std::move(verdicts)},
              {"skipped",
               {{"too_long", counter_json(s.too_long)}, {"too_short", counter_json(s.too_short)}}},
              {"interrupted", s.interrupted}};
  if (!options.out.empty()) out["out"] = {{"path", options.out}, {"packets", s.written}};
  if (!options.iface.empty())
    out["sent"] = {{"tx", s.tx_sent},
                   {"redirect", s.redirect_sent},
                   {"redirect_not_interface", s.redirect_not_interface},
                   {"errors", s.send_errors}};
  out["time"] = {{"run", rate_json(r.packets, r.bytes, s.run_time)},
                 {"loop", rate_json(s.input.packets, s.input.bytes, s.loop_time)}};
  return out;
}

std::string rate_text(const Json& rate) {
  return fmt::format("{:.3f} ms, {:.1f} ns/packet, {:.0f} packets/s, {:.1f} Mbit/s",
                     rate["ns"].get<double>() / 1e6, rate["ns_per_packet"].get<double>(),
                     rate["packets_per_second"].get<double>(),
                     rate["mbit_per_second"].get<double>());
}

void print_text(const Json& j, const Stats& s) {
  const auto& input = j["input"];
  fmt::print("program {} ({}) on {}: {} packets, {} bytes{}\n", j["program"].get<std::string>(),
             j["engine"].get<std::string>(),
             input.contains("pcap") ? input["pcap"].get<std::string>()
                                    : "interface " + input["iface"].get<std::string>(),
             s.input.packets, s.input.bytes, s.interrupted ? " (interrupted)" : "");
  for (size_t i = 0; i < kVerdicts.size(); ++i)
    fmt::print("  {:<9}{:>12} packets {:>14} bytes\n", kVerdicts[i], s.verdicts[i].packets,
               s.verdicts[i].bytes);
  if (s.too_long.packets != 0)
    fmt::print("skipped {} packets too long for one frame ({})\n", s.too_long.packets,
               s.too_long_reason);
  if (s.too_short.packets != 0)
    fmt::print("skipped {} packets shorter than an Ethernet header ({} bytes)\n",
               s.too_short.packets, kEthHeaderLen);
  if (j.contains("out"))
    fmt::print("wrote {} PASS and TX packets to {}\n", s.written,
               j["out"]["path"].get<std::string>());
  if (j.contains("sent")) {
    fmt::print("sent {} TX frames back out, {} REDIRECT frames ({} redirects to no interface)\n",
               s.tx_sent, s.redirect_sent, s.redirect_not_interface);
    if (s.send_errors != 0)
      fmt::print("{} frames could not be sent; the first: {}\n", s.send_errors, s.first_send_error);
  }
  fmt::print("program runs: {}\n", rate_text(j["time"]["run"]));
  fmt::print("whole loop:   {}\n", rate_text(j["time"]["loop"]));
  if (j.contains("maps"))
    for (const auto& [name, map] : j["maps"].items()) fmt::print("map {}: {}\n", name, map.dump());
}

int run_run(const RunCliOptions& options) {
  const std::string name = options.path;
  auto object = Object::open(options.path);
  if (!object) return fail(object.error(), name);
  auto program = choose_program(*object, options.program);
  if (!program) return fail(program.error(), name);
  if (!options.maps_in.empty())
    if (auto filled = fill_maps(*object, options.maps_in); !filled)
      return fail(filled.error(), name);
  auto runner = object->xdp_runner(*program, {options.engine, options.unsafe_no_verify});
  if (!runner) return fail(runner.error(), name);
  g_interrupted = 0;
  auto stats = options.iface.empty() ? run_pcap(*runner, options) : run_iface(*runner, options);
  if (!stats) return fail(stats.error(), options.iface.empty() ? options.pcap : options.iface);
  Json summary = summary_json(*program, *runner, options, *stats);
  if (options.dump_maps) {
    auto maps = maps_json(*object);
    if (!maps) return fail(maps.error(), name);
    summary["maps"] = std::move(*maps);
  }
  if (options.json)
    std::cout << summary.dump(2) << '\n';
  else
    print_text(summary, *stats);
  return kExitOk;
}

}  // namespace

Command add_run_command(CLI::App& parent) {
  auto options = std::make_shared<RunCliOptions>();
  CLI::App* app = parent.add_subcommand(
      "run",
      "Run an XDP program on every packet of a capture file (--pcap) or of a live interface "
      "(--iface) and count the verdicts");
  app->footer(
      "From a capture file, PASS and TX packets are written to --out as the program left them, "
      "with their original timestamps. On a live interface (an AF_PACKET socket; needs "
      "CAP_NET_RAW), TX frames go back out of the interface and REDIRECT frames out of the "
      "target interface; PASS and DROP are only counted: user space cannot hand a frame to the "
      "kernel's network stack, and the kernel has already received every frame Pollen sees. "
      "Times: \"program runs\" is the runs alone; \"whole loop\" is everything from the first "
      "packet to the last, reading and writing too (on an interface, waiting for frames as "
      "well). "
      "Exit codes: 0 ok, 1 the program was rejected or faulted, 2 bad usage or unreadable "
      "input.");
  app->add_option("OBJ", options->path, "BPF ELF object holding the XDP program")
      ->required()
      ->type_name("OBJ");
  app->add_option("--program", options->program,
                  "Program to run, by its function name (default: the only XDP program)")
      ->type_name("NAME");
  auto* pcap = app->add_option("--pcap", options->pcap,
                               "Read packets from a capture file "
                               "(pcap or pcapng, Ethernet; '-' stdin)")
                   ->type_name("FILE");
  auto* iface = app->add_option("--iface", options->iface,
                                "Receive packets on a live interface until --count, "
                                "--duration or Ctrl-C")
                    ->type_name("NAME");
  pcap->excludes(iface);
  app->add_option("--out", options->out,
                  "--pcap: write the PASS and TX packets, as rewritten, to this pcap file")
      ->type_name("FILE")
      ->needs(pcap);
  app->add_option("--count", options->count, "Stop after N packets")
      ->check(whole_number(1))
      ->type_name("N");
  app->add_option("--duration", options->duration, "Stop after SECONDS")
      ->check(CLI::PositiveNumber)
      ->type_name("SECONDS");
  add_engine_option(*app, options->engine);
  app->add_option("--maps-in", options->maps_in,
                  "Fill maps first from JSON shaped like test-run's \"maps\"")
      ->type_name("FILE");
  app->add_flag("--dump-maps", options->dump_maps, "Print every map's contents at the end");
  app->add_flag("--json", options->json, "Print the summary as one JSON object");
  app->add_flag("--unsafe-no-verify", options->unsafe_no_verify,
                "UNSAFE, for tests: run a program the verifier rejected (checked mode)");
  return {app, [options, pcap, iface] {
            if (pcap->count() == 0 && iface->count() == 0)
              return fail(usage_error("one of --pcap or --iface is required"), "");
            return run_run(*options);
          }};
}

}  // namespace pollen::cli

// SPDX-License-Identifier: MIT
// Tests of XDP programs through the object API: Object::test_run with the rules of Linux's
// bpf_prog_test_run_xdp (ETH_HLEN minimum, struct xdp_md ctx_in checks, metadata in data_out,
// changes accumulating over repeats, the loopback device as the default ingress), the refusal
// of programs the verifier rejects and the unsafe mode that runs them checked, and XdpRunner.
// The test programs are tests/runtime/bpf/*.bpf.c; the tests skip where clang could not build
// them. The kernel differential (tests/differential) checks the same rules against Linux.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "pollen/object.hpp"

namespace pollen {
namespace {

using Bytes = std::vector<uint8_t>;

std::string object_path(const std::string& name) {
  return std::string(POLLEN_TEST_BPF_DIR) + "/runtime_" + name + ".o";
}

#define OPEN_OBJECT(var, name)                                                               \
  if (!std::filesystem::exists(object_path(name)))                                           \
    GTEST_SKIP() << "test object " << object_path(name) << " was not built (no BPF clang)"; \
  auto var##_result = Object::open(object_path(name));                                       \
  ASSERT_TRUE(var##_result) << var##_result.error().str();                                   \
  Object& var = *var##_result

// A 16-byte frame: destination MAC 00..05, source 06..0b, ethertype `type_hi` 00, two bytes.
Bytes frame(uint8_t type_hi = 0x08) {
  return {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, type_hi, 0, 0x45, 0};
}

Bytes xdp_md(uint32_t data, uint32_t data_end, uint32_t data_meta = 0, uint32_t ifindex = 0,
             uint32_t queue = 0, uint32_t egress = 0) {
  Bytes out(24);
  const uint32_t fields[6] = {data, data_end, data_meta, ifindex, queue, egress};
  std::memcpy(out.data(), fields, sizeof fields);
  return out;
}

uint64_t u64_value(Object& object, const char* map, uint32_t key) {
  Bytes k(4);
  std::memcpy(k.data(), &key, 4);
  auto v = object.lookup(map, k);
  EXPECT_TRUE(v) << v.error().str();
  uint64_t out = 0;
  if (v) std::memcpy(&out, v->data(), 8);
  return out;
}

TestRunOptions packet_run(Bytes data, uint64_t repeat = 1, Engine engine = Engine::Interpreter) {
  TestRunOptions options;
  options.data_in = std::move(data);
  options.repeat = repeat;
  options.engine = engine;
  return options;
}

TEST(XdpTestRun, RunsOnTheFrameAndComesInOnLoopback) {
  OPEN_OBJECT(object, "xdp_basic");
  for (Engine engine : {Engine::Interpreter, Engine::Jit}) {
    if (!engine_supported(engine)) continue;
    auto run = object.test_run("xdp_basic", packet_run(frame(), 1, engine));
    ASSERT_TRUE(run) << run.error().str();
    EXPECT_EQ(run->retval, 2u);  // XDP_PASS
    Bytes expected = frame();
    expected[0] = 0xff;
    EXPECT_EQ(run->data_out, expected);
    EXPECT_TRUE(run->ctx_out.empty());
  }
  // Both runs came in on ifindex 1 (loopback), 16 bytes each.
  EXPECT_EQ(u64_value(object, "bytes_by_ifindex", 1), 32u);
  auto drop = object.test_run("xdp_basic", packet_run(frame(0x86)));
  ASSERT_TRUE(drop) << drop.error().str();
  EXPECT_EQ(drop->retval, 1u);  // XDP_DROP
}

TEST(XdpTestRun, RepeatRunsAgainOnTheModifiedFrame) {
  OPEN_OBJECT(object, "xdp_basic");
  auto twice = object.test_run("xdp_basic", packet_run(frame(), 2));
  ASSERT_TRUE(twice) << twice.error().str();
  EXPECT_EQ(twice->data_out, frame());  // flipped twice
  EXPECT_EQ(twice->repeat, 2u);
  auto thrice = object.test_run("xdp_basic", packet_run(frame(), 3));
  ASSERT_TRUE(thrice) << thrice.error().str();
  EXPECT_EQ(thrice->data_out[0], 0xff);
  EXPECT_EQ(u64_value(object, "bytes_by_ifindex", 1), 5u * 16u);
}

TEST(XdpTestRun, RefusesInputShorterThanAnEthernetHeader) {
  OPEN_OBJECT(object, "xdp_basic");
  auto run = object.test_run("xdp_basic", packet_run(Bytes(13, 0)));
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, Errc::InvalidArgument);
  EXPECT_NE(run.error().message.find("(EINVAL)"), std::string::npos) << run.error().message;
  EXPECT_TRUE(object.test_run("xdp_basic", packet_run(Bytes(14, 0))));
}

TEST(XdpTestRun, CtxInIsCheckedAsLinuxChecksIt) {
  OPEN_OBJECT(object, "xdp_basic");
  struct Case {
    const char* what;
    Bytes ctx;
    const char* errno_text;
  };
  const Case cases[] = {
      {"data_meta set", xdp_md(0, 16, 4), "(EINVAL)"},
      {"data_end beyond the input", xdp_md(0, 17), "(EINVAL)"},
      {"metadata not a multiple of 4", xdp_md(3, 16), "(EINVAL)"},
      {"data beyond data_end", xdp_md(20, 16), "(EINVAL)"},
      {"egress_ifindex set", xdp_md(0, 16, 0, 0, 0, 1), "(EINVAL)"},
      {"queue without an interface", xdp_md(0, 16, 0, 0, 1), "(EINVAL)"},
      {"no such interface", xdp_md(0, 16, 0, 0x7ffffff0), "(ENODEV)"},
      {"queue the interface lacks", xdp_md(0, 16, 0, 1, 1000), "(EINVAL)"},
  };
  for (const Case& c : cases) {
    TestRunOptions options = packet_run(frame());
    options.ctx_in = c.ctx;
    auto run = object.test_run("xdp_basic", options);
    ASSERT_FALSE(run) << c.what;
    EXPECT_NE(run.error().message.find(c.errno_text), std::string::npos)
        << c.what << ": " << run.error().message;
  }
  TestRunOptions longer = packet_run(frame());
  longer.ctx_in = xdp_md(0, 16);
  longer.ctx_in->push_back(1);  // bytes beyond struct xdp_md must be zero (bpf_ctx_init)
  auto run = object.test_run("xdp_basic", longer);
  ASSERT_FALSE(run);
  EXPECT_NE(run.error().message.find("(E2BIG)"), std::string::npos) << run.error().message;
}

TEST(XdpTestRun, MetadataMayTakeTheHeadroomUpToStructXdpFrame) {
  OPEN_OBJECT(object, "xdp_basic");
  // Linux 6.18: 216 bytes (256 of headroom less 40 for struct xdp_frame) load, 220 do not.
  for (uint32_t meta : {216u, 220u}) {
    Bytes input(meta, 0x11);
    const Bytes packet = frame();
    input.insert(input.end(), packet.begin(), packet.end());
    TestRunOptions options = packet_run(input);
    options.ctx_in = xdp_md(meta, static_cast<uint32_t>(input.size()));
    auto run = object.test_run("xdp_basic", options);
    EXPECT_EQ(static_cast<bool>(run), meta == 216u) << meta;
    if (run) EXPECT_EQ(run->data_out.size(), input.size());
  }
}

TEST(XdpTestRun, MetadataComesInFrontOfTheFrameAndBackInDataOut) {
  OPEN_OBJECT(object, "xdp_basic");
  Bytes input = {0xaa, 0xbb, 0xcc, 0xdd};
  const Bytes packet = frame();
  input.insert(input.end(), packet.begin(), packet.end());
  TestRunOptions options = packet_run(input);
  options.ctx_in = xdp_md(4, static_cast<uint32_t>(input.size()), 0, 1, 0);
  auto run = object.test_run("xdp_meta_reader", options);
  ASSERT_TRUE(run) << run.error().str();
  EXPECT_EQ(run->retval, 2u);
  Bytes expected = input;
  std::memcpy(expected.data() + 4, input.data(), 4);  // the metadata word
  std::memset(expected.data() + 8, 0, 4);             // rx_queue_index 0
  EXPECT_EQ(run->data_out, expected);
  EXPECT_EQ(run->ctx_out, xdp_md(4, static_cast<uint32_t>(input.size()), 0, 1, 0));
  // ctx_out gives ingress_ifindex back as ctx_in gave it: 0 stays 0, though the packet came
  // in on loopback.
  options.ctx_in = xdp_md(4, static_cast<uint32_t>(input.size()));
  auto defaulted = object.test_run("xdp_meta_reader", options);
  ASSERT_TRUE(defaulted) << defaulted.error().str();
  EXPECT_EQ(defaulted->ctx_out, xdp_md(4, static_cast<uint32_t>(input.size())));
  // Without metadata the reader sees none.
  auto bare = object.test_run("xdp_meta_reader", packet_run(frame()));
  ASSERT_TRUE(bare) << bare.error().str();
  EXPECT_EQ(bare->retval, 1u);
}

TEST(XdpTestRun, RefusesARejectedProgramUnlessUnsafe) {
  OPEN_OBJECT(object, "xdp_unchecked");
  auto verdict = object.verify("xdp_unchecked");
  ASSERT_TRUE(verdict) << verdict.error().str();
  ASSERT_FALSE(verdict->accepted);
  EXPECT_NE(verdict->error->source.find("xdp_unchecked.bpf.c:"), std::string::npos)
      << verdict->error->str();
  // The answer kept from loading is the one a fresh verification gives.
  VerifyOptions fresh;
  fresh.reuse_load = false;
  auto again = object.verify("xdp_unchecked", fresh);
  ASSERT_TRUE(again) << again.error().str();
  ASSERT_FALSE(again->accepted);
  EXPECT_EQ(again->error->str(), verdict->error->str());
  EXPECT_EQ(again->stats.insns_processed, verdict->stats.insns_processed);
  EXPECT_EQ(again->stats.states, verdict->stats.states);
  auto run = object.test_run("xdp_unchecked", packet_run(frame()));
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, Errc::Rejected);
  EXPECT_NE(run.error().message.find("rejected by the verifier"), std::string::npos);
  auto runner = object.xdp_runner("xdp_unchecked");
  ASSERT_FALSE(runner);
  EXPECT_EQ(runner.error().code, Errc::Rejected);
  // Unsafe: the context rewrite still happens, and the run is checked. Queue 0 reads byte 0
  // (a zero: XDP_PASS); queue 5 reads 5000 bytes in, beyond the frame: a fault.
  for (Engine engine : {Engine::Interpreter, Engine::Jit}) {
    if (!engine_supported(engine)) continue;
    TestRunOptions unsafe = packet_run(Bytes(16, 0), 1, engine);
    unsafe.unsafe_no_verify = true;
    auto ok = object.test_run("xdp_unchecked", unsafe);
    ASSERT_TRUE(ok) << ok.error().str();
    EXPECT_EQ(ok->retval, 2u);
    XdpOptions options;
    options.engine = engine;
    options.unsafe_no_verify = true;
    auto checked = object.xdp_runner("xdp_unchecked", options);
    ASSERT_TRUE(checked) << checked.error().str();
    auto fault = checked->run(Bytes(16, 0), 1, 5);
    ASSERT_FALSE(fault);
    EXPECT_EQ(fault.error().code, Errc::RuntimeFault) << fault.error().str();
  }
}

TEST(XdpRunner, RunsPacketAfterPacket) {
  OPEN_OBJECT(object, "xdp_basic");
  auto runner = object.xdp_runner("xdp_basic");
  ASSERT_TRUE(runner) << runner.error().str();
  EXPECT_NE(runner->engine(), Engine::Auto);
  for (int i = 0; i < 100; ++i) {
    const Bytes packet = frame(i % 2 ? 0x08 : 0x86);
    auto out = runner->run(packet, 2);
    ASSERT_TRUE(out) << out.error().str();
    EXPECT_EQ(out->action, i % 2 ? 2u : 1u);
    ASSERT_EQ(out->packet.size(), packet.size());
    EXPECT_EQ(out->packet[0], 0xff);
    EXPECT_TRUE(out->metadata.empty());
  }
  EXPECT_EQ(u64_value(object, "bytes_by_ifindex", 2), 100u * 16u);
  auto jumbo = runner->run(Bytes(9000, 0));
  ASSERT_FALSE(jumbo);
  EXPECT_EQ(jumbo.error().code, Errc::NotSupported);
}

// What a program wrote in front of one packet (after bpf_xdp_adjust_head) is gone for the
// next: each packet comes with clean headroom, in every engine and mode.
TEST(XdpRunner, NoPacketSeesWhatAnEarlierRunLeftInTheHeadroom) {
  OPEN_OBJECT(object, "xdp_basic");
  for (Engine engine : {Engine::Interpreter, Engine::Jit}) {
    for (bool unsafe : {false, true}) {
      XdpOptions options;
      options.engine = engine;
      options.unsafe_no_verify = unsafe;
      auto runner = object.xdp_runner("xdp_headroom_peek", options);
      ASSERT_TRUE(runner) << runner.error().str();
      Bytes marker = frame(0x08), plain = frame(0x08);
      marker[0] = 1;
      plain[0] = 0;
      for (int i = 0; i < 3; ++i) {
        auto first = runner->run(marker);
        ASSERT_TRUE(first) << first.error().str();
        EXPECT_EQ(first->action, 2u) << "packet " << i << " found the marks of the one before";
        auto second = runner->run(plain);
        ASSERT_TRUE(second) << second.error().str();
        EXPECT_EQ(second->action, 2u) << "packet " << i << " found the marks of the one before";
      }
    }
  }
}

TEST(XdpRunner, RefusesProgramsOfOtherTypes) {
  const std::string path = std::string(POLLEN_EXAMPLES_DIR) + "/example_global_data.o";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " was not built (no BPF clang)";
  auto object = Object::open(path);
  ASSERT_TRUE(object) << object.error().str();
  auto runner = object->xdp_runner("");
  ASSERT_FALSE(runner);
  EXPECT_EQ(runner.error().code, Errc::InvalidArgument);
  EXPECT_NE(runner.error().message.find("not an XDP program"), std::string::npos);
}

// bpf_perf_event_output keeps each sample in the perf event array (the map has one entry per
// execution slot, as libbpf gives one per CPU), which a dump hands over and empties; the calls
// that fail return Linux's errors. On both engines.
TEST(XdpTestRun, PerfEventOutputKeepsSamplesInTheMap) {
  OPEN_OBJECT(object, "xdp_basic");
  for (Engine engine : {Engine::Interpreter, Engine::Jit}) {
    auto run = object.test_run("xdp_sampler", packet_run(frame(), 2, engine));
    ASSERT_TRUE(run) << run.error().str();
    EXPECT_EQ(run->retval, 2u);  // XDP_PASS
    auto dump = object.dump("samples");
    ASSERT_TRUE(dump) << dump.error().str();
    EXPECT_EQ(dump->type, "perf_event_array");
    const Bytes sample = {16, 0, 0, 0, 0, 1, 2, 3, 4, 5};  // the length, then 6 frame bytes
    EXPECT_EQ(dump->records, (std::vector<Bytes>{sample, sample}));
    EXPECT_TRUE(object.dump("samples")->records.empty());
    EXPECT_EQ(static_cast<int64_t>(u64_value(object, "sample_results", 0)), 0);
    EXPECT_EQ(static_cast<int64_t>(u64_value(object, "sample_results", 1)), -E2BIG);
    EXPECT_EQ(static_cast<int64_t>(u64_value(object, "sample_results", 2)), -EFAULT);
    EXPECT_EQ(static_cast<int64_t>(u64_value(object, "sample_results", 3)), -EINVAL);
  }
}

// Pollen has no forwarding table: a lookup that passes Linux's argument checks finds no route.
TEST(XdpTestRun, FibLookupFindsNoRoute) {
  OPEN_OBJECT(object, "xdp_basic");
  for (Engine engine : {Engine::Interpreter, Engine::Jit}) {
    auto run = object.test_run("xdp_fib_no_route", packet_run(frame(), 1, engine));
    ASSERT_TRUE(run) << run.error().str();
    EXPECT_EQ(run->retval, 2u);  // XDP_PASS: BPF_FIB_LKUP_RET_NOT_FWDED
  }
}

}  // namespace
}  // namespace pollen

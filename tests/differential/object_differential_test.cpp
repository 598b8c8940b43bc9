// SPDX-License-Identifier: MIT
// Object-level differential test: every example object (examples/bpf) is loaded into the Linux
// kernel with libbpf and opened with Pollen's Object API; the same programs run with the same
// contexts, one after another, in both. They must agree on each run's return value and output
// context, and afterwards on the contents of every map (per-CPU maps: the kernel's CPU 0,
// where its runs are pinned, against Pollen's slot 0). Skips, saying why, where the kernel
// cannot load BPF or Pollen lacks a helper the program calls.
#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "kernel_object_runner.hpp"
#include "pollen/object.hpp"

namespace pollen::test {
namespace {

using Bytes = std::vector<uint8_t>;

// A context from little-endian fields: {value, size in bytes}.
Bytes ctx(std::initializer_list<std::pair<uint64_t, int>> fields) {
  Bytes out;
  for (auto [value, size] : fields)
    for (int i = 0; i < size; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
  return out;
}

uint32_t be32(uint32_t host) {
  return __builtin_bswap32(host);
}

struct ProgRun {
  std::string program;
  Bytes ctx_in;
};

struct Case {
  std::string object;  // examples/bpf/<object>.bpf.c
  std::vector<ProgRun> runs;
  std::string kernel_refuses;  // why Linux cannot load it; the test checks that it does not
};

// libbpf loads SEC("syscall") programs sleepable (Linux 6.x requires it), and Linux lets
// sleepable programs use only arrays, hashes, ring buffers, queues, stacks, map-in-maps and
// local storage.
constexpr const char* kSleepable =
    "Linux refuses LPM_TRIE, BLOOM_FILTER and PROG_ARRAY maps in sleepable (syscall) programs";

std::vector<Case> cases() {
  return {
      {"global_data",
       {{"global_data", ctx({{3, 4}, {2, 4}, {0, 8}, {0, 8}})},
        {"global_data", ctx({{8, 4}, {0, 4}, {0, 8}, {0, 8}})},
        {"global_data", ctx({{20, 4}, {1, 4}, {0, 8}, {0, 8}})}},
       ""},
      {"hash_maps",
       {{"hash_maps", ctx({{1, 4}, {3, 4}, {0, 8}})},
        {"hash_maps", ctx({{2, 4}, {5, 4}, {0, 8}})},
        {"hash_maps", ctx({{1, 4}, {7, 4}, {0, 8}})},
        {"hash_maps", ctx({{2, 4}, {0, 4}, {0, 8}})}},
       ""},
      {"queues",
       {{"queues", ctx({{5, 4}, {3, 4}, {0, 8}, {0, 8}})},
        {"queues", ctx({{100, 4}, {10, 4}, {0, 8}, {0, 8}})},
        {"queues", ctx({{7, 4}, {2, 4}, {0, 8}, {0, 8}})}},
       ""},
      {"lpm",
       {{"lpm", ctx({{be32(0x0a010203), 4}, {0, 4}, {0, 8}})},
        {"lpm", ctx({{be32(0x0a010909), 4}, {0, 4}, {0, 8}})},
        {"lpm", ctx({{be32(0x0a090909), 4}, {0, 4}, {0, 8}})},
        {"lpm", ctx({{be32(0xc0a80001), 4}, {0, 4}, {0, 8}})},
        {"lpm", ctx({{be32(0x08080808), 4}, {0, 4}, {0, 8}})}},
       kSleepable},
      {"tail_calls",
       {{"tail_calls", ctx({{0, 4}, {0, 4}})},
        {"tail_calls", ctx({{1, 4}, {0, 4}})},
        {"tail_calls", ctx({{2, 4}, {0, 4}})},
        {"tail_calls", ctx({{3, 4}, {0, 4}})},
        {"stage_one", ctx({{0, 4}, {5, 4}})}},
       kSleepable},
      {"map_in_map",
       {{"map_in_map", ctx({{0, 4}, {1, 4}, {0, 8}})},
        {"map_in_map", ctx({{1, 4}, {2, 4}, {0, 8}})},
        {"map_in_map", ctx({{1, 4}, {2, 4}, {0, 8}})},
        {"map_in_map", ctx({{5, 4}, {0, 4}, {0, 8}})}},
       ""},
      {"loops",
       {{"loops", ctx({{10, 4}, {9, 4}, {0, 8}, {0, 8}})},
        {"loops", ctx({{50, 4}, {9, 4}, {0, 8}, {0, 8}})}},
       ""},
  };
}

std::string object_path(const std::string& name) {
  return std::string(POLLEN_EXAMPLES_DIR) + "/example_" + name + ".o";
}

void expect_same_map(const std::string& name, const MapContents& kernel, const MapContents& ours) {
  SCOPED_TRACE("map " + name);
  ASSERT_EQ(kernel.entries.size(), ours.entries.size());
  for (size_t i = 0; i < kernel.entries.size(); ++i) {
    EXPECT_EQ(kernel.entries[i].key, ours.entries[i].key) << "entry " << i;
    EXPECT_EQ(kernel.entries[i].values, ours.entries[i].values) << "entry " << i;
  }
  EXPECT_EQ(kernel.values, ours.values);
  EXPECT_EQ(kernel.records, ours.records);
}

class ObjectDifferential : public testing::TestWithParam<Case> {};

TEST_P(ObjectDifferential, KernelAndPollenAgree) {
  const Case& c = GetParam();
  std::string why;
  if (!KernelObject::available(why)) GTEST_SKIP() << "BPF is unavailable: " << why;
  auto kernel = KernelObject::load(object_path(c.object));
  if (!c.kernel_refuses.empty()) {
    ASSERT_FALSE(kernel) << "the kernel loaded an object it was expected to refuse";
    GTEST_SKIP() << c.kernel_refuses << ": " << kernel.error().message.substr(0, 200);
  }
  ASSERT_TRUE(kernel) << kernel.error().str();
  auto ours = Object::open(object_path(c.object));
  ASSERT_TRUE(ours) << ours.error().str();
  for (size_t i = 0; i < c.runs.size(); ++i) {
    const ProgRun& run = c.runs[i];
    SCOPED_TRACE("run " + std::to_string(i) + " of " + run.program);
    auto expected = kernel->test_run(run.program, run.ctx_in);
    ASSERT_TRUE(expected) << expected.error().str();
    TestRunOptions options;
    options.ctx_in = run.ctx_in;
    auto actual = ours->test_run(run.program, options);
    if (!actual && actual.error().message.find("unknown helper") != std::string::npos)
      GTEST_SKIP() << "Pollen lacks a helper: " << actual.error().str();
    ASSERT_TRUE(actual) << actual.error().str();
    EXPECT_EQ(expected->retval, actual->retval);
    EXPECT_EQ(expected->ctx_out, actual->ctx_out);
  }
  auto kernel_maps = kernel->dump();
  ASSERT_TRUE(kernel_maps) << kernel_maps.error().str();
  for (const auto& [name, contents] : *kernel_maps) {
    auto mine = ours->dump(name);
    ASSERT_TRUE(mine) << mine.error().str();
    expect_same_map(name, contents, *mine);
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, ObjectDifferential, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           return info.param.object;
                         });

}  // namespace
}  // namespace pollen::test

// SPDX-License-Identifier: MIT
// Tests of the object API (include/pollen/object.hpp) as a library user sees it: opening the
// example objects (examples/bpf) creates their maps and links their programs; test_run follows
// BPF_PROG_TEST_RUN for syscall programs and runs raw bytecode with r1 = data, r2 = length,
// refusing what Linux refuses with its errno; maps are read and written by name; dumps have
// the shape `pollen test-run --json` prints. Tests of objects skip where clang could not build
// the examples.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "pollen/object.hpp"

namespace pollen {
namespace {

using Bytes = std::vector<uint8_t>;

std::string example(const std::string& name) {
  return std::string(POLLEN_EXAMPLES_DIR) + "/example_" + name + ".o";
}

#define OPEN_EXAMPLE(var, name)                                                            \
  if (!std::filesystem::exists(example(name)))                                             \
    GTEST_SKIP() << "example object " << example(name) << " was not built (no BPF clang)"; \
  auto var##_result = Object::open(example(name));                                         \
  ASSERT_TRUE(var##_result) << var##_result.error().str();                                 \
  Object& var = *var##_result

Bytes le(uint64_t value, int size) {
  Bytes out;
  for (int i = 0; i < size; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

uint64_t read_u64(const Bytes& bytes, size_t offset) {
  uint64_t v = 0;
  std::memcpy(&v, bytes.data() + offset, 8);
  return v;
}

// struct args of global_data.bpf.c: n, seed, sum (out), calls (out).
Bytes global_args(uint32_t n, uint32_t seed) {
  return concat({le(n, 4), le(seed, 4), le(0, 8), le(0, 8)});
}

TestRunOptions with_ctx(Bytes ctx) {
  TestRunOptions options;
  options.ctx_in = std::move(ctx);
  return options;
}

// Linux refuses PROG_ARRAY and LPM_TRIE maps in sleepable programs, and syscall programs are
// sleepable, so Pollen's verifier refuses the tail_calls and lpm examples as the kernel does
// (the kernel differential checks that). Their map semantics are tested in the unsafe mode.
TestRunOptions unsafe_with_ctx(Bytes ctx) {
  TestRunOptions options = with_ctx(std::move(ctx));
  options.unsafe_no_verify = true;
  return options;
}

void expect_rejected_as_sleepable(Object& object, const char* program, Bytes ctx) {
  auto refused = object.test_run(program, with_ctx(std::move(ctx)));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::Rejected);
  EXPECT_NE(refused.error().message.find("Sleepable programs can only use"), std::string::npos)
      << refused.error().message;
}

TEST(Object, ListsProgramsAndGlobalDataMaps) {
  OPEN_EXAMPLE(object, "global_data");
  ASSERT_EQ(object.programs().size(), 1u);
  EXPECT_EQ(object.programs()[0].name, "global_data");
  EXPECT_EQ(object.programs()[0].section, "syscall");
  EXPECT_EQ(object.programs()[0].type, "syscall");
  std::vector<std::string> names;
  for (const MapInfo& map : object.maps()) {
    names.push_back(map.name);
    EXPECT_EQ(map.type, "array") << map.name;
    EXPECT_EQ(map.key_size, 4u) << map.name;
    EXPECT_EQ(map.max_entries, 1u) << map.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{".rodata", ".data", ".bss"}));
}

TEST(Object, SyscallRunReadsRodataAndWritesContextAndGlobals) {
  OPEN_EXAMPLE(object, "global_data");
  // table = {3, 1, 4, 1, ...}: the first 3 entries plus seed 2 each sum to 14.
  auto run = object.test_run("global_data", with_ctx(global_args(3, 2)));
  ASSERT_TRUE(run) << run.error().str();
  EXPECT_EQ(run->retval, 14u + 7);
  EXPECT_EQ(read_u64(run->ctx_out, 8), 14u);
  EXPECT_EQ(read_u64(run->ctx_out, 16), 101u);  // runs starts at 100 in .data
  auto bss = object.lookup(".bss", le(0, 4));
  ASSERT_TRUE(bss) << bss.error().str();
  EXPECT_EQ(read_u64(*bss, 0), 14u);  // total
  EXPECT_EQ(read_u64(*bss, 8), 3u);   // last_n |= n
  auto again = object.test_run("", with_ctx(global_args(8, 0)));
  ASSERT_TRUE(again) << again.error().str();
  EXPECT_EQ(read_u64(again->ctx_out, 8), 31u);
  EXPECT_EQ(read_u64(again->ctx_out, 16), 102u);
}

TEST(Object, RepeatRunsEachOnFreshInputsAndAccumulatesMaps) {
  OPEN_EXAMPLE(object, "global_data");
  TestRunOptions options = with_ctx(global_args(1, 0));
  options.repeat = 5;
  auto run = object.test_run("global_data", options);
  ASSERT_TRUE(run) << run.error().str();
  EXPECT_EQ(run->repeat, 5u);
  EXPECT_EQ(read_u64(run->ctx_out, 8), 3u);
  EXPECT_EQ(read_u64(run->ctx_out, 16), 105u);
  EXPECT_GE(run->duration_ns, 0.0);
}

TEST(Object, JitRunsAgreeWithTheInterpreter) {
  OPEN_EXAMPLE(interp, "global_data");
  auto jit_object = Object::open(example("global_data"));
  ASSERT_TRUE(jit_object);
  TestRunOptions options = with_ctx(global_args(5, 3));
  auto expected = interp.test_run("global_data", options);
  ASSERT_TRUE(expected) << expected.error().str();
  options.engine = Engine::Jit;
  auto actual = jit_object->test_run("global_data", options);
  if (!actual && actual.error().code == Errc::NotSupported)
    GTEST_SKIP() << "no JIT on this host: " << actual.error().str();
  ASSERT_TRUE(actual) << actual.error().str();
  EXPECT_EQ(actual->retval, expected->retval);
  EXPECT_EQ(actual->ctx_out, expected->ctx_out);
  EXPECT_EQ(jit_object->lookup(".bss", le(0, 4)).value(), interp.lookup(".bss", le(0, 4)).value());
}

struct Refusal {
  const char* what;
  TestRunOptions options;
  const char* message;
};

TEST(Object, RefusesWhatLinuxRefusesWithItsErrno) {
  OPEN_EXAMPLE(object, "global_data");
  TestRunOptions data_in = with_ctx(global_args(1, 0));
  data_in.data_in = Bytes(16);
  TestRunOptions huge = with_ctx(Bytes(65536));
  TestRunOptions no_repeat = with_ctx(global_args(1, 0));
  no_repeat.repeat = 0;
  for (const Refusal& r :
       {Refusal{"data_in", data_in,
                "data_in is not allowed for syscall "
                "programs (EINVAL)"},
        Refusal{"ctx > U16_MAX", huge, "larger than 65535 bytes (65536) (EINVAL)"},
        Refusal{"repeat 0", no_repeat, "(EINVAL)"}}) {
    auto run = object.test_run("global_data", r.options);
    ASSERT_FALSE(run) << r.what;
    EXPECT_EQ(run.error().code, Errc::InvalidArgument) << r.what;
    EXPECT_NE(run.error().message.find(r.message), std::string::npos) << run.error().message;
  }
}

TEST(Object, NamesProgramsAsLibbpfDoes) {
  OPEN_EXAMPLE(object, "tail_calls");
  std::vector<std::string> names;
  for (const ProgramInfo& p : object.programs()) names.push_back(p.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"stage_one", "stage_two", "tail_calls"}));  // ELF order
  auto unnamed = object.test_run("", with_ctx(le(0, 8)));
  ASSERT_FALSE(unnamed);
  EXPECT_NE(unnamed.error().message.find("3 programs"), std::string::npos);
  auto unknown = object.test_run("nope", with_ctx(le(0, 8)));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "no program named 'nope'");
}

TEST(Object, ProgArrayHoldsItsInitialSlots) {
  OPEN_EXAMPLE(object, "tail_calls");
  auto stages = object.dump("stages");
  ASSERT_TRUE(stages) << stages.error().str();
  EXPECT_EQ(stages->type, "prog_array");
  ASSERT_EQ(stages->entries.size(), 2u);
  EXPECT_EQ(stages->entries[0].key, le(1, 4));
  EXPECT_EQ(stages->entries[1].key, le(2, 4));
}

TEST(Object, MapInMapHoldsItsInitialInnerMaps) {
  OPEN_EXAMPLE(object, "map_in_map");
  auto outer = object.dump("outer_array");
  ASSERT_TRUE(outer) << outer.error().str();
  EXPECT_EQ(outer->type, "array_of_maps");
  EXPECT_EQ(outer->entries.size(), 2u);
  auto hash = object.dump("outer_hash");
  ASSERT_TRUE(hash) << hash.error().str();
  ASSERT_EQ(hash->entries.size(), 1u);
  EXPECT_EQ(hash->entries[0].key, le(1, 4));
}

// Linux refuses prog arrays and LPM tries in (sleepable) syscall programs, so these two
// examples have no kernel comparison; their results are worked out from the sources.
TEST(Object, TailCallsFollowTheProgArray) {
  OPEN_EXAMPLE(object, "tail_calls");
  expect_rejected_as_sleepable(object, "tail_calls", concat({le(0, 4), le(0, 4)}));
  struct Expect {
    uint32_t stage;
    uint64_t retval;
    uint32_t steps;
  };
  for (const Expect& e : {Expect{0, 0, 1}, Expect{1, 2, 111}, Expect{2, 2, 101}, Expect{3, 0, 1}}) {
    auto run =
        object.test_run("tail_calls", unsafe_with_ctx(concat({le(e.stage, 4), le(0, 4)})));
    ASSERT_TRUE(run) << run.error().str();
    EXPECT_EQ(run->retval, e.retval) << "stage " << e.stage;
    EXPECT_EQ(run->ctx_out, concat({le(e.stage, 4), le(e.steps, 4)})) << "stage " << e.stage;
  }
  auto visits = object.lookup(".bss", le(0, 4));
  ASSERT_TRUE(visits) << visits.error().str();
  EXPECT_EQ(*visits, concat({le(4, 8), le(1, 8), le(2, 8), le(0, 8)}));
}

TEST(Object, LpmTrieFindsTheLongestPrefix) {
  OPEN_EXAMPLE(object, "lpm");
  expect_rejected_as_sleepable(object, "lpm", concat({le(0, 4), le(0, 4), le(0, 8)}));
  struct Expect {
    uint32_t addr;  // host order
    uint32_t route;
  };
  for (const Expect& e : {Expect{0x0a010203, 3}, Expect{0x0a010909, 2}, Expect{0x0a090909, 1},
                          Expect{0xc0a80001, 4}, Expect{0x08080808, 9}}) {
    auto run = object.test_run(
        "lpm", unsafe_with_ctx(concat({le(__builtin_bswap32(e.addr), 4), le(0, 4), le(0, 8)})));
    ASSERT_TRUE(run) << run.error().str();
    EXPECT_EQ(run->retval, e.route) << std::hex << e.addr;
  }
  auto routes = object.dump("routes");
  ASSERT_TRUE(routes);
  EXPECT_EQ(routes->entries.size(), 4u);  // the /32 was deleted again
}

TEST(Object, HostMapAccessByName) {
  OPEN_EXAMPLE(object, "hash_maps");
  const Bytes value = concat({le(7, 8), le(9, 8)});
  ASSERT_TRUE(object.update("by_key", le(5, 4), value));
  ASSERT_TRUE(object.update("by_key", le(2, 4), value));
  auto found = object.lookup("by_key", le(5, 4));
  ASSERT_TRUE(found) << found.error().str();
  EXPECT_EQ(*found, value);
  auto noexist = object.update("by_key", le(5, 4), value, 1);
  ASSERT_FALSE(noexist);
  EXPECT_NE(noexist.error().message.find("(EEXIST)"), std::string::npos);
  auto first = object.next_key("by_key", std::nullopt);
  ASSERT_TRUE(first && *first);
  auto second = object.next_key("by_key", std::span<const uint8_t>(**first));
  ASSERT_TRUE(second && *second);
  auto end = object.next_key("by_key", std::span<const uint8_t>(**second));
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);
  auto dump = object.dump("by_key");
  ASSERT_TRUE(dump);
  ASSERT_EQ(dump->entries.size(), 2u);
  EXPECT_EQ(dump->entries[0].key, le(2, 4));  // sorted by key bytes
  ASSERT_TRUE(object.erase("by_key", le(2, 4)));
  auto gone = object.lookup("by_key", le(2, 4));
  ASSERT_FALSE(gone);
  EXPECT_NE(gone.error().message.find("(ENOENT)"), std::string::npos);
  auto short_key = object.lookup("by_key", le(2, 2));
  ASSERT_FALSE(short_key);
  EXPECT_NE(short_key.error().message.find("key is 2 bytes, the map's is 4"), std::string::npos);
  EXPECT_FALSE(object.lookup("nope", le(0, 4)));
}

TEST(Object, RodataIsFrozenForTheHostAsLibbpfFreezesIt) {
  OPEN_EXAMPLE(object, "global_data");
  auto rodata = object.lookup(".rodata", le(0, 4));
  ASSERT_TRUE(rodata) << rodata.error().str();
  auto write = object.update(".rodata", le(0, 4), *rodata);
  ASSERT_FALSE(write);
  EXPECT_NE(write.error().message.find("(EPERM)"), std::string::npos) << write.error().message;
  auto data = object.lookup(".data", le(0, 4));
  ASSERT_TRUE(data) << data.error().str();
  EXPECT_TRUE(object.update(".data", le(0, 4), *data));
}

TEST(Object, PerCpuMapsHaveOneValuePerSlot) {
  OPEN_EXAMPLE(object, "hash_maps");
  ASSERT_TRUE(object.update("per_cpu", le(1, 4), le(77, 8)));
  auto dump = object.dump("per_cpu");
  ASSERT_TRUE(dump) << dump.error().str();
  EXPECT_TRUE(dump->percpu);
  ASSERT_EQ(dump->entries.size(), 4u);
  ASSERT_EQ(dump->entries[1].values.size(), 1u);
  EXPECT_EQ(dump->entries[1].values[0], le(77, 8));
}

TEST(Object, QueueAndStackDumpsArePopOrderAndLeaveTheMap) {
  OPEN_EXAMPLE(object, "queues");
  for (uint64_t v : {1, 2, 3}) {
    ASSERT_TRUE(object.push("fifo", le(v, 4)));
    ASSERT_TRUE(object.push("lifo", le(v, 8)));
  }
  for (int round = 0; round < 2; ++round) {
    auto fifo = object.dump("fifo");
    ASSERT_TRUE(fifo);
    EXPECT_FALSE(fifo->keyed);
    EXPECT_EQ(fifo->values, (std::vector<Bytes>{le(1, 4), le(2, 4), le(3, 4)}));
    auto lifo = object.dump("lifo");
    ASSERT_TRUE(lifo);
    EXPECT_EQ(lifo->values, (std::vector<Bytes>{le(3, 8), le(2, 8), le(1, 8)}));
  }
  auto ring = object.dump("events");
  ASSERT_TRUE(ring);
  EXPECT_EQ(ring->type, "ringbuf");
  EXPECT_TRUE(ring->records.empty());
}

// r0 = r2 (the length); *(u8 *)(r1 + 0) = 0xab; exit.
const Bytes kRawProgram = {0xbf, 0x20, 0, 0, 0,    0, 0, 0, 0x72, 0x01, 0, 0,
                           0xab, 0,    0, 0, 0x95, 0, 0, 0, 0,    0,    0, 0};

TEST(Object, RawProgramsRunOnDataAndReturnIt) {
  auto object = Object::from_raw(kRawProgram, "raw");
  ASSERT_TRUE(object) << object.error().str();
  ASSERT_EQ(object->programs().size(), 1u);
  EXPECT_EQ(object->programs()[0].type, "raw");
  TestRunOptions options;
  options.data_in = Bytes{1, 2, 3};
  auto run = object->test_run("", options);
  ASSERT_TRUE(run) << run.error().str();
  EXPECT_EQ(run->retval, 3u);
  EXPECT_EQ(run->data_out, (Bytes{0xab, 2, 3}));
  EXPECT_TRUE(run->ctx_out.empty());
  options.ctx_in = Bytes{1};
  auto refused = object->test_run("raw", options);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("(EINVAL)"), std::string::npos);
}

TEST(Object, RawProgramsFaultOutsideTheirData) {
  auto object = Object::from_raw(kRawProgram, "raw");
  ASSERT_TRUE(object);
  auto run = object->test_run("raw", TestRunOptions{});  // no data: r1 = 0
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, Errc::RuntimeFault);
}

TEST(Object, CorruptObjectsAreLocatedErrors) {
  if (!std::filesystem::exists(example("global_data")))
    GTEST_SKIP() << "example objects were not built (no BPF clang)";
  FILE* f = std::fopen(example("global_data").c_str(), "rb");
  ASSERT_NE(f, nullptr);
  Bytes bytes(4096);
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f));
  std::fclose(f);
  bytes.resize(bytes.size() / 2);
  auto object = Object::from_bytes(bytes, "half.o");
  ASSERT_FALSE(object);
  EXPECT_EQ(object.error().code, Errc::InvalidProgram);
  EXPECT_EQ(object.error().str().rfind("half.o", 0), 0u) << object.error().str();
}

TEST(Object, DisassemblyInterleavesSourceLines) {
  OPEN_EXAMPLE(object, "global_data");
  auto listing = object.disassemble("global_data");
  ASSERT_TRUE(listing) << listing.error().str();
  EXPECT_NE(listing->find("global_data:"), std::string::npos);
  EXPECT_NE(listing->find("; int global_data(struct args* ctx) {"), std::string::npos) << *listing;
  EXPECT_NE(listing->find("sum_table:"), std::string::npos) << *listing;
  EXPECT_NE(listing->find("exit"), std::string::npos);
}

}  // namespace
}  // namespace pollen

// SPDX-License-Identifier: MIT
// The BTF and .BTF.ext parsers on small hand-built sections: type queries (sizes through
// typedefs, modifiers and arrays; a typedef cycle that must not hang), and the errors for each
// kind of damage, located at the type or record that has it.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "loader/btf.hpp"

namespace pollen::loader {
namespace {

// Builds a .BTF section: types as raw words, strings as one NUL-separated blob.
struct BtfBuilder {
  std::vector<uint32_t> types;
  std::string strings = std::string(1, '\0');

  uint32_t str(std::string_view s) {
    auto off = static_cast<uint32_t>(strings.size());
    strings.append(s);
    strings.push_back('\0');
    return off;
  }
  void type(uint32_t name, uint32_t kind, uint32_t vlen, uint32_t size_or_type,
            std::initializer_list<uint32_t> extra = {}) {
    types.insert(types.end(), {name, kind << 24 | vlen, size_or_type});
    types.insert(types.end(), extra);
  }
  std::vector<uint8_t> bytes() const {
    uint32_t type_len = static_cast<uint32_t>(types.size() * 4);
    uint32_t header[6] = {0x0001eb9f, 24,       0,
                          type_len,   type_len, static_cast<uint32_t>(strings.size())};
    std::vector<uint8_t> out(24 + type_len + strings.size());
    std::memcpy(out.data(), header, 24);
    std::memcpy(out.data() + 24, types.data(), type_len);
    std::memcpy(out.data() + 24 + type_len, strings.data(), strings.size());
    return out;
  }
};

enum : uint32_t {
  kInt = 1,
  kPtr = 2,
  kArray = 3,
  kStruct = 4,
  kTypedef = 8,
  kConst = 10,
  kFunc = 12,
  kProto = 13
};

// [1] int (4 bytes), [2] typedef u32 = 1, [3] const 2, [4] int[4] of 3, [5] struct s {int a; u32[4]
// b} [6] ptr to 5, [7] func_proto int(void), [8] func "main"
BtfBuilder sample() {
  BtfBuilder b;
  uint32_t i = b.str("int"), u = b.str("u32"), s = b.str("s"), a = b.str("a"), bb = b.str("b"),
           m = b.str("main");
  b.type(i, kInt, 0, 4, {32});
  b.type(u, kTypedef, 0, 1);
  b.type(0, kConst, 0, 2);
  b.type(0, kArray, 0, 0, {3, 1, 4});
  b.type(s, kStruct, 2, 20, {a, 1, 0, bb, 4, 32});
  b.type(0, kPtr, 0, 5);
  b.type(0, kProto, 0, 1);
  b.type(m, kFunc, 1, 7);
  return b;
}

TEST(LoaderBtf, ResolvesNamesAndSizes) {
  Result<Btf> btf = Btf::parse(sample().bytes(), "t.o: .BTF");
  ASSERT_TRUE(btf.ok()) << btf.error().str();
  EXPECT_EQ(btf->type_count(), 9u);
  EXPECT_EQ(btf->name_of(2), "u32");
  EXPECT_EQ(btf->skip_modifiers(3), 1u);
  EXPECT_EQ(btf->size_of(3), 4u);
  EXPECT_EQ(btf->size_of(4), 16u);
  EXPECT_EQ(btf->size_of(5), 20u);
  EXPECT_EQ(btf->size_of(6), 8u);
  EXPECT_EQ(btf->size_of(7), std::nullopt) << "a function prototype has no size";
  EXPECT_EQ(btf->size_of(99), std::nullopt);
  EXPECT_EQ(btf->find(BtfKind::Func, "main"), 8u);
  EXPECT_EQ(btf->find(BtfKind::Struct, "main"), std::nullopt);
  const BtfType& s = *btf->type(5);
  EXPECT_EQ(s.vlen, 2);
  EXPECT_EQ(btf->string(s.member(1).name_off), "b");
  EXPECT_EQ(s.member(1).offset, 32u);
  EXPECT_EQ(s.member(7).type, 0u) << "an index past vlen reads as zero";
  EXPECT_EQ(btf->type(9), nullptr);
  EXPECT_EQ(btf->string(100000), "");
}

TEST(LoaderBtf, StopsOnATypedefCycle) {
  BtfBuilder b;
  b.type(b.str("loop"), kTypedef, 0, 1);  // [1] typedef loop = loop
  Result<Btf> btf = Btf::parse(b.bytes(), "t.o: .BTF");
  ASSERT_TRUE(btf.ok()) << btf.error().str();
  EXPECT_EQ(btf->size_of(1), std::nullopt);
}

TEST(LoaderBtf, RejectsAnArrayWhoseSizeOverflows) {
  BtfBuilder b;
  b.type(b.str("int"), kInt, 0, 4, {32});
  b.type(0, kArray, 0, 0, {1, 1, 0x80000000});
  b.type(0, kArray, 0, 0, {2, 1, 0x80000000});
  Result<Btf> btf = Btf::parse(b.bytes(), "t.o: .BTF");
  ASSERT_TRUE(btf.ok()) << btf.error().str();
  EXPECT_EQ(btf->size_of(3), std::nullopt);
}

struct BtfDamage {
  const char* name;
  std::function<void(std::vector<uint8_t>&)> damage;
  Errc code;
  const char* where;
  const char* message;
};

void put32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  std::memcpy(b.data() + off, &v, 4);
}

// Offsets in sample().bytes(): header 0..24, type 1 at 24, type 5 (struct) at 24+16+12+12+24.
constexpr size_t kType1 = 24, kStruct5 = 24 + 16 + 12 + 12 + 24;

const std::vector<BtfDamage> kDamage = {
    {"truncated header", [](auto& b) { b.resize(10); }, Errc::InvalidProgram, "t.o: .BTF",
     "truncated header"},
    {"version 2", [](auto& b) { b[2] = 2; }, Errc::NotSupported, "t.o: .BTF", "BTF version 2"},
    {"string section past the end", [](auto& b) { put32(b, 20, 1000); }, Errc::InvalidProgram,
     "t.o: .BTF", "string section"},
    {"misaligned type section", [](auto& b) { put32(b, 8, 2); }, Errc::InvalidProgram, "t.o: .BTF",
     "misaligned"},
    {"truncated type", [](auto& b) { put32(b, 12, 6); }, Errc::InvalidProgram, "t.o: .BTF: type 1",
     "truncated type"},
    {"struct members past the types", [](auto& b) { put32(b, kStruct5 + 4, kStruct << 24 | 100); },
     Errc::InvalidProgram, "t.o: .BTF: type 5", "STRUCT with vlen 100"},
    {"member type out of range", [](auto& b) { put32(b, kStruct5 + 12 + 4, 77); },
     Errc::InvalidProgram, "t.o: .BTF: type 5 (STRUCT)", "refers to type 77"},
    {"member name out of range", [](auto& b) { put32(b, kStruct5 + 12, 5000); },
     Errc::InvalidProgram, "t.o: .BTF: type 5 (STRUCT)", "name offset 5000"},
    {"kind 0", [](auto& b) { put32(b, kType1 + 4, 0); }, Errc::InvalidProgram, "t.o: .BTF: type 1",
     "unknown kind 0"},
    {"first string not empty", [](auto& b) { b[b.size() - sample().strings.size()] = 'x'; },
     Errc::InvalidProgram, "t.o: .BTF", "start and end with NUL"},
};

void PrintTo(const BtfDamage& d, std::ostream* os) {
  *os << d.name;
}

class BtfDamaged : public testing::TestWithParam<BtfDamage> {};

TEST_P(BtfDamaged, FailsAtTheDamage) {
  std::vector<uint8_t> bytes = sample().bytes();
  GetParam().damage(bytes);
  Result<Btf> btf = Btf::parse(bytes, "t.o: .BTF");
  ASSERT_FALSE(btf.ok());
  EXPECT_EQ(btf.error().code, GetParam().code) << btf.error().str();
  EXPECT_EQ(btf.error().location.str(), GetParam().where) << btf.error().str();
  EXPECT_NE(btf.error().message.find(GetParam().message), std::string::npos) << btf.error().str();
}

INSTANTIATE_TEST_SUITE_P(Loader, BtfDamaged, testing::ValuesIn(kDamage),
                         [](const testing::TestParamInfo<BtfDamage>& info) {
                           std::string name;
                           for (const char* p = info.param.name; *p; ++p)
                             name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
                           return name;
                         });

// A .BTF.ext with one func_info group for section "main" and one line_info group.
std::vector<uint8_t> ext_bytes(uint32_t name_off, uint32_t file_off, uint32_t func_rec_size) {
  std::vector<uint32_t> w = {0x0001eb9f, 32, 0, 20, 20, 28, 48, 0,
                             // func_info: rec_size, {sec, count, {insn_off, type_id}}
                             func_rec_size, name_off, 1, 8, 8,
                             // line_info: rec_size, {sec, count, {insn_off, file, line, col}}
                             16, name_off, 1, 8, file_off, file_off, 3u << 10 | 5};
  std::vector<uint8_t> out(w.size() * 4);
  std::memcpy(out.data(), w.data(), out.size());
  return out;
}

TEST(LoaderBtfExt, ReadsRecordsBySection) {
  BtfBuilder b = sample();
  uint32_t main = b.str("main"), file = b.str("prog.c");
  Result<Btf> btf = Btf::parse(b.bytes(), "t.o: .BTF");
  ASSERT_TRUE(btf.ok());
  Result<BtfExt> ext = BtfExt::parse(ext_bytes(main, file, 8), *btf, "t.o: .BTF.ext");
  ASSERT_TRUE(ext.ok()) << ext.error().str();
  ASSERT_EQ(ext->func_info.count("main"), 1u);
  EXPECT_EQ(ext->func_info.at("main").at(0).insn_off, 8u);
  EXPECT_EQ(ext->func_info.at("main").at(0).type_id, 8u);
  EXPECT_EQ(ext->line_info.at("main").at(0).line_col >> 10, 3u);
  EXPECT_TRUE(ext->core_relos.empty());
}

TEST(LoaderBtfExt, LocatesBadRecords) {
  BtfBuilder b = sample();
  uint32_t main = b.str("main"), file = b.str("prog.c");
  Result<Btf> btf = Btf::parse(b.bytes(), "t.o: .BTF");
  ASSERT_TRUE(btf.ok());
  Result<BtfExt> small = BtfExt::parse(ext_bytes(main, file, 6), *btf, "t.o: .BTF.ext");
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.error().str(),
            "t.o: .BTF.ext: func_info: bad record size 6 (need a multiple "
            "of 4, at least 8)");
  Result<BtfExt> bad_file = BtfExt::parse(ext_bytes(main, 9999, 8), *btf, "t.o: .BTF.ext");
  ASSERT_FALSE(bad_file.ok());
  EXPECT_EQ(bad_file.error().location.str(), "t.o: .BTF.ext: line_info, group 0, record 0");
}

}  // namespace
}  // namespace pollen::loader

// SPDX-License-Identifier: MIT
// Pollen's verdicts against Linux's on real clang output: every program of every example object
// (POLLEN_EXAMPLE_OBJECTS, POLLEN_XDP_EXAMPLE_OBJECTS), of the XDP differential test's programs
// and of the verifier's own C programs (tests/verifier/objects) is verified through
// ObjectPlatform + program_input() + program_type_of(), and loaded alone in the kernel with
// libbpf (the other programs of its object not loaded). Linux's rejections must all be
// Pollen's too; a program Linux accepts and Pollen rejects is printed with Pollen's reason and
// counted against the goal of accepting at least 95% of them. The verifier's own programs also
// say what they expect, above their SEC(): `// expect: reject: <message substring>` or
// `// expect: accept`, and Pollen must give exactly that; where Linux differs, a
// `// linux: rejects <why>` or `// linux: accepts <why>` line says so, and Linux's verdict is
// asserted to be that one. Documented differences are still counted in the summary.
#include <gtest/gtest.h>

#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "loader/loader.hpp"
#include "verifier/object_platform.hpp"

namespace pollen::test {
namespace {

struct ProgramCase {
  std::string object;       ///< the .o path
  std::string source;       ///< the .c path when the program says what it expects, else empty
  std::string program;      ///< the ProgramSpec's name
  std::string expect;       ///< "", "accept" or "reject: <message>"
  std::string kernel_note;  ///< "accepts/rejects <why>" where Linux differs from `expect`
};

void PrintTo(const ProgramCase& c, std::ostream* os) {
  *os << c.object << ": " << c.program;
}

std::vector<std::string> split(const std::string& list, char sep) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

struct Expectation {
  std::string expect, kernel_note;
};

// `// expect: ...` (and `// linux: ...`) lines, each for the next SEC() function in the source.
std::map<std::string, Expectation> expectations(const std::string& source) {
  std::map<std::string, Expectation> out;
  std::ifstream in(source);
  Expectation pending;
  bool in_sec = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("// expect: ", 0) == 0) {
      pending.expect = line.substr(11);
      continue;
    }
    if (line.rfind("// linux: ", 0) == 0) {
      pending.kernel_note = line.substr(10);
      continue;
    }
    if (line.rfind("SEC(\"", 0) == 0 && line.find(".maps") == std::string::npos &&
        line.find("license") == std::string::npos) {
      in_sec = true;
      continue;
    }
    if (in_sec && !pending.expect.empty()) {
      // "int name(...) {": the name before the parenthesis.
      size_t paren = line.find('(');
      size_t start = line.rfind(' ', paren);
      if (paren != std::string::npos && start != std::string::npos) {
        std::string name = line.substr(start + 1, paren - start - 1);
        while (!name.empty() && name[0] == '*') name.erase(0, 1);
        out[name] = pending;
      }
      pending = {};
    }
    in_sec = false;
  }
  return out;
}

std::vector<ProgramCase> all_programs() {
  std::vector<std::pair<std::string, std::string>> objects;  // .o, annotated .c
  for (const std::string& o : split(POLLEN_EXAMPLE_OBJECTS, ',')) objects.push_back({o, ""});
#ifdef POLLEN_XDP_EXAMPLE_OBJECTS
  for (const std::string& o : split(POLLEN_XDP_EXAMPLE_OBJECTS, ',')) objects.push_back({o, ""});
#endif
  for (const std::string& o : split(POLLEN_VERIFIER_REAL_OBJECTS, ',')) objects.push_back({o, ""});
  for (const std::string& pair : split(POLLEN_VERIFIER_TEST_OBJECTS, ',')) {
    size_t eq = pair.find('=');
    objects.push_back({pair.substr(0, eq), pair.substr(eq + 1)});
  }
  std::vector<ProgramCase> out;
  for (const auto& [object, source] : objects) {
    auto spec = loader::load_object_file(object);
    if (!spec) {
      ADD_FAILURE() << object << ": " << spec.error().str();
      continue;
    }
    std::map<std::string, Expectation> expect;
    if (!source.empty()) expect = expectations(source);
    for (const loader::ProgramSpec& p : spec->programs) {
      Expectation e = expect.count(p.name) ? expect[p.name] : Expectation{};
      out.push_back({object, source, p.name, e.expect, e.kernel_note});
    }
  }
  return out;
}

// libbpf's messages for the program being loaded: the verifier's log on failure.
std::string& libbpf_log() {
  static std::string log;
  return log;
}

int collect_log(libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  // The verifier's log comes as one message, often far longer than a line (a long loop).
  va_list copy;
  va_copy(copy, args);
  int size = vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (size <= 0) return 0;
  std::string line(static_cast<size_t>(size) + 1, '\0');
  vsnprintf(line.data(), line.size(), format, args);
  line.resize(static_cast<size_t>(size));
  libbpf_log() += line;
  return 0;
}

// The verifier's refusal: the last line of its log before the statistics.
std::string refusal(const std::string& log) {
  std::vector<std::string> lines = split(log, '\n');
  std::string found;
  for (const std::string& l : lines) {
    if (l.rfind("processed ", 0) == 0 || l.rfind("verification time", 0) == 0 ||
        l.rfind("stack depth", 0) == 0 || l.rfind("-- END", 0) == 0)
      break;
    if (l.rfind("libbpf:", 0) != 0 && l.find_first_not_of(" \t") != std::string::npos) found = l;
  }
  return found.empty() ? log.substr(log.size() > 600 ? log.size() - 600 : 0) : found;
}

struct KernelResult {
  bool available = true;
  bool accepted = false;
  std::string reason;
};

// Opens `object` and loads the programs `load` picks; 0 or libbpf's error.
template <typename Pick>
int load_some(const std::string& object, Pick load, bool& found) {
  libbpf_log().clear();
  bpf_object* obj = bpf_object__open_file(object.c_str(), nullptr);
  if (!obj) return -1;
  bpf_program* p;
  bpf_object__for_each_program(p, obj) {
    found |= load(bpf_program__name(p));
    bpf_program__set_autoload(p, load(bpf_program__name(p)));
  }
  int err = bpf_object__load(obj);
  bpf_object__close(obj);
  return err;
}

// Loads `program` of `object` alone. Where that fails before the verifier said anything (a
// prog array whose initial slots name programs not loaded), the whole object is loaded: then
// the program is accepted if the object loads, rejected if its own load failed.
KernelResult kernel_load(const std::string& object, const std::string& program) {
  KernelResult r;
  if (geteuid() != 0) {
    r.available = false;
    r.reason = "not root";
    return r;
  }
  libbpf_set_print(collect_log);
  bool found = false;
  int err = load_some(
      object, [&](const char* name) { return program == name; }, found);
  if (!found) {
    r.available = false;
    r.reason = "libbpf has no program " + program + ": " + libbpf_log();
    return r;
  }
  if (err != 0 && libbpf_log().find("END PROG LOAD LOG") == std::string::npos) {
    bool any = false;
    err = load_some(
        object, [](const char*) { return true; }, any);
    std::string mine = "prog '" + program + "': BPF program load failed";
    if (err != 0 && libbpf_log().find(mine) == std::string::npos) {
      r.available = false;
      r.reason =
          "the object does not load, and not because of this program: " + refusal(libbpf_log());
      return r;
    }
  }
  r.accepted = err == 0;
  if (err != 0) r.reason = refusal(libbpf_log());
  return r;
}

struct Tally {
  int kernel_accepted = 0, both_accepted = 0, kernel_rejected = 0, both_rejected = 0;
  int unknown_type = 0, documented = 0;
  ~Tally() {
    if (kernel_accepted + kernel_rejected == 0) return;
    std::printf(
        "object verdicts: Pollen accepts %d of %d programs Linux accepts, rejects %d of %d "
        "programs Linux rejects (%d of unknown program types not compared, %d documented "
        "differences)\n",
        both_accepted, kernel_accepted, both_rejected, kernel_rejected, unknown_type, documented);
  }
};
Tally tally;

class ObjectVerdictTest : public testing::TestWithParam<ProgramCase> {};

TEST_P(ObjectVerdictTest, AgreesWithLinux) {
  const ProgramCase& c = GetParam();
  auto spec = loader::load_object_file(c.object);
  ASSERT_TRUE(spec) << spec.error().str();
  const loader::ProgramSpec* prog = spec->program(c.program);
  ASSERT_NE(prog, nullptr);
  const verifier::ProgramTypeInfo* type = verifier::program_type_of(*prog);
  std::string where = c.object + ": " + c.program;
  if (!type) {
    ++tally.unknown_type;
    GTEST_SKIP() << where << ": the verifier does not know this program type";
  }
  verifier::ObjectPlatform platform(*spec);
  verifier::ProgramInput in = verifier::program_input(*prog, *spec);
  verifier::Input input{in.insns, type, &platform, {}, in.lines};
  input.license = in.license;
  input.sleepable = in.sleepable;
  input.func_info = in.functions;
  verifier::Analysis a = verifier::verify(input);
  std::string pollen = a.accepted() ? "accepts" : "rejects: " + a.rejection->str();
  // Objects built with -g carry line info: a rejection names the C source line.
  if (!a.accepted() && !in.lines.empty()) {
    EXPECT_FALSE(a.rejection->source.empty()) << where << ": no source line in: " << pollen;
  }

  if (!c.expect.empty()) {
    if (c.expect == "accept") {
      EXPECT_TRUE(a.accepted()) << where << ": Pollen " << pollen;
    } else {
      std::string message = c.expect.substr(c.expect.find(':') + 2);
      EXPECT_FALSE(a.accepted()) << where << ": Pollen accepts; expected " << c.expect;
      if (!a.accepted()) {
        EXPECT_NE(a.rejection->str().find(message), std::string::npos)
            << where << ": Pollen " << pollen << "\nexpected the message: " << message;
      }
    }
  }

  KernelResult k = kernel_load(c.object, c.program);
  if (!k.available) GTEST_SKIP() << where << ": kernel verdict unavailable: " << k.reason;
  bool documented = !c.kernel_note.empty();
  if (documented) {
    // A documented difference: Linux's verdict is the note's, not the expected one.
    ++tally.documented;
    EXPECT_EQ(k.accepted, c.kernel_note.rfind("accepts", 0) == 0)
        << where << ": documented as Linux '" << c.kernel_note << "', but Linux "
        << (k.accepted ? "accepts" : "rejects: " + k.reason);
  }
  if (k.accepted) {
    ++tally.kernel_accepted;
    if (a.accepted()) ++tally.both_accepted;
    // Counted, not failed: the goal is a share of them (see the summary line).
    if (!a.accepted())
      std::printf("[ pollen rejects what Linux accepts ] %s\n  %s\n", where.c_str(),
                  a.rejection->str().c_str());
  } else {
    ++tally.kernel_rejected;
    if (!a.accepted()) ++tally.both_rejected;
    if (getenv("POLLEN_VERBOSE") && !a.accepted())
      std::printf("[ both reject ] %s\n  Linux:  %s\n  Pollen: %s\n", where.c_str(),
                  k.reason.c_str(), a.rejection->str().c_str());
    EXPECT_FALSE(a.accepted() && !documented)
        << where << ": Linux rejects (" << k.reason << ") but Pollen accepts";
  }
  if (!c.expect.empty() && !documented) {
    EXPECT_EQ(k.accepted, c.expect == "accept")
        << where << ": Linux " << (k.accepted ? "accepts" : "rejects: " + k.reason)
        << "; the program expects " << c.expect;
  }
}

INSTANTIATE_TEST_SUITE_P(Objects, ObjectVerdictTest, testing::ValuesIn(all_programs()),
                         [](const testing::TestParamInfo<ProgramCase>& info) {
                           std::string stem = info.param.object;
                           stem = stem.substr(stem.rfind('/') + 1);
                           stem = stem.substr(0, stem.find('.'));
                           std::string name = stem + "_" + info.param.program;
                           for (char& ch : name)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace pollen::test

// SPDX-License-Identifier: MIT
// End-to-end tests of the `pollen` binary: each case runs it in a fresh directory holding the
// fixture files below, with given arguments and stdin, and checks the exit code, stdout and
// stderr. Every failure must be exit 2 (bad input) or 1 (the program failed) with exactly one
// located line on stderr and nothing on stdout.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Bytes from hex text: "b7 00 2a" -> {0xb7, 0x00, 0x2a}.
std::string bytes(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); ++i) {
    if (hex[i] == ' ' || hex[i] == '\n') continue;
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
    ++i;
  }
  return out;
}

const char* const kRet42Hex = "b7 00 00 00 2a 00 00 00\n95 00 00 00 00 00 00 00\n";

// The files every case finds in its working directory.
const std::vector<std::pair<std::string, std::string>> kFixtures = {
    {"ret42.s", "mov %r0, 42\nexit\n"},
    {"ret42.bin", bytes(kRet42Hex)},
    {"ret42.hex", kRet42Hex},
    {"ret42.txt", kRet42Hex},
    {"minus1.s", "mov %r0, -1\nexit\n"},
    // r0 = mem[0] + mem[1]
    {"sum2.s", "ldxb %r0, [%r1]\nldxb %r3, [%r1+1]\nadd %r0, %r3\nexit\n"},
    {"two.bin", bytes("01 02")},
    // ++mem[0]; return mem[0]: shows that repeated runs share the memory
    {"count.s", "ldxb %r0, [%r1]\nadd %r0, 1\nstxb [%r1], %r0\nexit\n"},
    {"mem_len.s", "mov %r0, %r2\nexit\n"},
    // reads through r1 = 0 when no memory is given
    {"fault.s", "ldxdw %r0, [%r1]\nexit\n"},
    {"loop.s", "mov %r0, 0\nloop:\nadd %r0, 1\nja loop\n"},
    {"bad_mnemonic.s", "mov %r0, 1\nad %r0, 1\nexit\n"},
    {"bad_jump.s", "ja +5\nexit\n"},
    {"truncated.bin", bytes("b7 00 00 00 2a 00 00 00 95 00 00 00")},
    {"unknown_opcode.bin", bytes("b7 00 00 00 2a 00 00 00 8f 00 00 00 00 00 00 00 "
                                 "95 00 00 00 00 00 00 00")},
    {"jump_out.bin", bytes("05 00 05 00 00 00 00 00 95 00 00 00 00 00 00 00")},
    {"odd.hex", "b7 00 00 00 2a 00 00 0\n"},
    {"bad_digit.hex", "b7 00 zz\n"},
    {"prog.o", bytes("7f 45 4c 46 02 01 01 00 00 00 00 00 00 00 00 00")},
};

struct Output {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_whole(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A fresh directory with the fixtures, removed afterwards; runs `pollen` inside it.
class Workspace : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "pollen-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    for (const auto& [name, content] : kFixtures) write_whole(dir_ / name, content);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs the binary with `args` in the workspace, stdin from `input`, capturing both outputs
  // in files (no pipes, so no deadlock however much it prints).
  Output run(const std::vector<std::string>& args, const std::string& input = {}) {
    write_whole(dir_ / ".stdin", input);
    std::vector<char*> argv{const_cast<char*>(POLLEN_BINARY)};
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
      if (chdir(dir_.c_str()) != 0) _exit(126);
      int in = open(".stdin", O_RDONLY);
      int out = open(".stdout", O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = open(".stderr", O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || out < 0 || err < 0) _exit(126);
      dup2(in, 0), dup2(out, 1), dup2(err, 2);
      execv(POLLEN_BINARY, argv.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    Output result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = read_whole(dir_ / ".stdout");
    result.err = read_whole(dir_ / ".stderr");
    return result;
  }

  fs::path dir_;
};

// One table row: the command line, stdin, and what must come out. `out` and `err` are
// ECMAScript regular expressions searched in stdout and stderr; an empty one means the stream
// must be empty.
struct Case {
  std::string name;
  std::vector<std::string> args;
  std::string input;
  int exit_code;
  std::string out;
  std::string err;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class CliCase : public Workspace, public testing::WithParamInterface<Case> {};

TEST_P(CliCase, Behaves) {
  const Case& c = GetParam();
  Output got = run(c.args, c.input);
  EXPECT_EQ(got.exit_code, c.exit_code) << "stdout: " << got.out << "\nstderr: " << got.err;
  if (c.out.empty())
    EXPECT_EQ(got.out, "");
  else
    EXPECT_TRUE(std::regex_search(got.out, std::regex(c.out)))
        << "stdout:\n"
        << got.out << "\ndoes not match: " << c.out;
  if (c.err.empty())
    EXPECT_EQ(got.err, "");
  else
    EXPECT_TRUE(std::regex_search(got.err, std::regex(c.err)))
        << "stderr:\n"
        << got.err << "\ndoes not match: " << c.err;
  if (c.exit_code != 0) {
    EXPECT_EQ(got.out, "") << "a failure prints nothing on stdout";
    ASSERT_FALSE(got.err.empty());
    EXPECT_EQ(got.err.find('\n'), got.err.size() - 1) << "one line on stderr: " << got.err;
  }
}

// One row per case reads better than one field per line.
// clang-format off
const Case kCases[] = {
    // top level
    {"version", {"--version"}, "", 0, R"(^pollen \d+\.\d+\.\d+\n$)", ""},
    {"help_lists_subcommands", {"--help"}, "", 0, "asm[^]*disasm[^]*exec[^]*plugin", ""},
    {"subcommand_help", {"exec", "--help"}, "", 0, "--mem-file[^]*--repeat[^]*--engine", ""},
    {"no_subcommand_is_usage_error", {}, "", 2, "", R"(^pollen: .*subcommand.*--help\)\n$)"},
    {"unknown_subcommand", {"frobnicate"}, "", 2, "", "^pollen: .*frobnicate"},

    // asm
    {"asm_prints_hex", {"asm", "ret42.s", "--hex"}, "", 0, std::string("^") + kRet42Hex + "$", ""},
    {"asm_reads_stdin", {"asm", "-", "--hex"}, "mov %r0, 42\nexit\n", 0,
     std::string("^") + kRet42Hex + "$", ""},
    {"asm_reports_unknown_mnemonic_at_its_line", {"asm", "bad_mnemonic.s", "--hex"}, "", 2, "",
     R"(^bad_mnemonic\.s:2: .*'ad')"},
    {"asm_reports_invalid_program", {"asm", "bad_jump.s", "--hex"}, "", 2, "",
     R"(^bad_jump\.s: insn 0: .*out of range)"},
    {"asm_reports_missing_file", {"asm", "missing.s", "--hex"}, "", 2, "",
     R"(^missing\.s: cannot open \(No such file or directory\)\n$)"},
    {"asm_reports_unwritable_output", {"asm", "ret42.s", "-o", "no/such/dir/out.bin"}, "", 2, "",
     R"(^no/such/dir/out\.bin: cannot open for writing \(No such file or directory\)\n$)"},
    {"asm_rejects_unknown_option", {"asm", "ret42.s", "--bogus"}, "", 2, "",
     R"(^pollen asm: .*--bogus.*\(see pollen asm --help\)\n$)"},

    // disasm
    {"disasm_llvm_listing", {"disasm", "ret42.bin"}, "", 0,
     R"(^ *0:\s+b7 00 00 00 2a 00 00 00\s+r0 = (0x2a|42)\n)"
     R"( *1:\s+95 00 00 00 00 00 00 00\s+exit\n$)", ""},
    {"disasm_conformance_listing",
     {"disasm", "ret42.bin", "--syntax", "conformance", "--no-addresses", "--no-bytes"}, "", 0,
     R"(^mov %r0, (0x2a|42)\nexit\n$)", ""},
    {"disasm_reads_hex_by_extension", {"disasm", "ret42.hex", "--no-bytes"}, "", 0,
     R"(r0 = (0x2a|42)\n.*exit\n$)", ""},
    {"disasm_reads_hex_with_flag", {"disasm", "--hex", "ret42.txt", "--no-bytes"}, "", 0,
     R"(r0 = (0x2a|42)\n.*exit\n$)", ""},
    {"disasm_reads_assembly", {"disasm", "ret42.s", "--no-bytes", "--no-addresses"}, "", 0,
     R"(^r0 = (0x2a|42)\nexit\n$)", ""},
    {"disasm_lists_structurally_invalid_program", {"disasm", "jump_out.bin", "--no-bytes"}, "", 0,
     R"(goto \+(0x)?5\n)", ""},
    {"disasm_json", {"disasm", "ret42.bin", "--json"}, "", 0,
     R"("bytes": "b7 00 00 00 2a 00 00 00")", ""},
    {"disasm_reports_unknown_opcode", {"disasm", "unknown_opcode.bin"}, "", 2, "",
     R"(^unknown_opcode\.bin: insn 1: unknown opcode 0x8f\n$)"},
    {"disasm_reports_truncated_program", {"disasm", "truncated.bin"}, "", 2, "",
     R"(^truncated\.bin: offset 8: truncated instruction)"},
    {"disasm_reports_odd_hex", {"disasm", "odd.hex"}, "", 2, "",
     R"(^odd\.hex: offset 21: odd number of hex digits \(1\)\n$)"},
    {"disasm_reports_bad_hex_digit", {"disasm", "bad_digit.hex"}, "", 2, "",
     R"(^bad_digit\.hex: offset 6: invalid hex digit 'z')"},
    {"disasm_reports_missing_file", {"disasm", "missing.bin"}, "", 2, "",
     R"(^missing\.bin: cannot open \(No such file or directory\)\n$)"},
    {"disasm_reports_elf_as_not_supported", {"disasm", "prog.o"}, "", 2, "",
     R"(^prog\.o: ELF object files are not supported yet)"},
    {"disasm_reports_assembler_error", {"disasm", "bad_mnemonic.s"}, "", 2, "",
     R"(^bad_mnemonic\.s:2: )"},
    {"disasm_rejects_unknown_syntax", {"disasm", "ret42.bin", "--syntax", "intel"}, "", 2, "",
     R"(^pollen disasm: .*intel)"},

    // exec
    {"exec_runs_assembly", {"exec", "ret42.s"}, "", 0, R"(^r0 = 0x2a \(42\)\n$)", ""},
    {"exec_runs_bytecode", {"exec", "ret42.bin"}, "", 0, R"(^r0 = 0x2a \(42\)\n$)", ""},
    {"exec_runs_hex", {"exec", "ret42.hex"}, "", 0, R"(^r0 = 0x2a \(42\)\n$)", ""},
    {"exec_runs_assembly_from_stdin", {"exec", "--asm", "-"}, "mov %r0, 7\nexit\n", 0,
     R"(^r0 = 0x7 \(7\)\n$)", ""},
    {"exec_prints_negative_r0_signed_too", {"exec", "minus1.s"}, "", 0,
     R"(^r0 = 0xffffffffffffffff \(18446744073709551615, signed -1\)\n$)", ""},
    {"exec_passes_mem_hex", {"exec", "sum2.s", "--mem", "01 02"}, "", 0, R"(^r0 = 0x3 \(3\)\n$)",
     ""},
    {"exec_passes_mem_hex_without_spaces", {"exec", "sum2.s", "--mem", "0a0b"}, "", 0,
     R"(^r0 = 0x15 \(21\)\n$)", ""},
    {"exec_passes_mem_file", {"exec", "sum2.s", "--mem-file", "two.bin"}, "", 0,
     R"(^r0 = 0x3 \(3\)\n$)", ""},
    {"exec_passes_mem_length_in_r2", {"exec", "mem_len.s", "--mem", "00 00 00 00 00"}, "", 0,
     R"(^r0 = 0x5 \(5\)\n$)", ""},
    {"exec_repeats_on_the_same_memory", {"exec", "count.s", "--mem", "00", "--repeat", "5"}, "", 0,
     R"(^r0 = 0x5 \(5\)\n5 runs: [0-9.]+ ns/run, 4 insns/run, [0-9.]+ ns/insn\n$)", ""},
    {"exec_json", {"exec", "ret42.s", "--json"}, "", 0, R"("r0": 42)", ""},
    {"exec_reports_runtime_fault", {"exec", "fault.s"}, "", 1, "", R"(^fault\.s: insn 0: )"},
    {"exec_unchecked_still_runs_valid_programs", {"exec", "sum2.s", "--unchecked", "--mem", "0102"},
     "", 0, R"(^r0 = 0x3 \(3\)\n$)", ""},
    {"exec_budget_stops_a_loop", {"exec", "loop.s", "--budget", "1000"}, "", 1, "",
     R"(^loop\.s: insn \d+: .*budget)"},
    {"exec_reports_jit_not_supported", {"exec", "ret42.s", "--engine", "jit"}, "", 2, "",
     R"(^ret42\.s: engine 'jit' is not supported yet)"},
    {"exec_reports_unknown_opcode", {"exec", "unknown_opcode.bin"}, "", 2, "",
     R"(^unknown_opcode\.bin: insn 1: unknown opcode 0x8f\n$)"},
    {"exec_reports_truncated_program", {"exec", "truncated.bin"}, "", 2, "",
     R"(^truncated\.bin: offset 8: truncated instruction)"},
    {"exec_reports_invalid_program", {"exec", "jump_out.bin"}, "", 2, "",
     R"(^jump_out\.bin: insn 0: .*out of range)"},
    {"exec_reports_assembler_error", {"exec", "bad_mnemonic.s"}, "", 2, "",
     R"(^bad_mnemonic\.s:2: .*'ad')"},
    {"exec_reports_missing_file", {"exec", "missing.s"}, "", 2, "",
     R"(^missing\.s: cannot open \(No such file or directory\)\n$)"},
    {"exec_reports_missing_mem_file", {"exec", "sum2.s", "--mem-file", "missing.bin"}, "", 2, "",
     R"(^missing\.bin: cannot open \(No such file or directory\)\n$)"},
    {"exec_reports_odd_mem_hex", {"exec", "sum2.s", "--mem", "aa bb 1234567"}, "", 2, "",
     R"(^--mem: offset 6: odd number of hex digits \(7\)\n$)"},
    {"exec_reports_odd_hex_program", {"exec", "odd.hex"}, "", 2, "",
     R"(^odd\.hex: offset 21: odd number of hex digits \(1\)\n$)"},
    {"exec_reports_elf_as_not_supported", {"exec", "prog.o"}, "", 2, "",
     R"(^prog\.o: ELF object files are not supported yet)"},
    {"exec_rejects_zero_repeat", {"exec", "ret42.s", "--repeat", "0"}, "", 2, "",
     R"(^pollen exec: --repeat: must be at least 1 \(is 0\))"},
    {"exec_rejects_negative_budget", {"exec", "ret42.s", "--budget", "-1"}, "", 2, "",
     R"(^pollen exec: --budget: '-1' is not a whole number)"},
    {"exec_rejects_unknown_engine", {"exec", "ret42.s", "--engine", "turbo"}, "", 2, "",
     R"(^pollen exec: .*turbo)"},
    {"exec_rejects_mem_with_mem_file", {"exec", "sum2.s", "--mem", "00", "--mem-file", "two.bin"},
     "", 2, "", R"(^pollen exec: .*excludes)"},
    {"exec_rejects_missing_file_argument", {"exec"}, "", 2, "", R"(^pollen exec: .*FILE)"},

    // plugin: program hex on stdin, optional memory hex as the first argument
    {"plugin_prints_r0_in_hex", {"plugin"}, kRet42Hex, 0, "^2a\n$", ""},
    {"plugin_takes_memory_argument", {"plugin", "01  02  "},
     "71  10  00  00  00  00  00  00  71  13  01  00  00  00  00  00  "
     "0f  30  00  00  00  00  00  00  95  00  00  00  00  00  00  00  \n", 0, "^3\n$", ""},
    {"plugin_takes_options_after_memory", {"plugin", "aa  ", "--engine", "interp"},
     "71  10  00  00  00  00  00  00  95  00  00  00  00  00  00  00  \n", 0, "^aa\n$", ""},
    {"plugin_ignores_empty_arguments", {"plugin", "05  ", "--engine", "", "interp"},
     "71  10  00  00  00  00  00  00  95  00  00  00  00  00  00  00  \n", 0, "^5\n$", ""},
    {"plugin_prints_full_64_bit_r0", {"plugin"},
     "b7  00  00  00  ff  ff  ff  ff  95  00  00  00  00  00  00  00  \n", 0,
     "^ffffffffffffffff\n$", ""},
    {"plugin_reports_runtime_fault", {"plugin"},
     "79  10  00  00  00  00  00  00  95  00  00  00  00  00  00  00  \n", 1, "",
     R"(^stdin: insn 0: )"},
    {"plugin_reports_odd_program_hex", {"plugin"}, "b7  00  0\n", 2, "",
     R"(^stdin: offset 8: odd number of hex digits \(1\)\n$)"},
    {"plugin_reports_odd_memory_hex", {"plugin", "aa  b  "}, kRet42Hex, 2, "",
     R"(^mem: offset 4: odd number of hex digits \(1\)\n$)"},
    {"plugin_reports_unknown_opcode", {"plugin"},
     "8f  00  00  00  00  00  00  00  95  00  00  00  00  00  00  00\n", 2, "",
     R"(^stdin: insn 0: unknown opcode 0x8f\n$)"},
    {"plugin_reports_truncated_program", {"plugin"}, "b7  00  00  00\n", 2, "",
     R"(^stdin: offset 0: truncated instruction)"},
    {"plugin_reports_empty_program", {"plugin"}, "\n", 2, "", R"(^stdin: insn 0: .*empty)"},
    {"plugin_reports_elf_not_supported", {"plugin", "--elf"}, "7f  45  4c  46\n", 2, "",
     R"(^--elf: ELF programs are not supported yet)"},
    {"plugin_reports_jit_not_supported", {"plugin", "--engine", "jit"}, kRet42Hex, 2, "",
     R"(^stdin: engine 'jit' is not supported yet)"},
    {"plugin_rejects_unknown_option", {"plugin", "--interpret"}, kRet42Hex, 2, "",
     R"(^pollen plugin: .*--interpret)"},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Pollen, CliCase, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

using Cli = Workspace;

TEST_F(Cli, AsmWritesBinaryToStdoutWhenItIsAFile) {
  Output got = run({"asm", "ret42.s"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(got.out, bytes(kRet42Hex));
}

TEST_F(Cli, AsmWritesBinaryOutputFile) {
  Output got = run({"asm", "ret42.s", "-o", "out.bin"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(got.out, "");
  EXPECT_EQ(read_whole(dir_ / "out.bin"), bytes(kRet42Hex));
}

// assembly -> bytecode -> conformance listing -> assembly -> the same bytecode, through files.
TEST_F(Cli, AsmDisasmAsmRoundTripKeepsTheBytes) {
  write_whole(dir_ / "round.s",
              "lddw %r1, 0x123456789abcdef0\n"
              "mov32 %r0, 0\n"
              "jeq %r1, 0, skip\n"
              "stxdw [%r10-8], %r1\n"
              "ldxdw %r2, [%r10-8]\n"
              "rsh %r2, 32\n"
              "add32 %r0, %r2\n"
              "skip:\n"
              "lock add [%r10-8], %r0\n"
              "call local sub\n"
              "exit\n"
              "sub:\n"
              "mov %r0, 1\n"
              "exit\n");
  ASSERT_EQ(run({"asm", "round.s", "-o", "round.bin"}).exit_code, 0);
  Output listing =
      run({"disasm", "round.bin", "--syntax", "conformance", "--no-addresses", "--no-bytes"});
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  write_whole(dir_ / "again.s", listing.out);
  Output again = run({"asm", "again.s", "-o", "again.bin"});
  ASSERT_EQ(again.exit_code, 0) << again.err << "\nlisting:\n" << listing.out;
  std::string original = read_whole(dir_ / "round.bin");
  EXPECT_EQ(original.size(), 13u * 8);
  EXPECT_EQ(read_whole(dir_ / "again.bin"), original) << "listing:\n" << listing.out;
}

TEST_F(Cli, DisasmJsonHasOneEntryPerInstruction) {
  write_whole(dir_ / "wide.s", "lddw %r0, 0x100000002\nexit\n");
  Output got = run({"disasm", "wide.s", "--json", "--syntax", "conformance"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  nlohmann::json listing = nlohmann::json::parse(got.out);
  ASSERT_EQ(listing.size(), 2u);
  EXPECT_EQ(listing[0]["slot"], 0);
  EXPECT_EQ(listing[0]["bytes"], "18 00 00 00 02 00 00 00 00 00 00 00 01 00 00 00");
  EXPECT_EQ(listing[0]["text"], "lddw %r0, 0x100000002");
  EXPECT_EQ(listing[1]["slot"], 2);
  EXPECT_EQ(listing[1]["text"], "exit");
}

TEST_F(Cli, ExecJsonHasResultAndTiming) {
  Output got = run({"exec", "count.s", "--mem", "00", "--repeat", "3", "--json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  nlohmann::json result = nlohmann::json::parse(got.out);
  EXPECT_EQ(result["r0"], 3);
  EXPECT_EQ(result["r0_hex"], "0x3");
  EXPECT_EQ(result["runs"], 3);
  EXPECT_EQ(result["insns_per_run"], 4);
  EXPECT_TRUE(result["ns_per_run"].is_number());
  EXPECT_TRUE(result["ns_per_insn"].is_number());
}

// The conformance runner reads r0 with stoull(s, 16).
TEST_F(Cli, PluginOutputParsesAsTheRunnerParsesIt) {
  Output got = run({"plugin", "ff  ff  ff  ff  ff  ff  ff  fe  "},
                   "79  10  00  00  00  00  00  00  95  00  00  00  00  00  00  00  \n");
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(std::stoull(got.out, nullptr, 16), 0xfeffffffffffffffULL);
}

}  // namespace

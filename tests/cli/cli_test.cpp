// SPDX-License-Identifier: MIT
// End-to-end tests of the `pollen` binary: each case runs it in a fresh directory holding the
// fixture files below, with given arguments and stdin, and checks the exit code, stdout and
// stderr. Every failure must be exit 2 (bad input) or 1 (the program failed) with exactly one
// located line on stderr and nothing on stdout.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pollen_process.hpp"

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
using pollen::test::finish_pollen;
using pollen::test::Output;
using pollen::test::read_whole;
using pollen::test::start_pollen;
using pollen::test::write_whole;

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
    {"fault.bin", bytes("79 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00")},
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
    // an XDP program that reads the packet without checking its length first
    {"xdp_nocheck.s", "ldxw %r2, [%r1+0]\nldxb %r0, [%r2+0]\nexit\n"},
};

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

  // Runs the binary with `args` in the workspace, stdin from `input`.
  Output run(const std::vector<std::string>& args, const std::string& input = {}) {
    write_whole(dir_ / ".stdin", input);
    return finish_pollen(dir_, start_pollen(dir_, args, ".stdin"));
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
    {"disasm_reports_corrupt_elf", {"disasm", "prog.o"}, "", 2, "",
     R"(^prog\.o: ELF header: truncated)"},
    {"disasm_reports_assembler_error", {"disasm", "bad_mnemonic.s"}, "", 2, "",
     R"(^bad_mnemonic\.s:2: )"},
    {"disasm_jit_shows_machine_code_under_each_instruction", {"disasm", "ret42.s", "--jit"}, "",
     0, R"(\n   0: r0 = 0x2a\n        mov eax, 0x2A +; B82A000000\n   1: exit\n)", ""},
    {"disasm_jit_unchecked", {"disasm", "sum2.s", "--jit", "--unchecked"}, "", 0,
     R"(   0: r0 = \*\(u8 \*\)\(r1 \+ 0x0\)\n        movzx eax, byte ptr \[rdi\] )", ""},
    {"disasm_jit_hardened_blinds_the_immediate", {"disasm", "ret42.s", "--jit", "--harden"}, "",
     0, R"(   0: r0 = 0x2a\n        mov rax, 0x[0-9A-F]+ +; [0-9A-F]+\n        xor rax, 0x[0-9A-F]+ +; )"
     R"([0-9A-F]+\n   1: exit\n)", ""},
    {"disasm_jit_needs_a_valid_program", {"disasm", "jump_out.bin", "--jit"}, "", 2, "",
     R"(^jump_out\.bin: insn 0: .*out of range)"},
    {"disasm_harden_needs_jit", {"disasm", "ret42.s", "--harden"}, "", 2, "",
     R"(^pollen disasm: .*--harden requires --jit)"},
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
    {"exec_runs_on_the_jit", {"exec", "ret42.s", "--engine", "jit", "--json"}, "", 0,
     R"("r0": 42,\s+"engine": "jit")", ""},
    {"exec_runs_on_the_interpreter", {"exec", "ret42.s", "--engine", "interp", "--json"}, "", 0,
     R"("r0": 42,\s+"engine": "interp")", ""},
    {"exec_defaults_to_the_jit", {"exec", "ret42.s", "--json"}, "", 0, R"("engine": "jit")", ""},
    {"exec_hardened_jit", {"exec", "sum2.s", "--harden", "--mem", "01 02"}, "", 0,
     R"(^r0 = 0x3 \(3\)\n$)", ""},
    {"exec_rejects_harden_on_the_interpreter", {"exec", "ret42.s", "--harden", "--engine",
     "interp"}, "", 2, "", R"(^ret42\.s: harden: constant blinding hardens JIT code)"},
    {"exec_jit_reports_runtime_fault", {"exec", "fault.s", "--engine", "jit"}, "", 1, "",
     R"(^fault\.s: insn 0: ldxdw: out-of-bounds read of 8 bytes at 0x0 \(r1 \+ 0; not inside)"},
    {"exec_jit_budget_stops_a_loop", {"exec", "loop.s", "--engine", "jit", "--budget", "1000"}, "",
     1, "", R"(^loop\.s: insn 2: instruction budget of 1000 exceeded\n$)"},
    {"exec_interp_repeats_on_the_same_memory",
     {"exec", "count.s", "--mem", "00", "--repeat", "5", "--engine", "interp"}, "", 0,
     R"(^r0 = 0x5 \(5\)\n5 runs: [0-9.]+ ns/run, 4 insns/run, [0-9.]+ ns/insn\n$)", ""},
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
    {"exec_refuses_elf_object", {"exec", "prog.o"}, "", 2, "",
     R"(^prog\.o: this command takes raw bytecode, --hex or --asm; an ELF object's programs)"},
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
    {"plugin_refuses_elf", {"plugin", "--elf"}, "7f  45  4c  46\n", 2, "",
     R"(^--elf: the plugin runs raw bytecode only)"},
    {"plugin_runs_on_the_jit", {"plugin", "--engine", "jit"}, kRet42Hex, 0, "^2a\n$", ""},
    {"plugin_runs_hardened", {"plugin", "aa  ", "--engine", "jit", "--harden"},
     "71  10  00  00  00  00  00  00  95  00  00  00  00  00  00  00  \n", 0, "^aa\n$", ""},
    // test-run (objects: the TEST_Fs below)
    {"test_run_raw_program", {"test-run", "ret42.bin", "--json"}, "", 0, R"("retval": 42,)", ""},
    {"test_run_raw_returns_data", {"test-run", "ret42.bin", "--data-in", "two.bin", "--json"}, "",
     0, R"("data_out": "0102",)", ""},
    {"test_run_text_output", {"test-run", "ret42.bin"}, "", 0,
     R"(^program raw: retval = 0x2a \(42\)\n)", ""},
    {"test_run_corrupt_object", {"test-run", "prog.o"}, "", 2, "",
     R"(^prog\.o: ELF header: truncated)"},
    {"test_run_refuses_ctx_in_for_raw", {"test-run", "ret42.bin", "--ctx-in", "two.bin"}, "", 1,
     "", R"(^ret42\.bin: test-run: ctx_in is not allowed for raw programs \(EINVAL\)\n$)"},
    {"test_run_unknown_program", {"test-run", "ret42.bin", "--program", "nope"}, "", 2, "",
     R"(^ret42\.bin: no program named 'nope'\n$)"},
    {"test_run_missing_file", {"test-run", "nothere.o"}, "", 2, "", "^nothere\\.o: "},
    {"test_run_bad_maps_in", {"test-run", "ret42.bin", "--maps-in", "two.bin"}, "", 2, "",
     R"(--maps-in: not a JSON object of maps)"},
    {"test_run_truncated_bytecode", {"test-run", "truncated.bin"}, "", 2, "",
     "^truncated\\.bin: "},
    {"test_run_fault_is_exit_1", {"test-run", "fault.bin"}, "", 1, "",
     R"(^fault\.bin: insn 0: ldxdw: out-of-bounds read)"},
    {"plugin_rejects_unknown_option", {"plugin", "--interpret"}, kRet42Hex, 2, "",
     R"(^pollen plugin: .*--interpret)"},

    // verify: a rejection is exit 1 with one located line; unreadable input exit 2
    {"verify_accepts", {"verify", "ret42.s", "--type", "raw"}, "", 0,
     R"(^ret42\.s: accepted \(2 instructions processed, 0 states, \d+ us\)\n$)", ""},
    {"verify_uses_the_raw_memory_size", {"verify", "sum2.s", "--type", "raw", "--mem-size", "2"},
     "", 0, R"(^sum2\.s: accepted)", ""},
    {"verify_rejects_memory_it_was_not_given", {"verify", "sum2.s", "--type", "raw"}, "", 1, "",
     R"(^sum2\.s: insn 0: r0 = \*\(u8 \*\)\(r1 \+ 0x0\): r1 is a number, not a pointer)"},
    {"verify_names_insn_condition_registers_and_hint", {"verify", "xdp_nocheck.s", "--type", "xdp"},
     "", 1, "",
     R"(^xdp_nocheck\.s: insn 1: r0 = \*\(u8 \*\)\(r2 \+ 0x0\): invalid access to packet: .*)"
     R"(\(r2: pkt\(r=0\)\); hint: add a check `if \(data \+ 1 > data_end\) goto \.\.\.`)"},
    {"verify_reads_raw_bytecode", {"verify", "--raw", "ret42.bin", "--type", "xdp"}, "", 0,
     R"(^ret42\.bin: accepted)", ""},
    {"verify_rejects_a_structurally_invalid_program",
     {"verify", "--raw", "jump_out.bin", "--type", "raw"}, "", 1, "",
     R"(^jump_out\.bin: insn 0: .*out of range)"},
    {"verify_needs_a_type_for_bytecode", {"verify", "--raw", "ret42.bin"}, "", 2, "",
     R"(^pollen verify: --type is required with --raw)"},
    {"verify_rejects_an_unknown_type", {"verify", "ret42.s", "--type", "tc"}, "", 2, "",
     R"(^pollen verify: .*tc)"},
    {"verify_reports_corrupt_object", {"verify", "prog.o"}, "", 2, "",
     R"(^prog\.o: ELF header: truncated)"},
    {"verify_reports_missing_file", {"verify", "--raw", "missing.bin", "--type", "raw"}, "", 2, "",
     R"(^missing\.bin: cannot open \(No such file or directory\)\n$)"},
    {"verify_reports_unreadable_assembly", {"verify", "bad_mnemonic.s", "--type", "raw"}, "", 2, "",
     R"(^bad_mnemonic\.s:2: )"},
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

// test-run and disasm of the example objects (examples/bpf); skipped where they were not built.
class CliObject : public Workspace {
 protected:
  void SetUp() override {
    Workspace::SetUp();
    object_ = std::string(POLLEN_EXAMPLES_DIR) + "/example_global_data.o";
    if (!fs::exists(object_)) GTEST_SKIP() << object_ << " was not built (no BPF clang)";
    // struct args {u32 n = 3; u32 seed = 2; u64 sum; u64 calls;}
    write_whole(dir_ / "ctx.bin", bytes("03 00 00 00 02 00 00 00") + std::string(16, '\0'));
  }
  std::string object_;
};

TEST_F(CliObject, TestRunJsonHasTheIssueShape) {
  Output got = run({"test-run", object_, "--ctx-in", "ctx.bin", "--repeat", "2", "--json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  nlohmann::json result = nlohmann::json::parse(got.out);
  EXPECT_EQ(result["program"], "global_data");
  EXPECT_EQ(result["retval"], 21);
  EXPECT_EQ(result["data_out"], "");
  // sum = 14, calls = 102 after two runs (.data's runs starts at 100)
  EXPECT_EQ(result["ctx_out"], "03000000020000000e000000000000006600000000000000");
  EXPECT_TRUE(result["duration_ns"].is_number());
  EXPECT_EQ(result["repeat"], 2);
  const nlohmann::json& maps = result["maps"];
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(maps[".bss"]["type"], "array");
  ASSERT_EQ(maps[".bss"]["entries"].size(), 1u);
  EXPECT_EQ(maps[".bss"]["entries"][0]["key"], "00000000");
  EXPECT_EQ(maps[".bss"]["entries"][0]["value"], "1c000000000000000300000000000000");
  EXPECT_EQ(maps[".rodata"]["entries"][0]["value"],
            "0300000001000000040000000100000005000000090000000200000006000000");
}

TEST_F(CliObject, TestRunMapsInFillsMapsBeforeTheRun) {
  write_whole(dir_ / "maps.json", R"({".data": {"type": "array", "entries": [
      {"key": "00000000", "value": "c800000000000000edffffffffffffff"}]}})");
  Output got =
      run({"test-run", object_, "--ctx-in", "ctx.bin", "--maps-in", "maps.json", "--json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  nlohmann::json result = nlohmann::json::parse(got.out);
  EXPECT_EQ(result["ctx_out"], "03000000020000000e00000000000000c900000000000000");
  write_whole(dir_ / "bad.json", R"({"nope": {"entries": []}})");
  Output bad = run({"test-run", object_, "--ctx-in", "ctx.bin", "--maps-in", "bad.json"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--maps-in: the object has no map 'nope'"), std::string::npos) << bad.err;
}

TEST_F(CliObject, TestRunRefusesDataInForSyscallPrograms) {
  Output got = run({"test-run", object_, "--data-in", "ctx.bin"});
  EXPECT_EQ(got.exit_code, 1);
  EXPECT_NE(got.err.find("test-run: data_in is not allowed for syscall programs (EINVAL)"),
            std::string::npos)
      << got.err;
}

TEST_F(CliObject, DisasmListsProgramsWithSourceLines) {
  Output got = run({"disasm", object_});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_NE(got.out.find("global_data:  ; section syscall\n"), std::string::npos) << got.out;
  EXPECT_NE(got.out.find("; int global_data(struct args* ctx) {"), std::string::npos) << got.out;
  EXPECT_NE(got.out.find("\nsum_table:\n"), std::string::npos) << got.out;
}

TEST_F(CliObject, DisasmJitShowsObjectProgramsAsTheirRunsCompileThem) {
  Output got = run({"disasm", object_, "--jit"});
  if (got.err.find("not supported") != std::string::npos) GTEST_SKIP() << got.err;
  ASSERT_EQ(got.exit_code, 0) << got.err;
  // Verified: unchecked code; the map's address is linked into the lddw.
  EXPECT_NE(got.out.find("global_data:  ; section syscall, unchecked code\n"), std::string::npos)
      << got.out;
  EXPECT_NE(got.out.find("ret"), std::string::npos) << got.out;
  Output hardened = run({"disasm", object_, "--jit", "--harden"});
  ASSERT_EQ(hardened.exit_code, 0) << hardened.err;
  EXPECT_NE(hardened.out.find("unchecked code, hardened\n"), std::string::npos) << hardened.out;
  Output unchecked = run({"disasm", object_, "--jit", "--unchecked"});
  EXPECT_EQ(unchecked.exit_code, 2);
  EXPECT_NE(unchecked.err.find("--unchecked is for raw bytecode"), std::string::npos)
      << unchecked.err;
}

TEST_F(Cli, VerifyJsonHasOneObjectPerProgram) {
  Output got = run({"verify", "xdp_nocheck.s", "--type", "xdp", "--json"});
  EXPECT_EQ(got.exit_code, 1);
  EXPECT_EQ(got.err, "");
  nlohmann::json report = nlohmann::json::parse(got.out);
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report[0]["program"], "xdp_nocheck.s");
  EXPECT_EQ(report[0]["verdict"], "rejected");
  EXPECT_EQ(report[0]["error"]["insn"], 1);
  EXPECT_TRUE(report[0]["error"]["source"].is_null());
  EXPECT_NE(report[0]["error"]["message"].get<std::string>().find("invalid access to packet"),
            std::string::npos);
  EXPECT_EQ(report[0]["stats"]["insns_processed"], 2);
  EXPECT_TRUE(report[0]["stats"]["states"].is_number());
  EXPECT_TRUE(report[0]["stats"]["time_us"].is_number());
}

TEST_F(Cli, VerifyJsonOfAnAcceptedProgramHasNoError) {
  Output got = run({"verify", "ret42.s", "--type", "raw", "--json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  nlohmann::json report = nlohmann::json::parse(got.out);
  EXPECT_EQ(report[0]["verdict"], "accepted");
  EXPECT_TRUE(report[0]["error"].is_null());
}

TEST_F(Cli, VerifyVerbosePrintsThePathThatLedToTheRejection) {
  Output got = run({"verify", "xdp_nocheck.s", "--type", "xdp", "--verbose"});
  EXPECT_EQ(got.exit_code, 1);
  EXPECT_EQ(got.out, "");
  EXPECT_NE(got.err.find("path:\n  0: r2 = *(u32 *)(r1 + 0x0)  ; r2=pkt(r=0)\n  1: r0 = *(u8"),
            std::string::npos)
      << got.err;
  EXPECT_NE(got.err.find("state at the rejection:\n  r1=ctx r2=pkt(r=0) r10=fp0"),
            std::string::npos)
      << got.err;
  EXPECT_EQ(got.err.substr(got.err.rfind('\n', got.err.size() - 2) + 1)
                .rfind("xdp_nocheck.s: insn 1:", 0),
            0u)
      << got.err;
}

}  // namespace

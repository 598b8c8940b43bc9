// SPDX-License-Identifier: MIT
// Object::test_run, Linux's BPF_PROG_TEST_RUN for the program types that need no context
// rewriting, and Object::disassemble. Syscall programs follow bpf_prog_test_run_syscall
// (net/bpf/test_run.c): data_in is refused with EINVAL, a context larger than U16_MAX bytes
// too; the context is a copy of ctx_in (r1 = NULL without one), the program runs once, the
// return value is the low 32 bits of r0 (Linux's retval is a u32) and the context comes back as
// ctx_out. Raw bytecode runs with r1 = a copy of data_in and r2 = its length, as `pollen exec`
// does, and returns the data as data_out. Pollen also accepts repeat > 1 for timing, where Linux
// refuses it for syscall programs: every run gets fresh inputs and the last run's are reported.
#include <fmt/format.h>

#include <chrono>
#include <limits>

#include "helpers/helpers.hpp"
#include "isa/disassembler.hpp"
#include "maps/epoch.hpp"
#include "runtime/object_impl.hpp"

namespace pollen {
namespace {

Error refused(std::string what, const char* errno_text) {
  return make_error(Errc::InvalidArgument, Location::none(),
                    fmt::format("test-run: {} ({})", what, errno_text));
}

// The input buffer a run gets and how the program sees it.
struct RunInput {
  std::vector<uint8_t> bytes;
  bool present = false;  ///< syscall without ctx_in: r1 = NULL
  std::string_view region_name;
};

Result<RunInput> check_inputs(const LinkedProgram& prog, const TestRunOptions& options) {
  if (options.repeat == 0) return refused("repeat must be at least 1 (is 0)", "EINVAL");
  if (prog.raw) {
    if (options.ctx_in) return refused("ctx_in is not allowed for raw programs", "EINVAL");
    return RunInput{options.data_in.value_or(std::vector<uint8_t>{}), true, "data"};
  }
  if (prog.type != loader::ProgramType::Syscall)
    return make_error(Errc::NotSupported, Location::none(),
                      fmt::format("test-run: program type '{}' of '{}' is not supported yet "
                                  "(only syscall programs and raw bytecode)",
                                  loader::program_type_name(prog.type), prog.name));
  if (options.data_in) return refused("data_in is not allowed for syscall programs", "EINVAL");
  const std::vector<uint8_t> ctx = options.ctx_in.value_or(std::vector<uint8_t>{});
  if (ctx.size() > std::numeric_limits<uint16_t>::max())
    return refused(fmt::format("ctx_in is larger than {} bytes ({})",
                               std::numeric_limits<uint16_t>::max(), ctx.size()),
                   "EINVAL");
  return RunInput{ctx, !ctx.empty(), "context"};
}

Result<uint64_t> run_once(const Object::Impl& object, const LinkedProgram& prog,
                          std::vector<uint8_t>& memory, bool present, std::string_view region_name,
                          bool use_jit) {
  vm::RunArgs args;
  args.regions = object.regions;
  args.maps = object.map_addresses;
  if (present) {
    auto begin = reinterpret_cast<uintptr_t>(memory.data());
    args.r[0] = memory.empty() ? 0 : begin;
    args.regions.push_back({begin, memory.size(), true, region_name});
  }
  if (prog.raw) {
    args.r[1] = memory.size();
    args.packet = memory;
  }
  vm::RunOptions run_options;
  run_options.checked = true;
  maps::EpochGuard guard;
  return use_jit ? prog.jit->run(args, run_options) : prog.interpreter->run(args, run_options);
}

// Engine::Jit compiles the linked program once, in checked mode (no verifier has run);
// Engine::Auto stays on the interpreter, which every helper facility (tail calls) supports.
Result<void> prepare_engine(LinkedProgram& prog, Engine engine) {
  if (engine != Engine::Jit || prog.jit) return {};
  jit::JitOptions options;
  options.checked = true;
  POLLEN_TRY(jit::JitProgram code,
             jit::JitProgram::compile(prog.insns, helpers::default_helpers(), options));
  prog.jit = std::make_shared<const jit::JitProgram>(std::move(code));
  return {};
}

}  // namespace

Result<TestRunResult> Object::test_run(std::string_view name, const TestRunOptions& options) {
  POLLEN_TRY(LinkedProgram * prog, impl_->find_program(name));
  POLLEN_TRY(RunInput input, check_inputs(*prog, options));
  POLLEN_CHECK(prepare_engine(*prog, options.engine));
  TestRunResult result;
  std::vector<uint8_t> memory;
  auto start = std::chrono::steady_clock::now();
  for (; result.repeat < options.repeat; ++result.repeat) {
    memory = input.bytes;
    POLLEN_TRY(uint64_t r0, run_once(*impl_, *prog, memory, input.present, input.region_name,
                                     options.engine == Engine::Jit));
    result.retval = prog->raw ? r0 : static_cast<uint32_t>(r0);
  }
  std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  result.duration_ns = elapsed.count() / static_cast<double>(result.repeat);
  (prog->raw ? result.data_out : result.ctx_out) = std::move(memory);
  return result;
}

Result<std::string> Object::disassemble(std::string_view name) const {
  POLLEN_TRY(LinkedProgram * prog, impl_->find_program(name));
  // The listing shows the object's bytes, not the addresses linking wrote into them.
  const loader::ProgramSpec* spec = impl_->spec.program(prog->name);
  const std::vector<isa::Insn>& insns = spec ? spec->insns : prog->insns;
  std::string out = fmt::format("{}:  ; section {}\n", prog->name, prog->section);
  auto line = prog->line_info.begin();
  for (size_t i = 0; i < insns.size();) {
    if (spec)
      for (const loader::FuncInfo& func : spec->func_info)
        if (func.insn == i && i != 0) out += fmt::format("\n{}:\n", func.name);
    for (; line != prog->line_info.end() && line->insn <= i; ++line)
      if (line->insn == i && !line->source_line.empty())
        out += fmt::format("; {}\n", line->source_line);
    POLLEN_TRY(isa::Decoded d, isa::decode(insns, i));
    const size_t width = isa::is_wide(d.op) ? 2 : 1;
    std::string bytes;
    for (uint8_t b : isa::to_bytes(std::span(insns).subspan(i, width)))
      bytes += fmt::format("{:02x} ", b);
    bytes.pop_back();
    out += fmt::format("{:>8}:\t{}\t{}\n", i, bytes, isa::format(d, i, isa::Syntax::Llvm));
    i += width;
  }
  return out;
}

}  // namespace pollen

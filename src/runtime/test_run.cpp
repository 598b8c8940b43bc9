// SPDX-License-Identifier: MIT
// Object::test_run (Linux's BPF_PROG_TEST_RUN; XDP programs in xdp_run.cpp), Object::verify
// and Object::disassemble, and the run of one program on an engine that both test runs and the
// XDP runner use. A program the verifier rejected (or whose object holds one) does not run,
// unless in the unsafe test mode, which runs it checked; verified programs run unchecked, as
// Linux runs them. Syscall programs follow bpf_prog_test_run_syscall
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

// The input buffer a run gets and how the program sees it.
struct RunInput {
  std::vector<uint8_t> bytes;
  bool present = false;  ///< syscall without ctx_in: r1 = NULL
  std::string_view region_name;
};

Result<RunInput> check_inputs(const LinkedProgram& prog, const TestRunOptions& options) {
  if (options.repeat == 0) return test_run_refusal("repeat must be at least 1 (is 0)", "EINVAL");
  if (prog.raw) {
    if (options.ctx_in) return test_run_refusal("ctx_in is not allowed for raw programs", "EINVAL");
    return RunInput{options.data_in.value_or(std::vector<uint8_t>{}), true, "data"};
  }
  if (prog.type != loader::ProgramType::Syscall || !prog.verifier_type)
    return make_error(Errc::NotSupported, Location::none(),
                      fmt::format("test-run: program type '{}' of '{}' is not supported yet "
                                  "(only xdp and syscall programs and raw bytecode)",
                                  loader::program_type_name(prog.type), prog.name));
  if (options.data_in)
    return test_run_refusal("data_in is not allowed for syscall programs", "EINVAL");
  const std::vector<uint8_t> ctx = options.ctx_in.value_or(std::vector<uint8_t>{});
  if (ctx.size() > std::numeric_limits<uint16_t>::max())
    return test_run_refusal(fmt::format("ctx_in is larger than {} bytes ({})",
                                        std::numeric_limits<uint16_t>::max(), ctx.size()),
                            "EINVAL");
  return RunInput{ctx, !ctx.empty(), "context"};
}

Result<uint64_t> run_once(const Object::Impl& object, const LinkedProgram& prog,
                          const jit::JitProgram* code, std::vector<uint8_t>& memory, bool present,
                          std::string_view region_name, bool checked) {
  vm::RunArgs args;
  if (present) {
    auto begin = reinterpret_cast<uintptr_t>(memory.data());
    args.r[0] = memory.empty() ? 0 : begin;
    if (checked) args.regions.push_back({begin, memory.size(), true, region_name});
  }
  if (prog.raw) {
    args.r[1] = memory.size();
    args.packet = memory;
  }
  if (checked) add_object_memory(object, args);
  vm::RunOptions run_options;
  run_options.checked = checked;
  return run_prepared(object, prog, code, args, run_options);
}

}  // namespace

Error test_run_refusal(std::string what, const char* errno_text) {
  return make_error(Errc::InvalidArgument, Location::none(),
                    fmt::format("test-run: {} ({})", what, errno_text));
}

Engine resolve_engine(Engine engine) {
  if (engine != Engine::Auto) return engine;
  return engine_supported(Engine::Jit) ? Engine::Jit : Engine::Interpreter;
}

bool run_checked(const LinkedProgram& prog, bool unsafe) {
  return unsafe || prog.raw || !prog.verifier_type;
}

void add_object_memory(const Object::Impl& object, vm::RunArgs& args) {
  args.regions.insert(args.regions.end(), object.regions.begin(), object.regions.end());
  args.maps = object.map_addresses;
}

Result<uint64_t> run_prepared(const Object::Impl& object, const LinkedProgram& prog,
                              const jit::JitProgram* code, const vm::RunArgs& args,
                              const vm::RunOptions& options, uint64_t times) {
  maps::EpochGuard guard;
  if (code == nullptr) {
    Result<uint64_t> r0 = prog.interpreter->run(args, options);
    for (uint64_t i = 1; i < times && r0; ++i) r0 = prog.interpreter->run(args, options);
    return r0;
  }
  Object::Impl::JitTargets targets{&object, options.checked};
  return code->run_times(args, times, options, {&Object::Impl::find_tail_call_target, &targets});
}

Result<TestRunResult> Object::test_run(std::string_view name, const TestRunOptions& options) {
  POLLEN_TRY(LinkedProgram * prog, impl_->find_program(name));
  if (!prog->raw && prog->type == loader::ProgramType::Xdp)
    return test_run_xdp(*impl_, *prog, options);
  POLLEN_TRY(RunInput input, check_inputs(*prog, options));
  POLLEN_CHECK(impl_->check_verified(*prog, options.unsafe_no_verify));
  // Linux: "ctx_size_in < prog->aux->max_ctx_offset" is EINVAL (bpf_prog_test_run_syscall).
  if (!prog->raw && input.bytes.size() < prog->facts.max_ctx_offset)
    return test_run_refusal(
        fmt::format("the program reads the context up to byte {}, ctx_in has {}",
                    prog->facts.max_ctx_offset, input.bytes.size()),
        "EINVAL");
  const bool checked = run_checked(*prog, options.unsafe_no_verify);
  const jit::JitProgram* code = nullptr;  // compiled before the clock starts
  if (resolve_engine(options.engine) == Engine::Jit) {
    POLLEN_TRY(code, impl_->jit_code(*prog, checked));
  }
  TestRunResult result;
  std::vector<uint8_t> memory;
  auto start = std::chrono::steady_clock::now();
  // Every run starts from the input again (the context is the input).
  POLLEN_CHECK(run_repeated(options.repeat, result.repeat, [&](uint64_t n) -> Result<void> {
    for (uint64_t i = 0; i < n; ++i) {
      memory = input.bytes;
      POLLEN_TRY(uint64_t r0,
                 run_once(*impl_, *prog, code, memory, input.present, input.region_name, checked));
      result.retval = prog->raw ? r0 : static_cast<uint32_t>(r0);
    }
    return {};
  }));
  std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  result.duration_ns = elapsed.count() / static_cast<double>(result.repeat);
  (prog->raw ? result.data_out : result.ctx_out) = std::move(memory);
  return result;
}

Result<VerifyReport> Object::verify(std::string_view name, const VerifyOptions& options) {
  POLLEN_TRY(LinkedProgram * prog, impl_->find_program(name));
  if (prog->raw)
    return make_error(Errc::InvalidArgument, Location::none(),
                      "a bare bytecode file has no program type: verify it with "
                      "pollen::verify() and a type");
  const loader::ProgramSpec* spec = impl_->spec.program(prog->name);
  if (!prog->verifier_type || !spec)
    return make_error(Errc::NotSupported, Location::none(),
                      fmt::format("program '{}': Pollen's verifier does not know program type "
                                  "'{}' yet",
                                  prog->name, loader::program_type_name(prog->type)));
  verifier::Options verifier_options;
  if (options.reuse_load && !options.verbose &&
      options.max_insns_processed == verifier_options.max_insns_processed) {
    // The verification at load, with the same options, already said it.
    verifier::Analysis loaded;
    loaded.rejection = prog->rejection;
    loaded.stats = prog->verify_stats;
    return to_report(std::move(loaded), false);
  }
  verifier_options.max_insns_processed = options.max_insns_processed;
  verifier_options.record_path = options.verbose;
  return to_report(verify_program(*impl_, *spec, *prog->verifier_type, verifier_options),
                   options.verbose);
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

Result<std::string> Object::disassemble_jit(std::string_view name, bool harden) const {
  POLLEN_TRY(LinkedProgram * prog, impl_->find_program(name));
  const bool checked = run_checked(*prog, prog->rejection.has_value());
  jit::JitOptions options = impl_->jit_options(checked);
  options.harden = harden;
  options.listing = true;
  POLLEN_TRY(jit::JitProgram code,
             jit::JitProgram::compile(prog->insns, helpers::default_helpers(), options));
  return fmt::format("{}:  ; section {}, {} code{}\n{}", prog->name, prog->section,
                     checked ? "checked" : "unchecked", harden ? ", hardened" : "", code.listing());
}

}  // namespace pollen

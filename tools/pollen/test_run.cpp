// SPDX-License-Identifier: MIT
// `pollen test-run OBJ`: Linux's BPF_PROG_TEST_RUN on Pollen. OBJ is a BPF ELF object (its
// maps created, its programs linked) or bare bytecode (one raw program: r1 = data, r2 = its
// length). --maps-in fills maps first from JSON shaped like the output's "maps"; the result is
// the return value, data_out/ctx_out, the mean time per run and every map's contents. Exit
// codes: 0 ok, 1 a run Linux would refuse or a fault (Linux's errno in the message), 2 bad
// usage or an unreadable or corrupt object.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <optional>

#include "cli.hpp"
#include "maps_json.hpp"
#include "pollen/object.hpp"

namespace pollen::cli {
namespace {

using Bytes = std::vector<uint8_t>;

struct TestRunCliOptions {
  std::string path;
  std::string program;
  std::string data_in;
  std::string ctx_in;
  std::string maps_in;
  uint64_t repeat = 1;
  Engine engine = Engine::Auto;
  bool json = false;
  bool unsafe_no_verify = false;
};

Result<Object> open_object(const std::string& path) {
  POLLEN_TRY(Bytes file, read_file(path));
  const std::string name = display_name(path);
  if (is_elf(file))
    return Object::from_bytes(file, name);
  return Object::from_raw(file, "raw");
}

Result<std::optional<Bytes>> optional_file(const std::string& path) {
  if (path.empty()) return std::optional<Bytes>{};
  POLLEN_TRY(Bytes bytes, read_file(path));
  return std::optional<Bytes>{std::move(bytes)};
}

void print_text(const std::string& program, const TestRunResult& result, const Json& maps) {
  fmt::print("program {}: retval = {:#x} ({})\n", program, result.retval, result.retval);
  if (!result.data_out.empty()) fmt::print("data_out: {}\n", hex_string(result.data_out));
  if (!result.ctx_out.empty()) fmt::print("ctx_out: {}\n", hex_string(result.ctx_out));
  fmt::print("{} runs: {:.1f} ns/run\n", result.repeat, result.duration_ns);
  for (const auto& [name, map] : maps.items()) fmt::print("map {}: {}\n", name, map.dump());
}

// Run-time refusals and faults exit 1; NotSupported (a type or engine Pollen lacks) exits 2.
int report_run(const Error& error, const std::string& name) {
  int code = report(error, name);
  return error.code == Errc::NotSupported ? code : kExitFailed;
}

int run_test_run(const TestRunCliOptions& options) {
  const std::string name = display_name(options.path);
  auto object = open_object(options.path);
  if (!object) return report(object.error(), name);
  std::string program = options.program;
  const auto programs = object->programs();
  if (program.empty() && programs.size() == 1) program = programs[0].name;
  if (std::none_of(programs.begin(), programs.end(),
                   [&](const ProgramInfo& p) { return p.name == program; }))
    return report(make_error(Errc::InvalidArgument, Location::none(),
                             program.empty() ? fmt::format("the object has {} programs; choose "
                                                           "one with --program",
                                                           programs.size())
                                             : fmt::format("no program named '{}'", program)),
                  name);
  TestRunOptions run;
  run.repeat = options.repeat;
  run.engine = options.engine;
  run.unsafe_no_verify = options.unsafe_no_verify;
  auto data = optional_file(options.data_in);
  if (!data) return report(data.error());
  auto ctx = optional_file(options.ctx_in);
  if (!ctx) return report(ctx.error());
  run.data_in = std::move(*data);
  run.ctx_in = std::move(*ctx);
  if (!options.maps_in.empty())
    if (auto filled = fill_maps(*object, options.maps_in); !filled)
      return report(filled.error(), name);
  auto result = object->test_run(program, run);
  if (!result) return report_run(result.error(), name);
  auto maps = maps_json(*object);
  if (!maps) return report_run(maps.error(), name);
  if (!options.json) {
    print_text(program, *result, *maps);
    return kExitOk;
  }
  Json out = {{"program", program},
              {"retval", result->retval},
              {"data_out", hex_string(result->data_out)},
              {"ctx_out", hex_string(result->ctx_out)},
              {"duration_ns", result->duration_ns},
              {"repeat", result->repeat},
              {"maps", std::move(*maps)}};
  std::cout << out.dump(2) << '\n';
  return kExitOk;
}

}  // namespace

Command add_test_run_command(CLI::App& parent) {
  auto options = std::make_shared<TestRunCliOptions>();
  CLI::App* app = parent.add_subcommand(
      "test-run", "Run a program of an object as Linux's BPF_PROG_TEST_RUN does");
  app->add_option("OBJ", options->path, "BPF ELF object, or raw bytecode ('-' for stdin)")
      ->required()
      ->type_name("OBJ");
  app->add_option("--program", options->program,
                  "Program to run, by its function name (default: the only one)")
      ->type_name("NAME");
  app->add_option("--data-in", options->data_in, "data_in from a binary file")->type_name("FILE");
  app->add_option("--ctx-in", options->ctx_in, "ctx_in from a binary file")->type_name("FILE");
  app->add_option("--maps-in", options->maps_in,
                  "Fill maps first from JSON shaped like the output's \"maps\"")
      ->type_name("FILE");
  app->add_option("--repeat", options->repeat, "Run N times; duration_ns is the mean")
      ->check(whole_number(1))
      ->type_name("N");
  add_engine_option(*app, options->engine);
  app->add_flag("--json", options->json, "Print the result as one JSON object");
  app->add_flag("--unsafe-no-verify", options->unsafe_no_verify,
                "UNSAFE, for tests: run a program the verifier rejected (checked mode)");
  return {app, [options] { return run_test_run(*options); }};
}

}  // namespace pollen::cli

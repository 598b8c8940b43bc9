// SPDX-License-Identifier: MIT
// Opening an object: the loader's ObjectSpec becomes live maps (maps::create_map, global data
// written with the section's bytes) and linked programs (lddw map relocations replaced by the
// map's address or the global-data value's address, as Linux replaces them with a map pointer
// or a value address), then prog arrays and map-in-maps get their initial slots. A bare
// bytecode file becomes an object with one raw program and no maps.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "helpers/helpers.hpp"
#include "jit/array_layout.hpp"
#include "loader/loader.hpp"
#include "maps/epoch.hpp"
#include "maps/ref_maps.hpp"
#include "runtime/object_impl.hpp"
#include "verifier/rewrite.hpp"

namespace pollen {
namespace {

Error object_error(std::string message) {
  return make_error(Errc::InvalidArgument, Location::none(), std::move(message));
}

maps::MapDef map_def(const loader::MapSpec& spec) {
  maps::MapDef def;
  def.type = static_cast<maps::MapType>(spec.type);
  def.key_size = spec.key_size;
  def.value_size = spec.value_size;
  def.max_entries = spec.max_entries;
  def.flags = spec.flags;
  def.map_extra = spec.map_extra;
  def.name = spec.name;
  if (spec.inner) def.inner = std::make_shared<maps::MapDef>(map_def(*spec.inner));
  return def;
}

Result<std::shared_ptr<maps::Map>> create_one(const loader::MapSpec& spec, uint32_t slots) {
  maps::MapDef def = map_def(spec);
  // libbpf gives a perf event array without max_entries one entry per possible CPU: here,
  // per execution slot.
  if (def.type == maps::MapType::PerfEventArray && def.max_entries == 0) def.max_entries = slots;
  auto map = maps::create_map(def, slots);
  if (!map)
    return make_error(map.error().code, Location::none(),
                      fmt::format("map '{}': {}", spec.name, map.error().message));
  if (spec.is_global_data() && !spec.initial_data.empty()) {
    const uint32_t key = 0;
    long err = (*map)->update_host(&key, spec.initial_data.data());
    if (err < 0)
      return object_error(
          fmt::format("map '{}': cannot write its initial data ({})", spec.name, errno_name(err)));
  }
  return std::move(*map);
}

// Global data is an ARRAY of one element; its value's address is stable for the map's life.
uint8_t* global_value(maps::Map& map) {
  const uint32_t key = 0;
  maps::EpochGuard guard;
  return static_cast<uint8_t*>(map.lookup(&key, 0));
}

// The linked lddw is a plain 64-bit constant (src=0), which the interpreter and isa::validate
// take as it is; the pseudo source stays in the ObjectSpec for the verifier and listings.
void set_imm64(std::vector<isa::Insn>& insns, uint32_t index, uint64_t value) {
  insns[index].src = 0;
  insns[index].imm = static_cast<int32_t>(static_cast<uint32_t>(value));
  insns[index + 1].imm = static_cast<int32_t>(static_cast<uint32_t>(value >> 32));
}

// Linux verifies every program when libbpf loads the object, then rewrites its context
// accesses (convert_ctx_accesses); Pollen does the same once, here, and adds the zeroing of
// stack bytes read before they are written (verifier/rewrite.hpp). A rejected program keeps
// its verdict (runs are refused) and the facts of the paths explored before the rejection, so
// that the unsafe test mode still gets its context accesses rewritten.
void verify_and_rewrite(const loader::ProgramSpec& spec, const Object::Impl& object,
                        LinkedProgram& prog) {
  prog.verifier_type = verifier::program_type_of(spec);
  if (!prog.verifier_type) return;
  verifier::Analysis analysis = verify_program(object, spec, *prog.verifier_type, {});
  prog.rejection = std::move(analysis.rejection);
  prog.verify_stats = analysis.stats;
  prog.facts = std::move(analysis.facts);
  prog.insns = verifier::rewrite_for_run(prog.insns, prog.facts);
}

Result<std::shared_ptr<LinkedProgram>> link_program(const loader::ProgramSpec& spec,
                                                    const Object::Impl& object) {
  auto prog = std::make_shared<LinkedProgram>();
  prog->name = spec.name;
  prog->section = spec.section;
  prog->type = spec.type;
  prog->insns = spec.insns;
  prog->line_info = spec.line_info;
  for (const loader::MapReloc& reloc : spec.map_relocs) {
    maps::Map& map = *object.maps[reloc.map];
    if (reloc.kind == loader::MapRelocKind::MapFd) {
      set_imm64(prog->insns, reloc.insn, reinterpret_cast<uintptr_t>(&map));
      continue;
    }
    const loader::MapSpec& map_spec = object.spec.maps[reloc.map];
    uint8_t* value = global_value(map);
    if (!value)
      return object_error(fmt::format("program '{}': insn {}: map '{}' has no value to point at",
                                      spec.name, reloc.insn, map_spec.name));
    const auto offset = static_cast<uint32_t>(prog->insns[reloc.insn + 1].imm);
    set_imm64(prog->insns, reloc.insn, reinterpret_cast<uintptr_t>(value) + offset);
  }
  verify_and_rewrite(spec, object, *prog);
  POLLEN_TRY(vm::Interpreter interpreter,
             vm::Interpreter::create(prog->insns, helpers::default_helpers()));
  prog->interpreter = std::make_shared<const vm::Interpreter>(std::move(interpreter));
  return prog;
}

// Prog arrays hold linked programs; map-in-maps hold other maps of the object.
Result<void> fill_slots(Object::Impl& object, size_t index) {
  const loader::MapSpec& spec = object.spec.maps[index];
  auto* refs = dynamic_cast<maps::RefArrayMap*>(object.maps[index].get());
  auto* hash = dynamic_cast<maps::HashOfMaps*>(object.maps[index].get());
  for (const loader::MapSlot& slot : spec.initial_slots) {
    long err = -22;
    if (spec.type == static_cast<uint32_t>(maps::MapType::ProgArray) && refs) {
      auto it = std::find_if(object.programs.begin(), object.programs.end(),
                             [&](const auto& p) { return p->name == slot.name; });
      if (it != object.programs.end())
        err =
            refs->set_prog(slot.slot, std::const_pointer_cast<vm::Interpreter>((*it)->interpreter),
                           static_cast<uint32_t>(it - object.programs.begin()) + 1);
    } else if (auto inner = object.spec.map_index(slot.name)) {
      const uint32_t id = *inner + 1;
      err = refs ? refs->set_map(slot.slot, object.maps[*inner], id)
                 : hash->set_map(&slot.slot, object.maps[*inner], id, maps::kBpfAny);
    }
    if (err < 0)
      return object_error(fmt::format("map '{}': slot {}: cannot store '{}' ({})", spec.name,
                                      slot.slot, slot.name, errno_name(err)));
  }
  return {};
}

Result<std::unique_ptr<Object::Impl>> build(loader::ObjectSpec spec) {
  auto impl = std::make_unique<Object::Impl>();
  impl->spec = std::move(spec);
  impl->platform = std::make_unique<verifier::ObjectPlatform>(impl->spec);
  for (const loader::MapSpec& map : impl->spec.maps) {
    POLLEN_TRY(auto created, create_one(map, impl->slots));
    impl->map_addresses.push_back(reinterpret_cast<uintptr_t>(created.get()));
    if (map.is_global_data())
      impl->regions.push_back({reinterpret_cast<uintptr_t>(global_value(*created)), map.value_size,
                               map.source != loader::MapSource::Rodata, map.name});
    impl->maps.push_back(std::move(created));
  }
  for (const loader::ProgramSpec& program : impl->spec.programs) {
    POLLEN_TRY(auto linked, link_program(program, *impl));
    impl->programs.push_back(std::move(linked));
  }
  for (size_t i = 0; i < impl->maps.size(); ++i) POLLEN_CHECK(fill_slots(*impl, i));
  return impl;
}

}  // namespace

verifier::Analysis verify_program(const Object::Impl& object, const loader::ProgramSpec& spec,
                                  const verifier::ProgramTypeInfo& type,
                                  const verifier::Options& options) {
  verifier::ProgramInput in = verifier::program_input(spec, object.spec);
  verifier::Input input;
  input.insns = in.insns;
  input.type = &type;
  input.platform = object.platform.get();
  input.options = options;
  input.lines = in.lines;
  input.license = in.license;
  input.sleepable = in.sleepable;
  input.func_info = in.functions;
  return verifier::verify(input);
}

std::string errno_name(long error) {
  const char* name = strerrorname_np(static_cast<int>(error < 0 ? -error : error));
  if (error == -maps::kEnotsupp || error == maps::kEnotsupp) return "ENOTSUPP";
  return name ? name : fmt::format("errno {}", error);
}

Result<maps::Map*> Object::Impl::find_map(std::string_view name) const {
  if (auto index = spec.map_index(name)) return maps[*index].get();
  return object_error(fmt::format("no map named '{}'", name));
}

Result<LinkedProgram*> Object::Impl::find_program(std::string_view name) const {
  if (name.empty()) {
    if (programs.size() == 1) return programs[0].get();
    return object_error(fmt::format("the object has {} programs; name one", programs.size()));
  }
  for (const auto& program : programs)
    if (program->name == name) return program.get();
  return object_error(fmt::format("no program named '{}'", name));
}

Result<void> Object::Impl::check_verified(const LinkedProgram& prog, bool unsafe) const {
  if (unsafe || prog.raw) return {};
  if (prog.rejection)
    return make_error(Errc::Rejected, Location::none(),
                      fmt::format("program '{}' was rejected by the verifier: {}", prog.name,
                                  prog.rejection->str()));
  for (const auto& other : programs)
    if (other->rejection)
      return make_error(Errc::Rejected, Location::none(),
                        fmt::format("program '{}' of the same object was rejected by the "
                                    "verifier, so the object does not load: {}",
                                    other->name, other->rejection->str()));
  return {};
}

jit::JitOptions Object::Impl::jit_options(bool checked) const {
  jit::JitOptions options;
  options.checked = checked;
  // Verified code inlines lookups in the object's ARRAY maps (Linux: array_map_gen_lookup);
  // checked code calls the helper, which hands the value to the run's checks.
  if (!checked)
    for (const auto& map : maps)
      if (auto layout = jit::array_layout(*map)) options.arrays.push_back(*layout);
  return options;
}

Result<const jit::JitProgram*> Object::Impl::jit_code(LinkedProgram& prog, bool checked) const {
  if (!prog.jit || prog.jit_checked != checked) {
    POLLEN_TRY(jit::JitProgram code, jit::JitProgram::compile(prog.insns, helpers::default_helpers(),
                                                              jit_options(checked)));
    prog.jit = std::make_shared<const jit::JitProgram>(std::move(code));
    prog.jit_checked = checked;
  }
  return prog.jit.get();
}

const jit::JitProgram* Object::Impl::find_tail_call_target(void* arg, const void* target) {
  const auto& [object, checked] = *static_cast<const JitTargets*>(arg);
  for (const auto& prog : object->programs) {
    if (prog->interpreter.get() != target) continue;
    // A target that does not compile is handed over to its interpreter instead.
    auto code = object->jit_code(*prog, checked);
    return code ? *code : nullptr;
  }
  return nullptr;
}

Object::Object(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Object::Object(Object&&) noexcept = default;
Object& Object::operator=(Object&&) noexcept = default;
Object::~Object() = default;

Result<Object> Object::open(const std::filesystem::path& path) {
  POLLEN_TRY(loader::ObjectSpec spec, loader::load_object_file(path));
  POLLEN_TRY(auto impl, build(std::move(spec)));
  return Object(std::move(impl));
}

Result<Object> Object::from_bytes(std::span<const uint8_t> elf, std::string_view name) {
  POLLEN_TRY(loader::ObjectSpec spec, loader::load_object(elf, name));
  POLLEN_TRY(auto impl, build(std::move(spec)));
  return Object(std::move(impl));
}

Result<Object> Object::from_raw(std::span<const uint8_t> bytecode, std::string_view name) {
  POLLEN_TRY(std::vector<isa::Insn> insns, isa::from_bytes(bytecode));
  auto prog = std::make_shared<LinkedProgram>();
  prog->name = std::string(name);
  prog->section = "raw";
  prog->raw = true;
  prog->insns = std::move(insns);
  POLLEN_TRY(vm::Interpreter interpreter,
             vm::Interpreter::create(prog->insns, helpers::default_helpers()));
  prog->interpreter = std::make_shared<const vm::Interpreter>(std::move(interpreter));
  auto impl = std::make_unique<Impl>();
  impl->programs.push_back(std::move(prog));
  return Object(std::move(impl));
}

std::vector<ProgramInfo> Object::programs() const {
  std::vector<ProgramInfo> out;
  for (const auto& p : impl_->programs)
    out.push_back({p->name, p->section,
                   p->raw ? std::string("raw") : std::string(loader::program_type_name(p->type))});
  return out;
}

std::vector<MapInfo> Object::maps() const {
  std::vector<MapInfo> out;
  for (size_t i = 0; i < impl_->maps.size(); ++i) {
    const maps::Map& map = *impl_->maps[i];
    out.push_back({impl_->spec.maps[i].name, maps::map_type_name(map.type()), map.def().key_size,
                   map.def().value_size, map.def().max_entries, map.percpu()});
  }
  return out;
}

}  // namespace pollen

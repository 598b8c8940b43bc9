// SPDX-License-Identifier: MIT
// The host's view of an Object's maps, by name, like the bpf(2) map commands: lookup, update,
// delete, push, get_next_key, and a dump of everything a map holds in the shape
// `pollen test-run --json` prints. Sizes are checked first, as the syscall checks them against
// the map's key and value sizes; map errors carry Linux's errno.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "maps/epoch.hpp"
#include "maps/perf_event_array.hpp"
#include "maps/ringbuf.hpp"
#include "runtime/object_impl.hpp"

namespace pollen {
namespace {

using maps::MapType;
using Bytes = std::vector<uint8_t>;

Error map_error(const maps::Map& map, std::string_view what, long err) {
  return make_error(Errc::InvalidArgument, Location::none(),
                    fmt::format("map '{}': {} ({})", map.def().name, what, errno_name(err)));
}

Result<void> check_size(const maps::Map& map, std::string_view what, size_t size, size_t expected) {
  if (size == expected) return {};
  return make_error(Errc::InvalidArgument, Location::none(),
                    fmt::format("map '{}': {} is {} bytes, the map's is {} (EINVAL)",
                                map.def().name, what, size, expected));
}

bool is_keyless(MapType type) {
  return type == MapType::Queue || type == MapType::Stack || type == MapType::Ringbuf ||
         type == MapType::BloomFilter || type == MapType::PerfEventArray;
}

// Splits a host value (one 8-byte-aligned value per slot) into the slots' values.
std::vector<Bytes> split_values(const maps::Map& map, const Bytes& host) {
  if (!map.percpu()) return {host};
  std::vector<Bytes> out;
  const uint32_t stride = maps::round_up8(map.def().value_size);
  for (uint32_t s = 0; s < map.slots(); ++s)
    out.emplace_back(host.begin() + size_t{s} * stride,
                     host.begin() + size_t{s} * stride + map.def().value_size);
  return out;
}

Result<void> dump_keyed(maps::Map& map, MapContents& out) {
  Bytes key(map.def().key_size), next(map.def().key_size), value(map.host_value_size());
  bool first = true;
  while (map.get_next_key(first ? nullptr : key.data(), next.data()) == 0) {
    first = false;
    key = next;
    if (map.lookup_copy(key.data(), value.data()) < 0) continue;  // deleted meanwhile
    out.entries.push_back({key, split_values(map, value)});
  }
  std::sort(out.entries.begin(), out.entries.end(),
            [](const MapEntry& a, const MapEntry& b) { return a.key < b.key; });
  return {};
}

// Pops every value in order, then pushes them back so the map is as it was.
void dump_queue(maps::Map& map, MapContents& out) {
  Bytes value(map.def().value_size);
  while (map.lookup_and_delete(nullptr, value.data()) == 0) out.values.push_back(value);
  if (map.type() == MapType::Stack)
    for (auto it = out.values.rbegin(); it != out.values.rend(); ++it)
      map.update_host(nullptr, it->data());
  else
    for (const Bytes& v : out.values) map.update_host(nullptr, v.data());
}

void dump_ringbuf(maps::RingBuf& ring, MapContents& out) {
  ring.consume([&](const void* data, uint32_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    out.records.emplace_back(bytes, bytes + size);
    return 0;
  });
}

}  // namespace

Result<Bytes> Object::lookup(std::string_view name, std::span<const uint8_t> key) {
  POLLEN_TRY(maps::Map * map, impl_->find_map(name));
  POLLEN_CHECK(check_size(*map, "key", key.size(), map->def().key_size));
  Bytes value(map->host_value_size());
  long err = map->lookup_copy(key.data(), value.data());
  if (err < 0) return map_error(*map, "lookup failed", err);
  return value;
}

Result<void> Object::update(std::string_view name, std::span<const uint8_t> key,
                            std::span<const uint8_t> value, uint64_t flags) {
  POLLEN_TRY(maps::Map * map, impl_->find_map(name));
  POLLEN_CHECK(check_size(*map, "key", key.size(), map->def().key_size));
  POLLEN_CHECK(check_size(*map, "value", value.size(), map->host_value_size()));
  // libbpf freezes .rodata once it is written (bpf_map_freeze): the host may no longer write it.
  const loader::MapSpec* spec = impl_->spec.map(name);
  if (spec && spec->source == loader::MapSource::Rodata)
    return map_error(*map, "update failed (the map is frozen, as libbpf freezes .rodata)",
                     -EPERM);
  long err = map->update_host(key.data(), value.data(), flags);
  if (err < 0) return map_error(*map, "update failed", err);
  return {};
}

Result<void> Object::erase(std::string_view name, std::span<const uint8_t> key) {
  POLLEN_TRY(maps::Map * map, impl_->find_map(name));
  POLLEN_CHECK(check_size(*map, "key", key.size(), map->def().key_size));
  maps::EpochGuard guard;
  long err = map->erase(key.data());
  if (err < 0) return map_error(*map, "delete failed", err);
  return {};
}

Result<void> Object::push(std::string_view name, std::span<const uint8_t> value) {
  POLLEN_TRY(maps::Map * map, impl_->find_map(name));
  POLLEN_CHECK(check_size(*map, "value", value.size(), map->def().value_size));
  long err = map->update_host(nullptr, value.data());
  if (err < 0) return map_error(*map, "push failed", err);
  return {};
}

Result<std::optional<Bytes>> Object::next_key(std::string_view name,
                                              std::optional<std::span<const uint8_t>> key) {
  POLLEN_TRY(maps::Map * map, impl_->find_map(name));
  if (key) POLLEN_CHECK(check_size(*map, "key", key->size(), map->def().key_size));
  Bytes next(map->def().key_size);
  long err = map->get_next_key(key ? key->data() : nullptr, next.data());
  if (err == -2) return std::optional<Bytes>{};  // ENOENT: the end
  if (err < 0) return map_error(*map, "get_next_key failed", err);
  return std::optional<Bytes>{std::move(next)};
}

Result<MapContents> Object::dump(std::string_view name) {
  POLLEN_TRY(maps::Map * map, impl_->find_map(name));
  MapContents out;
  out.type = maps::map_type_name(map->type());
  out.percpu = map->percpu();
  out.keyed = !is_keyless(map->type());
  if (map->type() == MapType::Queue || map->type() == MapType::Stack)
    dump_queue(*map, out);
  else if (auto* ring = dynamic_cast<maps::RingBuf*>(map))
    dump_ringbuf(*ring, out);
  else if (auto* perf = dynamic_cast<maps::PerfEventArray*>(map))
    for (maps::PerfEventArray::Sample& sample : perf->consume())
      out.records.push_back(std::move(sample.bytes));
  else if (out.keyed)
    POLLEN_CHECK(dump_keyed(*map, out));
  return out;
}

}  // namespace pollen

// SPDX-License-Identifier: MIT
// Maps as JSON for `pollen test-run` and `pollen run` (see maps_json.hpp): per-CPU values are
// written per slot and read back into the host layout, each slot padded to 8 bytes, as the
// bpf(2) syscall lays them out.
#include "maps_json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "cli.hpp"

namespace pollen::cli {
namespace {

using Bytes = std::vector<uint8_t>;

Error maps_in_error(std::string what) {
  return make_error(Errc::InvalidArgument, Location::none(), "--maps-in: " + std::move(what));
}

Result<Bytes> hex_field(const Json& value, const std::string& where) {
  if (!value.is_string()) return maps_in_error(where + ": expected a hex string");
  return parse_hex(value.get<std::string>(), "--maps-in: " + where);
}

// A per-CPU value in the host layout: every slot's value, each padded to 8 bytes.
Result<Bytes> percpu_value(const Json& values, const std::string& where) {
  Bytes out;
  for (const Json& v : values) {
    POLLEN_TRY(Bytes one, hex_field(v, where));
    one.resize((one.size() + 7) / 8 * 8);
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

Result<void> fill_map(Object& object, const MapInfo& info, const Json& map) {
  const std::string where = "map '" + info.name + "'";
  if (map.contains("entries"))
    for (const Json& entry : map["entries"]) {
      POLLEN_TRY(Bytes key, hex_field(entry.value("key", Json()), where + ": key"));
      Bytes value;
      if (info.percpu && entry.contains("values")) {
        POLLEN_TRY(value, percpu_value(entry["values"], where + ": values"));
      } else {
        POLLEN_TRY(value, hex_field(entry.value("value", Json()), where + ": value"));
      }
      POLLEN_CHECK(object.update(info.name, key, value));
    }
  if (map.contains("values"))
    for (const Json& v : map["values"]) {
      POLLEN_TRY(Bytes value, hex_field(v, where + ": values"));
      POLLEN_CHECK(object.push(info.name, value));
    }
  return {};
}

Json map_json(const MapContents& contents) {
  Json out = {{"type", contents.type}};
  auto hex_list = [](const std::vector<Bytes>& list) {
    Json array = Json::array();
    for (const Bytes& b : list) array.push_back(hex_string(b));
    return array;
  };
  if (contents.keyed) {
    Json entries = Json::array();
    for (const MapEntry& e : contents.entries) {
      Json entry = {{"key", hex_string(e.key)}};
      if (contents.percpu)
        entry["values"] = hex_list(e.values);
      else
        entry["value"] = hex_string(e.values.at(0));
      entries.push_back(std::move(entry));
    }
    out["entries"] = std::move(entries);
  } else if (contents.type == "ringbuf" || contents.type == "perf_event_array") {
    out["records"] = hex_list(contents.records);
  } else {
    out["values"] = hex_list(contents.values);
  }
  return out;
}

}  // namespace

std::string hex_string(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

Result<void> fill_maps(Object& object, const std::string& path) {
  POLLEN_TRY(Bytes text, read_file(path));
  Json maps = Json::parse(as_text(text), nullptr, false);
  if (maps.is_discarded() || !maps.is_object()) return maps_in_error("not a JSON object of maps");
  const auto all = object.maps();
  for (const auto& item : maps.items()) {
    const std::string& name = item.key();
    if (std::none_of(all.begin(), all.end(), [&](const MapInfo& m) { return m.name == name; }))
      return maps_in_error("the object has no map '" + name + "'");
  }
  for (const MapInfo& info : all)
    if (maps.contains(info.name)) POLLEN_CHECK(fill_map(object, info, maps[info.name]));
  return {};
}

Result<Json> maps_json(Object& object) {
  Json out = Json::object();
  for (const MapInfo& info : object.maps()) {
    POLLEN_TRY(MapContents contents, object.dump(info.name));
    out[info.name] = map_json(contents);
  }
  return out;
}

}  // namespace pollen::cli

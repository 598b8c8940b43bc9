// SPDX-License-Identifier: MIT
// Maps as JSON, shared by `pollen test-run` and `pollen run`: filling an object's maps from a
// --maps-in file and dumping every map's contents, in one shape for both directions:
// {"<map>": {"type": "hash", "entries": [{"key": "<hex>", "value": "<hex>"}]}, ...}; per-CPU
// maps have "values" (one per slot) instead of "value", queues and stacks a "values" list and
// ring buffers a "records" list.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "pollen/object.hpp"

namespace pollen::cli {

using Json = nlohmann::ordered_json;

/// Bytes as lowercase hex digit pairs with nothing between them: "0a1b".
std::string hex_string(std::span<const uint8_t> bytes);

/// Fills the maps of `object` from the JSON file at `path` (the shape above). A map the object
/// lacks or a malformed value is Errc::InvalidArgument starting with "--maps-in:".
Result<void> fill_maps(Object& object, const std::string& path);

/// Every map of `object` and what it holds (ring buffer records are consumed).
Result<Json> maps_json(Object& object);

}  // namespace pollen::cli

// SPDX-License-Identifier: MIT
// Names and the printed form of register states, in the notation of Linux's verifier log
// (print_verifier_state), so that people who know the kernel's messages can read Pollen's.
#include "verifier/reg_state.hpp"

#include <vector>

#include <fmt/format.h>

namespace pollen::verifier {

const char* reg_type_name(RegType type) {
  switch (type) {
    case RegType::NotInit: return "uninit";
    case RegType::Scalar: return "scalar";
    case RegType::Ctx: return "ctx";
    case RegType::Stack: return "fp";
    case RegType::MapPtr: return "map_ptr";
    case RegType::MapValue: return "map_value";
    case RegType::MapValueOrNull: return "map_value_or_null";
    case RegType::Packet: return "pkt";
    case RegType::PacketMeta: return "pkt_meta";
    case RegType::PacketEnd: return "pkt_end";
    case RegType::Mem: return "mem";
    case RegType::MemOrNull: return "ringbuf_mem_or_null";
    case RegType::MapKey: return "map_key";
    case RegType::Func: return "func";
  }
  return "?";
}

std::string RegState::str() const {
  if (type == RegType::NotInit) return "uninit";
  if (type == RegType::Scalar) {
    std::string v = value.str();
    if (value.is_const()) return v;
    if (id) return fmt::format("scalar(id={}{}{})", id, v.empty() ? "" : ",", v);
    return fmt::format("scalar({})", v);
  }
  // Stack pointers with a known offset print as "fp-8", as Linux does.
  if (type == RegType::Stack && value.is_zero())
    return frame ? fmt::format("fp{}[frame {}]", off, frame) : fmt::format("fp{}", off);
  std::vector<std::string> parts;
  if (id) parts.push_back(fmt::format("id={}", id));
  if (type == RegType::MapPtr || type == RegType::MapValue || type == RegType::MapValueOrNull)
    parts.push_back(fmt::format("map={}", map));
  if (type == RegType::Stack && frame) parts.push_back(fmt::format("frame={}", frame));
  if (off) parts.push_back(fmt::format("off={}", off));
  if (is_packet(type))
    parts.push_back(range == kAtPacketEnd       ? std::string("r=at_end")
                    : range == kBeyondPacketEnd ? std::string("r=beyond_end")
                                                : fmt::format("r={}", range));
  if (type == RegType::Mem || type == RegType::MemOrNull)
    parts.push_back(fmt::format("size={}", mem_size));
  if (type == RegType::MapKey) parts.push_back(fmt::format("map={}", map));
  if (type == RegType::Func) parts.push_back(fmt::format("insn={}", mem_size));
  if (ref) parts.push_back(fmt::format("ref={}", ref));
  if (!value.is_zero()) parts.push_back(value.str());
  // A global function's pointer argument is memory or null, with no reference behind it.
  const char* name = type == RegType::MemOrNull && ref == 0 ? "mem_or_null" : reg_type_name(type);
  if (parts.empty()) return name;
  return fmt::format("{}({})", name, fmt::join(parts, ","));
}

}  // namespace pollen::verifier

// SPDX-License-Identifier: MIT
// The program-type table. Context layouts follow Linux's UAPI structures and is_valid_access()
// functions: xdp_is_valid_access() (struct xdp_md: u32 fields, read-only, egress_ifindex only
// for devmap programs), sk_filter_is_valid_access() over bpf_skb_is_valid_access() (struct
// __sk_buff: narrow reads, cb[] the only writable field, no direct packet access),
// syscall_prog_is_valid_access() (any aligned offset below 64 KiB). Helper lists are Linux's
// bpf_base_func_proto() plus each type's *_func_proto(), as a root (CAP_BPF, CAP_PERFMON) load
// sees them; a helper must also exist in Pollen (the platform's prototypes) to be called.
#include "verifier/program_types.hpp"

#include <algorithm>
#include <array>

namespace pollen::verifier {
namespace {

using K = FieldKind;

// struct xdp_md. Pollen's runtime context holds 64-bit pointers: data, data_end, data_meta at
// 0, 8, 16, then ingress_ifindex and rx_queue_index.
constexpr std::array<CtxField, 5> kXdpFields = {{
    {"data", 0, 4, K::PacketData, false, false, false, 0, 8},
    {"data_end", 4, 4, K::PacketEnd, false, false, false, 8, 8},
    {"data_meta", 8, 4, K::PacketMeta, false, false, false, 16, 8},
    {"ingress_ifindex", 12, 4, K::Scalar, false, false, false, 24, 4},
    {"rx_queue_index", 16, 4, K::Scalar, false, false, false, 28, 4},
}};

// struct __sk_buff as a socket filter sees it; Pollen's runtime context has the same layout.
constexpr CtxField skb_field(std::string_view name, uint16_t offset) {
  return {name, offset, 4, K::Scalar, false, true, false, offset, 4};
}
constexpr std::array<CtxField, 17> kSocketFilterFields = {{
    skb_field("len", 0),
    skb_field("pkt_type", 4),
    skb_field("mark", 8),
    skb_field("queue_mapping", 12),
    skb_field("protocol", 16),
    skb_field("vlan_present", 20),
    skb_field("vlan_tci", 24),
    skb_field("vlan_proto", 28),
    skb_field("priority", 32),
    skb_field("ingress_ifindex", 36),
    skb_field("ifindex", 40),
    skb_field("tc_index", 44),
    {"cb", 48, 20, K::Scalar, true, true, true, 48, 20},
    skb_field("hash", 68),
    skb_field("napi_id", 84),
    skb_field("gso_segs", 164),
    skb_field("gso_size", 176),
}};

// Beyond the base set, by type (Linux helper ids from include/uapi/linux/bpf.h).
constexpr std::array<uint32_t, 12> kXdpHelpers = {
    23,   // redirect
    25,   // perf_event_output
    28,   // csum_diff
    44,   // xdp_adjust_head
    51,   // redirect_map
    54,   // xdp_adjust_meta
    65,   // xdp_adjust_tail
    69,   // fib_lookup
    163,  // check_mtu
    188,  // xdp_get_buff_len
    189,  // xdp_load_bytes
    190,  // xdp_store_bytes
};
// Linux also gives socket filters perf_event_output (bpf_skb_event_output, whose context is an
// sk_buff); Pollen implements XDP's only, so a socket filter may not call it.
constexpr std::array<uint32_t, 4> kSocketFilterHelpers = {
    26,  // skb_load_bytes
    46,  // get_socket_cookie
    47,  // get_socket_uid
    68,  // skb_load_bytes_relative
};
constexpr std::array<uint32_t, 6> kSyscallHelpers = {
    4,    // probe_read
    45,   // probe_read_str
    166,  // sys_bpf
    167,  // btf_find_by_name_kind
    168,  // sys_close
    179,  // kallsyms_lookup_name
};

// bpf_base_func_proto() for a root load in Linux 6.18 (which also gives every program type the
// current task's ids and comm, its pid namespace's view of them, the user-memory probes,
// strtol and the TAI clock), sorted.
constexpr std::array<uint32_t, 42> kBaseHelpers = {
    1,    // map_lookup_elem
    2,    // map_update_elem
    3,    // map_delete_elem
    5,    // ktime_get_ns
    6,    // trace_printk
    7,    // get_prandom_u32
    8,    // get_smp_processor_id
    12,   // tail_call
    14,   // get_current_pid_tgid
    15,   // get_current_uid_gid
    16,   // get_current_comm
    35,   // get_current_task
    42,   // get_numa_node_id
    87,   // map_push_elem
    88,   // map_pop_elem
    89,   // map_peek_elem
    93,   // spin_lock
    94,   // spin_unlock
    105,  // strtol
    106,  // strtoul
    112,  // probe_read_user
    113,  // probe_read_kernel
    114,  // probe_read_user_str
    115,  // probe_read_kernel_str
    118,  // jiffies64
    120,  // get_ns_current_pid_tgid
    125,  // ktime_get_boot_ns
    130,  // ringbuf_output
    131,  // ringbuf_reserve
    132,  // ringbuf_submit
    133,  // ringbuf_discard
    134,  // ringbuf_query
    153,  // per_cpu_ptr
    154,  // this_cpu_ptr
    160,  // ktime_get_coarse_ns
    164,  // for_each_map_elem
    165,  // snprintf
    177,  // trace_vprintk
    181,  // loop
    182,  // strncmp
    195,  // map_lookup_percpu_elem
    208,  // ktime_get_tai_ns
};
static_assert(std::is_sorted(kBaseHelpers.begin(), kBaseHelpers.end()));

const std::array<ProgramTypeInfo, 4> kTypes = {{
    {"raw", std::nullopt, CtxModel::Memory, 0, {}, 0, false, false, true, false, {}, std::nullopt},
    {"xdp", 6, CtxModel::Fields, 24, kXdpFields, 32, true, true, false, false, kXdpHelpers,
     std::nullopt},
    {"socket_filter", 1, CtxModel::Fields, 192, kSocketFilterFields, 192, false, false, true, true,
     kSocketFilterHelpers, std::nullopt},
    // Linux: U16_MAX; the test run's ctx_size_in must cover the largest offset used.
    {"syscall",
     31,
     CtxModel::Buffer,
     0xffff,
     {},
     0,
     false,
     false,
     false,
     false,
     kSyscallHelpers,
     std::nullopt},
}};

}  // namespace

std::span<const ProgramTypeInfo> program_types() {
  return kTypes;
}

const ProgramTypeInfo* find_program_type(std::string_view name) {
  for (const ProgramTypeInfo& t : kTypes)
    if (t.name == name) return &t;
  return nullptr;
}

const ProgramTypeInfo* find_program_type(uint32_t linux_type) {
  for (const ProgramTypeInfo& t : kTypes)
    if (t.linux_type == linux_type) return &t;
  return nullptr;
}

// Helpers whose prototype has .pkt_access = true: only these may read or write packet memory
// given as an argument (Linux: "helper access to the packet is not allowed").
constexpr std::array<uint32_t, 6> kPacketHelpers = {
    1,   // map_lookup_elem
    2,   // map_update_elem
    3,   // map_delete_elem
    28,  // csum_diff
    40,  // csum_update
    87,  // map_push_elem
};

bool helper_takes_packet(uint32_t id) {
  return std::find(kPacketHelpers.begin(), kPacketHelpers.end(), id) != kPacketHelpers.end();
}

// bpf_helper_changes_pkt_data() in net/core/filter.c, sorted.
constexpr std::array<uint32_t, 20> kPacketChangingHelpers = {
    9,   // skb_store_bytes
    10,  // l3_csum_replace
    11,  // l4_csum_replace
    18,  // skb_vlan_push
    19,  // skb_vlan_pop
    31,  // skb_change_proto
    38,  // skb_change_tail
    39,  // skb_pull_data
    43,  // skb_change_head
    44,  // xdp_adjust_head
    50,  // skb_adjust_room
    54,  // xdp_adjust_meta
    63,  // msg_pull_data
    65,  // xdp_adjust_tail
    73,  // lwt_push_encap
    74,  // lwt_seg6_store_bytes
    75,  // lwt_seg6_adjust_srh
    76,  // lwt_seg6_action
    90,  // msg_push_data
    91,  // msg_pop_data
};
static_assert(std::is_sorted(kPacketChangingHelpers.begin(), kPacketChangingHelpers.end()));

bool helper_changes_packet(uint32_t id) {
  return std::binary_search(kPacketChangingHelpers.begin(), kPacketChangingHelpers.end(), id);
}

bool allows_helper(const ProgramTypeInfo& type, uint32_t id) {
  if (std::binary_search(kBaseHelpers.begin(), kBaseHelpers.end(), id)) return true;
  return std::find(type.helpers.begin(), type.helpers.end(), id) != type.helpers.end();
}

CtxCheck check_ctx_field(const ProgramTypeInfo& type, int64_t off, int size, bool write) {
  if (off < 0 || off + size > type.ctx_size) return {nullptr, "outside the context"};
  if (off % size != 0) return {nullptr, "not aligned to its size"};
  auto it = std::find_if(type.fields.begin(), type.fields.end(), [&](const CtxField& f) {
    return f.offset <= off && off < f.offset + f.size;
  });
  if (it == type.fields.end()) return {nullptr, "not a field this program type may access"};
  const CtxField& f = *it;
  if (off + size > f.offset + f.size) return {nullptr, "crosses the end of the field"};
  if (write && !f.writable) return {nullptr, "the field is read-only"};
  if (f.any_size) return {&f, {}};
  if (size == f.size) return {&f, {}};
  if (write) return {nullptr, "a store must write the whole field"};
  if (!f.narrow) return {nullptr, "a load must read the whole field"};
  return {&f, {}};
}

}  // namespace pollen::verifier

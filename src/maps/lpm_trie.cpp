// SPDX-License-Identifier: MIT
// The LPM trie, following the behaviour of Linux's lpm_trie.c: a node's children extend its
// prefix by at least one bit, the bit right after the parent's prefix choosing the child; a
// lookup remembers the last entry whose whole prefix matched; deleting an entry with two
// children only marks it intermediate, and an intermediate node left with one child is replaced
// by that child. Nodes are never changed after publication except for that mark and their child
// pointers, so readers need no lock.
#include "maps/lpm_trie.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#include "maps/epoch.hpp"

namespace pollen::maps {

struct LpmTrie::Node {
  std::atomic<Node*> child[2] = {nullptr, nullptr};
  uint32_t prefixlen = 0;
  std::atomic<bool> intermediate{false};
  // data_size_ bytes of prefix data follow, then the value at value_off_.
};

namespace {

void free_node(void* node) {
  ::operator delete(node);
}

unsigned char* data_of(const void* node, size_t header) {
  return static_cast<unsigned char*>(const_cast<void*>(node)) + header;
}

// Bit `index` of a big-endian bit string (Linux's extract_bit).
unsigned bit_at(const unsigned char* data, uint32_t index) {
  return (data[index / 8] >> (7 - index % 8)) & 1u;
}

}  // namespace

LpmTrie::LpmTrie(const MapDef& def, uint32_t slots)
    : Map(def, slots),
      data_size_(def.key_size - 4),
      max_prefixlen_(data_size_ * 8),
      value_off_(sizeof(Node) + round_up8(data_size_)),
      node_size_(value_off_ + round_up8(def.value_size)) {}

LpmTrie::~LpmTrie() {
  std::vector<Node*> pending;
  if (Node* root = root_.load(std::memory_order_relaxed)) pending.push_back(root);
  while (!pending.empty()) {
    Node* node = pending.back();
    pending.pop_back();
    for (auto& child : node->child) {
      if (Node* c = child.load(std::memory_order_relaxed)) pending.push_back(c);
    }
    free_node(node);
  }
}

LpmTrie::Key LpmTrie::parse_key(const void* key) const {
  Key k;
  std::memcpy(&k.prefixlen, key, sizeof k.prefixlen);
  k.data = static_cast<const unsigned char*>(key) + sizeof k.prefixlen;
  return k;
}

unsigned char* LpmTrie::value_of(Node* node) const {
  return reinterpret_cast<unsigned char*>(node) + value_off_;
}

// Number of leading bits the node's prefix and the key share, at most the shorter prefix.
uint32_t LpmTrie::match_len(const Node* node, Key key) const {
  const uint32_t limit = std::min(node->prefixlen, key.prefixlen);
  const unsigned char* data = data_of(node, sizeof(Node));
  for (uint32_t i = 0; i * 8 < limit; ++i) {
    const auto diff = static_cast<unsigned char>(data[i] ^ key.data[i]);
    if (diff != 0) return std::min<uint32_t>(limit, i * 8 + std::countl_zero(diff));
  }
  return limit;
}

// An entry holding `value`, or an intermediate node when value is null.
LpmTrie::Node* LpmTrie::new_node(Key key, uint32_t prefixlen, const void* value) const {
  void* memory = ::operator new(node_size_, std::nothrow);
  if (memory == nullptr) return nullptr;
  Node* node = new (memory) Node;
  node->prefixlen = prefixlen;
  node->intermediate.store(value == nullptr, std::memory_order_relaxed);
  std::memset(data_of(node, sizeof(Node)), 0, node_size_ - sizeof(Node));
  std::memcpy(data_of(node, sizeof(Node)), key.data, data_size_);
  if (value != nullptr) std::memcpy(value_of(node), value, def_.value_size);
  return node;
}

LpmTrie::Node* LpmTrie::find_longest(Key key) const {
  Node* found = nullptr;
  for (Node* node = root_.load(std::memory_order_acquire); node != nullptr;) {
    if (match_len(node, key) < node->prefixlen) break;
    if (!node->intermediate.load(std::memory_order_acquire)) found = node;
    if (node->prefixlen == max_prefixlen_) break;
    node = node->child[bit_at(key.data, node->prefixlen)].load(std::memory_order_acquire);
  }
  return found;
}

void* LpmTrie::lookup(const void* key, uint32_t) {
  Node* node = find_longest(parse_key(key));
  return node != nullptr ? value_of(node) : nullptr;
}

long LpmTrie::do_lookup_copy(const void* key, void* value, uint64_t) {
  Node* node = find_longest(parse_key(key));
  if (node == nullptr) return -ENOENT;
  read_value(value, value_of(node));
  return 0;
}

long LpmTrie::update(const void* key, const void* value, uint64_t flags, uint32_t) {
  // Linux's trie_update_elem: no BPF_F_LOCK, and the prefix must fit the key.
  if (flags > kBpfExist) return -EINVAL;
  const Key k = parse_key(key);
  if (k.prefixlen > max_prefixlen_) return -EINVAL;
  Node* retired = nullptr;
  long rc;
  {
    std::lock_guard guard(lock_);
    rc = insert_locked(k, value, flags, &retired);
  }
  if (retired != nullptr) Epoch::retire(retired, &free_node);
  return rc;
}

long LpmTrie::insert_locked(Key key, const void* value, uint64_t flags, Node** retired) {
  std::atomic<Node*>* slot = &root_;
  Node* node = nullptr;
  uint32_t matchlen = 0;
  while ((node = slot->load(std::memory_order_relaxed)) != nullptr) {
    matchlen = match_len(node, key);
    if (node->prefixlen != matchlen || node->prefixlen == key.prefixlen) break;
    slot = &node->child[bit_at(key.data, node->prefixlen)];
  }
  const bool exact =
      node != nullptr && node->prefixlen == key.prefixlen && matchlen == key.prefixlen;
  const bool replaces_entry = exact && !node->intermediate.load(std::memory_order_relaxed);
  if (replaces_entry && flags == kBpfNoExist) return -EEXIST;
  if (!replaces_entry && flags == kBpfExist) return -ENOENT;
  if (!replaces_entry && count_.load(std::memory_order_relaxed) >= def_.max_entries) {
    return -ENOSPC;
  }
  Node* entry = new_node(key, key.prefixlen, value);
  if (entry == nullptr) return -ENOMEM;
  if (!link_entry(slot, node, entry, matchlen)) {
    free_node(entry);
    return -ENOMEM;
  }
  if (exact) *retired = node;
  if (!replaces_entry) count_.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

// Publishes `entry` at `slot`, where the walk for its key stopped at `node` after `matchlen`
// common bits. False if an intermediate node was needed and could not be allocated.
bool LpmTrie::link_entry(std::atomic<Node*>* slot, Node* node, Node* entry, uint32_t matchlen) {
  Node* top = entry;
  if (node != nullptr && matchlen == entry->prefixlen) {
    if (node->prefixlen == matchlen) {
      // Same prefix: the new node takes over the old one's subtrees; the caller retires it.
      for (int i = 0; i < 2; ++i) {
        entry->child[i].store(node->child[i].load(std::memory_order_relaxed),
                              std::memory_order_relaxed);
      }
    } else {
      // The new prefix contains the node's: it becomes the node's parent.
      entry->child[bit_at(data_of(node, sizeof(Node)), matchlen)].store(node,
                                                                        std::memory_order_relaxed);
    }
  } else if (node != nullptr) {
    // The prefixes diverge at bit matchlen: join them under an intermediate node.
    const unsigned char* key_data = data_of(entry, sizeof(Node));
    top = new_node(Key{matchlen, key_data}, matchlen, nullptr);
    if (top == nullptr) return false;
    top->child[bit_at(data_of(node, sizeof(Node)), matchlen)].store(node,
                                                                    std::memory_order_relaxed);
    top->child[bit_at(key_data, matchlen)].store(entry, std::memory_order_relaxed);
  }
  slot->store(top, std::memory_order_release);
  return true;
}

long LpmTrie::erase(const void* key) {
  const Key k = parse_key(key);
  if (k.prefixlen > max_prefixlen_) return -EINVAL;
  Node* retired1 = nullptr;
  Node* retired2 = nullptr;
  long rc;
  {
    std::lock_guard guard(lock_);
    rc = erase_locked(k, &retired1, &retired2);
  }
  if (retired1 != nullptr) Epoch::retire(retired1, &free_node);
  if (retired2 != nullptr) Epoch::retire(retired2, &free_node);
  return rc;
}

long LpmTrie::erase_locked(Key key, Node** retired1, Node** retired2) {
  std::atomic<Node*>* trim = &root_;   // the pointer to node
  std::atomic<Node*>* trim2 = &root_;  // the pointer to node's parent
  Node* parent = nullptr;
  Node* node = nullptr;
  uint32_t matchlen = 0;
  while ((node = trim->load(std::memory_order_relaxed)) != nullptr) {
    matchlen = match_len(node, key);
    if (node->prefixlen != matchlen || node->prefixlen == key.prefixlen) break;
    parent = node;
    trim2 = trim;
    trim = &node->child[bit_at(key.data, node->prefixlen)];
  }
  if (node == nullptr || node->prefixlen != key.prefixlen || matchlen != key.prefixlen ||
      node->intermediate.load(std::memory_order_relaxed)) {
    return -ENOENT;
  }
  count_.fetch_sub(1, std::memory_order_relaxed);
  Node* left = node->child[0].load(std::memory_order_relaxed);
  Node* right = node->child[1].load(std::memory_order_relaxed);
  if (left != nullptr && right != nullptr) {
    node->intermediate.store(true, std::memory_order_release);
    return 0;
  }
  if (left == nullptr && right == nullptr && parent != nullptr &&
      parent->intermediate.load(std::memory_order_relaxed)) {
    // The intermediate parent would keep one child: the sibling takes the parent's place.
    const bool is_left = parent->child[0].load(std::memory_order_relaxed) == node;
    trim2->store(parent->child[is_left ? 1 : 0].load(std::memory_order_relaxed),
                 std::memory_order_release);
    *retired1 = node;
    *retired2 = parent;
    return 0;
  }
  trim->store(left != nullptr ? left : right, std::memory_order_release);
  *retired1 = node;
  return 0;
}

long LpmTrie::copy_key(const Node* node, void* next_key) const {
  if (node == nullptr) return -ENOENT;
  std::memcpy(next_key, &node->prefixlen, sizeof node->prefixlen);
  std::memcpy(static_cast<unsigned char*>(next_key) + sizeof node->prefixlen,
              data_of(node, sizeof(Node)), data_size_);
  return 0;
}

// The first entry of the subtree in postorder: keep to the leftmost child down to a leaf.
long LpmTrie::leftmost(const Node* root, void* next_key) const {
  const Node* next = nullptr;
  for (const Node* node = root; node != nullptr;) {
    if (!node->intermediate.load(std::memory_order_acquire)) next = node;
    const Node* left = node->child[0].load(std::memory_order_acquire);
    node = left != nullptr ? left : node->child[1].load(std::memory_order_acquire);
  }
  return copy_key(next, next_key);
}

long LpmTrie::do_get_next_key(const void* key, void* next_key) {
  const Node* root = root_.load(std::memory_order_acquire);
  if (root == nullptr) return -ENOENT;
  if (key == nullptr) return leftmost(root, next_key);
  const Key k = parse_key(key);
  if (k.prefixlen > max_prefixlen_) return leftmost(root, next_key);
  // The path to the exact entry; a key that is not stored restarts the walk, as in Linux.
  std::vector<const Node*> path;
  for (const Node* node = root; node != nullptr;) {
    if (match_len(node, k) != node->prefixlen) break;
    path.push_back(node);
    if (node->prefixlen == k.prefixlen) break;
    node = node->child[bit_at(k.data, node->prefixlen)].load(std::memory_order_acquire);
  }
  if (path.empty() || path.back()->prefixlen != k.prefixlen ||
      path.back()->intermediate.load(std::memory_order_acquire)) {
    return leftmost(root, next_key);
  }
  // Postorder successor: the right sibling's subtree if we came from the left, else the parent.
  const Node* node = path.back();
  path.pop_back();
  while (!path.empty()) {
    const Node* parent = path.back();
    const Node* right = parent->child[1].load(std::memory_order_acquire);
    if (parent->child[0].load(std::memory_order_acquire) == node && right != nullptr) {
      return leftmost(right, next_key);
    }
    if (!parent->intermediate.load(std::memory_order_acquire)) return copy_key(parent, next_key);
    node = parent;
    path.pop_back();
  }
  return -ENOENT;
}

bool LpmTrie::supports_batch(BatchOp op) const {
  return op != BatchOp::LookupAndDelete;
}

}  // namespace pollen::maps

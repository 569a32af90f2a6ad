#include "core/conn_table.h"

namespace ctrack {

ConnTable::ConnTable(std::uint32_t buckets, std::uint64_t seed)
    : key_(HashKey::from_seed(seed)), nbuckets_(buckets), heads_(buckets, kNoConn) {}

void ConnTable::link(std::uint32_t slot, const Tuple& reply) {
  Conn& c = at(slot);
  std::uint32_t bo = bucket(hash(c.orig));
  c.next[0] = heads_[bo];
  heads_[bo] = slot * 2;
  std::uint32_t br = bucket(hash(reply));
  c.next[1] = heads_[br];
  heads_[br] = slot * 2 + 1;
}

void ConnTable::unlink_node(std::uint32_t node, const Tuple& t) {
  std::uint32_t* link = &heads_[bucket(hash(t))];
  while (*link != kNoConn) {
    if (*link == node) {
      *link = at(node >> 1).next[node & 1];
      return;
    }
    link = &at(*link >> 1).next[*link & 1];
  }
}

void ConnTable::unlink(std::uint32_t slot, const Tuple& reply) {
  Conn& c = at(slot);
  unlink_node(slot * 2, c.orig);
  unlink_node(slot * 2 + 1, reply);
  c.next[0] = c.next[1] = kNoConn;
}

std::uint32_t ConnTable::alloc_slot() {
  if (free_head_ != kNoConn) {
    std::uint32_t slot = free_head_;
    free_head_ = at(slot).next[0];
    return slot;
  }
  if ((next_fresh_ >> kChunkBits) >= chunks_.size()) {
    chunks_.push_back(std::make_unique<Conn[]>(kChunkSize));
  }
  return next_fresh_++;
}

void ConnTable::free_slot(std::uint32_t slot) {
  Conn& c = at(slot);
  c = Conn{};
  c.next[0] = free_head_;
  free_head_ = slot;
}

void ConnTable::resize(std::uint32_t buckets,
                       const std::vector<std::pair<std::uint32_t, Tuple>>& linked) {
  nbuckets_ = buckets;
  heads_.assign(buckets, kNoConn);
  for (const auto& [slot, reply] : linked) link(slot, reply);
}

std::size_t ConnTable::memory_bytes() const {
  return heads_.size() * sizeof(std::uint32_t) + chunks_.size() * kChunkSize * sizeof(Conn);
}

}  // namespace ctrack

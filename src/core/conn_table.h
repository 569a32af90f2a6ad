// The connection table: a pool of entries plus a hash index in which every
// entry is linked twice, under its original and under its reply tuple, like
// the kernel's nf_conntrack_hash. A hash node is `slot * 2 + direction`, so a
// lookup hit tells the direction for free.
//
// Layout choices for the hot path: entries live in fixed-size chunks
// (addresses never move, growth never copies), buckets are 4-byte node
// indices, chains are intrusive (Conn::next[dir]); nothing is allocated per
// packet once the pool has grown to the working set.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/flow_hash.h"
#include "ctrack/conn.h"

namespace ctrack {

struct Hit {
  std::uint32_t slot = kNoConn;
  Direction dir = Direction::Original;
  bool found() const { return slot != kNoConn; }
};

class ConnTable {
 public:
  ConnTable(std::uint32_t buckets, std::uint64_t seed);

  Conn& at(std::uint32_t slot) { return chunks_[slot >> kChunkBits][slot & kChunkMask]; }
  const Conn& at(std::uint32_t slot) const {
    return chunks_[slot >> kChunkBits][slot & kChunkMask];
  }

  std::uint32_t hash(const Tuple& t) const { return tuple_hash(t, key_); }
  std::uint32_t bucket(std::uint32_t h) const { return bucket_of(h, nbuckets_); }
  std::uint32_t buckets() const { return nbuckets_; }

  // Finds the entry whose original tuple is `t` or whose reply tuple is `t`
  // (tested as orig == `inv`, the inverse of `t`; pass nullptr when `t` has
  // no inverse). Entries expired at `now` are unlinked and reported through
  // `expired` (the caller frees them) instead of being returned.
  template <class OnExpired>
  Hit find(const Tuple& t, std::uint32_t h, const Tuple* inv, Timestamp now, OnExpired&& expired);

  // Links a confirmed entry under both tuples (`reply` is its inverse).
  void link(std::uint32_t slot, const Tuple& reply);
  // Unlinks both nodes of an entry.
  void unlink(std::uint32_t slot, const Tuple& reply);

  // Pool management: slots are recycled LIFO (a freed slot is warm in cache).
  std::uint32_t alloc_slot();
  void free_slot(std::uint32_t slot);
  std::uint32_t pool_size() const { return next_fresh_; }

  // First node of a bucket's chain and the next node after `node`.
  std::uint32_t head(std::uint32_t b) const { return heads_[b]; }
  std::uint32_t next(std::uint32_t node) const {
    return at(node >> 1).next[node & 1];
  }

  // Rebuilds the index with a new bucket count (nf_conntrack_buckets write).
  // `linked` lists the linked slots with their reply tuples.
  void resize(std::uint32_t buckets, const std::vector<std::pair<std::uint32_t, Tuple>>& linked);

  std::size_t memory_bytes() const;

 private:
  static constexpr std::uint32_t kChunkBits = 12;
  static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
  static constexpr std::uint32_t kChunkMask = kChunkSize - 1;

  void unlink_node(std::uint32_t node, const Tuple& t);

  HashKey key_;
  std::uint32_t nbuckets_;
  std::vector<std::uint32_t> heads_;
  std::vector<std::unique_ptr<Conn[]>> chunks_;
  std::uint32_t next_fresh_ = 0;      // slots [0, next_fresh_) have been handed out
  std::uint32_t free_head_ = kNoConn;  // free list threaded through Conn::next[0]
};

template <class OnExpired>
Hit ConnTable::find(const Tuple& t, std::uint32_t h, const Tuple* inv, Timestamp now,
                    OnExpired&& expired) {
  std::uint32_t node = heads_[bucket(h)];
  while (node != kNoConn) {
    const std::uint32_t slot = node >> 1;
    const std::uint32_t dir = node & 1;
    Conn& c = at(slot);
    const std::uint32_t next_node = c.next[dir];
    const bool hit = dir == 0 ? c.orig == t : (inv != nullptr && c.orig == *inv);
    if (hit) {
      if (c.expires - now <= 0) {
        expired(slot);  // unlinks it; continue with the saved successor
      } else {
        return Hit{slot, static_cast<Direction>(dir)};
      }
    }
    node = next_node;
  }
  return Hit{};
}

}  // namespace ctrack

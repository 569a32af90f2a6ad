// The connection table: a pool of entries plus a hash index. Unlike the
// kernel's nf_conntrack_hash, which links every entry twice (under its
// original and its reply tuple), an entry is linked once, under a hash both
// of its tuples share (flow_hash): one 4-byte link per entry instead of two,
// half as many nodes per chain, and a lookup tells the direction by which of
// the two tuples matched.
//
// Layout choices for the hot path: entries live in fixed-size chunks
// (addresses never move, growth never copies), buckets are 4-byte slot
// indices, chains are intrusive (Conn::next); nothing is allocated per
// packet once the pool has grown to the working set. Chunks and large bucket
// arrays are 2 MiB-aligned mappings advised for transparent huge pages: a
// lookup in a table of a million entries is two random accesses, and with
// 4 KiB pages each of them would also miss the TLB. A chunk holds 2^18
// entries, exactly 15 huge pages at 120 bytes each, and its entries are only
// constructed (touched) as they are handed out, so a small table costs
// only the pages it uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/flow_hash.h"
#include "core/l4_dispatch.h"
#include "ctrack/conn.h"

namespace ctrack {

struct Hit {
  std::uint32_t slot = kNoConn;
  Direction dir = Direction::Original;
  bool found() const { return slot != kNoConn; }
};

// An anonymous mapping, 2 MiB-aligned and advised for huge pages when it is
// at least that large, except for its first `small_prefix` bytes (rounded up
// to 2 MiB), which stay on small pages. Pages are zero until written.
class HugeRegion {
 public:
  HugeRegion() = default;
  explicit HugeRegion(std::size_t bytes, std::size_t small_prefix = 0);
  ~HugeRegion();
  HugeRegion(HugeRegion&& o) noexcept;
  HugeRegion& operator=(HugeRegion&& o) noexcept;
  HugeRegion(const HugeRegion&) = delete;
  HugeRegion& operator=(const HugeRegion&) = delete;
  void* data() const { return data_; }

 private:
  void* map_ = nullptr;
  std::size_t map_len_ = 0;
  void* data_ = nullptr;
};

class ConnTable {
 public:
  ConnTable(std::uint32_t buckets, std::uint64_t seed);

  Conn& at(std::uint32_t slot) { return chunk_ptrs_[slot >> kChunkBits][slot & kChunkMask]; }
  const Conn& at(std::uint32_t slot) const {
    return chunk_ptrs_[slot >> kChunkBits][slot & kChunkMask];
  }

  // Direction-independent hash of `t` whose inverse is `inv` (nullptr if `t`
  // has none); the one-argument form inverts `t` itself.
  std::uint32_t hash(const Tuple& t, const Tuple* inv) const { return flow_hash(t, inv, key_); }
  std::uint32_t hash(const Tuple& t) const {
    Tuple inv;
    return hash(t, invert_tuple(t, inv) ? &inv : nullptr);
  }
  std::uint32_t bucket(std::uint32_t h) const { return bucket_of(h, nbuckets_); }
  std::uint32_t buckets() const { return nbuckets_; }

  // Finds the entry whose original tuple is `t` or whose reply tuple is `t`
  // (tested as orig == `inv`, the inverse of `t`; pass nullptr when `t` has
  // no inverse). Entries expired at `now` are unlinked and reported through
  // `expired` (the caller frees them) instead of being returned.
  // `h` is hash(t, inv).
  template <class OnExpired>
  Hit find(const Tuple& t, std::uint32_t h, const Tuple* inv, Timestamp now, OnExpired&& expired);
  // The same without side effects: expired entries are skipped, not unlinked.
  Hit peek(const Tuple& t, std::uint32_t h, const Tuple* inv, Timestamp now) const;

  // Cache hints for the batch path: the bucket head of `h`, then (once that
  // has arrived) the first entry of its chain.
  void prefetch_bucket(std::uint32_t h) const { __builtin_prefetch(&heads_[bucket(h)]); }
  void prefetch_first(std::uint32_t h) const {
    const std::uint32_t slot = head(bucket(h));
    if (slot != kNoConn) {
      const char* p = reinterpret_cast<const char*>(&at(slot));
      __builtin_prefetch(p);
      __builtin_prefetch(p + sizeof(Conn) - 1);
      // GCC 12 treats __builtin_prefetch as free of side effects, finds this
      // function pure, and deletes every call whose (void) result is unused:
      // the entry prefetch silently vanished from the batch path. An empty
      // asm statement is a side effect the optimiser must keep.
      asm volatile("" : : "r"(p));
    }
  }

  // Once the first entry has arrived: if it is not the one `t` (inverse
  // `inv`) looks for, the second entry of the chain. Only a hint: it reads
  // whatever the slots hold now (a stale chain costs a useless prefetch).
  void prefetch_second(std::uint32_t h, const Tuple& t, const Tuple* inv) const {
    const std::uint32_t first = head(bucket(h));
    if (first == kNoConn) return;
    const Conn& c = at(first);
    if (c.next == kNoConn || match(c, t, inv) >= 0) return;
    const char* p = reinterpret_cast<const char*>(&at(c.next));
    __builtin_prefetch(p);
    __builtin_prefetch(p + sizeof(Conn) - 1);
    asm volatile("" : : "r"(p));  // kept, as in prefetch_first
  }

  // Links a confirmed entry (`reply` is the inverse of its original tuple).
  void link(std::uint32_t slot, const Tuple& reply) { link_hashed(slot, hash(at(slot).orig, &reply)); }
  // The same when the caller already has hash(orig, &reply).
  void link_hashed(std::uint32_t slot, std::uint32_t h) {
    const std::uint32_t b = bucket(h);
    at(slot).next = head(b);
    heads_[b] = ~slot;
  }
  void unlink(std::uint32_t slot, const Tuple& reply);

  // Pool management: slots are recycled LIFO (a freed slot is warm in cache).
  std::uint32_t alloc_slot();
  void free_slot(std::uint32_t slot);
  std::uint32_t pool_size() const { return next_fresh_; }

  // First slot of a bucket's chain and the slot after `slot` in its chain
  // (kNoConn at the end).
  std::uint32_t head(std::uint32_t b) const { return ~heads_[b]; }
  std::uint32_t next(std::uint32_t slot) const { return at(slot).next; }

  // Rebuilds the index with a new bucket count (nf_conntrack_buckets write).
  // `linked` lists the linked slots with their reply tuples.
  void resize(std::uint32_t buckets, const std::vector<std::pair<std::uint32_t, Tuple>>& linked);

  std::size_t memory_bytes() const;

 private:
  static constexpr std::uint32_t kChunkBits = 18;
  static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
  static constexpr std::uint32_t kChunkMask = kChunkSize - 1;

  // Which tuple of entry `c` is `t`: 0 original, 1 reply, -1 neither.
  static int match(const Conn& c, const Tuple& t, const Tuple* inv) {
    if (tuple_eq(c.orig, t)) {
      // A tuple that is its own inverse (same address and port both ways)
      // matches as reply, as in the kernel, whose reply node sits in front
      // of the original node in the chain.
      // (Rare: the first words, the source addresses' first bytes, differ
      // for almost every tuple and its inverse, so they are compared first.)
      return inv != nullptr && first_word_eq(*inv, t) && tuple_eq(*inv, t) ? 1 : 0;
    }
    return inv != nullptr && tuple_eq(c.orig, *inv) ? 1 : -1;
  }

  void alloc_heads(std::uint32_t buckets);

  HashKey key_;
  std::uint32_t nbuckets_;
  HugeRegion heads_mem_;
  // A bucket holds the complement of its first slot, so that an empty bucket
  // (kNoConn) is zero: the array is a fresh anonymous mapping, faulted in
  // zero by the kernel (conn_table.cc, populate_for_write) instead of being
  // filled from user space (a fill wrote 1 MiB at the default 262144
  // buckets, one page fault per 4 KiB, before the first packet). Read and
  // written through head() and link_hashed()/unlink() only.
  std::uint32_t* heads_ = nullptr;
  static_assert(~kNoConn == 0);
  std::vector<HugeRegion> chunks_;
  std::vector<Conn*> chunk_ptrs_;
  std::uint32_t next_fresh_ = 0;       // slots [0, next_fresh_) have been handed out
  std::uint32_t free_head_ = kNoConn;  // free list threaded through Conn::next
};

template <class OnExpired>
Hit ConnTable::find(const Tuple& t, std::uint32_t h, const Tuple* inv, Timestamp now,
                    OnExpired&& expired) {
  std::uint32_t slot = head(bucket(h));
  while (slot != kNoConn) {
    Conn& c = at(slot);
    const std::uint32_t next_slot = c.next;
    const int dir = match(c, t, inv);
    if (dir >= 0) {
      if (c.expires - now <= 0) {
        expired(slot);  // unlinks it; continue with the saved successor
      } else {
        return Hit{slot, static_cast<Direction>(dir)};
      }
    }
    slot = next_slot;
  }
  return Hit{};
}

}  // namespace ctrack

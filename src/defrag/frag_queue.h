// Reassembly queues shared by IPv4 and IPv6 (the kernel's inet_frag layer):
// queue lookup by key, the RFC 5722 run/overlap/duplicate rules, memory
// accounting against the high threshold, expiry by packet time.
//
// Everything lives in pools indexed by 32-bit slots. The pools grow only
// while fragment memory is below the threshold, so their size is bounded by
// the configured thresholds; in steady state no fragment allocates.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "ctrack/tuple.h"
#include "ctrack/types.h"

namespace ctrack::defrag {

inline constexpr std::uint32_t kNone = 0xffffffffu;

// (source, destination, id, protocol, user): protocol is 0 for IPv6, whose
// key has none; user is the hook (PREROUTING / OUTPUT user of the kernel).
struct FragKey {
  Addr src;
  Addr dst;
  std::uint32_t id = 0;
  std::uint8_t family = 0;
  std::uint8_t proto = 0;
  std::uint8_t user = 0;
  bool operator==(const FragKey&) const = default;
};

// RFC 3168 section 5.3, as Linux applies it to a reassembled datagram: each
// fragment contributes the bit of its ECN codepoint; a Not-ECT fragment
// mixed with ECN-capable ones discards the datagram, and CE on any fragment
// of an ECN-capable datagram marks the whole datagram CE.
inline std::uint8_t ecn_bit(std::uint8_t codepoint) {
  return static_cast<std::uint8_t>(1u << (codepoint & 3u));
}
struct EcnOutcome {
  bool drop = false;
  bool set_ce = false;
};
inline EcnOutcome merge_ecn(std::uint8_t seen) {
  constexpr std::uint8_t kNotEct = 1, kEct1 = 2, kEct0 = 4, kCe = 8;
  EcnOutcome o;
  o.drop = (seen & kNotEct) != 0 && (seen & ~kNotEct) != 0;
  o.set_ce = !o.drop && (seen & kCe) != 0 && (seen & (kEct0 | kEct1)) != 0;
  return o;
}

struct FragQueue {
  FragKey key;
  Timestamp expires = 0;
  std::uint32_t datagram = 0;
  std::uint32_t len = 0;          // end of the datagram's data as known so far (q.len)
  std::uint32_t meat = 0;         // bytes received
  std::uint32_t max_size = 0;     // largest fragment (IPv4: header + data; IPv6: payload)
  std::uint32_t max_df_size = 0;  // IPv4: largest fragment with DF set
  std::uint32_t mem = 0;          // bytes charged for this queue
  bool first_in = false;
  bool last_in = false;
  std::uint16_t count = 0;         // fragments queued
  std::uint8_t ecn = 0;            // ecn_bit() of every queued fragment, OR-ed
  std::uint32_t frags = kNone;     // fragments sorted by offset
  std::uint32_t tail = kNone;      // fragment with the highest offset
  std::uint32_t last_run = kNone;  // head of the run `tail` belongs to
  std::uint32_t hash_next = kNone;
  std::uint32_t age_prev = kNone;  // creation order, per family
  std::uint32_t age_next = kNone;
};

// One queued fragment. Its bytes (the IP header part, then exactly
// end - offset bytes of data) are kept in a chain of chunks.
struct FragRec {
  std::uint32_t offset = 0;  // bytes
  std::uint32_t end = 0;
  std::uint32_t next = kNone;
  std::uint32_t chunk = kNone;
  std::uint32_t hdr_len = 0;  // bytes before the fragment's data
  std::uint32_t run_end = 0;  // for run heads: end of the run
  bool run_head = false;
};

enum class InsertResult { Ok, Duplicate, Overlap };

// One directory of queues per family (fqdir), with its own memory counter.
struct FragDir {
  std::uint64_t mem = 0;
  std::uint32_t oldest = kNone;
  std::uint32_t newest = kNone;
};

class FragStore {
 public:
  // Bytes charged for a queue (sizeof struct ipq) and for a fragment of
  // `l3_len` bytes: the kernel charges skb->truesize, a power-of-two buffer
  // for frame + headroom plus the sk_buff and shared info (1500 bytes ->
  // 2944, as ip_fragment.c's own comment says).
  static constexpr std::uint32_t kQueueCharge = 200;
  static std::uint32_t fragment_charge(std::uint32_t l3_len);

  // The queue for `key`, or kNone.
  std::uint32_t find(const FragKey& key) const;
  // Creates a queue (caller checked the threshold) expiring at `expires`.
  std::uint32_t create(const FragKey& key, Timestamp expires, std::uint32_t datagram, FragDir& dir);
  // Frees the queue, its fragments and their memory (inet_frag_kill + put).
  void kill(std::uint32_t q, FragDir& dir);
  // Kills every queue of `dir` whose timer ran out at `now`; returns how many.
  std::uint32_t expire(FragDir& dir, Timestamp now);

  // The run rules of inet_frag_queue_insert: a fragment inside one run is a
  // duplicate, one touching any run otherwise overlaps.
  InsertResult check(const FragQueue& q, std::uint32_t offset, std::uint32_t end) const;
  // Queues the fragment (after check() said Ok): `hdr` then `data`.
  void insert(std::uint32_t q, std::uint32_t offset, std::uint32_t end,
              std::span<const std::uint8_t> hdr, std::span<const std::uint8_t> data,
              std::uint32_t charge, FragDir& dir);

  FragQueue& queue(std::uint32_t q) { return queues_[q]; }
  const FragQueue& queue(std::uint32_t q) const { return queues_[q]; }
  const FragRec& frag(std::uint32_t f) const { return frags_[f]; }
  // Copies `n` bytes of fragment `f` starting at byte `from` of its stored
  // bytes (header first, then data) to `out`.
  void copy_out(std::uint32_t f, std::uint32_t from, std::uint32_t n, std::uint8_t* out) const;

 private:
  static constexpr std::uint32_t kChunk = 512;
  static constexpr std::uint32_t kBuckets = 1024;
  static std::uint32_t hash(const FragKey& key);
  std::uint32_t alloc_chunk();
  std::uint32_t alloc_frag();
  void unlink_hash(std::uint32_t q);

  std::vector<FragQueue> queues_;
  std::vector<std::uint32_t> free_queues_;
  std::vector<FragRec> frags_;
  std::uint32_t free_frags_ = kNone;  // chained through FragRec::next
  std::vector<std::array<std::uint8_t, kChunk>> chunks_;
  std::vector<std::uint32_t> chunk_next_;
  std::uint32_t free_chunks_ = kNone;
  std::vector<std::uint32_t> buckets_;  // allocated with the first queue
};

}  // namespace ctrack::defrag

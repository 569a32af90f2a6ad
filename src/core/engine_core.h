// The engine's private state and per-packet pipeline (nf_conntrack_in +
// nf_confirm). Kept out of the public header so the API stays stable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/conn_table.h"
#include "core/expect_table.h"
#include "ctrack/config.h"
#include "ctrack/engine.h"
#include "ctrack/expectation.h"
#include "ctrack/stats.h"
#include "defrag/defragmenter.h"
#include "parse/packet.h"
#include "proto/l4proto.h"

namespace ctrack {

// GC pacing (see advance_time), shared with the sharded front, which runs the
// same schedule once for all shards. Per second of packet time the sweep owes
// the whole table / 16, at least 64 buckets...
inline std::uint32_t gc_batch(std::uint32_t buckets) {
  return buckets / 16 > 64 ? buckets / 16 : 64;
}
// ...spread over the following packets, at most this many buckets each, so
// that no single packet pays for a whole run (16384 buckets of a 262144-bucket
// table took ~60 us in one go). Tables up to 1024 buckets still sweep their
// whole second's share on the tick packet itself.
inline constexpr std::uint32_t kGcBucketsPerPacket = 64;

class EngineCore {
 public:
  explicit EngineCore(const Config& cfg);

  Result track(std::span<const std::uint8_t> l3, Timestamp now, Hook hook, CtTemplate tmpl);
  // Tracks an already parsed packet (the defragmenter hands reassembled
  // datagrams in here).
  Result track_parsed(const Packet& pkt, Hook hook, CtTemplate tmpl);
  // Runs the helper of the last tracked packet's entry (nf_confirm), then
  // confirms a new entry. Returns false when the helper dropped the packet
  // (the unconfirmed entry, if any, is then discarded).
  bool confirm() {
    // Inline for the common case, an existing entry without a helper: this
    // runs once per packet, and the out-of-line call cost ~20 instructions
    // of register saves for two compares.
    if (!helper_pending_ && pending_ == kNoConn) return true;
    return confirm_pending();
  }
  void discard();
  void expire_all(Timestamp now);
  // Engine::reassemble: defragmentation alone (hook priority -400).
  Reassembly reassemble(std::span<const std::uint8_t> l3, Timestamp now, Hook hook);
  std::uint64_t fragment_memory(bool ipv6) const {
    return defrag_.memory(ipv6 ? kFamilyIPv6 : kFamilyIPv4);
  }
  // Engine::process_batch (core/engine_batch.cc).
  void process_batch(std::span<const BatchPacket> pkts, std::span<Result> out, Hook hook);
  // The same, calling before_each(i) just before packet i is tracked and
  // after_each(i) once it is confirmed (core/engine_batch.h).
  template <class BeforeEach, class AfterEach>
  void process_batch_with(std::span<const BatchPacket> pkts, std::span<Result> out, Hook hook,
                          BeforeEach before_each, AfterEach after_each);

  const Conn* find(const Tuple& t) const;
  const Conn* find_id(std::uint32_t id) const;
  std::vector<Expectation> expectations() const;
  std::size_t expectation_count() const;
  std::int64_t timeout_left(const Expectation& e) const;
  std::vector<const Conn*> entries() const;
  std::int64_t timeout_left(const Conn& c) const;
  const char* state_name(const Conn& c) const;
  bool set(std::string_view name, std::string_view value, std::string* error);

  // Sharded engines (src/shard) run one GC schedule for all shards, so that
  // what is reclaimed when (stats expired/entries) does not depend on how
  // packets were spread: with external GC on, advance_time() only moves the
  // clock, and the front tells every shard, in capture order, when to sweep.
  void set_external_gc(bool on) { external_gc_ = on; }
  // Moves the clock to `now` and sweeps `gc_buckets` buckets (<= gc_step's
  // per-packet share) from the cursor, as advance_time() would at that packet.
  void advance_external(Timestamp now, std::uint32_t gc_buckets);
  // Id of the next entry created; a sharded engine numbers entries by packet
  // so that creation order is the same on every shard count.
  void set_next_id(std::uint32_t id) { next_id_ = id; }
  std::uint32_t buckets() const { return table_.buckets(); }

  const Stats& stats() const { return stats_; }
  const Config& config() const { return cfg_; }
  Timestamp now() const { return now_; }
  std::size_t memory_bytes() const { return table_.memory_bytes(); }

 private:
  // track_parsed's body, forced inline into track(): the call between them
  // cost the one-flow path ~20 instructions of register saves per packet.
  Result track_parsed_inline(const Packet& pkt, Hook hook, CtTemplate tmpl);
  template <class T>
  Result track_l4(const Packet& pkt, Hook hook, CtTemplate tmpl);
  // Helpers and expectations (core/engine_helpers.cc).
  // A new entry: RELATED child of a matching expectation, else the helper of
  // the template / the configured attachments.
  void attach_new(Conn& c, std::uint32_t slot, CtTemplate tmpl);
  // Remembers the packet for its helper, to run at confirm.
  void defer_helper(const Packet& pkt, std::uint32_t slot, Direction dir, CtState state);
  HelperVerdict run_deferred_helper();
  void resolve_helper_attachments();
  // A packet that would have created an entry but fails the protocol's
  // checks still uses up the expectation it matches (kernel order).
  void expectation_lost_to_invalid(const Tuple& t);
  Result icmp_error_related(const Packet& pkt, std::uint16_t zone);
  Result untracked_result(const Packet& pkt) const;
  // A fragment: held, dropped, passed on as is, or its datagram tracked.
  Result track_fragment(const Packet& pkt, Hook hook, CtTemplate tmpl);

  void advance_time(Timestamp now);
  void gc_step();
  // Allocates an unconfirmed entry, early-dropping if the table is full.
  // Returns kNoConn when nothing could be evicted.
  std::uint32_t alloc_conn(const Tuple& t, std::uint32_t hash);
  bool early_drop(std::uint32_t hash);
  // Removes a confirmed entry from the index and frees it now.
  void destroy(std::uint32_t slot);
  // Removes it from the index but keeps the slot until the next packet so
  // the caller's Result can still show it.
  void destroy_deferred(std::uint32_t slot);
  // Frees the entries kept for the previous call's Results (inline check,
  // as confirm()).
  void release_deferred() {
    if (deferred_ != kNoConn || (!in_batch_ && !batch_deferred_.empty())) release_deferred_slots();
  }
  void release_deferred_slots();
  bool confirm_pending();
  Tuple reply_of(const Conn& c) const;
  // What the batch path's look-ahead computed for a packet: its parse and,
  // for packets that take the plain lookup path, its tuple, inverse and
  // table hash. track() takes them over for the very bytes they were made
  // from instead of computing them a second time.
  struct Keyed {
    Tuple t;
    Tuple inv;
    bool has_inv = false;
    std::uint32_t hash = 0;
  };
  struct Prepared {
    const std::uint8_t* l3 = nullptr;  // the bytes this was made from
    const Packet* pkt = nullptr;
    InvalidReason err = InvalidReason::None;
    const Keyed* keyed = nullptr;  // null: not computed (ICMP, fragment, no tuple)
  };
  // parse_ip, or the batch path's parse of these very bytes (then `keyed_`
  // holds its tuple and hash for track_l4, or nothing).
  const Packet* parse_for_track(std::span<const std::uint8_t> l3, Packet& own, InvalidReason& err) {
    keyed_ = nullptr;
    if (prepared_.pkt != nullptr && prepared_.l3 == l3.data()) {
      keyed_ = prepared_.keyed;
      err = prepared_.err;
      return prepared_.pkt;
    }
    err = parse_ip(l3, own);
    return &own;
  }

  Config cfg_;
  bool external_gc_ = false;
  ConnTable table_;
  Stats stats_;
  Timestamp now_ = 0;
  bool time_started_ = false;
  Timestamp next_gc_ = 0;
  std::uint32_t gc_cursor_ = 0;
  std::uint32_t gc_owed_ = 0;  // buckets the sweep still has to visit
  std::uint32_t next_id_ = 1;
  std::uint32_t pending_ = kNoConn;   // unconfirmed entry of the last track()
  std::uint32_t pending_hash_ = 0;    // its flow hash, kept for confirm()'s link
  std::uint32_t deferred_ = kNoConn;  // destroyed entry kept for the Result
  std::uint64_t count_ = 0;           // entries incl. the unconfirmed one
  // Expectations, and the helper of the last tracked packet: a copy of the
  // packet (the caller's buffer may be gone by the implicit confirm in the
  // next track()), run at confirm.
  ExpectTable expects_;
  struct HelperAttach {
    std::uint8_t proto;
    std::uint16_t port;
    std::uint8_t id;
  };
  std::vector<HelperAttach> attach_;
  bool helper_pending_ = false;
  std::uint32_t helper_slot_ = kNoConn;
  Direction helper_dir_ = Direction::Original;
  CtInfo helper_ctinfo_ = CtInfo::New;
  Packet helper_pkt_{};
  std::vector<std::uint8_t> helper_buf_;
  // Batch path state: what the look-ahead prepared for the packet being
  // tracked, and the entries destroyed during the batch, kept until the next
  // call so that every Result of the batch can still show its entry.
  bool in_batch_ = false;
  Prepared prepared_;             // batch: the packet being tracked
  const Keyed* keyed_ = nullptr;  // its tuple and hash, once track() took them over
  std::vector<std::uint32_t> batch_deferred_;
  // Stage-1 results of one window of a batch. Kept here (allocated on the
  // first batch) rather than on the stack: these arrays have default member
  // initialisers, and zeroing ~3.5 KB of them on every call showed up as a
  // tenth of the one-flow benchmark.
  struct BatchScratch {
    static constexpr std::size_t kWindow = 32;
    Keyed keyed[kWindow];
    bool hashed[kWindow];
    Packet parsed[kWindow];
    InvalidReason parse_err[kWindow];
  };
  std::unique_ptr<BatchScratch> batch_scratch_;
  // Defragmentation, and the bytes reassemble() already let through
  // unreassembled (track() must not queue them a second time).
  defrag::Defragmenter defrag_;
  const std::uint8_t* defrag_passed_ = nullptr;
};

}  // namespace ctrack

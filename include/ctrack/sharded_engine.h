// A multi-core connection tracker: N independent Engine shards, one thread
// per shard, and a front that steers every packet to the shard owning its
// connection. Results are identical to one Engine fed the same packets in the
// same order (verdicts, entries, ids order, timeouts, statistics).
//
//   ctrack::ShardedEngine se(cfg, 2);
//   // front thread, capture order:
//   unsigned s = se.steer(l3);
//   ShardedEngine::Ticket t = se.admit(ts);
//   // ...hand (l3, t) to shard s's thread, and t to every other shard if
//   // t.gc != 0 (see sweep()); shard s's thread:
//   ctrack::Result r = se.process(s, l3, t);
//
// Design (why each piece is there):
//  * Steering. A symmetric hash of (family, proto, {addr, port} pair sorted)
//    sends both directions of a connection to one shard. ICMP/ICMPv6 errors
//    are steered by the tuple they quote, so they reach the shard holding the
//    connection they are RELATED to. ICMP queries use the identifier as both
//    ports (request and reply share it). Protocols without a tracker (the
//    generic tuple has no ports) are steered by the address pair alone. All
//    fragments of a datagram (first included) are steered by address pair and
//    protocol, so the engine's defragmenter gets them all on one shard; but
//    the reassembled datagram is then tracked on that shard, while the
//    flow's unfragmented packets go by 5-tuple, so a flow mixing both splits.
//    A caller with fragmented traffic therefore defragments in the front
//    (Engine::reassemble on an engine of its own) and steers the whole
//    datagram, which has ports, as `ctrack replay --threads` does
//    (src/cli/replay_sharded.cc). Packets that do not parse go to shard 0
//    (an IPv4 header whose only fault is its checksum is not checked by
//    the in-place steering and may go to its flow's shard instead): their
//    verdict does not depend on any state.
//  * No lock on the packet path: a shard is touched only by its own thread;
//    the front owns only the clock. The front may also run on the shards'
//    own threads: replicated (each reads all packets, keeps its own copy of
//    the Clock, tracks its own packets with process_batch and sweeps for the
//    others' tickets) or split (each chunk of the input is read, admitted
//    and steered by one of them, and each runs its shard's part of every
//    chunk); with no output to put back in order, neither needs a front
//    thread (`ctrack replay -q --threads`, src/cli/replay_replicated.cc and
//    src/cli/split_front.h).
//  * Time. The front keeps the capture's running maximum timestamp (what one
//    Engine uses as "now") and gives it to each packet's shard, so timeouts
//    and lazy expiry see the same clock on every shard count. The periodic GC
//    runs on one schedule computed by the front (as one Engine would compute
//    it from all packets); a packet that carries GC work (Ticket::gc) makes
//    every shard sweep the same bucket range at the same time. Shards use one
//    hash key and the same bucket count, so a bucket index denotes the same
//    slice of the union table on every shard: "expired" and "entries" sum to
//    what one Engine reports.
//  * Ids. Engine numbers entries by creation; shards cannot share a counter
//    without a lock, so a sharded engine numbers each entry by the packet that
//    created it (Ticket::seq + 1). Listing by id is then creation order on any
//    shard count. Ids are not printed by any table format; they differ from a
//    plain Engine's only in value, not in order.
//  * Helpers and expectations. A RELATED child has a different 5-tuple from
//    its master (FTP data, IRC DCC between two other hosts, loose FTP with a
//    third address, wildcarded source ports), so no steering function of the
//    packet alone can put it on the master's shard, and a shared expectation
//    table would make a child's verdict depend on whether the master's shard
//    had already processed the packet that created the expectation (a race
//    across threads, or a barrier per helper packet). Results must be
//    identical to one Engine, and RELATED children also print their master's
//    id, which only a single creation counter reproduces. So: when the
//    configuration can attach a helper (Config::helpers non-empty or
//    Config::auto_helpers), the sharded engine runs in Mode::Serial: every
//    packet goes to shard 0, which is a plain Engine (own GC, own ids), and
//    the other shards stay empty. Without helpers no expectation can exist,
//    and Mode::Flow spreads the load. (Next step, not done: steer by address
//    pair when every attached helper expects only same-address-pair children,
//    and number entries by packet in one-thread replays too.)
//  * Limits (documented divergences): nf_conntrack_max and
//    nf_conntrack_expect_max are enforced per shard (each shard gets the full
//    limit), so results equal one Engine's only while the table never fills
//    (early drop picks victims from the shard's own buckets). Changing
//    nf_conntrack_buckets at run time must go to every shard (set()).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ctrack/config.h"
#include "ctrack/engine.h"

namespace ctrack {

class ShardedEngine {
 public:
  enum class Mode : std::uint8_t {
    Flow,    // steer by flow hash over all shards
    Serial,  // helpers possible: everything on shard 0 (see above)
  };

  // What the front hands to a shard with a packet (or, when gc != 0, to every
  // other shard as a sweep).
  struct Ticket {
    Timestamp now = 0;      // engine time of this packet (running max)
    std::uint32_t gc = 0;   // GC buckets every shard sweeps before this packet
    std::uint32_t seq = 0;  // packet number in admission order (0-based)
  };

  // An entry and the shard that holds it (for formatting against its clock).
  struct Entry {
    const Conn* conn = nullptr;
    const Engine* shard = nullptr;
  };

  // `shards` >= 1. A zero Config::hash_seed is replaced by one random seed
  // shared by all shards.
  ShardedEngine(const Config& config, unsigned shards);
  ~ShardedEngine();
  ShardedEngine(const ShardedEngine&) = delete;
  ShardedEngine& operator=(const ShardedEngine&) = delete;

  unsigned size() const { return static_cast<unsigned>(shards_.size()); }
  Mode mode() const { return mode_; }

  // The shared clock and GC schedule as a value: what admit() advances. A
  // caller that replicates the front on every shard's thread (each thread
  // reads the whole input, steers every packet and tracks only its own, as
  // the quiet `ctrack replay --threads` does) takes one copy per thread:
  // every copy fed the same timestamps issues the same tickets.
  class Clock {
   public:
    // Admits the next packet at capture time `ts` (see ShardedEngine::admit).
    Ticket admit(Timestamp ts);
    Timestamp now() const { return now_; }

   private:
    friend class ShardedEngine;
    Mode mode_ = Mode::Flow;
    std::uint32_t buckets_ = 1;  // GC schedule's table size (all shards alike)
    bool started_ = false;
    Timestamp now_ = 0;
    Timestamp next_gc_ = 0;
    std::uint32_t gc_owed_ = 0;
    std::uint32_t seq_ = 0;
  };

  // ---- front (one thread, capture order) ----
  // Shard of a packet (`l3` starts at the IP header). Pure: any thread.
  unsigned steer(std::span<const std::uint8_t> l3) const;
  // Admits the next packet at capture time `ts`: advances the shared clock and
  // the GC schedule. Call once per packet, in order, whichever shard gets it.
  Ticket admit(Timestamp ts) { return clock_.admit(ts); }
  // A copy of the clock (for replicated fronts), and the clock to continue
  // from once they are done (quiescent only: the aggregate views read it).
  Clock clock() const { return clock_; }
  void set_clock(const Clock& c) { clock_ = c; }

  // ---- shard side (only the thread owning `shard`) ----
  // Tracks a packet admitted with `t` on its shard (Engine::process, with
  // the raw table's decision `tmpl`).
  Result process(unsigned shard, std::span<const std::uint8_t> l3, const Ticket& t,
                 CtTemplate tmpl = {});
  // A run of packets of `shard`, in admission order, each with its ticket
  // (pkts[i].now must be tickets[i].now): what
  // process() does for each, through Engine::process_batch's look-ahead.
  // Sweeps of other packets' tickets must come before or after the run,
  // never inside it. `out` receives one Result per packet.
  void process_batch(unsigned shard, std::span<const BatchPacket> pkts,
                     std::span<const Ticket> tickets, std::span<Result> out);
  // The same, calling each(i, out[i]) right after packet i, as
  // Engine::process_batch does (per-packet output of a sharded replay).
  void process_batch(unsigned shard, std::span<const BatchPacket> pkts,
                     std::span<const Ticket> tickets, std::span<Result> out, ResultVisitor each);
  // Moves the shard's clock to t.now and runs the GC work `t` carries; for a
  // shard that does not get the packet. Must come before the shard's next
  // packet; sweeps of one shard must keep admission order. The packet's own
  // shard sweeps inside process().
  void sweep(unsigned shard, const Ticket& t);
  Engine& shard(unsigned i) { return *shards_[i]; }
  const Engine& shard(unsigned i) const { return *shards_[i]; }

  // ---- single-threaded convenience ----
  // steer + admit + sweep of the other shards + process.
  Result process(std::span<const std::uint8_t> l3, Timestamp ts);

  // ---- quiescent only (no shard thread running) ----
  // Engine::expire on every shard at `now` (clocks all move to `now`).
  void expire(Timestamp now);
  // The shared clock: the latest timestamp admitted.
  Timestamp now() const { return clock_.now(); }
  // Live entries of all shards, in creation order (by id).
  std::vector<Entry> entries() const;
  // Live expectations of all shards, by id.
  std::vector<Expectation> expectations() const;
  // The shard that holds entry `c` (nullptr if none).
  const Engine* owner(const Conn& c) const;
  // Counters summed over shards.
  Stats stats() const;
  const Config& config() const { return shards_[0]->config(); }
  // Engine::set on every shard.
  bool set(std::string_view name, std::string_view value, std::string* error = nullptr);

 private:
  std::vector<std::unique_ptr<Engine>> shards_;
  Mode mode_ = Mode::Flow;
  std::uint64_t steer_key_ = 0;
  // The shared clock and GC schedule (mirror of EngineCore::advance_time).
  Clock clock_;
};

}  // namespace ctrack

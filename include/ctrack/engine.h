// The connection-tracking engine: packets in, one verdict per packet out.
//
//   ctrack::Engine engine(ctrack::Config::for_profile(ctrack::Profile::Linux));
//   ctrack::Result r = engine.process(ip_bytes, ts_ns);
//   if (r.state == ctrack::CtState::Invalid) log(ctrack::reason_text(r.reason));
//
// An Engine is single-threaded; use one per thread (or the sharded engine).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ctrack/config.h"
#include "ctrack/conn.h"
#include "ctrack/expectation.h"
#include "ctrack/invalid_reason.h"
#include "ctrack/stats.h"
#include "ctrack/tuple.h"
#include "ctrack/types.h"

namespace ctrack {

class EngineCore;

// What defragmentation (hook priority -400, before the raw table) did with a
// packet. Every fragment of a datagram carries the same `datagram` id, so a
// caller can tell which held packets a Reassembled result released.
enum class FragStatus : std::uint8_t {
  None,         // not a fragment, or a fragment the kernel lets through as is
  Held,         // queued: conntrack does not see it (yet)
  Reassembled,  // completed a datagram; the result is the datagram's
  Dropped,      // discarded (duplicate, overlap, memory limit, malformed); `reason` says why
};

// What the engine decided for one packet.
struct Result {
  CtState state = CtState::Invalid;
  Direction direction = Direction::Original;
  InvalidReason reason = InvalidReason::None;  // set when state is Invalid
  // The entry the packet belongs to (nullptr for INVALID / UNTRACKED). For
  // RELATED ICMP errors it is the connection the error quotes. Valid until the
  // next call into the engine.
  const Conn* conn = nullptr;
  // The packet was dropped by conntrack itself (table full and nothing could
  // be evicted): no rule would see it. `reason` says why.
  bool dropped = false;
  // The entry was removed by this very packet (e.g. the RST refusing a SYN);
  // `conn` still shows its last state.
  bool destroyed = false;
  // The entry's helper dropped the packet at confirm time (e.g. the FTP
  // helper on a PORT command that starts right but does not parse); also
  // sets `dropped`. The entry itself stays (unless it was new).
  bool helper_drop = false;
  // The tuple of the packet as parsed (valid when the packet had one).
  bool has_tuple = false;
  Tuple tuple{};
  std::uint8_t tcp_flags = 0;  // TCP flag byte of the packet (0 if not TCP)
  // Defragmentation. Held and Dropped fragments never reach conntrack: state
  // is Invalid with reason FragmentHeld / the drop reason, no counter moves.
  // A Reassembled result describes the whole datagram (tuple, state, entry).
  FragStatus frag = FragStatus::None;
  // TCP: the entry's internal state just before this packet (what the
  // packet moved it from, e.g. SynSent for the SYN/ACK that makes it
  // SynRecv). None when the packet created the entry or found none. A SYN
  // that replaces an entry in TIME_WAIT or CLOSE reports the old entry's
  // state. Kept beside `frag` where the layout had padding.
  TcpState tcp_before = TcpState::None;
  std::uint32_t datagram = 0;    // per-engine id of the fragment's datagram (0 = none)
  std::uint16_t frag_count = 0;  // Reassembled: fragments the datagram was built from
};

// The defragmentation step alone (Engine::reassemble), for callers that run
// the raw table between defragmentation and conntrack.
struct Reassembly {
  FragStatus status = FragStatus::None;
  // None: the input bytes; Reassembled: the datagram, valid until the next
  // call that completes another datagram; empty otherwise.
  std::span<const std::uint8_t> l3;
  InvalidReason reason = InvalidReason::None;  // Held: FragmentHeld; Dropped: why
  std::uint32_t datagram = 0;
  std::uint16_t frag_count = 0;
};

// What the raw table attached to a packet before conntrack saw it: the
// kernel's "template" conntrack set by `-j NOTRACK`, `-j CT --notrack` or
// `-j CT --helper NAME` (nft: `notrack`, `ct helper set`).
struct CtTemplate {
  // UNTRACKED: no entry is looked up or created, no helper runs, and an ICMP
  // error quoting this packet can never be RELATED to it.
  bool notrack = false;
  // Helper to attach to the entry this packet creates (0 = none); ignored for
  // packets of existing entries, as the kernel ignores the template then.
  std::uint8_t helper = 0;
  // Conntrack zone the packet is looked up and created in (`CT --zone N`,
  // nft `ct zone set N`). Unlike `helper`, it applies to every packet: a
  // packet without the template is in zone 0 and does not see a zone-5
  // entry. ICMP errors look up the connection they quote in this zone, and
  // expectations are only met in their master's zone. Defragmentation runs
  // before the raw table (priority -400 vs -300) and does not see it.
  std::uint16_t zone = 0;
};

// One packet of a batch (Engine::process_batch).
struct BatchPacket {
  std::span<const std::uint8_t> l3;  // starts at the IPv4/IPv6 header
  Timestamp now = 0;
  CtTemplate tmpl{};
};

class ResultVisitor;

// What a ResultVisitor can refer to: anything callable as f(i, result).
template <class F>
concept VisitsResults = !std::is_same_v<std::remove_cvref_t<F>, ResultVisitor> &&
                        std::invocable<F&, std::size_t, const Result&>;

// A non-owning reference to a callable `void(std::size_t i, const Result& r)`
// (for Engine::process_batch). It refers to the callable, which must outlive
// the call it is passed to.
class ResultVisitor {
 public:
  // Implicit, like a span's: callers pass the callable itself.
  template <VisitsResults F>
  ResultVisitor(F& f) noexcept : obj_(&f), fn_(&call<F>) {}
  void operator()(std::size_t i, const Result& r) const { fn_(obj_, i, r); }

 private:
  template <class F>
  static void call(void* f, std::size_t i, const Result& r) {
    (*static_cast<F*>(f))(i, r);
  }
  void* obj_;
  void (*fn_)(void*, std::size_t, const Result&);
};

class Engine {
 public:
  explicit Engine(const Config& config = Config::for_profile(Profile::Linux));
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Tracks one packet. `l3` starts at the IPv4/IPv6 header. `now` must not go
  // backwards by more than the caller tolerates: time is whatever the caller
  // says it is.
  Result process(std::span<const std::uint8_t> l3, Timestamp now, Hook hook = Hook::Network,
                 CtTemplate tmpl = {});

  // Tracks a batch: out[i] is what process(pkts[i].l3, pkts[i].now, hook,
  // pkts[i].tmpl) would return, packet after packet in order, with the same
  // effect on the table. It first hashes every packet's tuple and prefetches
  // its bucket and first chain entry, so that on tables larger than the
  // caches the misses of a batch overlap instead of coming one at a time.
  // Requires out.size() >= pkts.size(). Every `out[i].conn` stays valid until
  // the next call into the engine, entries destroyed by the batch included,
  // unless a later packet of the same batch removed that entry for good
  // (early drop, expiry, TCP re-open), as after the matching single call.
  void process_batch(std::span<const BatchPacket> pkts, std::span<Result> out,
                     Hook hook = Hook::Network);
  // The same, calling each(i, out[i]) right after packet i is tracked and
  // before packet i + 1 is: there the Result's entry is exactly as process()
  // would have left it. For callers that show per-packet state (a later
  // packet of the same batch may change or remove the entry), while the
  // look-ahead still overlaps the batch's cache misses. The visitor may read
  // the engine (find, entries, timeout_left, stats...) but must not track,
  // expire or reconfigure anything: the rest of the batch is still to come.
  void process_batch(std::span<const BatchPacket> pkts, std::span<Result> out, Hook hook,
                     ResultVisitor each);

  // Defragmentation only (PREROUTING/OUTPUT priority -400), for a caller that
  // must run the raw table on the reassembled datagram before track(). Only
  // the l3 of a None/Reassembled answer goes on to track(), which then does
  // not defragment it again. process() and track() defragment by themselves.
  // A held or dropped fragment counts in stats().packets here, once, and
  // moves the engine's clock (timeouts, periodic GC), as it would through
  // process().
  Reassembly reassemble(std::span<const std::uint8_t> l3, Timestamp now, Hook hook = Hook::Network);

  // Two-phase form for a firewall: `track` does everything up to the filter
  // hooks; the new entry (if any) enters the table only on `confirm`, exactly
  // as the kernel confirms at POSTROUTING/LOCAL_IN. `discard` drops the
  // unconfirmed entry (a packet dropped by a rule leaves nothing behind).
  // `process` == `track` + `confirm`.
  Result track(std::span<const std::uint8_t> l3, Timestamp now, Hook hook = Hook::Network,
               CtTemplate tmpl = {});
  // confirm() first runs the entry's helper on the packet, as the kernel's
  // nf_confirm does, and returns false when the helper dropped it (a new
  // entry is then discarded). The engine keeps its own copy of a helper
  // entry's packet, so the caller's buffer may be reused before confirm().
  bool confirm();
  void discard();

  // Removes every entry whose timeout has passed at `now` (the periodic GC),
  // and every fragment queue whose reassembly timer ran out.
  void expire(Timestamp now);
  // Bytes of fragment memory currently charged (IPv4 or IPv6 queues), as the
  // kernel counts it against ipfrag_high_thresh / nf_conntrack_frag6_high_thresh.
  std::uint64_t fragment_memory(bool ipv6) const;

  // Entry whose original or reply tuple is `t` (not expired at the engine's
  // current time), or nullptr.
  const Conn* find(const Tuple& t) const;
  // Entry by id (Conn::id), or nullptr.
  const Conn* find_id(std::uint32_t id) const;
  // All live entries in creation order.
  std::vector<const Conn*> entries() const;
  // Live expectations (the content of /proc/net/nf_conntrack_expect) in
  // creation order, and how many there are.
  std::vector<Expectation> expectations() const;
  std::size_t expectation_count() const;
  // Seconds an expectation has left at the engine's current time, rounded
  // down (what /proc/net/nf_conntrack_expect prints first).
  std::int64_t timeout_left(const Expectation& e) const;
  // Seconds of timeout left at the engine's current time, rounded down.
  std::int64_t timeout_left(const Conn& c) const;
  // Human name of the entry's protocol state (TCP: "ESTABLISHED"...), or
  // nullptr for protocols without states.
  const char* state_name(const Conn& c) const;

  const Stats& stats() const;
  const Config& config() const;
  // Changes a tunable at run time by sysctl name (see Config::set).
  // Resizing (nf_conntrack_buckets) rehashes the table.
  bool set(std::string_view name, std::string_view value, std::string* error = nullptr);
  Timestamp now() const;

 private:
  friend struct ShardAccess;  // the sharded engine drives its shards' clocks (src/shard)
  std::unique_ptr<EngineCore> core_;
};

}  // namespace ctrack

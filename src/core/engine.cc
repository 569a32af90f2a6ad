// The per-packet pipeline: parse, ICMP error path, lookup or create, the
// protocol tracker, SEEN_REPLY, confirmation. Mirrors nf_conntrack_in and
// nf_confirm (see ARCHITECTURE.md for the path from bytes to verdict).
#include <algorithm>
#include <random>

#include "core/engine_core.h"
#include "core/l4_dispatch.h"
#include "core/tuple_tail.h"
#include "proto/icmp_error.h"

namespace ctrack {
namespace {

Result invalid_result(InvalidReason r) {
  Result res;
  res.state = CtState::Invalid;
  res.reason = r;
  return res;
}

std::uint64_t pick_seed(std::uint64_t configured) {
  if (configured != 0) return configured;
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

// GC pacing: gc_batch and kGcBucketsPerPacket (core/engine_core.h).

// The kernel scans this many buckets for an early-drop victim.
constexpr std::uint32_t kEvictionRange = 8;

}  // namespace

EngineCore::EngineCore(const Config& cfg)
    : cfg_(cfg),
      table_(std::max<std::uint32_t>(cfg.buckets, 1), pick_seed(cfg.hash_seed)),
      expects_(cfg.expect_max) {
  resolve_helper_attachments();
}

Tuple EngineCore::reply_of(const Conn& c) const {
  Tuple r;
  invert_tuple(c.orig, r);
  return r;
}

void EngineCore::advance_time(Timestamp now) {
  if (!time_started_) {
    time_started_ = true;
    now_ = now;
    next_gc_ = now + kNsPerSec;
    return;
  }
  // Time never runs backwards inside the engine: a capture with reordered
  // timestamps is tracked at the latest time seen.
  if (now > now_) now_ = now;
  if (external_gc_) {
    expects_.expire_if_due(now_, stats_);
    return;
  }
  if (now_ >= next_gc_) {
    gc_owed_ = std::min(table_.buckets(), gc_owed_ + gc_batch(table_.buckets()));
    next_gc_ = now_ + kNsPerSec;
  }
  if (gc_owed_ != 0) gc_step();
  expects_.expire_if_due(now_, stats_);
}

// Reclaims only: lookups already treat expired entries as gone, so how soon
// the sweep reaches an entry changes memory use, never a verdict.
void EngineCore::gc_step() {
  const std::uint32_t n = table_.buckets();
  std::uint32_t todo = std::min({gc_owed_, kGcBucketsPerPacket, n});
  gc_owed_ -= todo;
  if (gc_cursor_ >= n) gc_cursor_ = 0;
  while (todo-- > 0) {
    const std::uint32_t b = gc_cursor_;
    gc_cursor_ = gc_cursor_ + 1 == n ? 0 : gc_cursor_ + 1;
    // Restart the chain after each removal: removing an entry unlinks two
    // nodes, possibly the one we would visit next.
    bool removed = true;
    while (removed) {
      removed = false;
      for (std::uint32_t slot = table_.head(b); slot != kNoConn; slot = table_.next(slot)) {
        if (table_.at(slot).expires - now_ <= 0) {
          destroy(slot);
          ++stats_.expired;
          removed = true;
          break;
        }
      }
    }
  }
}

void EngineCore::advance_external(Timestamp now, std::uint32_t gc_buckets) {
  if (now > now_ || !time_started_) now_ = now;
  time_started_ = true;
  gc_owed_ = gc_buckets;
  if (gc_owed_ != 0) gc_step();
  expects_.expire_if_due(now_, stats_);
}

void EngineCore::expire_all(Timestamp now) {
  advance_time(now);
  defrag_.expire(now_);
  for (std::uint32_t slot = 0; slot < table_.pool_size(); ++slot) {
    const Conn& c = table_.at(slot);
    if (c.has(kStatusConfirmed) && slot != deferred_ && c.expires - now_ <= 0) {
      destroy(slot);
      ++stats_.expired;
    }
  }
}

void EngineCore::destroy(std::uint32_t slot) {
  Conn& c = table_.at(slot);
  // Expectations die with their master.
  if (c.helper != 0) expects_.remove_master(slot, stats_);
  if (c.has(kStatusConfirmed)) table_.unlink(slot, reply_of(c));
  table_.free_slot(slot);
  --count_;
  stats_.entries = count_;
}

void EngineCore::destroy_deferred(std::uint32_t slot) {
  release_deferred();
  Conn& c = table_.at(slot);
  if (c.helper != 0) expects_.remove_master(slot, stats_);
  if (c.has(kStatusConfirmed)) table_.unlink(slot, reply_of(c));
  c.status = static_cast<std::uint16_t>((c.status & ~kStatusConfirmed) | kStatusDying);
  --count_;
  stats_.entries = count_;
  deferred_ = slot;
}

void EngineCore::release_deferred_slots() {
  if (deferred_ != kNoConn) {
    table_.free_slot(deferred_);
    deferred_ = kNoConn;
  }
  if (!in_batch_ && !batch_deferred_.empty()) {
    for (std::uint32_t slot : batch_deferred_) table_.free_slot(slot);
    batch_deferred_.clear();
  }
}

bool EngineCore::early_drop(std::uint32_t hash) {
  const std::uint32_t n = table_.buckets();
  std::uint32_t b = table_.bucket(hash);
  for (std::uint32_t i = 0; i < kEvictionRange && i < n; ++i, b = (b + 1 == n ? 0 : b + 1)) {
    // Every non-assured entry linked in this bucket is evicted, not just one;
    // expired ones are collected but not counted.
    std::uint64_t dropped = 0;
    bool again = true;
    while (again) {
      again = false;
      for (std::uint32_t slot = table_.head(b); slot != kNoConn; slot = table_.next(slot)) {
        const Conn& c = table_.at(slot);
        if (c.expires - now_ <= 0) {
          destroy(slot);
          ++stats_.expired;
        } else if (!c.has(kStatusAssured) && !c.has(kStatusDying)) {
          destroy(slot);
          ++dropped;
        } else {
          continue;
        }
        again = true;
        break;
      }
    }
    if (dropped > 0) {
      stats_.early_drop += dropped;
      return true;
    }
  }
  return false;
}

std::uint32_t EngineCore::alloc_conn(const Tuple& t, std::uint32_t hash) {
  ++count_;
  if (cfg_.max != 0 && count_ > cfg_.max) {
    if (!early_drop(hash)) {
      --count_;
      return kNoConn;
    }
  }
  stats_.entries = count_;
  const std::uint32_t slot = table_.alloc_slot();
  Conn& c = table_.at(slot);
  c = Conn{};
  c.orig = t;
  c.id = next_id_++;
  return slot;
}

Result EngineCore::track(std::span<const std::uint8_t> l3, Timestamp now, Hook hook,
                         CtTemplate tmpl) {
  if (pending_ != kNoConn || helper_pending_) confirm();  // the previous packet was accepted
  release_deferred();
  advance_time(now);
  ++stats_.packets;

  Packet own;
  InvalidReason err;
  const Packet& pkt = *parse_for_track(l3, own, err);
  if (err != InvalidReason::None) {
    ++stats_.invalid;
    return invalid_result(err);
  }
  if (pkt.fragment) [[unlikely]] {
    const bool passed = l3.data() == defrag_passed_;
    defrag_passed_ = nullptr;
    if (!passed) return track_fragment(pkt, hook, tmpl);
  }
  return track_parsed_inline(pkt, hook, tmpl);
}

Result EngineCore::track_fragment(const Packet& pkt, Hook hook, CtTemplate tmpl) {
  const Reassembly ra = defrag_.gather(pkt, now_, hook, cfg_);
  Result res;
  switch (ra.status) {
    case FragStatus::None:
      return track_parsed(pkt, hook, tmpl);
    case FragStatus::Held:
    case FragStatus::Dropped:
      // Stolen at -400: conntrack never sees the packet, no counter moves.
      res.state = CtState::Invalid;
      res.reason = ra.reason;
      res.dropped = ra.status == FragStatus::Dropped;
      break;
    case FragStatus::Reassembled: {
      Packet whole;
      if (InvalidReason r = parse_ip(ra.l3, whole); r != InvalidReason::None) {
        ++stats_.invalid;
        res = invalid_result(r);
      } else {
        res = track_parsed(whole, hook, tmpl);
      }
      res.frag_count = ra.frag_count;
      break;
    }
  }
  res.frag = ra.status;
  res.datagram = ra.datagram;
  return res;
}

Reassembly EngineCore::reassemble(std::span<const std::uint8_t> l3, Timestamp now, Hook hook) {
  Reassembly ra;
  ra.l3 = l3;
  Packet pkt;
  // A malformed packet is track()'s to report.
  if (parse_ip(l3, pkt) != InvalidReason::None || !pkt.fragment) return ra;
  // The defragmenter sees the engine's clock, as through track(): time
  // never runs backwards inside the engine.
  ra = defrag_.gather(pkt, time_started_ && now_ > now ? now_ : now, hook, cfg_);
  if (ra.status == FragStatus::None) {
    ra.l3 = l3;
    defrag_passed_ = l3.data();
  } else if (ra.status != FragStatus::Reassembled) {
    // Held or dropped here, this frame never reaches track(); it is still a
    // packet, as through process(): it counts, and it moves the clock and
    // the periodic GC. (Without the clock, a replay with --notrack, which
    // defragments here, reaped entries at other packets than the same
    // replay without it, and than --threads.)
    advance_time(now);
    ++stats_.packets;
  }
  return ra;
}

Result EngineCore::track_parsed(const Packet& pkt, Hook hook, CtTemplate tmpl) {
  return track_parsed_inline(pkt, hook, tmpl);
}

[[gnu::always_inline]] inline Result EngineCore::track_parsed_inline(const Packet& pkt, Hook hook,
                                                                     CtTemplate tmpl) {
  // NOTRACK is decided in the raw table, after parsing: a malformed packet is
  // still INVALID, a well-formed one never reaches the table.
  if (tmpl.notrack) return untracked_result(pkt);
  if (pkt.non_first_fragment()) {
    // Only reachable without defragmentation: no L4 header to build a tuple.
    ++stats_.invalid;
    return invalid_result(InvalidReason::L3Fragment);
  }
  return with_tracker(pkt.family, pkt.proto,
                      [&]<class T>() { return track_l4<T>(pkt, hook, tmpl); });
}

// The packet's own addresses (and ports where the protocol has them), for
// results that carry no entry: UNTRACKED and RELATED ICMP errors.
static Tuple packet_tuple(const Packet& pkt) {
  Tuple t;
  t.src = pkt.src;
  t.dst = pkt.dst;
  t.family = pkt.family;
  t.proto = pkt.proto;
  const std::uint8_t* l4 = pkt.l4();
  const std::size_t n = pkt.l4_len();
  if (pkt.proto == kProtoICMP || pkt.proto == kProtoICMPv6) {
    if (n >= 2) t.dst_id = static_cast<std::uint16_t>(l4[0] << 8 | l4[1]);
  } else if (pkt.proto == kProtoTCP || pkt.proto == kProtoUDP || pkt.proto == kProtoUDPLite) {
    if (n >= 4) {
      t.src_id = static_cast<std::uint16_t>(l4[0] << 8 | l4[1]);
      t.dst_id = static_cast<std::uint16_t>(l4[2] << 8 | l4[3]);
    }
  }
  return t;
}

Result EngineCore::untracked_result(const Packet& pkt) const {
  Result res;
  res.state = CtState::Untracked;
  res.has_tuple = true;
  res.tuple = packet_tuple(pkt);
  if (pkt.proto == kProtoTCP && pkt.l4_len() >= 14) res.tcp_flags = pkt.l4()[13];
  return res;
}

Result EngineCore::icmp_error_related(const Packet& pkt, std::uint16_t zone) {
  Tuple lookup;
  if (InvalidReason r = icmp_error_lookup_tuple(pkt, lookup); r != InvalidReason::None) {
    ++stats_.error;
    return invalid_result(r);
  }
  lookup.zone = zone;  // the error packet's zone, not the quoted one's
  Tuple inv;
  const bool invertible = invert_tuple(lookup, inv);
  const Tuple* lookup_inv = invertible ? &inv : nullptr;
  const Hit hit = table_.find(lookup, table_.hash(lookup, lookup_inv), lookup_inv, now_,
                              [&](std::uint32_t slot) {
                                destroy(slot);
                                ++stats_.expired;
                              });
  if (!hit.found()) {
    ++stats_.error;
    return invalid_result(InvalidReason::IcmpErrorNoConn);
  }
  const Conn& c = table_.at(hit.slot);
  if (InvalidReason r = icmp_error_validate(pkt, c, hit.dir); r != InvalidReason::None) {
    ++stats_.error;
    return invalid_result(r);
  }
  // RELATED (or RELATED_REPLY): the error never refreshes or changes the entry.
  Result res;
  res.has_tuple = true;
  res.tuple = packet_tuple(pkt);
  res.tuple.zone = zone;
  res.state = CtState::Related;
  res.direction = hit.dir;
  res.conn = &c;
  // The helper sees an error in the original direction (ctinfo RELATED),
  // never one in the reply direction.
  if (c.helper != 0 && hit.dir == Direction::Original) {
    defer_helper(pkt, hit.slot, hit.dir, CtState::Related);
  }
  return res;
}

template <class T>
Result EngineCore::track_l4(const Packet& pkt, Hook hook, CtTemplate tmpl) {
  const L4Ctx ctx{cfg_, now_, hook};
  // Every path returns this one object, so that it is built in the caller's
  // return slot (NRVO) instead of being copied there: a copy would read the
  // fields back as wide words right after their narrow stores
  // (store-forwarding stalls, see core/tuple_tail.h).
  Result res;

  if constexpr (T::kProto == kProtoICMP || T::kProto == kProtoICMPv6) {
    const IcmpClassification cls = icmp_classify(pkt, ctx);
    switch (cls.cls) {
      case IcmpClass::Invalid:
        ++(cls.counts_as_error ? stats_.error : stats_.invalid);
        res.reason = cls.reason;
        return res;
      case IcmpClass::Untracked:
        res = untracked_result(pkt);
        return res;
      case IcmpClass::Error:
        res = icmp_error_related(pkt, tmpl.zone);
        return res;
      case IcmpClass::Query:
        break;
    }
  }

  // The batch look-ahead may already have built the tuple, its inverse and
  // the hash (only ever for this packet: parse_for_track hands them over).
  // (Copied into locals rather than referred to: the lookup then reads a
  // local the compiler keeps track of; a reference to either the local or
  // the look-ahead's copy cost the one-flow path ~40 instructions.)
  const Keyed* const keyed = keyed_;
  keyed_ = nullptr;
  Tuple t;
  if (keyed != nullptr) {
    t = keyed->t;
  } else {
    t.src = pkt.src;
    t.dst = pkt.dst;
    t.family = pkt.family;
    t.proto = pkt.proto;
    t.zone = tmpl.zone;
    if (!T::tuple(pkt, t)) {
      ++stats_.invalid;
      res.reason = InvalidReason::L4NoTuple;
      return res;
    }
    seal_tuple_tail(t);
  }
  res.has_tuple = true;
  res.tuple = t;
  if (pkt.proto == kProtoTCP && pkt.l4_len() >= 14) res.tcp_flags = pkt.l4()[13];

  if (InvalidReason r = T::error(pkt, ctx); r != InvalidReason::None) {
    // The kernel checks these inside the protocol handler, after
    // init_conntrack has already taken a matching expectation.
    if constexpr (T::kProto != kProtoICMP && T::kProto != kProtoICMPv6) {
      if (expects_.count() != 0) expectation_lost_to_invalid(t);
    }
    ++stats_.invalid;
    res.state = CtState::Invalid;
    res.reason = r;
    return res;
  }

  Tuple inv;
  bool invertible;
  std::uint32_t h;
  if (keyed != nullptr) {
    inv = keyed->inv;
    invertible = keyed->has_inv;
    h = keyed->hash;
  } else {
    invertible = T::invert(t, inv);
    h = table_.hash(t, invertible ? &inv : nullptr);
  }

  // At most two rounds: the second after the tracker asked to replace the
  // entry (a SYN re-opening a connection in TIME_WAIT or CLOSE).
  for (int round = 0; round < 2; ++round) {
    Hit hit = table_.find(t, h, invertible ? &inv : nullptr, now_, [&](std::uint32_t slot) {
      destroy(slot);
      ++stats_.expired;
    });
    bool is_new = false;
    CtState state;
    if (!hit.found()) {
      if (!invertible) {
        ++stats_.invalid;
        res.state = CtState::Invalid;
        res.reason = T::kProto == kProtoICMP || T::kProto == kProtoICMPv6
                         ? InvalidReason::IcmpNoInverse
                         : InvalidReason::Untrackable;
        return res;
      }
      const std::uint32_t slot = alloc_conn(t, h);
      if (slot == kNoConn) {
        // "table full, dropping packet": no rule ever sees this packet.
        ++stats_.drop;
        res.state = CtState::Invalid;
        res.reason = InvalidReason::TableFull;
        res.dropped = true;
        return res;
      }
      // init_conntrack: the expectation is taken (or the helper attached)
      // before the protocol looks at the packet.
      attach_new(table_.at(slot), slot, tmpl);
      if (InvalidReason r = T::on_new(table_.at(slot), pkt, ctx); r != InvalidReason::None) {
        destroy(slot);
        ++stats_.invalid;
        res.state = CtState::Invalid;
        res.reason = r;
        return res;
      }
      hit = Hit{slot, Direction::Original};
      is_new = true;
      state = table_.at(slot).has(kStatusExpected) ? CtState::Related : CtState::New;
    } else if (hit.dir == Direction::Reply) {
      state = CtState::Established;
    } else {
      const Conn& c = table_.at(hit.slot);
      state = c.has(kStatusSeenReply)  ? CtState::Established
              : c.has(kStatusExpected) ? CtState::Related
                                       : CtState::New;
    }

    Conn& c = table_.at(hit.slot);
    if constexpr (T::kProto == kProtoTCP) {
      // A new entry (also the one replacing a re-opened entry, in round 2)
      // keeps what the found entry was, or None.
      if (!is_new) res.tcp_before = c.l4.tcp.state;
    }
    const L4Result lr = T::packet(c, pkt, hit.dir, ctx);
    switch (lr.verdict) {
      case L4Verdict::Invalid:
        if (is_new) destroy(hit.slot);
        ++stats_.invalid;
        res.state = CtState::Invalid;
        res.reason = lr.reason;
        return res;
      case L4Verdict::Repeat:
        destroy(hit.slot);
        continue;
      case L4Verdict::Destroy:
        res.destroyed = true;
        destroy_deferred(hit.slot);
        break;
      case L4Verdict::Accept:
        if (hit.dir == Direction::Reply) c.status |= kStatusSeenReply;
        if (is_new) {
          pending_ = hit.slot;
          pending_hash_ = h;  // hash(orig, reply) of the new entry: no need to redo it
        }
        if (c.helper != 0) defer_helper(pkt, hit.slot, hit.dir, state);
        break;
    }
    res.state = state;
    res.direction = hit.dir;
    res.conn = &c;
    return res;
  }
  // A second Repeat in a row cannot happen (the new entry is fresh); treat it
  // as the kernel treats a lost race: drop.
  ++stats_.drop;
  res.state = CtState::Invalid;
  res.reason = InvalidReason::Untrackable;
  res.dropped = true;
  return res;
}

bool EngineCore::confirm_pending() {
  if (helper_pending_ && run_deferred_helper() == HelperVerdict::Drop) {
    discard();
    return false;
  }
  if (pending_ == kNoConn) return true;
  Conn& c = table_.at(pending_);
  table_.link_hashed(pending_, pending_hash_);
  c.status |= kStatusConfirmed;
  ++stats_.created;
  pending_ = kNoConn;
  return true;
}

void EngineCore::discard() {
  helper_pending_ = false;  // a dropped packet never reaches its helper
  if (pending_ == kNoConn) return;
  destroy(pending_);
  pending_ = kNoConn;
}

const Conn* EngineCore::find(const Tuple& t) const {
  Tuple inv;
  const bool invertible = invert_tuple(t, inv);
  const Tuple* pinv = invertible ? &inv : nullptr;
  const Hit hit = table_.peek(t, table_.hash(t, pinv), pinv, now_);
  return hit.found() ? &table_.at(hit.slot) : nullptr;
}

const Conn* EngineCore::find_id(std::uint32_t id) const {
  for (std::uint32_t slot = 0; slot < table_.pool_size(); ++slot) {
    const Conn& c = table_.at(slot);
    if (c.id == id && c.has(kStatusConfirmed)) return &c;
  }
  return nullptr;
}

std::vector<const Conn*> EngineCore::entries() const {
  std::vector<const Conn*> out;
  for (std::uint32_t slot = 0; slot < table_.pool_size(); ++slot) {
    const Conn& c = table_.at(slot);
    if (c.has(kStatusConfirmed) && c.expires - now_ > 0) out.push_back(&c);
  }
  std::sort(out.begin(), out.end(), [](const Conn* a, const Conn* b) { return a->id < b->id; });
  return out;
}

std::int64_t EngineCore::timeout_left(const Conn& c) const {
  const Timestamp left = c.expires - now_;
  return left <= 0 ? 0 : left / kNsPerSec;
}

const char* EngineCore::state_name(const Conn& c) const {
  return with_tracker(c.orig.family, c.orig.proto, [&]<class T>() { return T::state_name(c); });
}

bool EngineCore::set(std::string_view name, std::string_view value, std::string* error) {
  const std::uint32_t old_buckets = cfg_.buckets;
  if (!cfg_.set(name, value, error)) return false;
  expects_.set_max(cfg_.expect_max);
  if (cfg_.buckets != old_buckets) {
    std::vector<std::pair<std::uint32_t, Tuple>> linked;
    for (std::uint32_t slot = 0; slot < table_.pool_size(); ++slot) {
      const Conn& c = table_.at(slot);
      if (c.has(kStatusConfirmed)) linked.emplace_back(slot, reply_of(c));
    }
    table_.resize(cfg_.buckets, linked);
    gc_cursor_ = 0;
  }
  return true;
}

// ---- public facade ----

Engine::Engine(const Config& config) : core_(std::make_unique<EngineCore>(config)) {}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

Result Engine::process(std::span<const std::uint8_t> l3, Timestamp now, Hook hook,
                       CtTemplate tmpl) {
  Result r = core_->track(l3, now, hook, tmpl);
  if (!core_->confirm()) {
    // The helper dropped it (nf_confirm returned NF_DROP).
    r.dropped = true;
    r.helper_drop = true;
  }
  return r;
}
Result Engine::track(std::span<const std::uint8_t> l3, Timestamp now, Hook hook, CtTemplate tmpl) {
  return core_->track(l3, now, hook, tmpl);
}
bool Engine::confirm() { return core_->confirm(); }
void Engine::discard() { core_->discard(); }
Reassembly Engine::reassemble(std::span<const std::uint8_t> l3, Timestamp now, Hook hook) {
  return core_->reassemble(l3, now, hook);
}
std::uint64_t Engine::fragment_memory(bool ipv6) const { return core_->fragment_memory(ipv6); }
void Engine::expire(Timestamp now) { core_->expire_all(now); }
const Conn* Engine::find(const Tuple& t) const { return core_->find(t); }
const Conn* Engine::find_id(std::uint32_t id) const { return core_->find_id(id); }
std::vector<Expectation> Engine::expectations() const { return core_->expectations(); }
std::size_t Engine::expectation_count() const { return core_->expectation_count(); }
std::int64_t Engine::timeout_left(const Expectation& e) const { return core_->timeout_left(e); }
std::vector<const Conn*> Engine::entries() const { return core_->entries(); }
std::int64_t Engine::timeout_left(const Conn& c) const { return core_->timeout_left(c); }
const char* Engine::state_name(const Conn& c) const { return core_->state_name(c); }
const Stats& Engine::stats() const { return core_->stats(); }
const Config& Engine::config() const { return core_->config(); }
bool Engine::set(std::string_view name, std::string_view value, std::string* error) {
  return core_->set(name, value, error);
}
Timestamp Engine::now() const { return core_->now(); }

}  // namespace ctrack

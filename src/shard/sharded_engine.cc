// ShardedEngine: steering front, shared clock and GC schedule, per-shard
// processing, and the quiescent aggregate views. Design notes are in
// include/ctrack/sharded_engine.h.
#include "ctrack/sharded_engine.h"

#include <algorithm>
#include <random>

#include "core/engine_batch.h"
#include "shard/flow_steer.h"
#include "shard/shard_access.h"

namespace ctrack {
namespace {

std::uint64_t random_seed() {
  std::random_device rd;
  const std::uint64_t s = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return s == 0 ? 1 : s;
}

bool helpers_possible(const Config& c) { return !c.helpers.empty() || c.auto_helpers; }

}  // namespace

ShardedEngine::ShardedEngine(const Config& config, unsigned shards) {
  Config cfg = config;
  // One key for all shards: a bucket index must mean the same slice of the
  // union table everywhere, or the shared GC schedule would sweep different
  // entries than one Engine does.
  if (cfg.hash_seed == 0) cfg.hash_seed = random_seed();
  steer_key_ = cfg.hash_seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  mode_ = helpers_possible(cfg) ? Mode::Serial : Mode::Flow;
  const unsigned n = std::max(1u, shards);
  shards_.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Engine>(cfg));
    if (mode_ == Mode::Flow) ShardAccess::core(*shards_.back()).set_external_gc(true);
  }
  clock_.mode_ = mode_;
  clock_.buckets_ = ShardAccess::core(*shards_[0]).buckets();
}

ShardedEngine::~ShardedEngine() = default;

unsigned ShardedEngine::steer(std::span<const std::uint8_t> l3) const {
  if (mode_ == Mode::Serial || shards_.size() == 1) return 0;
  const std::uint64_t h = steer_hash(l3, steer_key_);
  return h == 0 ? 0 : steer_shard(h, size());
}

ShardedEngine::Ticket ShardedEngine::Clock::admit(Timestamp ts) {
  Ticket t;
  t.seq = seq_++;
  if (!started_) {
    started_ = true;
    now_ = ts;
    next_gc_ = ts + kNsPerSec;
    t.now = now_;
    return t;
  }
  if (ts > now_) now_ = ts;
  t.now = now_;
  if (mode_ == Mode::Serial) return t;  // shard 0 runs its own GC
  // The schedule of EngineCore::advance_time, once for all shards.
  const std::uint32_t n = buckets_;
  if (now_ >= next_gc_) {
    gc_owed_ = std::min(n, gc_owed_ + gc_batch(n));
    next_gc_ = now_ + kNsPerSec;
  }
  if (gc_owed_ != 0) {
    t.gc = std::min({gc_owed_, kGcBucketsPerPacket, n});
    gc_owed_ -= t.gc;
  }
  return t;
}

void ShardedEngine::sweep(unsigned shard, const Ticket& t) {
  if (mode_ == Mode::Serial) return;
  ShardAccess::core(*shards_[shard]).advance_external(t.now, t.gc);
}

Result ShardedEngine::process(unsigned shard, std::span<const std::uint8_t> l3, const Ticket& t,
                              CtTemplate tmpl) {
  Engine& e = *shards_[shard];
  if (mode_ == Mode::Flow) {
    EngineCore& core = ShardAccess::core(e);
    core.advance_external(t.now, t.gc);
    core.set_next_id(t.seq + 1);
  }
  return e.process(l3, t.now, Hook::Network, tmpl);
}

namespace {

// Both process_batch forms: `after_each(i)` runs right after packet i.
template <class AfterEach>
void process_shard_batch(EngineCore& core, ShardedEngine::Mode mode,
                         std::span<const BatchPacket> pkts,
                         std::span<const ShardedEngine::Ticket> tickets, std::span<Result> out,
                         AfterEach after_each) {
  if (mode == ShardedEngine::Mode::Flow) {
    core.process_batch_with(
        pkts, out, Hook::Network,
        [&](std::size_t i) {
          core.advance_external(tickets[i].now, tickets[i].gc);
          core.set_next_id(tickets[i].seq + 1);
        },
        after_each);
  } else {
    // Shard 0 is a plain Engine with its own clock: the ticket's time is the
    // packet's.
    core.process_batch_with(
        pkts, out, Hook::Network, [](std::size_t) {}, after_each);
  }
}

}  // namespace

void ShardedEngine::process_batch(unsigned shard, std::span<const BatchPacket> pkts,
                                  std::span<const Ticket> tickets, std::span<Result> out) {
  const std::size_t n = std::min({pkts.size(), tickets.size(), out.size()});
  process_shard_batch(ShardAccess::core(*shards_[shard]), mode_, pkts.first(n), tickets.first(n),
                      out.first(n), [](std::size_t) {});
}

void ShardedEngine::process_batch(unsigned shard, std::span<const BatchPacket> pkts,
                                  std::span<const Ticket> tickets, std::span<Result> out,
                                  ResultVisitor each) {
  const std::size_t n = std::min({pkts.size(), tickets.size(), out.size()});
  process_shard_batch(ShardAccess::core(*shards_[shard]), mode_, pkts.first(n), tickets.first(n),
                      out.first(n), [&](std::size_t i) { each(i, out[i]); });
}

Result ShardedEngine::process(std::span<const std::uint8_t> l3, Timestamp ts) {
  const unsigned s = steer(l3);
  const Ticket t = admit(ts);
  if (t.gc != 0) {
    for (unsigned i = 0; i < size(); ++i) {
      if (i != s) sweep(i, t);
    }
  }
  return process(s, l3, t);
}

void ShardedEngine::expire(Timestamp now) {
  if (mode_ == Mode::Flow) {
    // Engine::expire ticks the GC schedule like a packet would.
    Ticket t = admit(now);
    --clock_.seq_;  // not a packet
    for (auto& e : shards_) ShardAccess::core(*e).advance_external(t.now, t.gc);
  } else if (now > clock_.now_) {
    clock_.now_ = now;
  }
  for (auto& e : shards_) e->expire(clock_.now_);
}

std::vector<ShardedEngine::Entry> ShardedEngine::entries() const {
  std::vector<Entry> out;
  for (const auto& e : shards_) {
    for (const Conn* c : e->entries()) out.push_back(Entry{c, e.get()});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Entry& a, const Entry& b) { return a.conn->id < b.conn->id; });
  return out;
}

std::vector<Expectation> ShardedEngine::expectations() const {
  std::vector<Expectation> out;
  for (const auto& e : shards_) {
    auto v = e->expectations();
    out.insert(out.end(), v.begin(), v.end());
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Expectation& a, const Expectation& b) { return a.id < b.id; });
  return out;
}

const Engine* ShardedEngine::owner(const Conn& c) const {
  for (const auto& e : shards_) {
    if (e->find_id(c.id) == &c) return e.get();
  }
  return nullptr;
}

Stats ShardedEngine::stats() const {
  // A new counter must be added to the sum below.
  static_assert(sizeof(Stats) == 17 * sizeof(std::uint64_t));
  Stats s{};
  for (const auto& e : shards_) {
    const Stats& x = e->stats();
    s.entries += x.entries;
    s.found += x.found;
    s.invalid += x.invalid;
    s.insert += x.insert;
    s.insert_failed += x.insert_failed;
    s.drop += x.drop;
    s.early_drop += x.early_drop;
    s.error += x.error;
    s.search_restart += x.search_restart;
    s.clash_resolve += x.clash_resolve;
    s.chaintoolong += x.chaintoolong;
    s.expect_new += x.expect_new;
    s.expect_create += x.expect_create;
    s.expect_delete += x.expect_delete;
    s.packets += x.packets;
    s.created += x.created;
    s.expired += x.expired;
  }
  return s;
}

bool ShardedEngine::set(std::string_view name, std::string_view value, std::string* error) {
  for (auto& e : shards_) {
    if (!e->set(name, value, error)) return false;
  }
  clock_.buckets_ = ShardAccess::core(*shards_[0]).buckets();
  return true;
}

}  // namespace ctrack

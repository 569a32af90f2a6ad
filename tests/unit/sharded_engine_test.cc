// ShardedEngine: steering keeps a connection (both directions, ICMP errors
// quoting it) on one shard, and a sharded run gives what one Engine gives:
// per-packet verdicts, entries, creation order, timeouts, and the counters
// (expired/entries included, which depend on the GC schedule).
#include "ctrack/sharded_engine.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "ctrack/engine.h"
#include "shard/flow_steer.h"
#include "support/packet_builder.h"

namespace ctrack {
namespace {

using test::Bytes;
using test::ep4;
using test::ep6;

struct Pkt {
  Timestamp ts;
  Bytes l3;
};

// A small table (64 buckets) so that the GC sweeps often, UDP timeouts that
// run out inside the capture, no table limit (enforced per shard).
Config small_config() {
  Config c = Config::for_profile_with_memory(Profile::Linux, 1ull << 30, 64);
  c.max = 0;
  c.hash_seed = 0x1234567;
  return c;
}

// Mixed traffic over ~200 s: TCP handshakes with data and teardown, UDP
// request/response (some never answered, some expiring), ICMP echo, ICMP
// port-unreachable errors quoting live UDP flows (from a third address),
// IPv6 UDP, a non-first fragment and bytes that do not parse.
std::vector<Pkt> mixed_traffic() {
  std::vector<Pkt> v;
  Timestamp t = seconds(1'700'000'000);
  auto at = [&](Timestamp dt, Bytes b) {
    t += dt;
    v.push_back({t, std::move(b)});
  };
  const Timestamp ms = kNsPerSec / 1000;
  for (int i = 0; i < 120; ++i) {
    char cli[32], srv[32];
    std::snprintf(cli, sizeof cli, "192.0.2.%d", 1 + i % 50);
    std::snprintf(srv, sizeof srv, "198.51.100.%d", 1 + i % 7);
    const auto c = ep4(cli, static_cast<std::uint16_t>(40000 + i));
    const auto s = ep4(srv, static_cast<std::uint16_t>(i % 3 == 0 ? 80 : 53));
    if (i % 3 == 0) {
      const std::uint32_t cs = 1000u * i, ss = 5000u * i;
      at(ms, test::tcp(c, s, {.flags = test::SYN, .seq = cs}));
      at(ms, test::tcp(s, c, {.flags = test::SYN | test::ACK, .seq = ss, .ack = cs + 1}));
      at(ms, test::tcp(c, s, {.flags = test::ACK, .seq = cs + 1, .ack = ss + 1}));
      at(ms,
         test::tcp(
             c, s,
             {.flags = test::ACK | test::PSH, .seq = cs + 1, .ack = ss + 1, .payload = "GET /"}));
      at(ms, test::tcp(s, c, {.flags = test::ACK, .seq = ss + 1, .ack = cs + 6}));
      if (i % 2 == 0) {
        at(ms, test::tcp(c, s, {.flags = test::FIN | test::ACK, .seq = cs + 6, .ack = ss + 1}));
        at(ms, test::tcp(s, c, {.flags = test::FIN | test::ACK, .seq = ss + 1, .ack = cs + 7}));
        at(ms, test::tcp(c, s, {.flags = test::ACK, .seq = cs + 7, .ack = ss + 2}));
      }
    } else {
      at(ms, test::udp(c, s, "query"));
      if (i % 4 != 1) at(ms, test::udp(s, c, "answer"));
      if (i % 5 == 0) {
        // A router on the way back says the client is unreachable: RELATED.
        const Bytes reply = test::udp(s, c, "late");
        at(ms, test::icmp_error(test::parse_addr("203.0.113.1"), s.addr, false, 3, 3, reply));
      }
    }
    if (i % 10 == 0) {
      const Addr a = test::parse_addr("192.0.2.200"), b = test::parse_addr("198.51.100.200");
      at(ms, test::icmp(a, b, false, 8, 0, test::icmp_echo_body(static_cast<std::uint16_t>(i), 1)));
      at(ms, test::icmp(b, a, false, 0, 0, test::icmp_echo_body(static_cast<std::uint16_t>(i), 1)));
    }
    if (i % 17 == 0) {
      const auto c6 = ep6("2001:db8::1", static_cast<std::uint16_t>(5000 + i));
      const auto s6 = ep6("2001:db8::2", 53);
      at(ms, test::udp(c6, s6, "q6"));
      at(ms, test::udp(s6, c6, "a6"));
    }
    if (i == 33) {
      Bytes frag = test::udp(ep4("192.0.2.9", 1), ep4("198.51.100.9", 2), "xxxxxxxx");
      frag[6] = 0x00;
      frag[7] = 0x10;  // fragment offset 16 (x8 bytes), no MF
      at(ms, std::move(frag));
      at(ms, Bytes{0x45, 0x00, 0x00});
    }
    // Gaps: UDP entries (30 s) expire and the GC reclaims them as it goes.
    at(i % 20 == 19 ? seconds(31) : ms * 100, test::udp(c, ep4("198.51.100.77", 9), "late"));
  }
  return v;
}

void expect_same_conn(const Conn* a, const Conn* b, std::size_t i) {
  ASSERT_EQ(a == nullptr, b == nullptr) << "packet " << i;
  if (a == nullptr) return;
  EXPECT_EQ(a->orig, b->orig) << "packet " << i;
  EXPECT_EQ(a->status, b->status) << "packet " << i;
  EXPECT_EQ(a->expires, b->expires) << "packet " << i;
  if (a->proto() == kProtoTCP) {
    EXPECT_EQ(a->l4.tcp.state, b->l4.tcp.state) << "packet " << i;
  }
}

void expect_same_stats(const Stats& a, const Stats& b) {
  EXPECT_EQ(a.entries, b.entries);
  EXPECT_EQ(a.invalid, b.invalid);
  EXPECT_EQ(a.drop, b.drop);
  EXPECT_EQ(a.early_drop, b.early_drop);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.packets, b.packets);
  EXPECT_EQ(a.created, b.created);
  EXPECT_EQ(a.expired, b.expired);
}

// Both tables expired at their clocks: the same entries in the same
// (creation) order with the same timeouts, and the same counters.
void expect_same_table_after_expiry(Engine& one, ShardedEngine& se) {
  one.expire(one.now());
  se.expire(se.now());
  const auto ea = one.entries();
  const auto eb = se.entries();
  ASSERT_EQ(ea.size(), eb.size());
  for (std::size_t i = 0; i < ea.size(); ++i) {
    EXPECT_EQ(ea[i]->orig, eb[i].conn->orig) << "entry " << i;  // same creation order
    EXPECT_EQ(one.timeout_left(*ea[i]), eb[i].shard->timeout_left(*eb[i].conn));
  }
  expect_same_stats(one.stats(), se.stats());
}

TEST(ShardedEngine, SameResultsAsOneEngine) {
  const auto pkts = mixed_traffic();
  for (unsigned n : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE(n);
    Engine one(small_config());
    ShardedEngine se(small_config(), n);
    ASSERT_EQ(se.mode(), ShardedEngine::Mode::Flow);
    std::size_t related = 0;
    for (std::size_t i = 0; i < pkts.size(); ++i) {
      const Result a = one.process(pkts[i].l3, pkts[i].ts);
      const Result b = se.process(pkts[i].l3, pkts[i].ts);
      ASSERT_EQ(a.state, b.state) << "packet " << i;
      EXPECT_EQ(a.direction, b.direction) << "packet " << i;
      EXPECT_EQ(a.reason, b.reason) << "packet " << i;
      EXPECT_EQ(a.destroyed, b.destroyed) << "packet " << i;
      expect_same_conn(a.conn, b.conn, i);
      if (a.state == CtState::Related) ++related;
    }
    EXPECT_GT(related, 0u);  // the ICMP errors found their connections
    expect_same_stats(one.stats(), se.stats());
    EXPECT_GT(one.stats().expired, 0u);

    expect_same_table_after_expiry(one, se);
  }
}

TEST(ShardedEngine, BothDirectionsAndQuotingErrorsOnOneShard) {
  ShardedEngine se(small_config(), 4);
  int spread[4] = {};
  for (int i = 0; i < 200; ++i) {
    const auto c = ep4("192.0.2.1", static_cast<std::uint16_t>(1024 + i));
    const auto s = ep4("198.51.100.1", 80);
    const Bytes syn = test::tcp(c, s, {.flags = test::SYN, .seq = 1});
    const Bytes synack = test::tcp(s, c, {.flags = test::SYN | test::ACK, .seq = 9, .ack = 2});
    const Bytes err =
        test::icmp_error(test::parse_addr("203.0.113.5"), c.addr, false, 3, 1, synack);
    const unsigned shard = se.steer(syn);
    EXPECT_EQ(shard, se.steer(synack));
    EXPECT_EQ(shard, se.steer(err));
    ++spread[shard];
    const auto u6a = ep6("2001:db8::a", static_cast<std::uint16_t>(7000 + i));
    const auto u6b = ep6("2001:db8::b", 53);
    EXPECT_EQ(se.steer(test::udp(u6a, u6b, "q")), se.steer(test::udp(u6b, u6a, "a")));
  }
  for (int n : spread) EXPECT_GT(n, 20);  // the flows of one host pair spread out
  EXPECT_EQ(se.steer(Bytes{0x45}), 0u);   // unparseable: the fixed shard
}

// The in-place IPv4 steering hash is a single multiply-fold (it runs for
// every packet of a sharded replay): check that it still balances the
// shards on the structured flow sets real traffic has.
TEST(ShardedEngine, Ipv4SteeringBalancesStructuredFlowSets) {
  const std::uint64_t key = 0x2545f4914f6cdd1dull;
  constexpr std::uint32_t kN = 1u << 16;
  struct Set {
    const char* name;
    std::uint32_t (*a)(std::uint32_t);
    std::uint16_t (*pa)(std::uint32_t);
    std::uint32_t (*b)(std::uint32_t);
    std::uint16_t (*pb)(std::uint32_t);
  };
  const Set sets[] = {
      {"one client, every source port", [](std::uint32_t) { return 0xc0000201u; },
       [](std::uint32_t i) { return static_cast<std::uint16_t>(i); },
       [](std::uint32_t) { return 0xc6336401u; },
       [](std::uint32_t) -> std::uint16_t { return 443; }},
      {"consecutive clients", [](std::uint32_t i) { return 0x0a000000u + i; },
       [](std::uint32_t) -> std::uint16_t { return 40000; },
       [](std::uint32_t) { return 0xc6336401u; },
       [](std::uint32_t) -> std::uint16_t { return 80; }},
      {"a /16 scanned on one port", [](std::uint32_t) { return 0xc0000201u; },
       [](std::uint32_t) -> std::uint16_t { return 55555; },
       [](std::uint32_t i) { return 0xcb000000u + i; },
       [](std::uint32_t) -> std::uint16_t { return 22; }},
  };
  for (const Set& set : sets) {
    for (unsigned n : {2u, 3u, 4u}) {
      std::vector<std::uint32_t> count(n);
      for (std::uint32_t i = 0; i < kN; ++i) {
        ++count[steer_shard(
            steer_ipv4_pair(set.a(i), set.pa(i), set.b(i), set.pb(i), kProtoTCP, key), n)];
      }
      for (unsigned k = 0; k < n; ++k) {
        EXPECT_NEAR(count[k], kN / n, kN / n * 3 / 100) << set.name << ", " << n << " shards";
      }
    }
  }
}

// The same IPv4 packet with a 4-byte option list (NOPs) and a fresh header
// checksum: the same flow, but not what steering reads in place.
Bytes with_ipv4_options(const Bytes& p) {
  Bytes q(p.begin(), p.begin() + 20);
  q.insert(q.end(), {1, 1, 1, 1});
  q.insert(q.end(), p.begin() + 20, p.end());
  q[0] = 0x46;
  const std::uint16_t total = static_cast<std::uint16_t>(q.size());
  q[2] = static_cast<std::uint8_t>(total >> 8);
  q[3] = static_cast<std::uint8_t>(total);
  q[10] = q[11] = 0;
  const std::uint16_t sum = test::inet_checksum(q.data(), 24);
  q[10] = static_cast<std::uint8_t>(sum >> 8);
  q[11] = static_cast<std::uint8_t>(sum);
  return q;
}

TEST(ShardedEngine, InPlaceIpv4SteeringMatchesTheParsedPath) {
  // Address pairs in both orders, equal addresses (ports decide), equal
  // ports, TCP and UDP: the in-place hash of the plain header equals the
  // full parse's hash of the same flow behind IPv4 options.
  std::mt19937 rng(7);
  const std::uint64_t key = 0x9e3779b97f4a7c15ull;
  std::size_t checked = 0;
  for (int i = 0; i < 400; ++i) {
    char a[32], b[32];
    std::snprintf(a, sizeof a, "192.0.2.%u", static_cast<unsigned>(rng() % 4));
    std::snprintf(b, sizeof b, i % 5 == 0 ? "192.0.2.%u" : "198.51.100.%u",
                  static_cast<unsigned>(rng() % 4));
    const auto pa = static_cast<std::uint16_t>(i % 7 == 0 ? 53 : rng() % 70000);
    const auto pb = static_cast<std::uint16_t>(i % 7 == 0 ? 53 : rng() % 70000);
    const Bytes p = i % 2 ? test::udp(ep4(a, pa), ep4(b, pb), "x")
                          : test::tcp(ep4(a, pa), ep4(b, pb), {.flags = test::SYN});
    const Bytes q = with_ipv4_options(p);
    const std::uint64_t h = steer_hash(p, key);
    ASSERT_NE(h, 0u);
    EXPECT_EQ(h, steer_hash_parsed(p, key)) << i;
    EXPECT_EQ(h, steer_hash(q, key)) << i;
    ++checked;
  }
  EXPECT_EQ(checked, 400u);
  // The in-place path does not check the header checksum (it runs for every
  // packet): a packet whose only fault is its checksum goes where its flow
  // goes. The full parse rejects it (the fixed shard); either way it is
  // INVALID before any state is read.
  const Bytes good = test::udp(ep4("192.0.2.1", 1), ep4("198.51.100.1", 2), "x");
  Bytes bad = good;
  bad[10] ^= 0x5a;
  EXPECT_EQ(steer_hash(bad, key), steer_hash(good, key));
  EXPECT_EQ(steer_hash_parsed(bad, key), 0u);
  ShardedEngine se(small_config(), 2);
  const Result r = se.process(se.steer(bad), bad, se.admit(1));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::L3BadChecksum);
}

// What `ctrack replay -q --threads N` does (cli/replay_replicated.cc): every
// shard's thread reads all packets, admits each on its own copy of the
// clock, batches its own packets (ShardedEngine::process_batch) and sweeps
// for the others' tickets. Run one shard after the other here: the shards
// share nothing, so the order of their runs cannot matter.
TEST(ShardedEngine, ReplicatedFrontsWithBatchesMatchOneEngine) {
  const auto pkts = mixed_traffic();
  for (Config::BatchLookAhead la :
       {Config::BatchLookAhead::Never, Config::BatchLookAhead::Always}) {
    for (unsigned n : {1u, 2u, 3u}) {
      SCOPED_TRACE(n);
      Config cfg = small_config();
      cfg.batch_look_ahead = la;
      Engine one(cfg);
      std::vector<Result> want;
      for (const Pkt& p : pkts) want.push_back(one.process(p.l3, p.ts));
      ShardedEngine se(cfg, n);
      const ShardedEngine::Clock start = se.clock();
      ShardedEngine::Clock end;
      std::vector<CtState> got(pkts.size(), CtState::Untracked);
      std::vector<Direction> got_dir(pkts.size());
      for (unsigned w = 0; w < n; ++w) {
        ShardedEngine::Clock clock = start;
        std::vector<BatchPacket> batch;
        std::vector<ShardedEngine::Ticket> tickets;
        std::vector<std::size_t> index;
        auto flush = [&] {
          std::vector<Result> out(batch.size());
          se.process_batch(w, batch, tickets, out);
          for (std::size_t k = 0; k < out.size(); ++k) {
            got[index[k]] = out[k].state;
            got_dir[index[k]] = out[k].direction;
          }
          batch.clear();
          tickets.clear();
          index.clear();
        };
        for (std::size_t i = 0; i < pkts.size(); ++i) {
          const unsigned s = se.steer(pkts[i].l3);
          const ShardedEngine::Ticket t = clock.admit(pkts[i].ts);
          if (s == w) {
            batch.push_back({pkts[i].l3, t.now, {}});
            tickets.push_back(t);
            index.push_back(i);
            if (batch.size() == 7) flush();  // odd size: runs end anywhere
          } else if (t.gc != 0) {
            flush();
            se.sweep(w, t);
          }
        }
        flush();
        end = clock;
      }
      for (std::size_t i = 0; i < pkts.size(); ++i) {
        EXPECT_EQ(got[i], want[i].state) << "packet " << i;
        EXPECT_EQ(got_dir[i], want[i].direction) << "packet " << i;
      }
      se.set_clock(end);
      expect_same_stats(one.stats(), se.stats());
      expect_same_table_after_expiry(one, se);
    }
  }
}

TEST(ShardedEngine, HelpersRunSerialOnShardZero) {
  Config c = small_config();
  c.helpers.push_back({"ftp", kProtoTCP, 21});
  ShardedEngine se(c, 2);
  EXPECT_EQ(se.mode(), ShardedEngine::Mode::Serial);
  for (int i = 0; i < 50; ++i) {
    const Bytes p = test::udp(ep4("192.0.2.1", static_cast<std::uint16_t>(1000 + i)),
                              ep4("198.51.100.1", 53), "q");
    EXPECT_EQ(se.steer(p), 0u);
  }
}

}  // namespace
}  // namespace ctrack

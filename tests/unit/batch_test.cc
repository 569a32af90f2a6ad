// Engine::process_batch must give exactly what the same packets give through
// process() one at a time: same verdicts, same entries, same counters. The
// traffic mixes everything that touches the table: TCP handshakes, data,
// FIN and RST teardown (deferred destruction), a SYN re-opening a TIME_WAIT
// entry (the tracker's Repeat), UDP in both directions, ICMP echo and errors
// (RELATED), malformed packets, fragments, NOTRACK, a tuple that is its own
// inverse, expiry while the clock runs, and a table small enough that new
// entries early-drop old ones and finally hit "table full".
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "ctrack/engine.h"
#include "support/packet_builder.h"

namespace ctrack {
namespace {

using namespace ctrack::test;

struct Pkt {
  Bytes l3;
  Timestamp now;
  CtTemplate tmpl{};
};

// A deterministic mixed trace of about `n` packets.
std::vector<Pkt> mixed_trace(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Pkt> out;
  Timestamp now = seconds(100);
  const Endpoint server = ep4("198.51.100.1", 80);
  auto step = [&] { now += static_cast<Timestamp>(rng() % 400'000'000); };  // up to 0.4 s
  std::uint16_t next_port = 20000;
  while (out.size() < n) {
    const Endpoint cli = ep4("192.0.2.7", next_port++);
    step();
    switch (rng() % 10) {
      case 0:
      case 1: {  // full TCP connection, FIN teardown, then a SYN re-opening it
        const std::uint32_t cs = rng(), ss = rng();
        out.push_back({tcp(cli, server, {SYN, cs, 0}), now});
        out.push_back({tcp(server, cli, {SYN | ACK, ss, cs + 1}), now + 10});
        out.push_back({tcp(cli, server, {ACK, cs + 1, ss + 1}), now + 20});
        out.push_back(
            {tcp(cli, server, {PSH | ACK, cs + 1, ss + 1, 64240, {}, "hello"}), now + 30});
        out.push_back({tcp(server, cli, {ACK, ss + 1, cs + 6}), now + 40});
        out.push_back({tcp(cli, server, {FIN | ACK, cs + 6, ss + 1}), now + 50});
        out.push_back({tcp(server, cli, {FIN | ACK, ss + 1, cs + 7}), now + 60});
        out.push_back({tcp(cli, server, {ACK, cs + 7, ss + 2}), now + 70});
        if (rng() % 2) out.push_back({tcp(cli, server, {SYN, cs + 100000, 0}), now + 80});
        break;
      }
      case 2: {  // SYN refused with RST: the entry dies with the RST
        const std::uint32_t cs = rng();
        out.push_back({tcp(cli, server, {SYN, cs, 0}), now});
        out.push_back({tcp(server, cli, {RST | ACK, 0, cs + 1}), now + 5});
        break;
      }
      case 3: {  // UDP query/answer, sometimes a stream
        const Endpoint dns = ep4("198.51.100.53", 53);
        out.push_back({udp(cli, dns, "q"), now});
        out.push_back({udp(dns, cli, "a"), now + 1000});
        if (rng() % 2) out.push_back({udp(cli, dns, "q2"), now + seconds(3)});
        break;
      }
      case 4: {  // ICMP echo and an error quoting a UDP packet
        const Addr a = Addr::v4(192, 0, 2, 8), b = Addr::v4(198, 51, 100, 9);
        const std::uint16_t id = static_cast<std::uint16_t>(rng());
        out.push_back({icmp(a, b, false, 8, 0, icmp_echo_body(id, 1)), now});
        out.push_back({icmp(b, a, false, 0, 0, icmp_echo_body(id, 1)), now + 100});
        const Bytes q = udp(cli, ep4("198.51.100.10", 33434), "probe");
        out.push_back({q, now + 200});
        out.push_back({icmp_error(b, Addr::v4(192, 0, 2, 7), false, 3, 3, q), now + 300});
        break;
      }
      case 5: {  // malformed and untracked
        Bytes bad = udp(cli, server, "x", /*bad_checksum=*/true);
        out.push_back({bad, now});
        out.push_back({Bytes{0x45, 0x00}, now});
        out.push_back({udp(cli, server, "nt"), now, CtTemplate{true, 0}});
        break;
      }
      case 6: {  // an IPv4 fragment pair (no defragmentation: tracked as is)
        IpSpec ip;
        ip.df = false;
        Bytes first = udp(cli, server, std::string(64, 'f'), false, false, ip);
        first[6] = 0x20;  // MF
        fix_ipv4_checksum(first);
        Bytes second = first;
        second[6] = 0x00;
        second[7] = 0x08;  // offset 64 bytes
        fix_ipv4_checksum(second);
        out.push_back({first, now});
        out.push_back({second, now + 1});
        break;
      }
      case 7: {  // a tuple that is its own inverse, in both "directions"
        const Endpoint self = ep4("203.0.113.5", 7777);
        out.push_back({udp(self, self, "me"), now});
        out.push_back({udp(self, self, "me"), now + 1});
        break;
      }
      case 8: {  // one UDP 5-tuple in zone 0 and in zone 5: two entries
        const Endpoint dns = ep4("198.51.100.54", 53);
        CtTemplate z5;
        z5.zone = 5;
        out.push_back({udp(cli, dns, "z0"), now});
        out.push_back({udp(cli, dns, "z5"), now + 1, z5});
        out.push_back({udp(dns, cli, "a5"), now + 2, z5});
        out.push_back({udp(dns, cli, "a0"), now + 3});
        break;
      }
      default: {  // IPv6 UDP
        const Endpoint c6 = ep6("2001:db8::1", next_port), s6 = ep6("2001:db8::2", 53);
        out.push_back({udp(c6, s6, "q6"), now});
        out.push_back({udp(s6, c6, "a6"), now + 10});
        break;
      }
    }
    // Now and then a long pause, so that entries expire and the sweep runs.
    if (rng() % 50 == 0) now += seconds(40);
  }
  return out;
}

struct Seen {
  Result r;
  std::uint32_t conn_id = 0;
};

void expect_same_result(const Result& a, const Result& b, std::size_t i) {
  EXPECT_EQ(a.state, b.state) << "packet " << i;
  EXPECT_EQ(a.direction, b.direction) << "packet " << i;
  EXPECT_EQ(a.reason, b.reason) << "packet " << i;
  EXPECT_EQ(a.dropped, b.dropped) << "packet " << i;
  EXPECT_EQ(a.destroyed, b.destroyed) << "packet " << i;
  EXPECT_EQ(a.has_tuple, b.has_tuple) << "packet " << i;
  if (a.has_tuple && b.has_tuple) {
    EXPECT_EQ(a.tuple, b.tuple) << "packet " << i;
  }
  EXPECT_EQ(a.tcp_flags, b.tcp_flags) << "packet " << i;
  EXPECT_EQ(a.tcp_before, b.tcp_before) << "packet " << i;
  EXPECT_EQ(a.conn == nullptr, b.conn == nullptr) << "packet " << i;
}

void expect_same_table(const Engine& a, const Engine& b) {
  const auto ea = a.entries(), eb = b.entries();
  ASSERT_EQ(ea.size(), eb.size());
  for (std::size_t i = 0; i < ea.size(); ++i) {
    EXPECT_EQ(ea[i]->id, eb[i]->id);
    EXPECT_EQ(ea[i]->orig, eb[i]->orig);
    EXPECT_EQ(ea[i]->expires, eb[i]->expires);
    EXPECT_EQ(ea[i]->status, eb[i]->status);
    EXPECT_EQ(std::memcmp(&ea[i]->l4, &eb[i]->l4, sizeof ea[i]->l4), 0) << "entry " << ea[i]->id;
  }
  const Stats& sa = a.stats();
  const Stats& sb = b.stats();
  EXPECT_EQ(std::memcmp(&sa, &sb, sizeof sa), 0);
  EXPECT_EQ(sa.entries, sb.entries);
  EXPECT_EQ(sa.early_drop, sb.early_drop);
  EXPECT_EQ(sa.expired, sb.expired);
}

// Packets [base, base + n) of `trace` as a batch.
std::vector<BatchPacket> batch_of(const std::vector<Pkt>& trace, std::size_t base, std::size_t n) {
  std::vector<BatchPacket> bp;
  for (std::size_t i = base; i < base + n; ++i)
    bp.push_back({trace[i].l3, trace[i].now, trace[i].tmpl});
  return bp;
}

// Runs `trace` through process() and through process_batch() in chunks of
// `batch`, and compares everything observable.
void compare(const Config& cfg, const std::vector<Pkt>& trace, std::size_t batch) {
  Engine single(cfg), batched(cfg);
  std::vector<Result> out;
  for (std::size_t base = 0; base < trace.size(); base += batch) {
    const std::size_t n = std::min(batch, trace.size() - base);
    std::vector<Seen> ref(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Pkt& p = trace[base + i];
      ref[i].r = single.process(p.l3, p.now, Hook::Network, p.tmpl);
      if (ref[i].r.conn != nullptr) ref[i].conn_id = ref[i].r.conn->id;
    }
    const std::vector<BatchPacket> bp = batch_of(trace, base, n);
    out.assign(n, Result{});
    batched.process_batch(bp, out);
    for (std::size_t i = 0; i < n; ++i) {
      expect_same_result(ref[i].r, out[i], base + i);
      // The entry each result names, read after the whole batch: for every
      // entry still alive (and for the ones the batch destroyed, which stay
      // readable until the next call) it must be the same entry.
      if (out[i].conn != nullptr &&
          (out[i].destroyed || single.find_id(ref[i].conn_id) != nullptr)) {
        EXPECT_EQ(out[i].conn->id, ref[i].conn_id) << "packet " << base + i;
      }
    }
  }
  expect_same_table(single, batched);
}

// The entry a result names, as far as a caller printing per-packet state
// reads it.
struct EntryView {
  std::uint32_t id = 0;
  std::uint16_t status = 0;
  Timestamp expires = 0;
  TcpState tcp = TcpState::None;
  bool operator==(const EntryView&) const = default;
};

EntryView view(const Result& r) {
  if (r.conn == nullptr) return {};
  const Conn& c = *r.conn;
  return {c.id, c.status, c.expires, c.proto() == kProtoTCP ? c.l4.tcp.state : TcpState::None};
}

// process_batch with a visitor: called once per packet, in order, on out[i],
// right after the packet, when its entry is exactly as after process().
void compare_visited(const Config& cfg, const std::vector<Pkt>& trace, std::size_t batch) {
  Engine single(cfg), batched(cfg);
  std::vector<Result> out;
  for (std::size_t base = 0; base < trace.size(); base += batch) {
    const std::size_t n = std::min(batch, trace.size() - base);
    std::vector<EntryView> ref(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Pkt& p = trace[base + i];
      ref[i] = view(single.process(p.l3, p.now, Hook::Network, p.tmpl));
    }
    const std::vector<BatchPacket> bp = batch_of(trace, base, n);
    out.assign(n, Result{});
    std::size_t next = 0;
    auto each = [&](std::size_t i, const Result& r) {
      EXPECT_EQ(i, next++);
      EXPECT_EQ(&r, &out[i]);
      EXPECT_EQ(view(r), ref[i]) << "packet " << base + i;
    };
    batched.process_batch(bp, out, Hook::Network, each);
    EXPECT_EQ(next, n);
  }
  expect_same_table(single, batched);
}

using LookAhead = Config::BatchLookAhead;

Config test_config(std::uint32_t buckets, std::uint32_t max, LookAhead la = LookAhead::Auto) {
  Config c = Config::for_profile(Profile::Linux, buckets);
  c.max = max;
  c.hash_seed = 99;
  c.batch_look_ahead = la;
  return c;
}

TEST(Batch, MatchesSingleCallsOnMixedTraffic) {
  const auto trace = mixed_trace(3000, 1);
  // With and without the look-ahead pipeline, on a table of long chains
  // (1024 buckets: the second-entry prefetch has work to do) and on a large
  // one.
  for (LookAhead la : {LookAhead::Never, LookAhead::Always, LookAhead::Auto}) {
    for (std::uint32_t buckets : {1u << 10, 1u << 21}) {
      for (std::size_t batch : {1, 7, 32, 100}) {
        SCOPED_TRACE(testing::Message() << buckets << " buckets, batch " << batch << ", look-ahead "
                                        << static_cast<int>(la));
        compare(test_config(buckets, 100000, la), trace, batch);
      }
    }
  }
}

TEST(Batch, VisitorSeesEachEntryAsItsPacketLeftIt) {
  const auto trace = mixed_trace(3000, 2);
  for (LookAhead la : {LookAhead::Never, LookAhead::Always}) {
    for (std::size_t batch : {1, 32, 100}) {
      SCOPED_TRACE(testing::Message()
                   << "batch " << batch << ", look-ahead " << static_cast<int>(la));
      compare_visited(test_config(1u << 10, 100000, la), trace, batch);
    }
  }
}

TEST(Batch, AutoLookAheadKeepsVerdictsWhereItSwitchesOn) {
  // 20000 UDP flows: with Auto the look-ahead switches on part-way (at
  // about 5700 entries, not observable from outside); the verdicts before,
  // across and after that point must stay those of single calls.
  std::vector<Pkt> trace;
  const Endpoint s = ep4("198.51.100.7", 53);
  for (std::uint32_t i = 0; i < 20000; ++i) {
    const Endpoint c = ep4("192.0.2.1", static_cast<std::uint16_t>(1024 + i));
    trace.push_back({udp(c, s, "q"), seconds(1) + i, {}});
    if (i % 3 == 0) trace.push_back({udp(s, c, "r"), seconds(1) + i, {}});
  }
  compare(test_config(1u << 15, 100000), trace, 32);
}

TEST(Batch, MatchesSingleCallsWhenTheTableIsFull) {
  // 64 entries at most in 16 buckets: creations early-drop unreplied entries
  // (several per bucket) and, with ASSURED ones everywhere, get dropped.
  const auto trace = mixed_trace(3000, 2);
  for (std::size_t batch : {5, 32}) {
    SCOPED_TRACE(batch);
    compare(test_config(16, 64), trace, batch);
  }
  // The same bound with the look-ahead pipeline, on small and large bucket
  // arrays.
  compare(test_config(16, 64, LookAhead::Always), trace, 32);
  compare(test_config(1u << 21, 64, LookAhead::Always), trace, 32);
}

TEST(Batch, ConnOfAResultDestroyedInTheBatchStaysReadable) {
  Engine e(test_config(64, 1000));
  const Endpoint c = ep4("192.0.2.1", 4000), s = ep4("198.51.100.1", 80);
  const Bytes syn = tcp(c, s, {SYN, 1000, 0});
  const Bytes rst = tcp(s, c, {RST | ACK, 0, 1001});
  const Bytes other = tcp(ep4("192.0.2.2", 4001), s, {SYN, 5, 0});
  const BatchPacket pkts[] = {{syn, seconds(1)}, {rst, seconds(1) + 1}, {other, seconds(1) + 2}};
  Result out[3];
  e.process_batch(pkts, out);
  EXPECT_EQ(out[0].state, CtState::New);
  ASSERT_TRUE(out[1].destroyed);
  ASSERT_NE(out[1].conn, nullptr);
  // Still the refused connection, not the entry created by the next packet.
  EXPECT_EQ(out[1].conn->orig.src_id, 4000);
  EXPECT_EQ(out[2].conn->orig.src_id, 4001);
  EXPECT_NE(out[1].conn, out[2].conn);
  EXPECT_EQ(e.stats().entries, 1u);
}

TEST(Batch, EmptyBatchIsANoOp) {
  Engine e(test_config(64, 1000));
  e.process_batch({}, {});
  EXPECT_EQ(e.stats().packets, 0u);
}

}  // namespace
}  // namespace ctrack

// The table: lookup in both directions, confirmation, lazy and periodic
// expiry, early drop (linux-core.md §6.4) and the table-full drop, resizing.
#include <gtest/gtest.h>

#include <cstdio>

#include "core/flow_hash.h"
#include "ctrack/engine.h"
#include "support/packet_builder.h"

namespace ctrack {
namespace {

using namespace ctrack::test;

constexpr std::uint64_t kSeed = 12345;

Config small_table(std::uint32_t buckets, std::uint32_t max) {
  Config c = Config::for_profile(Profile::Linux, buckets);
  c.max = max;
  c.hash_seed = kSeed;
  return c;
}

Tuple udp_tuple(const Endpoint& s, const Endpoint& d) {
  Tuple t;
  t.src = s.addr;
  t.dst = d.addr;
  t.src_id = s.port;
  t.dst_id = d.port;
  t.family = kFamilyIPv4;
  t.proto = kProtoUDP;
  return t;
}

// An entry is indexed once, in the bucket of its direction-independent hash.
std::uint32_t bucket_for(const Tuple& t, std::uint32_t buckets) {
  Tuple inv;
  const bool ok = invert(t, inv);
  return bucket_of(flow_hash(t, ok ? &inv : nullptr, HashKey::from_seed(kSeed)), buckets);
}

Bytes udp_pkt(const Endpoint& s, const Endpoint& d) { return udp(s, d, "q"); }

TEST(ConnTable, LookupInBothDirections) {
  Engine e(small_table(64, 512));
  Endpoint c = ep4("192.0.2.1", 5000), s = ep4("198.51.100.1", 53);
  Result r1 = e.process(udp_pkt(c, s), seconds(1));
  ASSERT_EQ(r1.state, CtState::New);
  const Conn* conn = e.find(udp_tuple(c, s));
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(conn, e.find(udp_tuple(s, c)));  // reply tuple finds the same entry
  EXPECT_EQ(conn->reply(), udp_tuple(s, c));
  Result r2 = e.process(udp_pkt(s, c), seconds(1) + 1000);
  EXPECT_EQ(r2.state, CtState::Established);
  EXPECT_EQ(r2.direction, Direction::Reply);
  EXPECT_EQ(r2.conn, conn);
  EXPECT_TRUE(conn->has(kStatusSeenReply));
  EXPECT_EQ(e.entries().size(), 1u);
  EXPECT_EQ(e.find_id(conn->id), conn);
}

// A tuple that is its own inverse (same address and port at both ends) is
// found as the reply of its own entry: the kernel links an entry's reply
// node after its original node, at the head of the same chain. Checked
// against the kernel in a network namespace: a UDP socket on
// 203.0.113.5:7777 sending to itself twice, the first datagram NEW in the
// original direction, the second ESTABLISHED in the reply direction, one
// entry.
TEST(ConnTable, TupleThatIsItsOwnInverseMatchesAsReply) {
  for (const Endpoint self : {ep4("203.0.113.5", 7777), ep6("2001:db8::5", 7777)}) {
    Engine e(small_table(64, 512));
    const Result r1 = e.process(udp_pkt(self, self), seconds(1));
    EXPECT_EQ(r1.state, CtState::New);
    EXPECT_EQ(r1.direction, Direction::Original);
    const Result r2 = e.process(udp_pkt(self, self), seconds(2));
    EXPECT_EQ(r2.state, CtState::Established);
    EXPECT_EQ(r2.direction, Direction::Reply);
    EXPECT_EQ(r2.conn, r1.conn);
    ASSERT_NE(r2.conn, nullptr);
    EXPECT_TRUE(r2.conn->has(kStatusSeenReply));
    EXPECT_EQ(e.entries().size(), 1u);
  }
}

TEST(ConnTable, TwoPhaseDiscardLeavesNothing) {
  Engine e(small_table(64, 512));
  Endpoint c = ep4("192.0.2.1", 5000), s = ep4("198.51.100.1", 53);
  Result r = e.track(udp_pkt(c, s), seconds(1));
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_EQ(e.find(udp_tuple(c, s)), nullptr);  // not confirmed yet
  e.discard();
  EXPECT_EQ(e.find(udp_tuple(c, s)), nullptr);
  EXPECT_EQ(e.stats().entries, 0u);
  // The next packet of the flow is NEW again and creates the entry.
  Result r2 = e.track(udp_pkt(c, s), seconds(2));
  EXPECT_EQ(r2.state, CtState::New);
  e.confirm();
  EXPECT_NE(e.find(udp_tuple(c, s)), nullptr);
  EXPECT_EQ(e.stats().entries, 1u);
}

TEST(ConnTable, LazyExpiryOnLookupAndRecreate) {
  Engine e(small_table(64, 512));
  Endpoint c = ep4("192.0.2.1", 5000), s = ep4("198.51.100.1", 53);
  Result first = e.process(udp_pkt(c, s), seconds(0));
  const std::uint32_t id = first.conn->id;
  // 30 s unreplied timeout: alive at 29.999999999 s, dead at 30 s.
  Result again = e.process(udp_pkt(c, s), seconds(30) - 1);
  EXPECT_EQ(again.conn->id, id);
  Result later = e.process(udp_pkt(c, s), seconds(60) - 2);
  EXPECT_EQ(later.conn->id, id);
  Result fresh = e.process(udp_pkt(c, s), seconds(90) - 2);  // 30 s after the last
  EXPECT_EQ(fresh.state, CtState::New);
  EXPECT_NE(fresh.conn->id, id);
  EXPECT_EQ(e.stats().entries, 1u);
  EXPECT_GE(e.stats().expired, 1u);
}

TEST(ConnTable, PeriodicSweepDrivenByPacketTime) {
  Engine e(small_table(64, 512));
  for (int i = 0; i < 20; ++i) {
    e.process(udp_pkt(ep4("192.0.2.1", static_cast<std::uint16_t>(1000 + i)),
                      ep4("198.51.100.1", 53)),
              seconds(0));
  }
  EXPECT_EQ(e.stats().entries, 20u);
  // Unrelated traffic moves the clock; within 16 s after expiry the sweep
  // has visited every bucket (64 buckets, >= 64 per run).
  for (int t = 31; t < 40; ++t) {
    e.process(udp_pkt(ep4("203.0.113.9", 9), ep4("203.0.113.10", 9)), seconds(t));
  }
  EXPECT_EQ(e.stats().entries, 1u);
  EXPECT_EQ(e.stats().expired, 20u);
  EXPECT_EQ(e.entries().size(), 1u);
}

TEST(ConnTable, ExpireAllRemovesDeadEntries) {
  Engine e(small_table(64, 512));
  e.process(udp_pkt(ep4("192.0.2.1", 1), ep4("198.51.100.1", 2)), seconds(0));
  e.expire(seconds(29));
  EXPECT_EQ(e.stats().entries, 1u);
  EXPECT_EQ(e.timeout_left(*e.entries()[0]), 1);
  e.expire(seconds(30));
  EXPECT_EQ(e.stats().entries, 0u);
  EXPECT_TRUE(e.entries().empty());
}

TEST(EarlyDrop, EvictsEveryNonAssuredEntryOfTheBucket) {
  // One bucket: every entry shares it, so the first scanned bucket holds all.
  Engine e(small_table(1, 4));
  for (int i = 0; i < 4; ++i) {
    Result r = e.process(udp_pkt(ep4("192.0.2.1", static_cast<std::uint16_t>(100 + i)),
                                 ep4("198.51.100.1", 53)),
                         seconds(1));
    ASSERT_EQ(r.state, CtState::New);
  }
  EXPECT_EQ(e.stats().entries, 4u);
  Result r = e.process(udp_pkt(ep4("192.0.2.1", 200), ep4("198.51.100.1", 53)), seconds(1));
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_FALSE(r.dropped);
  EXPECT_EQ(e.stats().early_drop, 4u);  // all of them, not just one
  EXPECT_EQ(e.stats().entries, 1u);
}

// An ASSURED UDP flow: request, reply, then traffic more than 2 s later.
void make_assured_udp(Engine& e, const Endpoint& c, const Endpoint& s, Timestamp t0) {
  e.process(udp_pkt(c, s), t0);
  e.process(udp_pkt(s, c), t0 + 1000);
  Result r = e.process(udp_pkt(c, s), t0 + seconds(3));
  ASSERT_TRUE(r.conn->has(kStatusAssured));
}

TEST(EarlyDrop, AssuredSurvivesAndFullTableDropsThePacket) {
  Engine e(small_table(1, 2));
  Endpoint s = ep4("198.51.100.1", 53);
  make_assured_udp(e, ep4("192.0.2.1", 1000), s, seconds(0));
  // Time only moves forward: the second flow starts after the first became ASSURED.
  make_assured_udp(e, ep4("192.0.2.1", 1001), s, seconds(10));
  EXPECT_EQ(e.stats().entries, 2u);
  Result r = e.process(udp_pkt(ep4("192.0.2.1", 2000), s), seconds(14));
  EXPECT_TRUE(r.dropped);
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::TableFull);
  EXPECT_EQ(e.stats().drop, 1u);
  EXPECT_EQ(e.stats().early_drop, 0u);
  EXPECT_EQ(e.stats().entries, 2u);
  // Packets of existing connections still pass.
  Result old = e.process(udp_pkt(s, ep4("192.0.2.1", 1000)), seconds(14));
  EXPECT_EQ(old.state, CtState::Established);
}

TEST(EarlyDrop, ScansOnlyEightBucketsFromTheNewTuplesBucket) {
  constexpr std::uint32_t kBuckets = 64;
  Engine e(small_table(kBuckets, 2));
  Endpoint s = ep4("198.51.100.1", 53);
  // The new flow and its bucket.
  Endpoint newc = ep4("192.0.2.200", 7);
  const std::uint32_t nb = bucket_for(udp_tuple(newc, s), kBuckets);
  // Find an unreplied flow indexed outside [nb, nb+8) and one ASSURED flow
  // anywhere: the new flow must then be dropped.
  auto outside = [&](const Tuple& t) {
    std::uint32_t b = bucket_for(t, kBuckets);
    std::uint32_t dist = (b + kBuckets - nb) % kBuckets;
    return dist >= 8;
  };
  auto inside = [&](const Tuple& t) { return !outside(t); };
  Endpoint far{}, near_ep{};
  bool have_far = false, have_near = false;
  for (std::uint16_t p = 1; p < 5000 && !(have_far && have_near); ++p) {
    Endpoint c = ep4("192.0.2.1", p);
    Tuple o = udp_tuple(c, s), r = udp_tuple(s, c);
    if (!have_far && outside(o) && outside(r)) far = c, have_far = true;
    if (!have_near && inside(o) && inside(r)) near_ep = c, have_near = true;
  }
  ASSERT_TRUE(have_far && have_near);
  make_assured_udp(e, ep4("203.0.113.1", 1), ep4("203.0.113.2", 2), seconds(0));
  e.process(udp_pkt(far, s), seconds(4));
  ASSERT_EQ(e.stats().entries, 2u);
  Result r = e.process(udp_pkt(newc, s), seconds(4));
  EXPECT_TRUE(r.dropped) << "victim outside the 8-bucket range must not be evicted";
  EXPECT_EQ(e.stats().early_drop, 0u);

  // Replace the far flow by one in range: now it is evicted.
  Engine e2(small_table(kBuckets, 2));
  make_assured_udp(e2, ep4("203.0.113.1", 1), ep4("203.0.113.2", 2), seconds(0));
  e2.process(udp_pkt(near_ep, s), seconds(4));
  Result r2 = e2.process(udp_pkt(newc, s), seconds(4));
  EXPECT_FALSE(r2.dropped);
  EXPECT_EQ(e2.stats().early_drop, 1u);
  EXPECT_EQ(e2.find(udp_tuple(near_ep, s)), nullptr);
}

// Resident memory of this process in KiB (VmRSS), or -1 where /proc has none.
long rss_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  long kib = -1;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

// The first 2 MiB of entries stay on small pages: with transparent huge
// pages, a huge page there was zeroed whole at the first entry, so every
// small table (a short capture, one of many embedded engines) cost 2 MiB.
TEST(ConnTable, SmallTableCostsKilobytesNotAHugePage) {
  Engine e(small_table(1024, 8192));
  const long before = rss_kib();
  if (before < 0) GTEST_SKIP() << "no VmRSS in /proc/self/status";
  for (std::uint16_t i = 0; i < 100; ++i) {
    e.process(
        udp(ep4("192.0.2.1", static_cast<std::uint16_t>(1000 + i)), ep4("198.51.100.1", 53), "q"),
        seconds(1));
  }
  ASSERT_EQ(e.stats().entries, 100u);
  // 100 entries are 12 KB; a huge page would be 2048 KiB.
  EXPECT_LT(rss_kib() - before, 1024) << "100 connections grew the process by more than 1 MiB";
}

TEST(ConnTable, ResizeKeepsEntries) {
  Engine e(small_table(8, 1000));
  for (int i = 0; i < 50; ++i) {
    e.process(udp_pkt(ep4("192.0.2.1", static_cast<std::uint16_t>(i + 1)), ep4("198.51.100.1", 53)),
              seconds(1));
  }
  ASSERT_TRUE(e.set("net.netfilter.nf_conntrack_buckets", "1024"));
  EXPECT_EQ(e.config().buckets, 1024u);
  for (int i = 0; i < 50; ++i) {
    Endpoint c = ep4("192.0.2.1", static_cast<std::uint16_t>(i + 1));
    EXPECT_NE(e.find(udp_tuple(c, ep4("198.51.100.1", 53))), nullptr);
  }
  Result r = e.process(udp_pkt(ep4("198.51.100.1", 53), ep4("192.0.2.1", 7)), seconds(1));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(r.direction, Direction::Reply);
}

TEST(ConnTable, RuntimeTimeoutChangeAppliesToNextRefresh) {
  Engine e(small_table(64, 512));
  Endpoint c = ep4("192.0.2.1", 5000), s = ep4("198.51.100.1", 53);
  e.process(udp_pkt(c, s), seconds(0));
  ASSERT_TRUE(e.set("nf_conntrack_udp_timeout", "5"));
  Result r = e.process(udp_pkt(c, s), seconds(1));
  EXPECT_EQ(r.conn->expires, seconds(6));
}

TEST(ConnTable, MalformedPacketsAreInvalidNotCrashes) {
  Engine e(small_table(64, 512));
  const std::uint8_t junk[] = {0x45, 0x00};
  Result r = e.process(std::span<const std::uint8_t>(junk, sizeof junk), seconds(0));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_NE(r.reason, InvalidReason::None);
  Result empty = e.process(std::span<const std::uint8_t>(), seconds(0));
  EXPECT_EQ(empty.state, CtState::Invalid);
  EXPECT_EQ(e.stats().invalid, 2u);
}

}  // namespace
}  // namespace ctrack

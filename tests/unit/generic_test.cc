// Generic tracker (linux-core.md §4.1): one entry per address pair and
// protocol, 600-s timeout refreshed both ways, NEW until a reply, never
// ASSURED, no state name.
#include <gtest/gtest.h>

#include "l4_engine_fixture.h"
#include "proto/generic_tracker.h"

namespace ctrack::test {
namespace {

Bytes p99(const Addr& s, const Addr& d, std::uint8_t fill = 1) {
  return raw_ip(s, d, false, 99, Bytes(12, fill));
}
Tuple t99() { return make_tuple(kA, kB, false, 99, 0, 0); }

TEST(Generic, NewUntilReplyThenEstablished) {
  L4Engine e;
  Result r = e.send(0, p99(kA, kB));
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_EQ(r.tuple, t99());
  EXPECT_EQ(r.conn->reply(), make_tuple(kB, kA, false, 99, 0, 0));
  EXPECT_EQ(e.engine.state_name(*r.conn), nullptr);
  EXPECT_EQ(e.send(100, p99(kA, kB, 2)).state, CtState::New);
  r = e.send(200, p99(kB, kA));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(r.direction, Direction::Reply);
  r = e.send(300, p99(kA, kB));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  EXPECT_EQ(e.engine.entries().size(), 1u);
}

TEST(Generic, TimeoutRefreshedByEitherDirection) {
  L4Engine e;
  e.send(0, p99(kA, kB));
  e.send(100000, p99(kB, kA));
  e.expect_expires(t99(), 100000, 600);
}

TEST(Generic, ClassicTimeoutIsAlso600) {
  L4Engine e(Profile::Classic);
  e.send(0, p99(kA, kB));
  e.expect_expires(t99(), 0, 600);
}

TEST(Generic, TimeoutFollowsSysctl) {
  L4Engine e;
  ASSERT_TRUE(e.engine.set("nf_conntrack_generic_timeout", "77"));
  e.send(0, p99(kA, kB));
  e.expect_expires(t99(), 0, 77);
}

TEST(Generic, NoValidationEvenWithoutPayload) {
  L4Engine e;
  EXPECT_EQ(e.send(0, raw_ip(kA, kB, false, 4, Bytes{})).state, CtState::New);  // IPIP
  EXPECT_EQ(e.send(0, raw_ip(kA, kB, false, 41, Bytes{1})).state, CtState::New);
  EXPECT_EQ(e.engine.stats().invalid, 0u);
}

TEST(Generic, DccpIsGenericOnThisKernel) {
  L4Engine e;
  const Bytes dccp = raw_ip(kA, kB, false, 33, Bytes{0x13, 0x88, 0x00, 0x50, 0, 0, 0, 0});
  const Result r = e.send(0, dccp);
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_EQ(r.tuple, make_tuple(kA, kB, false, 33, 0, 0));  // ports ignored
}

TEST(Generic, ProtocolsAndFamiliesAreSeparateEntries) {
  L4Engine e;
  e.send(0, p99(kA, kB));
  EXPECT_EQ(e.send(0, raw_ip(kA, kB, false, 98, Bytes{})).state, CtState::New);
  EXPECT_EQ(e.send(0, raw_ip(a6(), b6(), true, 99, Bytes{})).state, CtState::New);
  EXPECT_EQ(e.send(10, raw_ip(b6(), a6(), true, 99, Bytes{})).state, CtState::Established);
  EXPECT_EQ(e.engine.entries().size(), 3u);
}

TEST(GenericTracker, AlwaysEarlyDroppable) {
  Conn c;
  EXPECT_TRUE(GenericTracker::gc_can_early_drop(c));
  EXPECT_EQ(GenericTracker::state_name(c), nullptr);
}

}  // namespace
}  // namespace ctrack::test

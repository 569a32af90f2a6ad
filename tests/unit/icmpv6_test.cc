// ICMPv6 queries (linux-core.md §1 ICMPv6 table, §3.4): echo and
// node-information pairs, ND/MLD untracked, other informational types
// INVALID, checksum with pseudo-header, timeouts in both profiles.
#include <gtest/gtest.h>

#include "l4_engine_fixture.h"
#include "proto/icmpv6_tracker.h"

namespace ctrack::test {
namespace {

Bytes msg6(const Addr& s, const Addr& d, std::uint8_t type, std::uint16_t id = 0x42,
           bool bad_checksum = false) {
  return icmp(s, d, true, type, 0, icmp_echo_body(id, 1), bad_checksum);
}
Tuple echo6(std::uint16_t id = 0x42, std::uint8_t type = 128) {
  return make_tuple(a6(), b6(), true, kProtoICMPv6, id, static_cast<std::uint16_t>(type << 8));
}

TEST(Icmpv6, EchoRequestReply) {
  L4Engine e;
  Result r = e.send(0, msg6(a6(), b6(), 128));
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_EQ(r.tuple, echo6());
  EXPECT_EQ(r.conn->reply(), make_tuple(b6(), a6(), true, kProtoICMPv6, 0x42, 129 << 8));
  r = e.send(50, msg6(b6(), a6(), 129));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(r.direction, Direction::Reply);
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  e.expect_expires(echo6(), 50, 30);
}

TEST(Icmpv6, NodeInformationPair) {
  L4Engine e;
  EXPECT_EQ(e.send(0, msg6(a6(), b6(), 139)).state, CtState::New);
  EXPECT_EQ(e.send(10, msg6(b6(), a6(), 140)).state, CtState::Established);
}

TEST(Icmpv6, ReplyWithoutRequestIsInvalid) {
  L4Engine e;
  EXPECT_EQ(e.send(0, msg6(b6(), a6(), 129)).reason, InvalidReason::IcmpReplyWithoutRequest);
  EXPECT_EQ(e.send(0, msg6(b6(), a6(), 140)).reason, InvalidReason::IcmpReplyWithoutRequest);
  EXPECT_EQ(e.engine.stats().invalid, 2u);
  EXPECT_TRUE(e.engine.entries().empty());
}

class Icmpv6Untracked : public ::testing::TestWithParam<int> {};

TEST_P(Icmpv6Untracked, NeighbourDiscoveryAndMldAreUntracked) {
  L4Engine e;
  const Result r = e.send(0, msg6(a6(), b6(), static_cast<std::uint8_t>(GetParam())));
  EXPECT_EQ(r.state, CtState::Untracked);
  EXPECT_EQ(r.conn, nullptr);
  EXPECT_TRUE(e.engine.entries().empty());
  EXPECT_EQ(e.engine.stats().invalid, 0u);
  EXPECT_EQ(e.engine.stats().error, 0u);
}

INSTANTIATE_TEST_SUITE_P(Types, Icmpv6Untracked,
                         ::testing::Values(130, 131, 132, 133, 134, 135, 136, 143));

class Icmpv6NoInverse : public ::testing::TestWithParam<int> {};

TEST_P(Icmpv6NoInverse, OtherInformationalTypesAreInvalid) {
  L4Engine e;
  const Result r = e.send(0, msg6(a6(), b6(), static_cast<std::uint8_t>(GetParam())));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::IcmpNoInverse);
  EXPECT_EQ(e.engine.stats().invalid, 1u);
  EXPECT_TRUE(e.engine.entries().empty());
}

INSTANTIATE_TEST_SUITE_P(Types, Icmpv6NoInverse,
                         ::testing::Values(137, 138, 141, 142, 144, 200, 255));

TEST(Icmpv6, BadChecksumIsAnError) {
  L4Engine e;
  const Bytes bad = msg6(a6(), b6(), 128, 1, /*bad_checksum=*/true);
  const Result r = e.send(0, bad);
  EXPECT_EQ(r.reason, InvalidReason::Icmpv6BadChecksum);
  EXPECT_EQ(e.engine.stats().error, 1u);
  EXPECT_EQ(e.engine.stats().invalid, 0u);
  EXPECT_EQ(e.send(0, bad, Hook::Local).state, CtState::New);
  // A bad checksum is refused even for ND (checked before the type).
  EXPECT_EQ(e.send(0, msg6(a6(), b6(), 135, 0, true)).reason, InvalidReason::Icmpv6BadChecksum);
}

TEST(Icmpv6, ShortHeaderIsAnError) {
  L4Engine e;
  const Result r = e.send(0, raw_ip(a6(), b6(), true, kProtoICMPv6, Bytes{128, 0, 0, 0}));
  EXPECT_EQ(r.reason, InvalidReason::IcmpShortHeader);
  EXPECT_EQ(e.engine.stats().error, 1u);
}

TEST(Icmpv6, UsesTheIcmpv6Timeout) {
  L4Engine e;
  ASSERT_TRUE(e.engine.set("nf_conntrack_icmpv6_timeout", "44"));
  ASSERT_TRUE(e.engine.set("nf_conntrack_icmp_timeout", "11"));
  e.send(0, msg6(a6(), b6(), 128));
  e.expect_expires(echo6(), 0, 44);
}

TEST(Icmpv6Classic, ReplyDestroysTheEntry) {
  L4Engine e(Profile::Classic);
  e.send(0, msg6(a6(), b6(), 128));
  const Result r = e.send(10, msg6(b6(), a6(), 129));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_TRUE(r.destroyed);
  EXPECT_EQ(e.engine.find(echo6()), nullptr);
}

TEST(Icmpv6Classic, UnansweredRequestExpiresAfterThirtySeconds) {
  L4Engine e(Profile::Classic);
  e.send(0, msg6(a6(), b6(), 128));
  e.expect_expires(echo6(), 0, 30);
}

TEST(Icmpv6Tracker, Inversion) {
  Tuple out;
  ASSERT_TRUE(Icmpv6Tracker::invert(echo6(1, 139), out));
  EXPECT_EQ(out.icmp_type(), 140);
  ASSERT_TRUE(Icmpv6Tracker::invert(echo6(1, 129), out));
  EXPECT_EQ(out.icmp_type(), 128);
  EXPECT_FALSE(Icmpv6Tracker::invert(echo6(1, 137), out));
  EXPECT_FALSE(Icmpv6Tracker::invert(echo6(1, 8), out));  // the v4 echo number means nothing here
  Conn c;
  EXPECT_TRUE(Icmpv6Tracker::gc_can_early_drop(c));
  EXPECT_EQ(Icmpv6Tracker::state_name(c), nullptr);
}

}  // namespace
}  // namespace ctrack::test

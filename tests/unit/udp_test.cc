// UDP tracking (linux-core.md §2): validity checks, the unreplied/stream
// timeouts, the 2-second rule of modern kernels and the classic behaviour.
#include <gtest/gtest.h>

#include "l4_engine_fixture.h"
#include "parse/packet.h"
#include "proto/udp_tracker.h"

namespace ctrack::test {
namespace {

const Endpoint kClient = {Addr::v4(10, 0, 1, 2), 40001, false};
const Endpoint kServer = {Addr::v4(10, 0, 2, 2), 53, false};

Bytes query() { return udp(kClient, kServer, "query"); }
Bytes answer() { return udp(kServer, kClient, "answer"); }
Tuple flow() { return make_tuple(kA, kB, false, kProtoUDP, 40001, 53); }

// A UDP header written by hand (for broken length fields), checksum 0 so only
// the length checks can object.
Bytes raw_udp(std::uint16_t len_field, std::size_t payload_bytes) {
  Bytes l4 = {0x9c,
              0x41,
              0x00,
              0x35,
              static_cast<std::uint8_t>(len_field >> 8),
              static_cast<std::uint8_t>(len_field),
              0,
              0};
  l4.resize(8 + payload_bytes, 'x');
  return raw_ip(kA, kB, false, kProtoUDP, l4);
}

TEST(Udp, TupleIsAddressesAndPorts) {
  L4Engine e;
  const Result r = e.send(0, query());
  ASSERT_TRUE(r.has_tuple);
  EXPECT_EQ(r.tuple, flow());
  ASSERT_NE(r.conn, nullptr);
  const Tuple reply = r.conn->reply();
  EXPECT_EQ(reply, make_tuple(kB, kA, false, kProtoUDP, 53, 40001));
}

TEST(Udp, BadChecksumFromNetworkIsInvalidAndCreatesNothing) {
  L4Engine e;
  const Result r = e.send(0, udp(kClient, kServer, "q", /*bad_checksum=*/true));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::UdpBadChecksum);
  EXPECT_EQ(e.engine.stats().invalid, 1u);
  EXPECT_EQ(e.engine.stats().error, 0u);
  EXPECT_EQ(e.engine.find(flow()), nullptr);
}

TEST(Udp, BadChecksumNotVerifiedForLocalPacketsOrWhenDisabled) {
  L4Engine local;
  EXPECT_EQ(local.send(0, udp(kClient, kServer, "q", true), Hook::Local).state, CtState::New);

  Config c = test_config(Profile::Linux);
  c.checksum = false;
  L4Engine off(c);
  EXPECT_EQ(off.send(0, udp(kClient, kServer, "q", true)).state, CtState::New);
}

TEST(Udp, BadChecksumOnReplyDoesNotMarkTheEntryReplied) {
  L4Engine e;
  e.send(0, query());
  EXPECT_EQ(e.send(100, udp(kServer, kClient, "a", true)).state, CtState::Invalid);
  // Still unreplied: the next original packet is NEW again.
  EXPECT_EQ(e.send(200, query()).state, CtState::New);
}

TEST(Udp, ZeroChecksumIsAcceptedOnIpv4AndIpv6) {
  L4Engine e;
  EXPECT_EQ(e.send(0, udp(kClient, kServer, "q", false, /*zero_checksum=*/true)).state,
            CtState::New);
  const Endpoint c6{a6(), 5000, true}, s6{b6(), 53, true};
  EXPECT_EQ(e.send(0, udp(c6, s6, "q", false, true)).state, CtState::New);
  EXPECT_EQ(e.engine.stats().invalid, 0u);
}

TEST(Udp, LengthChecks) {
  L4Engine e;
  // Length 20 with only 9 bytes present.
  Result r = e.send(0, raw_udp(20, 1));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::UdpTruncated);
  // Length 4: shorter than the header itself.
  r = e.send(0, raw_udp(4, 1));
  EXPECT_EQ(r.reason, InvalidReason::UdpTruncated);
  // Length smaller than the data present is fine (trailing bytes ignored).
  r = e.send(0, raw_udp(9, 10));
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_EQ(e.engine.stats().invalid, 2u);
}

TEST(Udp, ShortHeaders) {
  L4Engine e;
  // 4 bytes: a tuple can be built, but the header is short.
  Result r = e.send(0, raw_ip(kA, kB, false, kProtoUDP, Bytes{0x9c, 0x41, 0x00, 0x35}));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::UdpShortHeader);
  // 7 bytes: still short.
  r = e.send(0, raw_ip(kA, kB, false, kProtoUDP, Bytes{0x9c, 0x41, 0x00, 0x35, 0, 7, 0}));
  EXPECT_EQ(r.reason, InvalidReason::UdpShortHeader);
  // 3 bytes: not even ports.
  r = e.send(0, raw_ip(kA, kB, false, kProtoUDP, Bytes{0x9c, 0x41, 0x00}));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::L4NoTuple);
  EXPECT_EQ(e.engine.stats().invalid, 3u);
  EXPECT_TRUE(e.engine.entries().empty());
}

TEST(Udp, UnrepliedEntryLivesUdpTimeout) {
  L4Engine e;
  const Result r = e.send(1000, query());
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_FALSE(r.conn->has(kStatusSeenReply));
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  e.expect_expires(flow(), 1000, 30);
}

TEST(Udp, RetransmissionBeforeReplyIsNewAgainOnTheSameEntry) {
  L4Engine e;
  const Result first = e.send(0, query());
  const std::uint32_t id = first.conn->id;
  const Result second = e.send(500, query());
  EXPECT_EQ(second.state, CtState::New);
  EXPECT_EQ(second.conn->id, id);
  EXPECT_TRUE(second.conn->has(kStatusConfirmed));
  EXPECT_EQ(e.engine.entries().size(), 1u);
  e.expect_expires(flow(), 500, 30);
}

TEST(Udp, SingleExchangeNeverAssured) {
  L4Engine e;
  e.send(0, query());
  const Result r = e.send(100, answer());
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(r.direction, Direction::Reply);
  EXPECT_TRUE(r.conn->has(kStatusSeenReply));
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  e.expect_expires(flow(), 100, 30);
}

TEST(Udp, TrafficWithinTwoSecondsStaysShortAndUnassured) {
  L4Engine e;
  e.send(0, query());
  e.send(100, answer());
  const Result r = e.send(200, query());
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  EXPECT_EQ(r.conn->expires, ms(200) + seconds(30));
}

TEST(Udp, TwoSecondBoundaryIsStrict) {
  L4Engine e;
  e.send(0, query());
  e.send(100, answer());
  // Exactly 2 s after creation: not yet a stream.
  Result r = e.send(2000, query());
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  EXPECT_EQ(r.conn->expires, ms(2000) + seconds(30));
  // One nanosecond later: stream timeout and ASSURED.
  r = e.engine.process(query(), ms(2000) + 1);
  EXPECT_TRUE(r.conn->has(kStatusAssured));
  EXPECT_EQ(r.conn->expires, ms(2000) + 1 + seconds(120));
}

TEST(Udp, StreamAfterTwoSecondsGetsStreamTimeoutAndAssured) {
  L4Engine e;
  e.send(0, query());
  e.send(100, answer());
  e.send(200, query());
  const Result r = e.send(2400, answer());
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_TRUE(r.conn->has(kStatusAssured));
  const Result more = e.send(3000, query());
  EXPECT_TRUE(more.conn->has(kStatusAssured));
  e.expect_expires(flow(), 3000, 120);
}

TEST(Udp, LateTrafficWithoutReplyIsNotAStream) {
  L4Engine e;
  e.send(0, query());
  const Result r = e.send(5000, query());
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  EXPECT_EQ(r.conn->expires, ms(5000) + seconds(30));
}

TEST(Udp, FirstReplyAfterTwoSecondsIsStillHandledAsUnreplied) {
  L4Engine e;
  e.send(0, query());
  // SEEN_REPLY is set only after the L4 handler ran: the reply gets 30 s.
  Result r = e.send(5000, answer());
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  EXPECT_EQ(r.conn->expires, ms(5000) + seconds(30));
  r = e.send(5100, query());
  EXPECT_TRUE(r.conn->has(kStatusAssured));
  EXPECT_EQ(r.conn->expires, ms(5100) + seconds(120));
}

TEST(Udp, TimeoutsFollowTheSysctls) {
  L4Engine e;
  ASSERT_TRUE(e.engine.set("nf_conntrack_udp_timeout", "45"));
  ASSERT_TRUE(e.engine.set("nf_conntrack_udp_timeout_stream", "200"));
  e.send(0, query());
  e.send(100, answer());
  EXPECT_EQ(e.engine.find(flow())->expires, ms(100) + seconds(45));
  e.send(3000, query());
  e.expect_expires(flow(), 3000, 200);
}

TEST(Udp, ExpiredEntryIsReplacedByANewOne) {
  L4Engine e;
  const std::uint32_t id = e.send(0, query()).conn->id;
  const Result r = e.send(30000, query());
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_NE(r.conn->id, id);
}

TEST(Udp, Ipv6FollowsTheSameRules) {
  L4Engine e;
  const Endpoint c6{a6(), 40001, true}, s6{b6(), 53, true};
  EXPECT_EQ(e.send(0, udp(c6, s6, "q")).state, CtState::New);
  EXPECT_EQ(e.send(100, udp(s6, c6, "a")).state, CtState::Established);
  const Result r = e.send(2500, udp(c6, s6, "q"));
  EXPECT_TRUE(r.conn->has(kStatusAssured));
  e.expect_expires(make_tuple(a6(), b6(), true, kProtoUDP, 40001, 53), 2500, 120);
  EXPECT_EQ(e.send(200000, udp(c6, s6, "q", true)).reason, InvalidReason::UdpBadChecksum);
}

// Classic (2.4 ip_conntrack): no 2-second rule; the packet after the first
// reply already gets 180 s and ASSURED.
TEST(UdpClassic, ThirdPacketIsStreamAndAssuredAtOnce) {
  L4Engine e(Profile::Classic);
  Result r = e.send(0, query());
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_EQ(r.conn->expires, seconds(30));
  r = e.send(100, answer());
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  EXPECT_EQ(r.conn->expires, ms(100) + seconds(30));
  r = e.send(200, query());
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_TRUE(r.conn->has(kStatusAssured));
  e.expect_expires(flow(), 200, 180);
}

TEST(UdpClassic, UnrepliedExpiresAfterThirtySeconds) {
  L4Engine e(Profile::Classic);
  e.send(0, query());
  e.expect_expires(flow(), 0, 30);
}

TEST(UdpTracker, EarlyDropOnlyWhileNotAssured) {
  Conn c;
  EXPECT_TRUE(UdpTracker::gc_can_early_drop(c));
  c.status |= kStatusAssured;
  EXPECT_FALSE(UdpTracker::gc_can_early_drop(c));
  EXPECT_EQ(UdpTracker::state_name(c), nullptr);
}

TEST(UdpTracker, FixedTimeoutIsNotRefreshed) {
  const Config cfg = test_config(Profile::Linux);
  Conn c;
  c.status = kStatusConfirmed | kStatusFixedTimeout;
  c.expires = seconds(1);
  const L4Ctx ctx{cfg, seconds(10), Hook::Network};
  Packet pkt;
  EXPECT_EQ(UdpTracker::packet(c, pkt, Direction::Original, ctx).verdict, L4Verdict::Accept);
  EXPECT_EQ(c.expires, seconds(1));
}

}  // namespace
}  // namespace ctrack::test

// ICMPv4 queries (linux-core.md §1 tables, §3.1, §3.2): which types create
// entries, which are INVALID and on which counter, the 30-s timeout, and the
// classic outstanding-request counter.
#include <gtest/gtest.h>

#include "l4_engine_fixture.h"
#include "proto/icmp_tracker.h"

namespace ctrack::test {
namespace {

Bytes ping(const Addr& s, const Addr& d, std::uint8_t type, std::uint16_t id, std::uint16_t seq = 1,
           std::uint8_t code = 0) {
  return icmp(s, d, false, type, code, icmp_echo_body(id, seq));
}
Tuple ping_tuple(std::uint16_t id, std::uint8_t type = 8, std::uint8_t code = 0) {
  return make_tuple(kA, kB, false, kProtoICMP, id, static_cast<std::uint16_t>(type << 8 | code));
}

TEST(Icmp, EchoTupleAndReplyTuple) {
  L4Engine e;
  const Result r = e.send(0, ping(kA, kB, 8, 0x1234));
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_EQ(r.tuple, ping_tuple(0x1234));
  EXPECT_EQ(r.conn->reply(), make_tuple(kB, kA, false, kProtoICMP, 0x1234, 0 << 8));
}

TEST(Icmp, PingKeepsEntryAfterReplyUntilTimeout) {
  L4Engine e;
  e.send(0, ping(kA, kB, 8, 0x1234, 1));
  Result r = e.send(10, ping(kB, kA, 0, 0x1234, 1));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(r.direction, Direction::Reply);
  EXPECT_FALSE(r.destroyed);
  EXPECT_EQ(r.conn->expires, ms(10) + seconds(30));
  r = e.send(1000, ping(kA, kB, 8, 0x1234, 2));
  EXPECT_EQ(r.state, CtState::Established);
  r = e.send(1010, ping(kB, kA, 0, 0x1234, 2));
  EXPECT_EQ(r.state, CtState::Established);
  // A duplicate reply is still ESTABLISHED.
  r = e.send(1020, ping(kB, kA, 0, 0x1234, 2));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  e.expect_expires(ping_tuple(0x1234), 1020, 30);
}

TEST(Icmp, RequestBeforeAnyReplyIsNewAgain) {
  L4Engine e;
  e.send(0, ping(kA, kB, 8, 7, 1));
  EXPECT_EQ(e.send(1000, ping(kA, kB, 8, 7, 2)).state, CtState::New);
  e.expect_expires(ping_tuple(7), 1000, 30);
}

TEST(Icmp, DifferentIdIsADifferentEntry) {
  L4Engine e;
  const std::uint32_t a = e.send(0, ping(kA, kB, 8, 1)).conn->id;
  const Result r = e.send(0, ping(kA, kB, 8, 2));
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_NE(r.conn->id, a);
  EXPECT_EQ(e.engine.entries().size(), 2u);
}

TEST(Icmp, ReplyWithoutRequestIsInvalid) {
  L4Engine e;
  const Result r = e.send(0, ping(kB, kA, 0, 0x999));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::IcmpReplyWithoutRequest);
  EXPECT_EQ(e.engine.stats().invalid, 1u);
  EXPECT_EQ(e.engine.stats().error, 0u);
  EXPECT_TRUE(e.engine.entries().empty());
}

TEST(Icmp, CodeIsPartOfTheTuple) {
  L4Engine e;
  e.send(0, ping(kA, kB, 8, 5, 1, /*code=*/5));
  EXPECT_EQ(e.send(10, ping(kB, kA, 0, 5, 1, 0)).reason, InvalidReason::IcmpReplyWithoutRequest);
  EXPECT_EQ(e.send(20, ping(kB, kA, 0, 5, 1, 5)).state, CtState::Established);
}

struct Pair {
  std::uint8_t request, reply;
};
class IcmpQueryPairs : public ::testing::TestWithParam<Pair> {};

TEST_P(IcmpQueryPairs, RequestCreatesReplyEstablishesOrphanReplyInvalid) {
  const Pair p = GetParam();
  L4Engine e;
  EXPECT_EQ(e.send(0, ping(kA, kB, p.request, 3)).state, CtState::New);
  EXPECT_EQ(e.send(10, ping(kB, kA, p.reply, 3)).state, CtState::Established);
  EXPECT_EQ(e.send(20, ping(kB, kA, p.reply, 4)).reason, InvalidReason::IcmpReplyWithoutRequest);
}

INSTANTIATE_TEST_SUITE_P(AllPairs, IcmpQueryPairs,
                         ::testing::Values(Pair{8, 0}, Pair{13, 14}, Pair{15, 16}, Pair{17, 18}));

class IcmpNoInverseTypes : public ::testing::TestWithParam<int> {};

TEST_P(IcmpNoInverseTypes, InvalidCountedAsInvalid) {
  L4Engine e;
  const Result r = e.send(0, ping(kA, kB, static_cast<std::uint8_t>(GetParam()), 1));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::IcmpNoInverse);
  EXPECT_EQ(e.engine.stats().invalid, 1u);
  EXPECT_EQ(e.engine.stats().error, 0u);
}

INSTANTIATE_TEST_SUITE_P(Types, IcmpNoInverseTypes, ::testing::Values(1, 2, 6, 7, 9, 10));

class IcmpTypesAbove18 : public ::testing::TestWithParam<int> {};

TEST_P(IcmpTypesAbove18, InvalidCountedAsError) {
  L4Engine e;
  const Result r = e.send(0, ping(kA, kB, static_cast<std::uint8_t>(GetParam()), 1));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::IcmpBadType);
  EXPECT_EQ(e.engine.stats().error, 1u);
  EXPECT_EQ(e.engine.stats().invalid, 0u);
}

INSTANTIATE_TEST_SUITE_P(Types, IcmpTypesAbove18, ::testing::Values(19, 42, 255));

TEST(Icmp, BadChecksumIsAnErrorForEveryType) {
  L4Engine e;
  const Bytes bad = icmp(kA, kB, false, 8, 0, icmp_echo_body(1, 1), /*bad_checksum=*/true);
  const Result r = e.send(0, bad);
  EXPECT_EQ(r.reason, InvalidReason::IcmpBadChecksum);
  EXPECT_EQ(e.engine.stats().error, 1u);
  EXPECT_EQ(e.engine.stats().invalid, 0u);
  // Locally generated: not verified.
  EXPECT_EQ(e.send(0, bad, Hook::Local).state, CtState::New);
  // Checksum switched off.
  ASSERT_TRUE(e.engine.set("nf_conntrack_checksum", "0"));
  EXPECT_EQ(e.send(0, icmp(kB, kA, false, 0, 0, icmp_echo_body(1, 1), true)).state,
            CtState::Established);
}

TEST(Icmp, ShortHeaderIsAnError) {
  L4Engine e;
  // 7 bytes of ICMP (with a valid checksum would not matter: too short).
  const Result r = e.send(0, raw_ip(kA, kB, false, kProtoICMP, Bytes{8, 0, 0xf7, 0xff, 0, 0, 0}));
  EXPECT_EQ(r.reason, InvalidReason::IcmpShortHeader);
  EXPECT_EQ(e.engine.stats().error, 1u);
}

// The kernel picks ICMP handling by protocol number and only refuses the
// wrong family at its per-packet step: INVALID on the `invalid` counter.
TEST(Icmp, WrongFamilyIsInvalid) {
  L4Engine e;
  const Bytes v6_in_v4 = raw_ip(kA, kB, false, kProtoICMPv6, Bytes{128, 0, 0, 0, 0, 1, 0, 1});
  Result r = e.send(0, v6_in_v4);
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::IcmpWrongFamily);
  const Bytes v4_in_v6 = raw_ip(a6(), b6(), true, kProtoICMP, Bytes{8, 0, 0, 0, 0, 1, 0, 1});
  r = e.send(0, v4_in_v6);
  EXPECT_EQ(r.reason, InvalidReason::IcmpWrongFamily);
  // Too short for a tuple: refused even earlier.
  r = e.send(0, raw_ip(kA, kB, false, kProtoICMPv6, Bytes{1, 4, 0, 0}));
  EXPECT_EQ(r.reason, InvalidReason::L4NoTuple);
  EXPECT_EQ(e.engine.stats().invalid, 3u);
  EXPECT_EQ(e.engine.stats().error, 0u);
  EXPECT_TRUE(e.engine.entries().empty());
}

TEST(Icmp, TimeoutFollowsSysctl) {
  L4Engine e;
  ASSERT_TRUE(e.engine.set("nf_conntrack_icmp_timeout", "12"));
  e.send(0, ping(kA, kB, 8, 9));
  e.expect_expires(ping_tuple(9), 0, 12);
}

// Classic ip_conntrack: the reply balancing the outstanding requests removes
// the entry at once; the packet itself is still ESTABLISHED.
TEST(IcmpClassic, ReplyDestroysTheEntry) {
  L4Engine e(Profile::Classic);
  EXPECT_EQ(e.send(0, ping(kA, kB, 8, 0x1234)).state, CtState::New);
  const Result r = e.send(10, ping(kB, kA, 0, 0x1234));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(r.direction, Direction::Reply);
  EXPECT_TRUE(r.destroyed);
  EXPECT_EQ(e.engine.find(ping_tuple(0x1234)), nullptr);
  // A duplicate reply now finds nothing.
  EXPECT_EQ(e.send(20, ping(kB, kA, 0, 0x1234)).reason, InvalidReason::IcmpReplyWithoutRequest);
  // The next request starts afresh.
  EXPECT_EQ(e.send(30, ping(kA, kB, 8, 0x1234)).state, CtState::New);
}

TEST(IcmpClassic, EntryLivesUntilEveryRequestIsAnswered) {
  L4Engine e(Profile::Classic);
  e.send(0, ping(kA, kB, 8, 1, 1));
  EXPECT_EQ(e.send(1000, ping(kA, kB, 8, 1, 2)).state, CtState::New);
  Result r = e.send(2000, ping(kB, kA, 0, 1, 1));
  EXPECT_FALSE(r.destroyed);
  // Replies do not refresh: still 30 s after the last request.
  EXPECT_EQ(r.conn->expires, ms(1000) + seconds(30));
  EXPECT_EQ(r.conn->l4.icmp.outstanding, 1u);
  r = e.send(3000, ping(kA, kB, 8, 1, 3));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_FALSE(e.send(4000, ping(kB, kA, 0, 1, 2)).destroyed);
  EXPECT_TRUE(e.send(5000, ping(kB, kA, 0, 1, 3)).destroyed);
  EXPECT_TRUE(e.engine.entries().empty());
}

TEST(IcmpClassic, UnansweredRequestExpiresAfterThirtySeconds) {
  L4Engine e(Profile::Classic);
  e.send(0, ping(kA, kB, 8, 2));
  e.expect_expires(ping_tuple(2), 0, 30);
}

TEST(IcmpTracker, NeverAssuredAlwaysDroppableNoStateName) {
  Conn c;
  EXPECT_TRUE(IcmpTracker::gc_can_early_drop(c));
  EXPECT_EQ(IcmpTracker::state_name(c), nullptr);
  Tuple in = ping_tuple(1, 13, 0), out;
  ASSERT_TRUE(IcmpTracker::invert(in, out));
  EXPECT_EQ(out.icmp_type(), 14);
  EXPECT_EQ(out.src, kB);
  EXPECT_EQ(out.src_id, 1);
  EXPECT_FALSE(IcmpTracker::invert(ping_tuple(1, 3, 1), out));
}

}  // namespace
}  // namespace ctrack::test

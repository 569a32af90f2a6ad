// linux-core.md §13 test vectors for UDP, ICMP, ICMPv6, generic and the core
// pipeline (§0.2), replayed through the public Engine. A = 10.0.1.2 (client),
// B = 10.0.2.2 (server), M = 10.0.2.99 (a router beyond the tracking box).
// /proc printed timeouts one jiffy after the packet (29, 119, 599); here the
// exact deadline is checked instead (30, 120, 600 s after the packet).
#include <gtest/gtest.h>

#include "l4_engine_fixture.h"

namespace ctrack::test {
namespace {

const Endpoint kA40001 = {Addr::v4(10, 0, 1, 2), 40001, false};
const Endpoint kB53 = {Addr::v4(10, 0, 2, 2), 53, false};

Bytes echo(const Addr& s, const Addr& d, std::uint8_t type, std::uint16_t id, std::uint16_t seq) {
  return icmp(s, d, false, type, 0, icmp_echo_body(id, seq));
}

// 1. UDP DNS, single exchange.
TEST(CoreVectors, V01_UdpDnsSingleExchange) {
  L4Engine e;
  Result r = e.send(0, udp(kA40001, kB53, "query"));
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_FALSE(r.conn->has(kStatusSeenReply));  // [UNREPLIED]
  EXPECT_EQ(e.engine.timeout_left(*r.conn), 30);
  r = e.send(100, udp(kB53, kA40001, "answer"));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_TRUE(r.conn->has(kStatusSeenReply));
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  e.expect_expires(make_tuple(kA, kB, false, kProtoUDP, 40001, 53), 100, 30);
}

// 2. UDP within 2 s, then stream (and the classic variant).
TEST(CoreVectors, V02_UdpStreamAfterTwoSeconds) {
  L4Engine e;
  e.send(0, udp(kA40001, kB53, "q"));
  e.send(100, udp(kB53, kA40001, "a"));
  Result r = e.send(200, udp(kA40001, kB53, "q"));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(r.conn->expires, ms(200) + seconds(30));
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  r = e.send(2400, udp(kB53, kA40001, "a"));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(r.conn->expires, ms(2400) + seconds(120));
  EXPECT_TRUE(r.conn->has(kStatusAssured));
  r = e.send(2500, udp(kA40001, kB53, "q"));
  EXPECT_EQ(r.conn->expires, ms(2500) + seconds(120));
  EXPECT_TRUE(r.conn->has(kStatusAssured));
}

TEST(CoreVectors, V02_UdpClassicThirdPacketIsStream) {
  L4Engine e(Profile::Classic);
  e.send(0, udp(kA40001, kB53, "q"));
  e.send(100, udp(kB53, kA40001, "a"));
  const Result r = e.send(200, udp(kA40001, kB53, "q"));
  EXPECT_EQ(r.conn->expires, ms(200) + seconds(180));
  EXPECT_TRUE(r.conn->has(kStatusAssured));
}

// 3. UDP retransmission before reply: NEW twice, the second on the confirmed entry.
TEST(CoreVectors, V03_UdpRetransmissionBeforeReply) {
  L4Engine e;
  const Endpoint a{kA, 40602, false}, b{kB, 69, false};
  const Result first = e.send(0, udp(a, b, "rrq"));
  const Result second = e.send(1000, udp(a, b, "rrq"));
  EXPECT_EQ(first.state, CtState::New);
  EXPECT_EQ(second.state, CtState::New);
  EXPECT_TRUE(second.conn->has(kStatusConfirmed));
  EXPECT_EQ(e.engine.entries().size(), 1u);
}

// 4. UDP invalid.
TEST(CoreVectors, V04_UdpInvalid) {
  L4Engine e;
  EXPECT_EQ(e.send(0, udp(kA40001, kB53, "q", true)).state, CtState::Invalid);
  EXPECT_EQ(e.engine.stats().invalid, 1u);
  EXPECT_TRUE(e.engine.entries().empty());
  const Bytes short_len =
      raw_ip(kA, kB, false, kProtoUDP, Bytes{0x9c, 0x41, 0, 53, 0, 20, 0, 0, 'x'});
  EXPECT_EQ(e.send(0, short_len).state, CtState::Invalid);
  EXPECT_EQ(e.engine.stats().invalid, 2u);
  EXPECT_EQ(e.send(0, udp(kA40001, kB53, "q", false, true)).state, CtState::New);
}

// 5. ICMP ping.
TEST(CoreVectors, V05_IcmpPing) {
  L4Engine e;
  Result r = e.send(0, echo(kA, kB, 8, 0x1234, 1));
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_EQ(r.tuple, make_tuple(kA, kB, false, kProtoICMP, 4660, 8 << 8));
  EXPECT_EQ(r.conn->reply(), make_tuple(kB, kA, false, kProtoICMP, 4660, 0));
  EXPECT_EQ(e.send(10, echo(kB, kA, 0, 0x1234, 1)).state, CtState::Established);
  EXPECT_EQ(e.send(1000, echo(kA, kB, 8, 0x1234, 2)).state, CtState::Established);
  EXPECT_EQ(e.send(1010, echo(kB, kA, 0, 0x1234, 2)).state, CtState::Established);
  e.expect_expires(make_tuple(kA, kB, false, kProtoICMP, 4660, 8 << 8), 1010, 30);
}

TEST(CoreVectors, V05_IcmpPingClassicDeletesAfterReply) {
  L4Engine e(Profile::Classic);
  e.send(0, echo(kA, kB, 8, 0x1234, 1));
  const Result r = e.send(10, echo(kB, kA, 0, 0x1234, 1));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_TRUE(r.destroyed);
  EXPECT_TRUE(e.engine.entries().empty());
}

// 6. Echo reply without request.
TEST(CoreVectors, V06_EchoReplyWithoutRequest) {
  L4Engine e;
  EXPECT_EQ(e.send(0, echo(kB, kA, 0, 0x999, 1)).state, CtState::Invalid);
  EXPECT_EQ(e.engine.stats().invalid, 1u);
  EXPECT_TRUE(e.engine.entries().empty());
}

// 7. Other ICMP as NEW, and the two INVALID counters.
TEST(CoreVectors, V07_OtherIcmpTypes) {
  L4Engine e;
  EXPECT_EQ(e.send(0, echo(kA, kB, 13, 1, 0)).state, CtState::New);
  EXPECT_EQ(e.send(10, echo(kB, kA, 14, 1, 0)).state, CtState::Established);
  EXPECT_EQ(e.send(20, echo(kA, kB, 15, 1, 0)).state, CtState::New);
  EXPECT_EQ(e.send(30, echo(kA, kB, 17, 1, 0)).state, CtState::New);
  EXPECT_EQ(e.send(40, echo(kB, kA, 18, 1, 0)).state, CtState::Established);
  EXPECT_EQ(e.send(50, echo(kA, kB, 9, 1, 0)).state, CtState::Invalid);
  EXPECT_EQ(e.send(60, echo(kA, kB, 10, 1, 0)).state, CtState::Invalid);
  EXPECT_EQ(e.engine.stats().invalid, 2u);
  EXPECT_EQ(e.engine.stats().error, 0u);
  EXPECT_EQ(e.send(70, echo(kA, kB, 19, 1, 0)).state, CtState::Invalid);
  EXPECT_EQ(e.send(80, icmp(kA, kB, false, 8, 0, icmp_echo_body(2, 0), true)).state,
            CtState::Invalid);
  EXPECT_EQ(e.engine.stats().invalid, 2u);
  EXPECT_EQ(e.engine.stats().error, 2u);
}

// 8. ICMP host-unreachable for a TCP SYN.
TEST(CoreVectors, V08_IcmpErrorForTcpSyn) {
  L4Engine e;
  const Bytes syn = tcp({kA, 41000, false}, {kB, 80, false}, TcpSpec{.flags = SYN, .seq = 7});
  const Result s = e.send(0, syn);
  ASSERT_EQ(s.state, CtState::New);
  const Conn before = *s.conn;
  for (std::uint8_t type : {3, 4, 5, 11, 12}) {
    for (const Addr& from : {kM, kB}) {
      const Result r = e.send(100, icmp_error(from, kA, false, type, 1, syn));
      EXPECT_EQ(r.state, CtState::Related) << int(type);
      EXPECT_EQ(r.direction, Direction::Reply);
    }
  }
  const Conn* after = e.engine.find(before.orig);
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->status, before.status);
  EXPECT_EQ(after->expires, before.expires);
  EXPECT_EQ(after->l4.tcp.state, TcpState::SynSent);
  EXPECT_EQ(e.engine.stats().error, 0u);
}

// 9. ICMP error with no matching entry, misaddressed, nested, too short.
TEST(CoreVectors, V09_IcmpErrorInvalid) {
  L4Engine e;
  const Bytes syn = tcp({kA, 41000, false}, {kB, 80, false}, TcpSpec{.flags = SYN});
  e.send(0, syn);
  const Bytes unseen = tcp({kA, 41001, false}, {kB, 80, false}, TcpSpec{.flags = SYN});
  EXPECT_EQ(e.send(10, icmp_error(kB, kA, false, 3, 3, unseen)).state, CtState::Invalid);
  EXPECT_EQ(e.engine.stats().error, 1u);
  EXPECT_EQ(e.send(20, icmp_error(kB, kOther, false, 3, 3, syn)).state, CtState::Invalid);
  EXPECT_EQ(e.engine.stats().error, 2u);
  const Bytes err = icmp_error(kA, kB, false, 3, 3, syn);
  EXPECT_EQ(e.send(30, icmp_error(kB, kA, false, 3, 3, err, 56)).state, CtState::Invalid);
  EXPECT_EQ(e.engine.stats().error, 3u);
  EXPECT_EQ(e.send(40, icmp_error(kB, kA, false, 3, 3, syn, 22)).state, CtState::Invalid);
  EXPECT_EQ(e.engine.stats().error, 4u);
  EXPECT_EQ(e.send(50, icmp_error(kB, kA, false, 3, 3, syn, 24)).state, CtState::Related);
  EXPECT_EQ(e.engine.stats().invalid, 0u);
}

// 10. ICMP error in original direction.
TEST(CoreVectors, V10_IcmpErrorOriginalDirection) {
  L4Engine e;
  const Endpoint a{kA, 5556, false}, b{kB, 53, false};
  EXPECT_EQ(e.send(0, udp(a, b, "q")).state, CtState::New);
  const Bytes reply = udp(b, a, "a");
  EXPECT_EQ(e.send(10, reply).state, CtState::Established);
  const Result r = e.send(20, icmp_error(kA, kB, false, 3, 3, reply));
  EXPECT_EQ(r.state, CtState::Related);
  EXPECT_EQ(r.direction, Direction::Original);
}

// 11. Time exceeded for a ping.
TEST(CoreVectors, V11_TimeExceededForPing) {
  L4Engine e;
  const Bytes req = echo(kA, kB, 8, 0x1234, 1);
  e.send(0, req);
  e.send(10, echo(kB, kA, 0, 0x1234, 1));
  const Result r = e.send(20, icmp_error(kM, kA, false, 11, 0, req));
  EXPECT_EQ(r.state, CtState::Related);
  EXPECT_EQ(r.direction, Direction::Reply);
}

// 12. Generic protocol (99, and DCCP = 33 on 6.18).
TEST(CoreVectors, V12_GenericProtocol) {
  for (std::uint8_t proto : {99, 33}) {
    L4Engine e;
    Result r = e.send(0, raw_ip(kA, kB, false, proto, Bytes(8, 0)));
    EXPECT_EQ(r.state, CtState::New);
    EXPECT_EQ(e.engine.timeout_left(*r.conn), 600);
    EXPECT_FALSE(r.conn->has(kStatusSeenReply));
    EXPECT_EQ(e.send(10, raw_ip(kA, kB, false, proto, Bytes(8, 1))).state, CtState::New);
    EXPECT_EQ(e.send(20, raw_ip(kB, kA, false, proto, Bytes(8, 2))).state, CtState::Established);
    EXPECT_EQ(e.send(30, raw_ip(kA, kB, false, proto, Bytes(8, 3))).state, CtState::Established);
  }
}

// 21. IPv6.
TEST(CoreVectors, V21_Ipv6) {
  L4Engine e;
  EXPECT_EQ(e.send(0, icmp(a6(), b6(), true, 128, 0, icmp_echo_body(1, 1))).state, CtState::New);
  EXPECT_EQ(e.send(10, icmp(b6(), a6(), true, 129, 0, icmp_echo_body(1, 1))).state,
            CtState::Established);
  EXPECT_EQ(e.send(20, icmp(b6(), a6(), true, 129, 0, icmp_echo_body(2, 1))).state,
            CtState::Invalid);
  for (std::uint8_t t : {130, 131, 132, 133, 134, 135, 136, 143}) {
    EXPECT_EQ(e.send(30, icmp(a6(), b6(), true, t, 0, icmp_echo_body(0, 0))).state,
              CtState::Untracked);
  }
  EXPECT_EQ(e.send(40, icmp(b6(), a6(), true, 137, 0, icmp_echo_body(0, 0))).state,
            CtState::Invalid);
  const Bytes q = udp({a6(), 40000, true}, {b6(), 53, true}, "q");
  e.send(50, q);
  EXPECT_EQ(e.send(60, icmp_error(b6(), a6(), true, 1, 4, q)).state, CtState::Related);
  EXPECT_EQ(e.send(70, icmp_error(b6(), m6(), true, 1, 4, q)).state, CtState::Invalid);
}

// §0.2: an entry exists only once its first packet is confirmed; a NEW
// packet dropped by the ruleset leaves nothing behind.
TEST(CoreVectors, DiscardedNewPacketCreatesNoEntry) {
  L4Engine e;
  const Bytes q = udp(kA40001, kB53, "q");
  EXPECT_EQ(e.engine.track(q, 0).state, CtState::New);
  e.engine.discard();
  EXPECT_TRUE(e.engine.entries().empty());
  EXPECT_EQ(e.engine.track(q, ms(10)).state, CtState::New);
  e.engine.confirm();
  ASSERT_EQ(e.engine.entries().size(), 1u);
  EXPECT_TRUE(e.engine.entries()[0]->has(kStatusConfirmed));
}

// §0.2 step 6: the L4 handler sees the first reply as "not yet replied", so
// a first UDP reply more than 2 s after creation still gets only 30 s.
TEST(CoreVectors, SeenReplyIsSetAfterTheL4Handler) {
  L4Engine e;
  e.send(0, udp(kA40001, kB53, "q"));
  const Result r = e.send(10000, udp(kB53, kA40001, "a"));
  EXPECT_TRUE(r.conn->has(kStatusSeenReply));
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  EXPECT_EQ(r.conn->expires, ms(10000) + seconds(30));
}

}  // namespace
}  // namespace ctrack::test

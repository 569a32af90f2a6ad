// The ICMP / ICMPv6 error path (linux-core.md §3.3, §3.4): RELATED to the
// quoted connection in the right direction, never refreshing or altering it;
// INVALID (counter `error`) for unknown flows, malformed quotes, nested
// errors and errors not addressed to the quoted packet's sender.
#include "proto/icmp_error.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "l4_engine_fixture.h"
#include "parse/packet.h"

namespace ctrack::test {
namespace {

const Endpoint kA41000 = {Addr::v4(10, 0, 1, 2), 41000, false};
const Endpoint kB80 = {Addr::v4(10, 0, 2, 2), 80, false};

Bytes syn() { return tcp(kA41000, kB80, TcpSpec{.flags = SYN, .seq = 1000}); }

void expect_error_invalid(L4Engine& e, const Result& r, InvalidReason why, std::uint64_t errors) {
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, why);
  EXPECT_EQ(r.conn, nullptr);
  EXPECT_EQ(e.engine.stats().error, errors);
  EXPECT_EQ(e.engine.stats().invalid, 0u);
}

TEST(IcmpError, HostUnreachableForSynIsRelatedReplyAndChangesNothing) {
  L4Engine e;
  const Result s = e.send(0, syn());
  ASSERT_EQ(s.state, CtState::New);
  const Conn before = *s.conn;

  const Result r = e.send(5000, icmp_error(kM, kA, false, 3, 1, syn()));
  EXPECT_EQ(r.state, CtState::Related);
  EXPECT_EQ(r.direction, Direction::Reply);
  ASSERT_NE(r.conn, nullptr);
  EXPECT_EQ(r.conn->id, before.id);
  EXPECT_EQ(r.conn->expires, before.expires);  // not refreshed
  EXPECT_EQ(r.conn->status, before.status);    // no SEEN_REPLY, no ASSURED
  EXPECT_EQ(r.conn->l4.tcp.state, before.l4.tcp.state);
  EXPECT_EQ(e.engine.stats().error, 0u);
  // The result still describes the error packet itself (router -> client, type 3 code 1).
  ASSERT_TRUE(r.has_tuple);
  EXPECT_EQ(r.tuple.src, kM);
  EXPECT_EQ(r.tuple.dst, kA);
  EXPECT_EQ(r.tuple.proto, kProtoICMP);
  EXPECT_EQ(r.tuple.icmp_type(), 3);
  EXPECT_EQ(r.tuple.icmp_code(), 1);
}

class IcmpErrorTypes : public ::testing::TestWithParam<int> {};

TEST_P(IcmpErrorTypes, EveryV4ErrorTypeFromTheServerOrARouterIsRelated) {
  L4Engine e;
  e.send(0, syn());
  const auto type = static_cast<std::uint8_t>(GetParam());
  EXPECT_EQ(e.send(10, icmp_error(kB, kA, false, type, 0, syn())).state, CtState::Related);
  EXPECT_EQ(e.send(20, icmp_error(kM, kA, false, type, 0, syn())).state, CtState::Related);
}

INSTANTIATE_TEST_SUITE_P(Types, IcmpErrorTypes, ::testing::Values(3, 4, 5, 11, 12));

TEST(IcmpError, RepeatedErrorsLeaveTheTimerRunningDown) {
  L4Engine e;
  const Tuple t = e.send(0, syn()).tuple;
  for (int i = 1; i <= 5; ++i) e.send(i * 10000, icmp_error(kM, kA, false, 3, 1, syn()));
  // SYN_SENT is 120 s from the SYN, whatever the errors did.
  e.expect_expires(t, 0, e.engine.config().tcp.syn_sent);
}

TEST(IcmpError, NoMatchingConnectionIsInvalidError) {
  L4Engine e;
  e.send(0, syn());
  const Bytes other = tcp({kA, 41001, false}, kB80, TcpSpec{.flags = SYN});
  const Result r = e.send(10, icmp_error(kB, kA, false, 3, 3, other));
  expect_error_invalid(e, r, InvalidReason::IcmpErrorNoConn, 1);
}

TEST(IcmpError, ErrorNotSentToTheQuotedSenderIsInvalid) {
  L4Engine e;
  e.send(0, syn());
  const Result r = e.send(10, icmp_error(kB, kOther, false, 3, 3, syn()));
  expect_error_invalid(e, r, InvalidReason::IcmpErrorOuterMismatch, 1);
}

TEST(IcmpError, QuoteLengthRules) {
  L4Engine e;
  e.send(0, syn());
  // 2 bytes of TCP: no ports.
  expect_error_invalid(e, e.send(10, icmp_error(kB, kA, false, 3, 3, syn(), 22)),
                       InvalidReason::IcmpErrorBadInner, 1);
  // 4 bytes: enough for the tuple.
  EXPECT_EQ(e.send(20, icmp_error(kB, kA, false, 3, 3, syn(), 24)).state, CtState::Related);
  // Truncated quoted IP header.
  expect_error_invalid(e, e.send(30, icmp_error(kB, kA, false, 3, 3, syn(), 19)),
                       InvalidReason::IcmpErrorBadInner, 2);
  // Nothing quoted at all.
  expect_error_invalid(e, e.send(40, icmp_error(kB, kA, false, 3, 3, Bytes{})),
                       InvalidReason::IcmpErrorBadInner, 3);
}

TEST(IcmpError, QuotedNonFirstFragmentIsInvalid) {
  L4Engine e;
  e.send(0, syn());
  Bytes frag = syn();
  frag[6] = 0x00;
  frag[7] = 0x10;  // fragment offset 16 (x 8 bytes); the quote's checksum is not checked
  expect_error_invalid(e, e.send(10, icmp_error(kB, kA, false, 3, 3, frag)),
                       InvalidReason::IcmpErrorBadInner, 1);
}

TEST(IcmpError, QuotingAnIcmpErrorIsInvalid) {
  L4Engine e;
  e.send(0, syn());
  const Bytes first = icmp_error(kA, kB, false, 3, 3, syn());
  const Result r = e.send(10, icmp_error(kB, kA, false, 3, 3, first, 20 + 8 + 28));
  expect_error_invalid(e, r, InvalidReason::IcmpErrorNested, 1);
}

TEST(IcmpError, BadChecksumAndShortHeader) {
  L4Engine e;
  e.send(0, syn());
  Bytes bad = icmp_error(kM, kA, false, 3, 1, syn());
  bad[20 + 2] ^= 0x01;  // ICMP checksum byte
  expect_error_invalid(e, e.send(10, bad), InvalidReason::IcmpBadChecksum, 1);
  expect_error_invalid(e, e.send(20, raw_ip(kM, kA, false, kProtoICMP, Bytes{3, 1, 0xfc, 0xfe})),
                       InvalidReason::IcmpShortHeader, 2);
}

TEST(IcmpError, ErrorInOriginalDirectionQuotingTheReply) {
  L4Engine e;
  const Endpoint a{kA, 5556, false}, b{kB, 53, false};
  e.send(0, udp(a, b, "q"));
  const Bytes answer = udp(b, a, "answer");
  e.send(100, answer);
  const Result r = e.send(200, icmp_error(kA, kB, false, 3, 3, answer));
  EXPECT_EQ(r.state, CtState::Related);
  EXPECT_EQ(r.direction, Direction::Original);
  // The outer destination must be B (the reply's sender), not A.
  expect_error_invalid(e, e.send(300, icmp_error(kB, kA, false, 3, 3, answer)),
                       InvalidReason::IcmpErrorOuterMismatch, 1);
}

TEST(IcmpError, ErrorDoesNotMarkUdpReplied) {
  L4Engine e;
  const Endpoint a{kA, 5000, false}, b{kB, 9999, false};
  const Bytes q = udp(a, b, "q");
  e.send(0, q);
  EXPECT_EQ(e.send(10, icmp_error(kB, kA, false, 3, 3, q)).state, CtState::Related);
  EXPECT_EQ(e.send(20, q).state, CtState::New);  // still unreplied
}

TEST(IcmpError, TimeExceededForAPing) {
  L4Engine e;
  const Bytes req = icmp(kA, kB, false, 8, 0, icmp_echo_body(0x1234, 1));
  e.send(0, req);
  const Result r = e.send(10, icmp_error(kM, kA, false, 11, 0, req));
  EXPECT_EQ(r.state, CtState::Related);
  EXPECT_EQ(r.direction, Direction::Reply);
  // 4 bytes of the quoted echo are not enough: ICMP needs 8.
  expect_error_invalid(e, e.send(20, icmp_error(kM, kA, false, 11, 0, req, 24)),
                       InvalidReason::IcmpErrorBadInner, 1);
}

TEST(IcmpError, ExpiredConnectionIsNotRelated) {
  L4Engine e;
  const Endpoint a{kA, 5000, false}, b{kB, 9999, false};
  const Bytes q = udp(a, b, "q");
  e.send(0, q);
  EXPECT_EQ(e.send(29999, icmp_error(kB, kA, false, 3, 3, q)).state, CtState::Related);
  expect_error_invalid(e, e.send(30000, icmp_error(kB, kA, false, 3, 3, q)),
                       InvalidReason::IcmpErrorNoConn, 1);
}

TEST(IcmpError, QuotedGenericProtocol) {
  L4Engine e;
  const Bytes gre = raw_ip(kA, kB, false, 47, Bytes{0, 0, 0x08, 0});
  e.send(0, gre);
  EXPECT_EQ(e.send(10, icmp_error(kM, kA, false, 3, 1, gre)).state, CtState::Related);
}

TEST(IcmpError, QuotedIpv4HeaderWithOptions) {
  L4Engine e;
  e.send(0, syn());
  Bytes with_opts = syn();
  with_opts[0] = 0x46;  // IHL 6: one 32-bit word of options (4 x NOP)
  with_opts.insert(with_opts.begin() + 20, {1, 1, 1, 1});
  EXPECT_EQ(e.send(10, icmp_error(kM, kA, false, 3, 4, with_opts)).state, CtState::Related);
  // The IHL, not 20, locates the ports: read at 20 they would be the NOPs.
  expect_error_invalid(e, e.send(20, icmp_error(kM, kA, false, 3, 4, with_opts, 24 + 2)),
                       InvalidReason::IcmpErrorBadInner, 1);
}

// Garbage quotes of every length: the verdict is INVALID or RELATED, and no
// byte past the packet is ever read (the packet sits in an exactly-sized heap
// block, so AddressSanitizer builds catch any over-read).
TEST(IcmpError, RandomQuotesStayInBounds) {
  L4Engine e;
  const Bytes q4 = udp({kA, 5000, false}, {kB, 53, false}, "q");
  const Bytes q6 = udp({a6(), 5000, true}, {b6(), 53, true}, "q");
  e.send(0, q4);
  e.send(0, q6);
  std::mt19937 rng(12345);
  for (int i = 0; i < 4000; ++i) {
    const bool v6 = (i & 1) != 0;
    Bytes quote = v6 ? q6 : q4;
    quote.resize(rng() % (quote.size() + 24));
    for (int k = static_cast<int>(rng() % 4); k > 0 && !quote.empty(); --k) {
      quote[rng() % quote.size()] = static_cast<std::uint8_t>(rng());
    }
    const Bytes err = v6 ? icmp_error(b6(), a6(), true, 1, 4, quote, static_cast<int>(quote.size()))
                         : icmp_error(kB, kA, false, 3, 3, quote, static_cast<int>(quote.size()));
    auto exact = std::make_unique<std::uint8_t[]>(err.size());
    std::copy(err.begin(), err.end(), exact.get());
    const Result r =
        e.engine.process(std::span<const std::uint8_t>(exact.get(), err.size()), ms(10));
    ASSERT_TRUE(r.state == CtState::Invalid || r.state == CtState::Related) << i;
  }
}

// ---- IPv6 ----

const Endpoint kA6udp() { return {a6(), 40000, true}; }
const Endpoint kB6udp() { return {b6(), 5353, true}; }

TEST(Icmpv6Error, PortUnreachableForUdp) {
  L4Engine e;
  const Bytes q = udp(kA6udp(), kB6udp(), "q");
  e.send(0, q);
  const Result r = e.send(10, icmp_error(b6(), a6(), true, 1, 4, q));
  EXPECT_EQ(r.state, CtState::Related);
  EXPECT_EQ(r.direction, Direction::Reply);
  expect_error_invalid(e, e.send(20, icmp_error(b6(), m6(), true, 1, 4, q)),
                       InvalidReason::IcmpErrorOuterMismatch, 1);
}

TEST(Icmpv6Error, PacketTooBigForTcpSyn) {
  L4Engine e;
  const Bytes s = tcp({a6(), 41000, true}, {b6(), 443, true}, TcpSpec{.flags = SYN});
  e.send(0, s);
  const Result r = e.send(10, icmp_error(m6(), a6(), true, 2, 0, s, -1, 1280));
  EXPECT_EQ(r.state, CtState::Related);
  EXPECT_EQ(r.direction, Direction::Reply);
}

TEST(Icmpv6Error, UnassignedTypesBelow128AreErrors) {
  L4Engine e;
  const Bytes q = udp(kA6udp(), kB6udp(), "q");
  e.send(0, q);
  EXPECT_EQ(e.send(10, icmp_error(b6(), a6(), true, 100, 0, q)).state, CtState::Related);
  expect_error_invalid(
      e, e.send(20, icmp_error(b6(), a6(), true, 100, 0, udp({a6(), 40001, true}, kB6udp(), "x"))),
      InvalidReason::IcmpErrorNoConn, 1);
}

// Inserts an 8-byte extension header right after the fixed IPv6 header.
Bytes with_ext(Bytes p, std::uint8_t ext_type, Bytes ext) {
  ext[0] = p[6];
  p[6] = ext_type;
  const std::uint16_t plen = static_cast<std::uint16_t>((p[4] << 8 | p[5]) + ext.size());
  p[4] = static_cast<std::uint8_t>(plen >> 8);
  p[5] = static_cast<std::uint8_t>(plen);
  p.insert(p.begin() + 40, ext.begin(), ext.end());
  return p;
}

TEST(Icmpv6Error, QuoteWithExtensionHeaders) {
  L4Engine e;
  const Bytes q = udp(kA6udp(), kB6udp(), "q");
  e.send(0, q);
  // Destination options (PadN), then hop-by-hop wrapped around it.
  const Bytes dst = with_ext(q, 60, Bytes{0, 0, 1, 4, 0, 0, 0, 0});
  EXPECT_EQ(e.send(10, icmp_error(b6(), a6(), true, 1, 4, dst)).state, CtState::Related);
  const Bytes hop = with_ext(dst, 0, Bytes{0, 0, 1, 4, 0, 0, 0, 0});
  EXPECT_EQ(e.send(20, icmp_error(b6(), a6(), true, 1, 4, hop)).state, CtState::Related);
  // A first fragment still has the ports.
  const Bytes first = with_ext(q, 44, Bytes{0, 0, 0x00, 0x01, 0, 0, 0, 7});
  EXPECT_EQ(e.send(30, icmp_error(b6(), a6(), true, 1, 4, first)).state, CtState::Related);
  // A non-first fragment does not.
  const Bytes later = with_ext(q, 44, Bytes{0, 0, 0x00, 0x08, 0, 0, 0, 7});
  expect_error_invalid(e, e.send(40, icmp_error(b6(), a6(), true, 1, 4, later)),
                       InvalidReason::IcmpErrorBadInner, 1);
  // "No next header" ends the chain without a transport header.
  const Bytes none = with_ext(q, 60, Bytes{0, 0, 1, 4, 0, 0, 0, 0});
  Bytes broken = none;
  broken[40] = 59;
  expect_error_invalid(e, e.send(50, icmp_error(b6(), a6(), true, 1, 4, broken)),
                       InvalidReason::IcmpErrorBadInner, 2);
}

TEST(Icmpv6Error, TruncatedQuotedHeader) {
  L4Engine e;
  const Bytes q = udp(kA6udp(), kB6udp(), "q");
  e.send(0, q);
  expect_error_invalid(e, e.send(10, icmp_error(b6(), a6(), true, 1, 4, q, 39)),
                       InvalidReason::IcmpErrorBadInner, 1);
  expect_error_invalid(e, e.send(20, icmp_error(b6(), a6(), true, 1, 4, q, 43)),
                       InvalidReason::IcmpErrorBadInner, 2);
  EXPECT_EQ(e.send(30, icmp_error(b6(), a6(), true, 1, 4, q, 44)).state, CtState::Related);
}

TEST(Icmpv6Error, NestedErrorAndQuotedEcho) {
  L4Engine e;
  const Bytes echo = icmp(a6(), b6(), true, 128, 0, icmp_echo_body(9, 1));
  e.send(0, echo);
  EXPECT_EQ(e.send(10, icmp_error(m6(), a6(), true, 3, 0, echo)).state, CtState::Related);
  const Bytes err = icmp_error(a6(), b6(), true, 1, 4, echo);
  expect_error_invalid(e, e.send(20, icmp_error(b6(), a6(), true, 1, 4, err)),
                       InvalidReason::IcmpErrorNested, 1);
}

TEST(Icmpv6Error, BadChecksum) {
  L4Engine e;
  Bytes bad = icmp_error(b6(), a6(), true, 1, 4, udp(kA6udp(), kB6udp(), "q"));
  bad[40 + 2] ^= 0x01;
  expect_error_invalid(e, e.send(0, bad), InvalidReason::Icmpv6BadChecksum, 1);
}

// ---- the functions themselves ----

TEST(IcmpErrorFunctions, LookupTupleIsTheInverseOfTheQuotedPacket) {
  const Bytes err = icmp_error(kM, kA, false, 3, 1, syn());
  Packet pkt;
  ASSERT_EQ(parse_ip(err, pkt), InvalidReason::None);
  Tuple lookup;
  ASSERT_EQ(icmp_error_lookup_tuple(pkt, lookup), InvalidReason::None);
  EXPECT_EQ(lookup, make_tuple(kB, kA, false, kProtoTCP, 80, 41000));

  Conn c;
  c.orig = make_tuple(kA, kB, false, kProtoTCP, 41000, 80);
  EXPECT_EQ(icmp_error_validate(pkt, c, Direction::Reply), InvalidReason::None);
  EXPECT_EQ(icmp_error_validate(pkt, c, Direction::Original),
            InvalidReason::IcmpErrorOuterMismatch);
}

TEST(IcmpErrorFunctions, Classification) {
  const Config cfg = test_config(Profile::Linux);
  const L4Ctx ctx{cfg, 0, Hook::Network};
  auto cls = [&](const Bytes& b) {
    Packet pkt;
    EXPECT_EQ(parse_ip(b, pkt), InvalidReason::None);
    return icmp_classify(pkt, ctx);
  };
  EXPECT_EQ(cls(icmp(kA, kB, false, 8, 0, icmp_echo_body(1, 1))).cls, IcmpClass::Query);
  EXPECT_EQ(cls(icmp(kA, kB, false, 9, 0, icmp_echo_body(1, 1))).cls, IcmpClass::Query);
  EXPECT_EQ(cls(icmp_error(kA, kB, false, 12, 0, syn())).cls, IcmpClass::Error);
  const IcmpClassification big = cls(icmp(kA, kB, false, 19, 0, icmp_echo_body(1, 1)));
  EXPECT_EQ(big.cls, IcmpClass::Invalid);
  EXPECT_TRUE(big.counts_as_error);
  EXPECT_EQ(cls(icmp(a6(), b6(), true, 135, 0, icmp_echo_body(0, 0))).cls, IcmpClass::Untracked);
  EXPECT_EQ(cls(icmp(a6(), b6(), true, 137, 0, icmp_echo_body(0, 0))).cls, IcmpClass::Query);
  EXPECT_EQ(cls(icmp(a6(), b6(), true, 127, 0, icmp_echo_body(0, 0))).cls, IcmpClass::Error);
}

}  // namespace
}  // namespace ctrack::test

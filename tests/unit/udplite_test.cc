// UDP-Lite (linux-core.md §2.3, last paragraphs): coverage and mandatory
// checksum checks, the protocol-17 pseudo-header quirk, no 2-second rule.
#include <gtest/gtest.h>

#include "l4_engine_fixture.h"

namespace ctrack::test {
namespace {

const Endpoint kClient = {Addr::v4(10, 0, 1, 2), 7000, false};
const Endpoint kServer = {Addr::v4(10, 0, 2, 2), 7001, false};

Tuple flow() { return make_tuple(kA, kB, false, kProtoUDPLite, 7000, 7001); }
Bytes req(std::uint16_t cov = 0) { return udplite(kClient, kServer, "request data", cov); }
Bytes rsp() { return udplite(kServer, kClient, "response", 0); }

TEST(UdpLite, ChecksumWithUdpPseudoProtocolIsAccepted) {
  L4Engine e;
  const Result r = e.send(0, req());
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_EQ(r.tuple, flow());
}

// The kernel quirk: an RFC 3828-correct checksum (pseudo-header protocol
// 136) fails verification.
TEST(UdpLite, RfcCorrectChecksumIsJudgedBad) {
  L4Engine e;
  const Bytes p = udplite(kClient, kServer, "request", 0, /*pseudo_proto=*/kProtoUDPLite);
  const Result r = e.send(0, p);
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::UdpBadChecksum);
  EXPECT_EQ(e.engine.stats().invalid, 1u);
  // Not verified on locally generated packets.
  EXPECT_EQ(e.send(0, p, Hook::Local).state, CtState::New);
}

TEST(UdpLite, ZeroChecksumIsInvalidEvenLocally) {
  L4Engine e;
  const Bytes p = udplite(kClient, kServer, "x", 0, 17, /*zero_checksum=*/true);
  EXPECT_EQ(e.send(0, p).reason, InvalidReason::UdpLiteZeroChecksum);
  EXPECT_EQ(e.send(0, p, Hook::Local).reason, InvalidReason::UdpLiteZeroChecksum);
  EXPECT_TRUE(e.engine.entries().empty());
}

TEST(UdpLite, CoverageOutsideHeaderOrPacketIsInvalid) {
  L4Engine e;
  EXPECT_EQ(e.send(0, req(7)).reason, InvalidReason::UdpLiteBadCoverage);
  // 8 header + 12 payload bytes = 20; coverage 21 points past the end.
  EXPECT_EQ(e.send(0, req(21)).reason, InvalidReason::UdpLiteBadCoverage);
  EXPECT_EQ(e.engine.stats().invalid, 2u);
  EXPECT_EQ(e.send(0, req(20)).state, CtState::New);
  EXPECT_EQ(e.send(0, req(8)).state, CtState::New);
}

TEST(UdpLite, BytesBeyondCoverageAreNotChecksummed) {
  L4Engine e;
  Bytes partial = req(8);  // checksum covers only the UDP-Lite header
  partial.back() ^= 0x5a;  // damage the uncovered payload
  EXPECT_EQ(e.send(0, partial).state, CtState::New);
  Bytes full = req(0);
  full.back() ^= 0x5a;
  EXPECT_EQ(e.send(100, full).reason, InvalidReason::UdpBadChecksum);
}

TEST(UdpLite, ShortHeaderIsInvalid) {
  L4Engine e;
  const Result r =
      e.send(0, raw_ip(kA, kB, false, kProtoUDPLite, Bytes{0x1b, 0x58, 0x1b, 0x59, 0}));
  EXPECT_EQ(r.reason, InvalidReason::UdpShortHeader);
}

// No 2-second rule: request 30, reply 30, third packet 120 + ASSURED (the
// kernel printed 29 / 29 / 119 [ASSURED]).
TEST(UdpLite, ThirdPacketIsStreamAtOnce) {
  L4Engine e;
  Result r = e.send(0, req());
  EXPECT_EQ(r.conn->expires, seconds(30));
  r = e.send(100, rsp());
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_FALSE(r.conn->has(kStatusAssured));
  EXPECT_EQ(r.conn->expires, ms(100) + seconds(30));
  r = e.send(200, req());
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_TRUE(r.conn->has(kStatusAssured));
  e.expect_expires(flow(), 200, 120);
}

TEST(UdpLite, UnrepliedExpiresWithUdpTimeout) {
  L4Engine e;
  e.send(0, req());
  e.send(10000, req());
  e.expect_expires(flow(), 10000, 30);
}

TEST(UdpLite, ClassicUsesClassicStreamTimeout) {
  L4Engine e(Profile::Classic);
  e.send(0, req());
  e.send(100, rsp());
  EXPECT_TRUE(e.send(200, req()).conn->has(kStatusAssured));
  e.expect_expires(flow(), 200, 180);
}

TEST(UdpLite, Ipv6) {
  L4Engine e;
  const Endpoint c6{a6(), 7000, true}, s6{b6(), 7001, true};
  EXPECT_EQ(e.send(0, udplite(c6, s6, "q", 0)).state, CtState::New);
  EXPECT_EQ(e.send(0, udplite(c6, s6, "q", 0, kProtoUDPLite)).reason,
            InvalidReason::UdpBadChecksum);
  EXPECT_EQ(e.send(100, udplite(s6, c6, "answer", 10)).state, CtState::Established);
}

}  // namespace
}  // namespace ctrack::test

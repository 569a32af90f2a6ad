// The test vectors V1-V20 of linux-tcp.md §11 (all verified on Linux 6.18),
// replayed through the public Engine. Expected states, ct states, flags and
// timeouts are the ones the reference lists.
#include <gtest/gtest.h>

#include "tcp_test_helpers.h"

namespace ctrack::tcptest {
namespace {

constexpr CtState kNew = CtState::New;
constexpr CtState kEst = CtState::Established;
constexpr CtState kInv = CtState::Invalid;

// V1 — normal open, data, client-initiated close.
TEST(TcpVectors, V1NormalOpenDataClientClose) {
  Flow f;
  Result r = f.O(ws7sp(seg(SYN, 1000)));
  EXPECT_EQ(r.state, kNew);
  EXPECT_EQ(r.direction, Direction::Original);
  EXPECT_EQ(f.state(), TcpState::SynSent);
  EXPECT_TRUE(f.unreplied());
  EXPECT_FALSE(f.assured());
  EXPECT_EQ(f.timeout(), 120);
  EXPECT_EQ(f.eng.timeout_left(*f.conn()), 120);
  f.advance(0);

  r = f.R(ws7sp(seg(SYN | ACK, 5000, 1001)));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(r.direction, Direction::Reply);
  EXPECT_EQ(f.state(), TcpState::SynRecv);
  EXPECT_FALSE(f.unreplied());
  EXPECT_FALSE(f.assured());
  EXPECT_EQ(f.timeout(), 60);

  r = f.O(seg(ACK, 1001, 5001, 502));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_TRUE(f.assured());
  EXPECT_EQ(f.timeout(), 432000);
  EXPECT_STREQ(f.eng.state_name(*f.conn()), "ESTABLISHED");

  r = f.O(data(PSH | ACK, 1001, 5001, 100, 502));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_EQ(f.timeout(), 300);  // unacknowledged data

  r = f.R(seg(ACK, 5001, 1101));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.timeout(), 432000);

  r = f.O(seg(FIN | ACK, 1101, 5001, 502));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::FinWait);
  EXPECT_EQ(f.timeout(), 120);

  r = f.R(seg(ACK, 5001, 1102));
  EXPECT_EQ(f.state(), TcpState::CloseWait);
  EXPECT_EQ(f.timeout(), 60);

  r = f.R(seg(FIN | ACK, 5001, 1102));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::LastAck);
  EXPECT_EQ(f.timeout(), 30);

  r = f.O(seg(ACK, 1102, 5002, 502));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::TimeWait);
  EXPECT_EQ(f.timeout(), 120);
  EXPECT_TRUE(f.assured());
  EXPECT_STREQ(f.eng.state_name(*f.conn()), "TIME_WAIT");
}

// V2 — server closes first.
TEST(TcpVectors, V2ServerClosesFirst) {
  Flow f;
  f.open();
  f.R(seg(FIN | ACK, 5001, 1001));
  EXPECT_EQ(f.state(), TcpState::FinWait);
  EXPECT_EQ(f.timeout(), 120);
  f.O(seg(ACK, 1001, 5002, 502));
  EXPECT_EQ(f.state(), TcpState::CloseWait);
  EXPECT_EQ(f.timeout(), 60);
  f.O(seg(FIN | ACK, 1001, 5002, 502));
  EXPECT_EQ(f.state(), TcpState::LastAck);
  EXPECT_EQ(f.timeout(), 30);
  const Result r = f.R(seg(ACK, 5002, 1002));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::TimeWait);
  EXPECT_EQ(f.timeout(), 120);
}

// V3 — simultaneous open.
TEST(TcpVectors, V3SimultaneousOpen) {
  Flow f;
  EXPECT_EQ(f.O(seg(SYN, 1000)).state, kNew);
  EXPECT_EQ(f.timeout(), 120);
  Result r = f.R(seg(SYN, 5000));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::SynSent2);
  EXPECT_STREQ(f.eng.state_name(*f.conn()), "SYN_SENT2");
  EXPECT_FALSE(f.unreplied());
  EXPECT_EQ(f.timeout(), 120);
  r = f.O(seg(SYN | ACK, 1000, 5001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::SynRecv);
  EXPECT_EQ(f.timeout(), 60);
  f.advance(5);
  r = f.R(seg(SYN | ACK, 5000, 1001));  // ignored retransmission
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::SynRecv);
  EXPECT_EQ(f.timeout(), 55);  // not refreshed
  r = f.O(seg(ACK, 1001, 5001));
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_TRUE(f.assured());
  EXPECT_EQ(f.timeout(), 432000);
  r = f.R(seg(ACK, 5001, 1001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Established);
}

TEST(TcpVectors, V3VariantReplyAckCompletesSimultaneousOpen) {
  Flow f;
  f.O(seg(SYN, 1000));
  f.R(seg(SYN, 5000));
  f.O(seg(SYN | ACK, 1000, 5001));
  ASSERT_EQ(f.state(), TcpState::SynRecv);
  const Result r = f.R(seg(ACK, 5001, 1001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_TRUE(f.assured());
  EXPECT_EQ(f.timeout(), 432000);
}

// V4 — connection refused: the RST/ACK reply deletes the entry.
TEST(TcpVectors, V4ConnectionRefused) {
  Flow f;
  f.O(seg(SYN, 1000));
  const Result r = f.R(seg(RST | ACK, 0, 1001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_TRUE(r.destroyed);
  ASSERT_NE(r.conn, nullptr);
  EXPECT_EQ(r.conn->l4.tcp.state, TcpState::Close);
  EXPECT_FALSE(r.conn->has(kStatusSeenReply));  // DESTROY shows [UNREPLIED]
  EXPECT_EQ(f.conn(), nullptr);
}

// V5 — client abort in SYN_SENT.
TEST(TcpVectors, V5ClientAbortInSynSent) {
  Flow f;
  f.O(seg(SYN, 1000));
  const Result r = f.O(seg(RST, 1001));
  EXPECT_EQ(r.state, kNew);
  EXPECT_TRUE(r.destroyed);
  EXPECT_EQ(f.conn(), nullptr);
}

// V6 — exact RST in ESTABLISHED, then a SYN ignored and re-synced.
TEST(TcpVectors, V6RstThenIgnoredSynThenResync) {
  Flow f;
  f.open();
  Result r = f.R(seg(RST, 5001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Close);
  EXPECT_EQ(f.timeout(), 10);
  f.advance(2);
  r = f.O(seg(SYN, 9000));
  EXPECT_EQ(r.state, kEst);
  EXPECT_FALSE(r.destroyed);
  EXPECT_EQ(f.state(), TcpState::Close);
  EXPECT_EQ(f.timeout(), 8);  // no refresh
  r = f.R(seg(SYN | ACK, 7000, 9001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::SynRecv);
  EXPECT_TRUE(f.assured());
  EXPECT_EQ(f.timeout(), 60);
}

TEST(TcpVectors, V7aInWindowRstKeepsStateWithCloseTimeout) {
  Flow f;
  f.open();
  const Result r = f.R(seg(RST, 5101));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_EQ(f.timeout(), 10);
}

TEST(TcpVectors, V7bFarOutOfWindowRstIsInvalid) {
  Flow f;
  f.open();
  const Result r = f.R(seg(RST, 10005001));
  EXPECT_EQ(r.state, kInv);
  EXPECT_EQ(r.reason, InvalidReason::TcpSeqOverUpper);
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_EQ(f.timeout(), 432000);
}

TEST(TcpVectors, V7cRstBelowMaxAckIsInvalidUnlessIgnoreInvalidRst) {
  {
    Flow f;
    f.open();
    const Result r = f.R(seg(RST, 4000));
    EXPECT_EQ(r.state, kInv);
    EXPECT_EQ(r.reason, InvalidReason::TcpInvalidRst);
    EXPECT_EQ(f.state(), TcpState::Established);
    EXPECT_EQ(f.timeout(), 432000);
  }
  {
    Config c = linux_cfg();
    c.tcp_ignore_invalid_rst = true;
    Flow f(c);
    f.open();
    const Result r = f.R(seg(RST, 4000));
    EXPECT_EQ(r.state, kEst);
    EXPECT_EQ(f.state(), TcpState::Established);
    EXPECT_EQ(f.timeout(), 10);
  }
}

TEST(TcpVectors, V7dRstTrainAfterData) {
  Flow f;
  f.open();
  f.R(data(PSH | ACK, 5001, 1001, 19));
  const Result r = f.R(seg(RST, 5020));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Close);
  EXPECT_EQ(f.timeout(), 10);
}

TEST(TcpVectors, V7eOwnRstThenSynReplacesEntry) {
  Flow f;
  f.open();
  const std::uint32_t old_id = f.conn()->id;
  Result r = f.O(seg(RST, 1001));
  EXPECT_EQ(f.state(), TcpState::Close);
  EXPECT_EQ(f.timeout(), 10);
  r = f.O(seg(SYN, 9000));
  EXPECT_EQ(r.state, kNew);
  ASSERT_NE(f.conn(), nullptr);
  EXPECT_NE(f.conn()->id, old_id);
  EXPECT_EQ(f.state(), TcpState::SynSent);
  EXPECT_TRUE(f.unreplied());
  EXPECT_FALSE(f.assured());
  EXPECT_EQ(f.timeout(), 120);
}

TEST(TcpVectors, V7fRstInClosingStateSkipsChecks) {
  Flow f;
  f.open();
  f.O(seg(FIN | ACK, 1001, 5001, 502));
  ASSERT_EQ(f.state(), TcpState::FinWait);
  Result r = f.R(seg(RST, 99999999));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Close);
  EXPECT_EQ(f.timeout(), 10);
  r = f.R(seg(SYN, 5000));
  EXPECT_EQ(r.state, kInv);
  EXPECT_EQ(r.reason, InvalidReason::TcpInvalidState);
  EXPECT_EQ(f.state(), TcpState::Close);
}

// V8 — SYN retransmit does not refresh; a newer ISN re-initialises.
TEST(TcpVectors, V8SynRetransmit) {
  Flow f;
  f.O(seg(SYN, 1000));
  EXPECT_EQ(f.eng.timeout_left(*f.conn()), 120);
  f.advance(3);
  Result r = f.O(seg(SYN, 1000));
  EXPECT_EQ(r.state, kNew);
  EXPECT_EQ(f.state(), TcpState::SynSent);
  EXPECT_EQ(f.timeout(), 117);
  r = f.O(seg(SYN, 2000));
  EXPECT_EQ(r.state, kNew);
  EXPECT_EQ(f.conn()->l4.tcp.seen[0].td_end, 2001u);
  EXPECT_EQ(f.timeout(), 117);
  r = f.R(seg(SYN | ACK, 5000, 2001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::SynRecv);
}

// V9 — ACK-first pickup with loose=1.
TEST(TcpVectors, V9PickupLoose) {
  Flow f;
  Result r = f.O(seg(ACK, 1000, 5000, 502));
  EXPECT_EQ(r.state, kNew);
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_TRUE(f.unreplied());
  EXPECT_EQ(f.timeout(), 300);
  r = f.R(seg(ACK, 5000, 1000, 502));
  EXPECT_EQ(r.state, kEst);
  EXPECT_FALSE(f.assured());
  EXPECT_EQ(f.timeout(), 300);
  r = f.O(seg(ACK, 1000, 5000, 502));
  EXPECT_EQ(r.state, kEst);
  EXPECT_TRUE(f.assured());
  EXPECT_EQ(f.timeout(), 432000);
  r = f.O(data(PSH | ACK, 5001000, 5000, 10, 502));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Established);
}

// V10 — ACK-first with loose=0.
TEST(TcpVectors, V10PickupDisabled) {
  Config c = linux_cfg();
  c.tcp_loose = false;
  Flow f(c);
  Result r = f.O(seg(ACK, 1000, 5000, 502));
  EXPECT_EQ(r.state, kInv);
  EXPECT_EQ(r.reason, InvalidReason::TcpNoLoosePickup);
  EXPECT_EQ(f.conn(), nullptr);
  r = f.R(seg(ACK, 5000, 1000, 502));
  EXPECT_EQ(r.state, kInv);
  EXPECT_EQ(r.reason, InvalidReason::TcpNoLoosePickup);
  EXPECT_EQ(f.conn(), nullptr);
  EXPECT_TRUE(f.eng.entries().empty());
}

// V12 — invalid packets inside a flow.
TEST(TcpVectors, V12InvalidInSynSent) {
  Flow f;
  f.O(seg(SYN, 1000));
  Result r = f.O(seg(SYN | ACK, 1000, 5001));
  EXPECT_EQ(r.state, kInv);
  EXPECT_EQ(r.reason, InvalidReason::TcpInvalidState);
  EXPECT_EQ(f.state(), TcpState::SynSent);
  r = f.R(seg(ACK, 5001, 1001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_FALSE(f.unreplied());
  EXPECT_EQ(f.state(), TcpState::SynSent);
  r = f.O(seg(FIN | ACK, 1001, 5001));
  EXPECT_EQ(r.state, kInv);
  EXPECT_EQ(r.reason, InvalidReason::TcpInvalidState);
  r = f.O(seg(ACK, 1001, 5001));
  EXPECT_EQ(r.state, kInv);
  r = f.R(seg(SYN | ACK | URG, 5000, 1001));
  EXPECT_EQ(r.state, kInv);
  EXPECT_EQ(r.reason, InvalidReason::TcpBadFlags);
  r = f.R(seg(FIN | ACK, 5001, 1001));
  EXPECT_EQ(r.state, kInv);
  EXPECT_EQ(f.state(), TcpState::SynSent);
}

TEST(TcpVectors, V12InvalidAfterOpen) {
  Flow f;
  f.open();
  f.advance(1);
  Result r = f.O(seg(SYN | ACK, 1001, 5001));
  EXPECT_EQ(r.state, kInv);
  EXPECT_EQ(r.reason, InvalidReason::TcpInvalidState);
  r = f.R(seg(SYN, 5001));
  EXPECT_EQ(r.state, kInv);
  r = f.R(seg(SYN | ACK, 5000, 1001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_EQ(f.timeout(), 431999);  // ignored: no refresh
}

// V13 — SYN in TIME_WAIT from the original side re-creates the entry.
TEST(TcpVectors, V13SynInTimeWaitFromOriginal) {
  Flow f;
  f.open();
  f.O(seg(FIN | ACK, 1001, 5001, 502));
  f.R(seg(FIN | ACK, 5001, 1002));
  f.O(seg(ACK, 1002, 5002, 502));
  ASSERT_EQ(f.state(), TcpState::TimeWait);
  const std::uint32_t old_id = f.conn()->id;
  const Result r = f.O(seg(SYN, 900000));
  EXPECT_EQ(r.state, kNew);
  EXPECT_FALSE(r.destroyed);
  ASSERT_NE(f.conn(), nullptr);
  EXPECT_NE(f.conn()->id, old_id);
  EXPECT_EQ(f.conn()->orig, f.orig());
  EXPECT_EQ(f.state(), TcpState::SynSent);
  EXPECT_TRUE(f.unreplied());
  EXPECT_FALSE(f.assured());
  EXPECT_EQ(f.timeout(), 120);
  EXPECT_EQ(f.eng.entries().size(), 1u);
}

// V14 — SYN in TIME_WAIT from the reply side: roles switch.
TEST(TcpVectors, V14SynInTimeWaitFromReplySwitchesRoles) {
  Flow f;
  f.open();
  f.O(seg(FIN | ACK, 1001, 5001, 502));
  f.R(seg(FIN | ACK, 5001, 1002));
  f.O(seg(ACK, 1002, 5002, 502));
  ASSERT_EQ(f.state(), TcpState::TimeWait);
  Result r = f.R(seg(SYN, 900000));
  EXPECT_EQ(r.state, kNew);
  EXPECT_EQ(r.direction, Direction::Original);
  ASSERT_NE(f.conn(), nullptr);
  EXPECT_EQ(f.conn()->orig, f.rev());  // src=10.99.0.3 sport=80
  EXPECT_EQ(f.state(), TcpState::SynSent);
  EXPECT_TRUE(f.unreplied());
  r = f.O(seg(SYN | ACK, 77000, 900001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(r.direction, Direction::Reply);
  EXPECT_EQ(f.state(), TcpState::SynRecv);
  EXPECT_EQ(f.timeout(), 60);
}

// V15 — SYN in ESTABLISHED and re-sync, plus its two variants.
TEST(TcpVectors, V15SynInEstablishedResync) {
  Flow f;
  f.open();
  f.advance(1);
  Result r = f.O(seg(SYN, 300000));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_EQ(f.timeout(), 431999);
  r = f.R(seg(SYN | ACK, 600000, 300001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::SynRecv);
  EXPECT_TRUE(f.assured());
  EXPECT_EQ(f.timeout(), 60);
  r = f.O(seg(ACK, 300001, 600001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_EQ(f.timeout(), 432000);
}

TEST(TcpVectors, V15VariantRstAnsweringIgnoredSyn) {
  Flow f;
  f.open();
  f.O(seg(SYN, 300000));
  const Result r = f.R(seg(RST | ACK, 0, 300001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Close);
  EXPECT_EQ(f.timeout(), 10);
}

TEST(TcpVectors, V15VariantChallengeAckThenRst) {
  Flow f;
  f.open();
  f.O(seg(SYN, 300000));
  Result r = f.R(seg(ACK, 5001, 1001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Established);
  r = f.O(seg(RST, 1001));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::Close);
  EXPECT_EQ(f.timeout(), 10);
}

// V16 — RFC 5961 challenge ACK in LAST_ACK.
TEST(TcpVectors, V16ChallengeAckInLastAck) {
  Flow f;
  f.open();
  f.O(seg(FIN | ACK, 1001, 5001, 502));
  f.R(seg(FIN | ACK, 5001, 1002));
  ASSERT_EQ(f.state(), TcpState::LastAck);
  EXPECT_EQ(f.timeout(), 30);
  f.advance(1);
  Result r = f.O(seg(SYN, 123456));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::LastAck);
  EXPECT_EQ(f.timeout(), 29);
  r = f.R(seg(ACK, 5002, 1002));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::LastAck);  // challenge ACK, not the last ACK
  EXPECT_EQ(f.timeout(), 29);
  r = f.O(seg(ACK, 1002, 5002, 502));
  EXPECT_EQ(f.state(), TcpState::TimeWait);
  EXPECT_EQ(f.timeout(), 120);
}

// V17 — half-open challenge ACK, then the client's RST.
TEST(TcpVectors, V17HalfOpenChallengeThenRst) {
  Flow f;
  f.O(seg(SYN, 1000));
  Result r = f.R(seg(ACK, 5001, 777));
  EXPECT_EQ(r.state, kEst);
  EXPECT_EQ(f.state(), TcpState::SynSent);
  EXPECT_FALSE(f.unreplied());
  EXPECT_EQ(f.conn()->l4.tcp.last_ack, 777u);
  r = f.O(seg(RST, 777));
  EXPECT_EQ(r.state, kEst);
  EXPECT_FALSE(r.destroyed);
  ASSERT_NE(f.conn(), nullptr);
  EXPECT_EQ(f.state(), TcpState::Close);
  EXPECT_EQ(f.timeout(), 10);
}

// V18 — window checks after the lab handshake (client td_maxend 65241).
TEST(TcpVectors, V18WindowChecks) {
  {
    Flow f;
    f.open();
    EXPECT_EQ(f.conn()->l4.tcp.seen[0].td_maxend, 65241u);
    EXPECT_EQ(f.conn()->l4.tcp.seen[1].td_maxend, 69257u);
    const Result r = f.O(data(PSH | ACK, 65241, 5001, 1, 502));
    EXPECT_EQ(r.state, kEst);
    EXPECT_EQ(f.timeout(), 300);
  }
  {
    Flow f;
    f.open();
    f.advance(1);
    const Result r = f.O(data(PSH | ACK, 65243, 5001, 10, 502));  // 13 bytes over
    EXPECT_EQ(r.state, kEst);
    EXPECT_EQ(f.timeout(), 431999);  // ignored
  }
  for (bool liberal : {false, true}) {
    Config c = linux_cfg();
    c.tcp_be_liberal = liberal;
    Flow f(c);
    f.open();
    Result r = f.O(data(PSH | ACK, 1001001, 5001, 10, 502));
    EXPECT_EQ(r.state, liberal ? kEst : kInv);
    if (!liberal) {
      EXPECT_EQ(r.reason, InvalidReason::TcpSeqOverUpper);
    }
    r = f.O(seg(ACK, 1001, 105001, 502));
    EXPECT_EQ(r.state, liberal ? kEst : kInv);
    if (!liberal) {
      EXPECT_EQ(r.reason, InvalidReason::TcpAckOverUpper);
    }
    EXPECT_EQ(f.state(), TcpState::Established);
    EXPECT_EQ(f.timeout(), 432000);
  }
  {
    Flow f;
    f.open();
    f.advance(1);
    Result r = f.O(data(PSH | ACK, 1001u - 100000u, 5001, 10, 502));
    EXPECT_EQ(r.state, kEst);
    EXPECT_EQ(f.timeout(), 431999);
    r = f.O(seg(ACK, 1001, 5001u - 70000u, 502));
    EXPECT_EQ(r.state, kEst);
    EXPECT_EQ(f.timeout(), 431999);
  }
}

// V19 — window scaling and SACK.
TEST(TcpVectors, V19aWindowScalingNeedsBothSides) {
  for (bool server_ws : {true, false}) {
    Flow f;
    f.O(ws7sp(seg(SYN, 1000)));
    TcpSpec synack = seg(SYN | ACK, 5000, 1001);
    if (server_ws) synack.opts.wscale = 7;
    f.R(synack);
    f.O(seg(ACK, 1001, 5001, 502));
    const Result r = f.R(data(PSH | ACK, 75001, 1001, 10));
    EXPECT_EQ(r.state, server_ws ? kEst : kInv) << "server_ws=" << server_ws;
    if (!server_ws) {
      EXPECT_EQ(r.reason, InvalidReason::TcpSeqOverUpper);
    }
  }
}

TEST(TcpVectors, V19bSackBeyondDataIsInvalidOnlyWithSackPermitted) {
  for (bool server_sp : {true, false}) {
    Flow f;
    f.O(ws7sp(seg(SYN, 1000)));
    TcpSpec synack = seg(SYN | ACK, 5000, 1001);
    synack.opts.wscale = 7;
    synack.opts.sack_perm = server_sp;
    f.R(synack);
    f.O(seg(ACK, 1001, 5001, 502));
    TcpSpec a = seg(ACK, 1001, 5001, 502);
    a.opts.sack = {{5101, 5201}};
    const Result r = f.O(a);
    EXPECT_EQ(r.state, server_sp ? kInv : kEst) << "server_sp=" << server_sp;
    if (server_sp) {
      EXPECT_EQ(r.reason, InvalidReason::TcpAckOverUpper);
    }
  }
}

// V20 — retransmission and zero-window timeouts.
TEST(TcpVectors, V20RetransmissionTimeout) {
  Flow f;
  f.open();
  f.R(data(PSH | ACK, 5001, 1001, 10));
  EXPECT_EQ(f.timeout(), 300);
  const std::int64_t expected[] = {432000, 432000, 432000, 300};
  for (std::int64_t t : expected) {
    f.O(seg(ACK, 1001, 5011, 502));
    EXPECT_EQ(f.timeout(), t);
  }
  f.O(seg(ACK, 1001, 5011, 503));
  EXPECT_EQ(f.timeout(), 432000);
}

TEST(TcpVectors, V20ZeroWindowTimeout) {
  Flow f;
  f.open();
  f.R(seg(ACK, 5001, 1001, 0));
  EXPECT_EQ(f.timeout(), 300);
  f.R(seg(ACK, 5001, 1001, 10));
  EXPECT_EQ(f.timeout(), 432000);
}

TEST(TcpVectors, V20CrossingInvalidFinAndRstShortenTimeout) {
  Flow f;
  f.open();
  Result r = f.O(seg(FIN | ACK, 1001001, 5001, 502));
  EXPECT_EQ(r.state, kInv);
  EXPECT_EQ(f.timeout(), 432000);
  r = f.R(seg(RST, 10005001));
  EXPECT_EQ(r.state, kInv);
  EXPECT_EQ(f.timeout(), 300);
  EXPECT_EQ(f.state(), TcpState::Established);
}

}  // namespace
}  // namespace ctrack::tcptest

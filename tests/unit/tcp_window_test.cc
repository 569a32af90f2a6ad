// Window tracking (linux-tcp.md §4) and option parsing (§4.2): the checks in
// isolation on hand-made window data, and end to end through the Engine
// (sequence wrap-around, scaling, SACK, be_liberal, RST in SYN_SENT).
#include "proto/tcp_window.h"

#include <gtest/gtest.h>

#include <vector>

#include "proto/tcp_options.h"
#include "proto/tcp_seq.h"
#include "tcp_test_helpers.h"

namespace ctrack::tcptest {
namespace {

using tcp::TcpOptionArea;
using tcp::TcpSegment;
using tcp::WindowVerdict;

TcpOptionArea area(const std::vector<std::uint8_t>& b) {
  return TcpOptionArea{b.data(), static_cast<std::uint32_t>(b.size())};
}

TEST(TcpSeq, ComparisonsWrapModulo2To32) {
  EXPECT_TRUE(tcp::seq_before(0xFFFFFFF0u, 0x10u));
  EXPECT_TRUE(tcp::seq_after(0x10u, 0xFFFFFFF0u));
  EXPECT_FALSE(tcp::seq_before(5, 5));
  EXPECT_FALSE(tcp::seq_after(5, 5));
  EXPECT_TRUE(tcp::seq_before(1, 2));
}

TEST(TcpOptions, WindowScaleAndSackPermitted) {
  TcpDirState s;
  s.flags = tcp::kDirBeLiberal | tcp::kDirCloseInit | tcp::kDirMaxAckSet;
  s.td_scale = 3;
  const std::vector<std::uint8_t> o = {2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7};
  tcp::parse_syn_options(area(o), s);
  EXPECT_EQ(s.td_scale, 7);
  EXPECT_EQ(s.flags, tcp::kDirBeLiberal | tcp::kDirWindowScale | tcp::kDirSackPerm);
}

TEST(TcpOptions, ResetWhenAbsentAndScaleCappedAt14) {
  TcpDirState s;
  s.td_scale = 5;
  s.flags = tcp::kDirWindowScale | tcp::kDirSackPerm;
  tcp::parse_syn_options(area({}), s);
  EXPECT_EQ(s.td_scale, 0);
  EXPECT_EQ(s.flags, 0);
  tcp::parse_syn_options(area({3, 3, 15, 0}), s);
  EXPECT_EQ(s.td_scale, 14);
  EXPECT_EQ(s.flags, tcp::kDirWindowScale);
}

TEST(TcpOptions, MalformedOptionsStopTheWalk) {
  TcpDirState s;
  // EOL ends the list: the window scale after it is not seen.
  tcp::parse_syn_options(area({0, 3, 3, 7}), s);
  EXPECT_EQ(s.flags, 0);
  // Length < 2.
  tcp::parse_syn_options(area({8, 1, 3, 3, 7, 0}), s);
  EXPECT_EQ(s.flags, 0);
  // Length past the end of the area.
  tcp::parse_syn_options(area({1, 3, 4, 7}), s);
  EXPECT_EQ(s.flags, 0);
  // A kind byte with no room for its length.
  tcp::parse_syn_options(area({1, 1, 1, 3}), s);
  EXPECT_EQ(s.flags, 0);
  // Wrong lengths for WS / SACK_PERM are skipped, the walk goes on.
  tcp::parse_syn_options(area({3, 4, 7, 0, 4, 3, 0, 4, 2, 1, 1, 1}), s);
  EXPECT_EQ(s.flags, tcp::kDirSackPerm);
  EXPECT_EQ(s.td_scale, 0);
}

std::vector<std::uint8_t> sack_opt(std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks) {
  std::vector<std::uint8_t> b = {1, 1, 5, static_cast<std::uint8_t>(2 + 8 * blocks.size())};
  for (auto [l, r] : blocks) {
    for (std::uint32_t v : {l, r}) {
      for (int i = 3; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  }
  return b;
}

TEST(TcpOptions, SackTakesHighestRightEdgeModulo2To32) {
  std::uint32_t sack = 1000;
  tcp::scan_sack(area(sack_opt({{1100, 1200}, {1300, 1400}, {1050, 1080}})), sack);
  EXPECT_EQ(sack, 1400u);
  sack = 0xFFFFFFF0u;
  tcp::scan_sack(area(sack_opt({{0xFFFFFFF8u, 0x20}})), sack);
  EXPECT_EQ(sack, 0x20u);  // after the wrap
  sack = 5000;
  tcp::scan_sack(area(sack_opt({{100, 200}})), sack);
  EXPECT_EQ(sack, 5000u);  // edges below the ACK change nothing
}

TEST(TcpOptions, OnlyFirstWellFormedSackCounts) {
  std::vector<std::uint8_t> b = sack_opt({{1, 2000}});
  const std::vector<std::uint8_t> second = sack_opt({{1, 9000}});
  b.insert(b.end(), second.begin(), second.end());
  std::uint32_t sack = 1000;
  tcp::scan_sack(area(b), sack);
  EXPECT_EQ(sack, 2000u);
  // A SACK option whose length is not 2 + 8n is skipped; the next one counts.
  std::vector<std::uint8_t> c = {5, 6, 0, 0, 0x23, 0x28};
  c.insert(c.end(), second.begin(), second.end());
  sack = 1000;
  tcp::scan_sack(area(c), sack);
  EXPECT_EQ(sack, 9000u);
}

TEST(TcpOptions, TimestampOnlyAreaHasNoSack) {
  const std::vector<std::uint8_t> ts = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
  std::uint32_t sack = 7;
  tcp::scan_sack(area(ts), sack);
  EXPECT_EQ(sack, 7u);
}

// ---- tcp_in_window on hand-made data --------------------------------------

// Both sides past the handshake: ORIGINAL sent up to 1001 and may send up to
// 65241; REPLY sent up to 5001 and may send up to 69257 (the §4.3 lab numbers).
TcpConnState lab_state() {
  TcpConnState t;
  t.state = TcpState::Established;
  t.seen[0] = TcpDirState{1001, 65241, 64256, 5001, 7, tcp::kDirWindowScale | tcp::kDirMaxAckSet};
  t.seen[1] = TcpDirState{5001, 69257, 64240, 1001, 7, tcp::kDirWindowScale | tcp::kDirMaxAckSet};
  t.last_win = 502;
  return t;
}

TcpSegment segment(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, std::uint16_t win,
                   std::uint32_t payload = 0) {
  TcpSegment s;
  s.flags = flags;
  s.seq = seq;
  s.ack = ack;
  s.win = win;
  s.payload = payload;
  return s;
}

TEST(TcpWindow, InWindowDataUpdatesBothSides) {
  TcpConnState t = lab_state();
  const auto r =
      tcp::tcp_in_window(t, 0, tcp::kAckSet, segment(ACK | PSH, 1001, 5001, 502, 100), false);
  EXPECT_EQ(r.verdict, WindowVerdict::Accept);
  EXPECT_EQ(t.seen[0].td_end, 1101u);
  EXPECT_TRUE(t.seen[0].flags & tcp::kDirDataUnacked);
  EXPECT_EQ(t.seen[1].td_maxend, 5001u + (502u << 7));
  // The peer ACKs exactly td_end: the flag clears.
  const auto a = tcp::tcp_in_window(t, 1, tcp::kAckSet, segment(ACK, 5001, 1101, 600), false);
  EXPECT_EQ(a.verdict, WindowVerdict::Accept);
  EXPECT_FALSE(t.seen[0].flags & tcp::kDirDataUnacked);
  EXPECT_EQ(t.seen[0].td_maxend, 1101u + (600u << 7));
  // A smaller window never pulls the right edge back.
  tcp::tcp_in_window(t, 1, tcp::kAckSet, segment(ACK, 5001, 1101, 1), false);
  EXPECT_EQ(t.seen[0].td_maxend, 1101u + (600u << 7));
  EXPECT_EQ(t.seen[1].td_maxack, 1101u);
}

TEST(TcpWindow, EachCheckAndItsOutcome) {
  struct Case {
    TcpSegment seg;
    WindowVerdict verdict;
    InvalidReason reason;
  };
  const Case cases[] = {
      {segment(ACK | PSH, 65241, 5001, 502, 1), WindowVerdict::Accept, InvalidReason::None},
      {segment(ACK | PSH, 65243, 5001, 502, 10), WindowVerdict::Ignore, InvalidReason::None},
      {segment(ACK | PSH, 1001001, 5001, 502, 10), WindowVerdict::Invalid,
       InvalidReason::TcpSeqOverUpper},
      {segment(ACK, 1001, 5002, 502), WindowVerdict::Invalid, InvalidReason::TcpAckOverUpper},
      {segment(ACK | PSH, 1001u - 100000u, 5001, 502, 10), WindowVerdict::Ignore,
       InvalidReason::TcpSeqUnderLower},
      {segment(ACK, 1001, 5001u - 70000u, 502), WindowVerdict::Ignore,
       InvalidReason::TcpAckUnderLower},
      // Just inside the ACK lower bound: 66000 below td_end.
      {segment(ACK, 1001, 5001u - 66000u, 502), WindowVerdict::Accept, InvalidReason::None},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.seg.seq);
    TcpConnState t = lab_state();
    const auto r = tcp::tcp_in_window(t, 0, tcp::kAckSet, c.seg, false);
    EXPECT_EQ(r.verdict, c.verdict);
    EXPECT_EQ(r.reason, c.reason);
    // Global and per-direction liberal mode accept everything untouched.
    TcpConnState l = lab_state();
    EXPECT_EQ(tcp::tcp_in_window(l, 0, tcp::kAckSet, c.seg, true).verdict, WindowVerdict::Accept);
    TcpConnState p = lab_state();
    p.seen[0].flags |= tcp::kDirBeLiberal;
    EXPECT_EQ(tcp::tcp_in_window(p, 0, tcp::kAckSet, c.seg, false).verdict, WindowVerdict::Accept);
    if (c.verdict == WindowVerdict::Invalid) {
      EXPECT_EQ(l.seen[0].td_end, 1001u);
      EXPECT_EQ(l.seen[1].td_maxend, 69257u);
    }
  }
}

TEST(TcpWindow, SmallOverrunRecordsTheDataButIgnores) {
  TcpConnState t = lab_state();
  const auto r =
      tcp::tcp_in_window(t, 0, tcp::kAckSet, segment(ACK | PSH, 65243, 5001, 502, 10), false);
  EXPECT_EQ(r.verdict, WindowVerdict::Ignore);
  EXPECT_EQ(t.seen[0].td_end, 65253u);
  EXPECT_TRUE(t.seen[0].flags & tcp::kDirDataUnacked);
}

TEST(TcpWindow, PeerLiberalFlagDoesNotCover) {
  // Only the sender's BE_LIBERAL flag counts.
  TcpConnState t = lab_state();
  t.seen[1].flags |= tcp::kDirBeLiberal;
  EXPECT_EQ(tcp::tcp_in_window(t, 0, tcp::kAckSet, segment(ACK, 1001, 5002, 502), false).verdict,
            WindowVerdict::Invalid);
}

TEST(TcpWindow, RetransmissionCounter) {
  TcpConnState t = lab_state();
  const TcpSegment s = segment(ACK, 1001, 5001, 502);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(tcp::tcp_in_window(t, 0, tcp::kAckSet, s, false).verdict, WindowVerdict::Accept);
    EXPECT_EQ(t.retrans, i);
  }
  // Same values from the other direction, or another window: reset.
  ASSERT_EQ(tcp::tcp_in_window(t, 0, tcp::kAckSet, segment(ACK, 1001, 5001, 503), false).verdict,
            WindowVerdict::Accept);
  EXPECT_EQ(t.retrans, 0);
  // A FIN is not ACK-class: the counter is left alone.
  t.retrans = 2;
  tcp::tcp_in_window(t, 0, tcp::kFinSet, segment(FIN | ACK, 1001, 5001, 503), false);
  EXPECT_EQ(t.retrans, 2);
}

TEST(TcpWindow, KeepAliveReplyMovesReceiverEnd) {
  // First packet of the reply side, mid-stream, ACKing one past the
  // original's td_end (a keep-alive answer).
  TcpConnState t;
  t.state = TcpState::Established;
  t.seen[0] = TcpDirState{1001, 2001, 1000, 0, 0, 0};
  const auto r = tcp::tcp_in_window(t, 1, tcp::kAckSet, segment(ACK, 7000, 1002, 100), false);
  EXPECT_EQ(r.verdict, WindowVerdict::Accept);
  EXPECT_EQ(t.seen[0].td_end, 1002u);
  EXPECT_EQ(t.seen[1].td_end, 7000u);
  EXPECT_EQ(t.seen[1].td_maxwin, 100u);
}

// ---- end to end ------------------------------------------------------------

TEST(TcpWindowFlow, SequenceWrapAround) {
  Flow f;
  const std::uint32_t c_isn = 0xFFFFFF00u;
  const std::uint32_t s_isn = 0xFFFFFFF0u;
  f.O(ws7sp(seg(SYN, c_isn)));
  f.R(ws7sp(seg(SYN | ACK, s_isn, c_isn + 1)));
  EXPECT_EQ(f.O(seg(ACK, c_isn + 1, s_isn + 1, 502)).state, CtState::Established);
  ASSERT_TRUE(f.assured());
  // 0x200 bytes across 2^32.
  Result r = f.O(data(PSH | ACK, c_isn + 1, s_isn + 1, 0x200, 502));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(f.timeout(), 300);
  EXPECT_EQ(f.conn()->l4.tcp.seen[0].td_end, 0x101u);
  // The server's data also crosses 2^32, and it ACKs the client's.
  r = f.R(data(PSH | ACK, s_isn + 1, 0x101, 0x40));
  EXPECT_EQ(r.state, CtState::Established);
  r = f.O(seg(ACK, 0x101, s_isn + 1 + 0x40, 502));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(f.timeout(), 432000);
  // Beyond the window after the wrap: INVALID; an ACK of unsent data too.
  r = f.O(data(PSH | ACK, 0x101 + 0x1000000, s_isn + 1 + 0x40, 10, 502));
  EXPECT_EQ(r.reason, InvalidReason::TcpSeqOverUpper);
  r = f.O(seg(ACK, 0x101, s_isn + 1 + 0x41, 502));
  EXPECT_EQ(r.reason, InvalidReason::TcpAckOverUpper);
  // Old data from before the wrap, more than the server's window (64240 << 7)
  // back: ignored.
  f.advance(1);
  r = f.O(data(PSH | ACK, c_isn - 10000000, s_isn + 1 + 0x40, 10, 502));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(f.timeout(), 431999);
}

TEST(TcpWindowFlow, SynAckAckAboveSynEndIsInvalidBelowIsFine) {
  {
    Flow f;
    f.O(seg(SYN, 1000));
    const Result r = f.R(seg(SYN | ACK, 5000, 1002));
    EXPECT_EQ(r.state, CtState::Invalid);
    EXPECT_EQ(r.reason, InvalidReason::TcpAckOverUpper);
    EXPECT_EQ(f.state(), TcpState::SynSent);
    EXPECT_TRUE(f.unreplied());
  }
  {
    Flow f;
    f.O(seg(SYN, 100000));
    const Result r = f.R(seg(SYN | ACK, 5000, 100000 - 50000));
    EXPECT_EQ(r.state, CtState::Established);
    EXPECT_EQ(f.state(), TcpState::SynRecv);
  }
}

TEST(TcpWindowFlow, RstAnsweringSynInSynSent) {
  {
    // RST with seq 0 and no ACK: seq is taken as the sender's td_end.
    Flow f;
    f.O(seg(SYN, 1000));
    const Result r = f.R(seg(RST, 0));
    EXPECT_EQ(r.state, CtState::Established);
    EXPECT_TRUE(r.destroyed);
    EXPECT_EQ(f.conn(), nullptr);
  }
  {
    // RST/ACK with an ack beyond the SYN: INVALID, the entry survives.
    Flow f;
    f.O(seg(SYN, 1000));
    const Result r = f.R(seg(RST | ACK, 0, 1500));
    EXPECT_EQ(r.state, CtState::Invalid);
    EXPECT_EQ(r.reason, InvalidReason::TcpAckOverUpper);
    ASSERT_NE(f.conn(), nullptr);
    EXPECT_EQ(f.state(), TcpState::SynSent);
    EXPECT_TRUE(f.unreplied());
  }
}

TEST(TcpWindowFlow, PickupNeverChecksWindows) {
  Flow f;
  f.O(seg(ACK, 1000, 5000, 502));
  f.R(seg(ACK, 5000, 1000, 502));
  f.O(seg(ACK, 1000, 5000, 502));
  ASSERT_TRUE(f.assured());
  const TcpConnState& t = f.conn()->l4.tcp;
  EXPECT_EQ(t.seen[0].flags & (tcp::kDirBeLiberal | tcp::kDirSackPerm),
            tcp::kDirBeLiberal | tcp::kDirSackPerm);
  EXPECT_EQ(t.seen[1].flags & (tcp::kDirBeLiberal | tcp::kDirSackPerm),
            tcp::kDirBeLiberal | tcp::kDirSackPerm);
  EXPECT_EQ(f.R(data(PSH | ACK, 99999999, 777, 10)).state, CtState::Established);
  // Once assured (= "established" for §5.1), a far RST that is not at the
  // peer's max ACK keeps the state, with the CLOSE timeout.
  EXPECT_EQ(f.R(seg(RST, 123456789)).state, CtState::Established);
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_EQ(f.timeout(), 10);
}

TEST(TcpWindowFlow, PickupClosedByFarRstBeforeAssured) {
  // §3.2: a far out-of-window RST closes a picked-up entry.
  Flow f;
  f.O(seg(ACK, 1000, 5000, 502));
  f.R(seg(ACK, 5000, 1000, 502));
  ASSERT_FALSE(f.assured());
  EXPECT_EQ(f.R(seg(RST, 123456789)).state, CtState::Established);
  EXPECT_EQ(f.state(), TcpState::Close);
  EXPECT_EQ(f.timeout(), 10);
}

TEST(TcpWindowFlow, BeLiberalKeepsTheStateMachine) {
  Config c = linux_cfg();
  c.tcp_be_liberal = true;
  Flow f(c);
  f.open();
  // Out-of-window RST: accepted, state kept, 10 s (§5.1).
  const Result r = f.R(seg(RST, 10005001));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(f.state(), TcpState::Established);
  EXPECT_EQ(f.timeout(), 10);
  // be_liberal does not touch the flag filter or sIV cells.
  EXPECT_EQ(f.O(seg(FIN, 1001)).reason, InvalidReason::TcpBadFlags);
  EXPECT_EQ(f.O(seg(SYN | ACK, 1001, 5001)).reason, InvalidReason::TcpInvalidState);
  // Nor the RST-below-max-ACK rule.
  EXPECT_EQ(f.R(seg(RST, 4000)).reason, InvalidReason::TcpInvalidRst);
}

TEST(TcpWindowFlow, SimultaneousOpenInitialisesReplyFromItsSyn) {
  Flow f;
  f.O(ws7sp(seg(SYN, 1000)));
  f.R(ws7sp(seg(SYN, 5000, 0, 3000)));
  const TcpConnState& t = f.conn()->l4.tcp;
  EXPECT_EQ(t.seen[1].td_end, 5001u);
  EXPECT_EQ(t.seen[1].td_maxwin, 3000u);
  EXPECT_EQ(t.seen[1].td_scale, 7);
  EXPECT_EQ(t.last_flags & tcp::kLastSimultaneousOpen, tcp::kLastSimultaneousOpen);
}

}  // namespace
}  // namespace ctrack::tcptest

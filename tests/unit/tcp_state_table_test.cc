// The TCP transition table (linux-tcp.md §1.3) and its post-table overrides
// (§1.5): the constants against the reference rows, then every cell driven
// through TcpTracker::packet on a Conn prepared in the old state.
#include "proto/tcp_state_table.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tcp_test_helpers.h"

namespace ctrack::tcptest {
namespace {

using tcp::TcpIndex;

// The reference's rows, verbatim (columns sNO sSS sSR sES sFW sCW sLA sTW sCL sS2).
const char* const kReferenceRows[2][6] = {
    {
        "sSS sSS sIG sIG sIG sIG sIG sSS sSS sS2",  // syn
        "sIV sIV sSR sIV sIV sIV sIV sIV sIV sSR",  // synack
        "sIV sIV sFW sFW sLA sLA sLA sTW sCL sIV",  // fin
        "sES sIV sES sES sCW sCW sTW sTW sCL sIV",  // ack
        "sIV sCL sCL sCL sCL sCL sCL sCL sCL sCL",  // rst
        "sIV sIV sIV sIV sIV sIV sIV sIV sIV sIV",  // none
    },
    {
        "sIV sS2 sIV sIV sIV sIV sIV sSS sIV sS2",  // syn
        "sIV sSR sIG sIG sIG sIG sIG sIG sIG sSR",  // synack
        "sIV sIV sFW sFW sLA sLA sLA sTW sCL sIV",  // fin
        "sIV sIG sSR sES sCW sCW sTW sTW sCL sIG",  // ack
        "sIV sCL sCL sCL sCL sCL sCL sCL sCL sCL",  // rst
        "sIV sIV sIV sIV sIV sIV sIV sIV sIV sIV",  // none
    },
};

TcpState from_abbrev(const std::string& s) {
  static const char* const names[] = {"sNO", "sSS", "sSR", "sES", "sFW", "sCW",
                                      "sLA", "sTW", "sCL", "sS2", "sIV", "sIG"};
  for (int i = 0; i < 12; ++i) {
    if (s == names[i]) return static_cast<TcpState>(i);
  }
  ADD_FAILURE() << "bad abbreviation " << s;
  return TcpState::None;
}

TcpState reference_cell(int dir, int index, int old) {
  std::istringstream in(kReferenceRows[dir][index]);
  std::string cell;
  for (int i = 0; i <= old; ++i) in >> cell;
  return from_abbrev(cell);
}

TEST(TcpStateTable, EnumValuesMatchKernelNumbering) {
  EXPECT_EQ(static_cast<int>(TcpState::SynSent2), 9);
  EXPECT_EQ(static_cast<int>(tcp::sIV), 10);
  EXPECT_EQ(static_cast<int>(tcp::sIG), 11);
  EXPECT_EQ(tcp::kSynSet, 0);
  EXPECT_EQ(tcp::kSynAckSet, 1);
  EXPECT_EQ(tcp::kFinSet, 2);
  EXPECT_EQ(tcp::kAckSet, 3);
  EXPECT_EQ(tcp::kRstSet, 4);
  EXPECT_EQ(tcp::kNoneSet, 5);
}

TEST(TcpStateTable, EveryCellMatchesReference) {
  for (int dir = 0; dir < 2; ++dir) {
    for (int index = 0; index < 6; ++index) {
      for (int old = 0; old < 10; ++old) {
        EXPECT_EQ(tcp::tcp_conntracks[dir][index][old], reference_cell(dir, index, old))
            << "dir " << dir << " index " << index << " old " << old;
      }
    }
  }
}

TEST(TcpStateTable, ClassificationOrder) {
  EXPECT_EQ(tcp::classify(RST | SYN | ACK | FIN), tcp::kRstSet);
  EXPECT_EQ(tcp::classify(RST | ACK), tcp::kRstSet);
  EXPECT_EQ(tcp::classify(SYN | ACK | FIN), tcp::kSynAckSet);
  EXPECT_EQ(tcp::classify(SYN | FIN), tcp::kSynSet);
  EXPECT_EQ(tcp::classify(SYN | URG | ECE | CWR), tcp::kSynSet);
  EXPECT_EQ(tcp::classify(FIN | ACK), tcp::kFinSet);
  EXPECT_EQ(tcp::classify(FIN), tcp::kFinSet);
  EXPECT_EQ(tcp::classify(ACK | PSH | URG), tcp::kAckSet);
  EXPECT_EQ(tcp::classify(PSH | URG | ECE | CWR), tcp::kNoneSet);
  EXPECT_EQ(tcp::classify(0), tcp::kNoneSet);
}

TEST(TcpStateTable, StateNamesAsProc) {
  const char* const expected[] = {"NONE",     "SYN_SENT",   "SYN_RECV", "ESTABLISHED",
                                  "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT",
                                  "CLOSE",    "SYN_SENT2"};
  Conn c;
  c.orig.proto = kProtoTCP;
  for (int s = 0; s < 10; ++s) {
    c.l4.tcp.state = static_cast<TcpState>(s);
    EXPECT_STREQ(TcpTracker::state_name(c), expected[s]);
  }
}

// A packet of class `index`, far outside any window (so with be_liberal the
// window check passes without touching the window data).
test::Bytes cell_packet(int dir, int index) {
  const test::Endpoint c = test::ep4("10.99.0.2", 40000);
  const test::Endpoint s = test::ep4("10.99.0.3", 80);
  static const std::uint8_t flags[6] = {SYN, SYN | ACK, FIN | ACK, ACK, RST, 0};
  TcpSpec spec = seg(flags[index], 0x40000000u, 0x40000000u, 1000);
  return dir == 0 ? test::tcp(c, s, spec) : test::tcp(s, c, spec);
}

Conn prepared(TcpState old, Timestamp now) {
  Conn c;
  c.orig = tcp_tuple(test::ep4("10.99.0.2", 40000), test::ep4("10.99.0.3", 80));
  c.status = kStatusConfirmed | kStatusSeenReply | kStatusAssured;
  c.expires = now + seconds(1000);
  TcpConnState& t = c.l4.tcp;
  t.state = old;
  t.last_index = tcp::kNoneSet;
  t.last_win = 1;  // not a zero window
  for (TcpDirState& d : t.seen) {
    d.td_maxwin = 1;
    d.td_end = 0;
    d.td_maxend = 0;
  }
  return c;
}

// Every (dir, index, old state): sIV is INVALID, sIG (and a SYN_SENT result
// on a closed entry without the re-open condition) is accepted without any
// change, every other cell moves to the table's state with its timeout.
TEST(TcpStateTable, EveryCellThroughTracker) {
  Direct d;
  d.cfg.tcp_be_liberal = true;
  for (int dir = 0; dir < 2; ++dir) {
    for (int index = 0; index < 6; ++index) {
      for (int old = 0; old < 10; ++old) {
        SCOPED_TRACE(testing::Message() << "dir " << dir << " index " << index << " old " << old);
        const TcpState old_state = static_cast<TcpState>(old);
        const TcpState cell = reference_cell(dir, index, old);
        Conn c = prepared(old_state, d.now);
        const Packet& p = d.parse(cell_packet(dir, index));
        const L4Result r =
            TcpTracker::packet(c, p, dir ? Direction::Reply : Direction::Original, d.ctx());
        const bool ignored = cell == tcp::sIG || (cell == TcpState::SynSent && old >= 7);
        if (cell == tcp::sIV) {
          EXPECT_EQ(r.verdict, L4Verdict::Invalid);
          EXPECT_EQ(r.reason, InvalidReason::TcpInvalidState);
          EXPECT_EQ(c.l4.tcp.state, old_state);
          EXPECT_EQ(c.expires, d.now + seconds(1000));
        } else if (ignored) {
          EXPECT_EQ(r.verdict, L4Verdict::Accept);
          EXPECT_EQ(c.l4.tcp.state, old_state);
          EXPECT_EQ(c.expires, d.now + seconds(1000));
          EXPECT_EQ(c.l4.tcp.last_index, index);  // annotated
          EXPECT_EQ(c.l4.tcp.last_dir, dir);
        } else {
          EXPECT_EQ(r.verdict, L4Verdict::Accept);
          EXPECT_EQ(c.l4.tcp.state, cell);
          const std::uint32_t t = index == tcp::kRstSet
                                      ? d.cfg.tcp.close
                                      : d.cfg.tcp.*tcp::kStateTimeout[static_cast<int>(cell)];
          EXPECT_EQ(c.expires, d.now + seconds(t));
          EXPECT_EQ(c.l4.tcp.last_index, index);
        }
      }
    }
  }
}

// SYN on a closed entry (table result SYN_SENT from TIME_WAIT / CLOSE):
// re-open when a FIN went by (CLOSE_INIT) or this side sent the last RST.
TEST(TcpStateTable, ReopenConditions) {
  Direct d;
  d.cfg.tcp_be_liberal = true;
  struct Case {
    int dir;
    TcpState old;
  };
  const Case cases[] = {{0, TcpState::TimeWait}, {0, TcpState::Close}, {1, TcpState::TimeWait}};
  for (const Case& k : cases) {
    const Direction dir = k.dir ? Direction::Reply : Direction::Original;
    for (int side = 0; side < 2; ++side) {
      Conn c = prepared(k.old, d.now);
      c.l4.tcp.seen[side].flags |= tcp::kDirCloseInit;
      EXPECT_EQ(
          TcpTracker::packet(c, d.parse(cell_packet(k.dir, tcp::kSynSet)), dir, d.ctx()).verdict,
          L4Verdict::Repeat);
    }
    Conn c = prepared(k.old, d.now);
    c.l4.tcp.last_index = tcp::kRstSet;
    c.l4.tcp.last_dir = static_cast<std::uint8_t>(k.dir);
    EXPECT_EQ(
        TcpTracker::packet(c, d.parse(cell_packet(k.dir, tcp::kSynSet)), dir, d.ctx()).verdict,
        L4Verdict::Repeat);
    // The other side's RST: the SYN is only ignored.
    c = prepared(k.old, d.now);
    c.l4.tcp.last_index = tcp::kRstSet;
    c.l4.tcp.last_dir = static_cast<std::uint8_t>(1 - k.dir);
    EXPECT_EQ(
        TcpTracker::packet(c, d.parse(cell_packet(k.dir, tcp::kSynSet)), dir, d.ctx()).verdict,
        L4Verdict::Accept);
    EXPECT_EQ(c.l4.tcp.state, k.old);
  }
  // A reply SYN in CLOSE is sIV, CLOSE_INIT or not.
  Conn c = prepared(TcpState::Close, d.now);
  c.l4.tcp.seen[0].flags |= tcp::kDirCloseInit;
  const L4Result r =
      TcpTracker::packet(c, d.parse(cell_packet(1, tcp::kSynSet)), Direction::Reply, d.ctx());
  EXPECT_EQ(r.verdict, L4Verdict::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::TcpInvalidState);
}

// An ignored ORIGINAL SYN records its options; in LAST_ACK it also expects
// a challenge ACK (§1.5).
TEST(TcpStateTable, IgnoredSynAnnotations) {
  Direct d;
  for (TcpState old : {TcpState::Established, TcpState::LastAck}) {
    Conn c = prepared(old, d.now);
    TcpSpec s = seg(SYN, 300000, 0, 1234);
    s.opts.wscale = 9;
    s.opts.sack_perm = true;
    s.payload_len = 4;
    const Packet& p =
        d.parse(test::tcp(test::ep4("10.99.0.2", 40000), test::ep4("10.99.0.3", 80), s));
    EXPECT_EQ(TcpTracker::packet(c, p, Direction::Original, d.ctx()).verdict, L4Verdict::Accept);
    const TcpConnState& t = c.l4.tcp;
    EXPECT_EQ(t.state, old);
    EXPECT_EQ(t.last_index, tcp::kSynSet);
    EXPECT_EQ(t.last_dir, 0);
    EXPECT_EQ(t.last_seq, 300000u);
    EXPECT_EQ(t.last_end, 300005u);  // seq + 4 bytes + SYN
    EXPECT_EQ(t.last_win, 1234);
    EXPECT_EQ(t.last_wscale, 9);
    std::uint8_t flags = tcp::kDirWindowScale | tcp::kDirSackPerm;
    if (old == TcpState::LastAck) flags |= tcp::kLastExpChallengeAck;
    EXPECT_EQ(t.last_flags, flags);
    EXPECT_EQ(c.expires, d.now + seconds(1000));
  }
}

TEST(TcpStateTable, GcEarlyDropClosingOrUnassured) {
  for (int s = 0; s < 10; ++s) {
    Conn c;
    c.l4.tcp.state = static_cast<TcpState>(s);
    EXPECT_TRUE(TcpTracker::gc_can_early_drop(c)) << s;  // not assured
    c.status = kStatusAssured;
    const bool closing = s >= 4 && s <= 8;  // FIN_WAIT .. CLOSE
    EXPECT_EQ(TcpTracker::gc_can_early_drop(c), closing) << s;
  }
}

// Result::tcp_before: what each packet moved the entry from (the text
// output's "BEFORE->AFTER"), through a whole connection and its re-open.
TEST(TcpStateTable, EngineReportsTheStateEachPacketMovedFrom) {
  Flow f;
  auto step = [&f](bool orig, const TcpSpec& s, TcpState before, TcpState after) {
    const Result r = orig ? f.O(s) : f.R(s);
    ASSERT_NE(r.conn, nullptr);
    EXPECT_EQ(r.tcp_before, before);
    EXPECT_EQ(r.conn->l4.tcp.state, after);
  };
  step(true, seg(SYN, 1000), TcpState::None, TcpState::SynSent);
  step(false, seg(SYN | ACK, 5000, 1001), TcpState::SynSent, TcpState::SynRecv);
  step(true, seg(ACK, 1001, 5001), TcpState::SynRecv, TcpState::Established);
  step(true, seg(PSH | ACK, 1001, 5001), TcpState::Established, TcpState::Established);
  step(true, seg(FIN | ACK, 1001, 5001), TcpState::Established, TcpState::FinWait);
  step(false, seg(FIN | ACK, 5001, 1002), TcpState::FinWait, TcpState::LastAck);
  step(true, seg(ACK, 1002, 5002), TcpState::LastAck, TcpState::TimeWait);
  // A new SYN replaces the TIME_WAIT entry: the old entry's state is what
  // the packet moved from, the fresh entry is SYN_SENT.
  f.advance(1);
  step(true, seg(SYN, 90000), TcpState::TimeWait, TcpState::SynSent);
  EXPECT_EQ(f.eng.stats().created, 2u);
  // A packet INVALID before any lookup carries no state; a UDP packet none.
  TcpSpec bad = seg(SYN | FIN, 90000);
  EXPECT_EQ(f.O(bad).tcp_before, TcpState::None);
  EXPECT_EQ(f.eng.process(test::udp(f.client, f.server, "x"), f.now).tcp_before, TcpState::None);
}

}  // namespace
}  // namespace ctrack::tcptest

// Every TCP state timeout, just before and just after expiry, in both
// profiles (linux-tcp.md §7.1 and the §7.2 "Iptables Tutorial" column), and
// what happens to a packet after expiry.
#include <gtest/gtest.h>

#include <functional>

#include "tcp_test_helpers.h"

namespace ctrack::tcptest {
namespace {

struct StateCase {
  const char* name;
  TcpState state;
  std::int64_t linux_secs;
  std::int64_t classic_secs;
  std::function<void(Flow&)> reach;
};

void to_fin_wait(Flow& f) {
  f.open();
  f.O(seg(FIN | ACK, 1001, 5001, 502));
}
void to_close_wait(Flow& f) {
  to_fin_wait(f);
  f.R(seg(ACK, 5001, 1002));
}
void to_last_ack(Flow& f) {
  to_close_wait(f);
  f.R(seg(FIN | ACK, 5001, 1002));
}
void to_time_wait(Flow& f) {
  to_last_ack(f);
  f.O(seg(ACK, 1002, 5002, 502));
}

const StateCase kCases[] = {
    {"SYN_SENT", TcpState::SynSent, 120, 120, [](Flow& f) { f.O(seg(SYN, 1000)); }},
    {"SYN_RECV", TcpState::SynRecv, 60, 60,
     [](Flow& f) {
       f.O(seg(SYN, 1000));
       f.R(seg(SYN | ACK, 5000, 1001));
     }},
    {"ESTABLISHED", TcpState::Established, 432000, 432000, [](Flow& f) { f.open(); }},
    {"FIN_WAIT", TcpState::FinWait, 120, 120, to_fin_wait},
    {"CLOSE_WAIT", TcpState::CloseWait, 60, 43200, to_close_wait},
    {"LAST_ACK", TcpState::LastAck, 30, 30, to_last_ack},
    {"TIME_WAIT", TcpState::TimeWait, 120, 120, to_time_wait},
    {"CLOSE", TcpState::Close, 10, 10,
     [](Flow& f) {
       f.open();
       f.R(seg(RST, 5001));
     }},
    {"SYN_SENT2", TcpState::SynSent2, 120, 120,
     [](Flow& f) {
       f.O(seg(SYN, 1000));
       f.R(seg(SYN, 5000));
     }},
};

class TcpTimeouts : public testing::TestWithParam<Profile> {
 protected:
  Config cfg() const { return GetParam() == Profile::Linux ? linux_cfg() : classic_cfg(); }
  std::int64_t secs(const StateCase& k) const {
    return GetParam() == Profile::Linux ? k.linux_secs : k.classic_secs;
  }
};

TEST_P(TcpTimeouts, EveryStateJustBeforeAndAfterExpiry) {
  for (const StateCase& k : kCases) {
    SCOPED_TRACE(k.name);
    Flow f(cfg());
    k.reach(f);
    ASSERT_EQ(f.state(), k.state);
    ASSERT_EQ(f.timeout(), secs(k));
    EXPECT_EQ(f.eng.timeout_left(*f.conn()), secs(k));
    const Timestamp set_at = f.now;
    // One nanosecond before the deadline the entry is alive...
    f.eng.expire(set_at + seconds(secs(k)) - 1);
    ASSERT_NE(f.eng.find(f.orig()), nullptr);
    EXPECT_NE(f.eng.find(f.rev()), nullptr);
    EXPECT_EQ(f.eng.timeout_left(*f.eng.find(f.orig())), 0);
    // ...at the deadline it is gone.
    f.eng.expire(set_at + seconds(secs(k)));
    EXPECT_EQ(f.eng.find(f.orig()), nullptr);
    EXPECT_EQ(f.eng.find(f.rev()), nullptr);
    EXPECT_TRUE(f.eng.entries().empty());
  }
}

// Without a GC pass: a packet arriving after expiry finds no entry and makes
// a fresh one; one second earlier it still belongs to the old entry.
TEST_P(TcpTimeouts, PacketAfterExpiryCreatesFreshEntry) {
  for (const StateCase& k : kCases) {
    SCOPED_TRACE(k.name);
    {
      Flow f(cfg());
      k.reach(f);
      const std::uint32_t id = f.conn()->id;
      f.advance(secs(k) - 1);
      const Result r = f.O(seg(SYN, 1000));  // the original SYN again
      ASSERT_NE(r.conn, nullptr);
      // A SYN on a live entry is never a fresh NEW entry unless it re-opens.
      if (k.state != TcpState::TimeWait && k.state != TcpState::Close) {
        EXPECT_EQ(f.conn()->id, id);
      }
    }
    Flow f(cfg());
    k.reach(f);
    const std::uint32_t id = f.conn()->id;
    f.advance(secs(k));
    const Result r = f.O(seg(SYN, 700000));
    EXPECT_EQ(r.state, CtState::New);
    ASSERT_NE(f.conn(), nullptr);
    EXPECT_NE(f.conn()->id, id);
    EXPECT_EQ(f.state(), TcpState::SynSent);
    EXPECT_TRUE(f.unreplied());
    EXPECT_FALSE(f.assured());
    EXPECT_EQ(f.timeout(), 120);
  }
}

TEST_P(TcpTimeouts, TimeoutsFollowTheSysctls) {
  Config c = cfg();
  ASSERT_TRUE(c.set("net.netfilter.nf_conntrack_tcp_timeout_established", "1000"));
  ASSERT_TRUE(c.set("nf_conntrack_tcp_timeout_syn_sent", "7"));
  Flow f(c);
  f.O(seg(SYN, 1000));
  EXPECT_EQ(f.timeout(), 7);
  f.R(seg(SYN | ACK, 5000, 1001));
  f.O(seg(ACK, 1001, 5001));
  EXPECT_EQ(f.timeout(), 1000);
  // The caps apply only when shorter than the state's value: 1000 > 300.
  f.O(data(PSH | ACK, 1001, 5001, 10));
  EXPECT_EQ(f.timeout(), 300);
}

INSTANTIATE_TEST_SUITE_P(Profiles, TcpTimeouts, testing::Values(Profile::Linux, Profile::Classic),
                         [](const testing::TestParamInfo<Profile>& i) {
                           return i.param == Profile::Linux ? std::string("Linux")
                                                            : std::string("Classic");
                         });

// §7.3 rule order and the caps.
TEST(TcpTimeoutRules, CapsOnlyWhenShorter) {
  // CLOSE_WAIT (60) is below the unacknowledged cap (300): data there keeps 60.
  Flow f;
  to_close_wait(f);
  f.R(data(PSH | ACK, 5001, 1002, 10));
  EXPECT_EQ(f.state(), TcpState::CloseWait);
  EXPECT_EQ(f.timeout(), 60);
}

TEST(TcpTimeoutRules, ClassicCloseWaitIsCappedByUnacknowledgedData) {
  Flow f(classic_cfg());
  to_close_wait(f);
  EXPECT_EQ(f.timeout(), 43200);
  f.R(data(PSH | ACK, 5001, 1002, 10));
  EXPECT_EQ(f.timeout(), 300);
  f.O(seg(ACK, 1002, 5011, 502));
  EXPECT_EQ(f.timeout(), 43200);
}

TEST(TcpTimeoutRules, MaxRetransSetting) {
  Config c = linux_cfg();
  c.tcp_max_retrans = 1;
  c.tcp.max_retrans = 200;
  Flow f(c);
  f.open();
  f.O(seg(ACK, 1001, 5001, 502));  // identical to the handshake ACK: retrans 1
  EXPECT_EQ(f.timeout(), 200);
}

TEST(TcpTimeoutRules, RstGetsCloseTimeoutEvenWhenStateKept) {
  // An in-window RST that is not exact keeps ESTABLISHED but takes CLOSE's 10 s.
  Flow f;
  f.open();
  const Result r = f.R(seg(RST, 5101));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_EQ(f.timeout(), 10);
}

TEST(TcpTimeoutRules, FixedTimeoutIsNeverRefreshed) {
  Direct d;
  Conn c;
  c.status = kStatusConfirmed | kStatusSeenReply | kStatusFixedTimeout;
  c.expires = d.now + seconds(5);
  c.l4.tcp.state = TcpState::Established;
  c.l4.tcp.seen[0].flags = c.l4.tcp.seen[1].flags = tcp::kDirBeLiberal;
  c.l4.tcp.seen[0].td_maxwin = c.l4.tcp.seen[1].td_maxwin = 1;
  const Packet& p =
      d.parse(test::tcp(test::ep4("10.99.0.2", 40000), test::ep4("10.99.0.3", 80), seg(ACK, 1, 1)));
  EXPECT_EQ(TcpTracker::packet(c, p, Direction::Original, d.ctx()).verdict, L4Verdict::Accept);
  EXPECT_EQ(c.expires, d.now + seconds(5));
  EXPECT_TRUE(c.has(kStatusAssured));
}

}  // namespace
}  // namespace ctrack::tcptest

namespace ctrack::tcptest {
namespace {

// §4.4 nf_tcp_handle_invalid: crossing out-of-window FIN/RST packets shorten
// an assured entry's timeout to the unacknowledged value, only if at least
// 120 s (and more than that value) are left.
TEST(TcpTimeoutRules, CrossingInvalidFinsShortenOnlyLongAssuredTimeouts) {
  {
    Flow f;
    f.open();
    EXPECT_EQ(f.O(seg(FIN | ACK, 1001001, 5001, 502)).state, CtState::Invalid);
    EXPECT_EQ(f.timeout(), 432000);
    EXPECT_EQ(f.R(seg(FIN | ACK, 10005001, 1001)).state, CtState::Invalid);
    EXPECT_EQ(f.timeout(), 300);
  }
  {
    // Same direction twice: no crossing, no change.
    Flow f;
    f.open();
    f.O(seg(FIN | ACK, 1001001, 5001, 502));
    f.O(seg(FIN | ACK, 1001001, 5001, 502));
    EXPECT_EQ(f.timeout(), 432000);
  }
  {
    // Invalid data (not FIN/RST) does not count.
    Flow f;
    f.open();
    f.O(data(PSH | ACK, 1001001, 5001, 10, 502));
    f.R(data(PSH | ACK, 10005001, 1001, 10));
    EXPECT_EQ(f.timeout(), 432000);
  }
  {
    // CLOSE_WAIT has 60 s left: below 120, left alone.
    Flow f;
    to_close_wait(f);
    f.O(seg(FIN | ACK, 1001001, 5002, 502));
    f.R(seg(FIN | ACK, 10005001, 1002));
    EXPECT_EQ(f.state(), TcpState::CloseWait);
    EXPECT_EQ(f.timeout(), 60);
  }
  {
    // Not assured (SYN_RECV, given a long timeout here): left alone.
    Config c = linux_cfg();
    c.tcp.syn_recv = 1000;
    c.tcp.max_retrans = 5000;  // no zero-window cap before the first ACK
    Flow f(c);
    f.O(seg(SYN, 1000));
    f.R(seg(SYN | ACK, 5000, 1001));
    ASSERT_FALSE(f.assured());
    EXPECT_EQ(f.O(seg(FIN | ACK, 1001001, 5001)).state, CtState::Invalid);
    EXPECT_EQ(f.R(seg(FIN | ACK, 10005001, 1001)).state, CtState::Invalid);
    EXPECT_EQ(f.state(), TcpState::SynRecv);
    EXPECT_EQ(f.timeout(), 1000);
  }
}

}  // namespace
}  // namespace ctrack::tcptest

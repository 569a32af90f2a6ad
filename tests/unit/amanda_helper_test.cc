// The Amanda helper at work in the engine (linux-core.md §7.7 and test vector
// 19 of §13, verified there on Linux 6.18): the client daemon's UDP reply
// from port 10080 names TCP ports; the backup server's connections to them
// are RELATED to the UDP exchange; every reply stretches the master's
// timeout to master_timeout.
#include <gtest/gtest.h>

#include <string>

#include "ftp_session.h"

namespace ctrack::test {
namespace {

// A is the Amanda server (sends the request), B the client daemon.
const Endpoint kServer = {kA, 850, false};
const Endpoint kDaemon = {kB, 10080, false};

Config amanda_config() {
  Config c = test_config(Profile::Linux);
  c.helpers.push_back(HelperAttachment{"amanda", kProtoUDP, 10080});
  return c;
}

const std::string kRequest = "Amanda 2.6 REQ HANDLE 000-00000000 SEQ 1\nSERVICE sendbackup\n";
std::string reply(const std::string& connect) {
  return "Amanda 2.6 REP HANDLE 000-00000000 SEQ 1\n" + connect + "\nOPTIONS features=ff;\n";
}

TEST(AmandaHelper, ConnectLineOpensThreeTcpPorts) {
  L4Engine e(amanda_config());
  EXPECT_EQ(e.send(0, udp(kServer, kDaemon, kRequest)).state, CtState::New);
  EXPECT_EQ(e.engine.expectation_count(), 0u);  // requests are not looked at
  const Result r =
      e.send(10, udp(kDaemon, kServer, reply("CONNECT DATA 50000 MESG 50001 INDEX 50002")));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_FALSE(r.dropped);
  const Conn* ctl = r.conn;
  ASSERT_NE(ctl, nullptr);
  EXPECT_EQ(ctl->helper, helper_id("amanda"));
  // Master refreshed to master_timeout (300 s), not the UDP 30/120 s.
  EXPECT_EQ(ctl->expires, ms(10) + seconds(300));

  // 179 l3proto = 2 proto=6 src=10.0.1.2 dst=10.0.2.2 sport=0 dport=5000x amanda
  const auto list = e.engine.expectations();
  ASSERT_EQ(list.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(list[i].tuple,
              make_tuple(kA, kB, false, kProtoTCP, 0, static_cast<std::uint16_t>(50000 + i)));
    EXPECT_FALSE(list[i].src_any());
    EXPECT_TRUE(list[i].sport_any());
    EXPECT_EQ(list[i].master_id, ctl->id);
    EXPECT_STREQ(helper_name(list[i].helper), "amanda");
    EXPECT_EQ(list[i].expires, ms(10) + seconds(180));
  }
  const std::uint32_t master = ctl->id;
  const Result d = e.send(20, syn({kA, 33000, false}, {kB, 50001, false}));
  EXPECT_EQ(d.state, CtState::Related);
  ASSERT_NE(d.conn, nullptr);
  EXPECT_EQ(d.conn->master, master);
  EXPECT_EQ(d.conn->helper, 0);
  EXPECT_EQ(e.engine.expectation_count(), 2u);
  // Only from the Amanda server's address.
  EXPECT_EQ(e.send(21, syn({kM, 33001, false}, {kB, 50000, false})).state, CtState::New);
}

TEST(AmandaHelper, StateIsAFourthPortAndFourIsTheLimit) {
  // Verified on 6.18: four expectations, and a fifth port evicts the oldest
  // (max_expected 4; linux-core.md §7.7 still says 3).
  L4Engine e(amanda_config());
  e.send(0, udp(kServer, kDaemon, kRequest));
  e.send(10, udp(kDaemon, kServer, reply("CONNECT DATA 50000 MESG 50001 INDEX 50002 STATE 50003")));
  ASSERT_EQ(e.engine.expectation_count(), 4u);
  // A second reply: max_expected 4 evicts the oldest for each new one.
  e.send(20, udp(kDaemon, kServer, reply("CONNECT DATA 50010 MESG 50011")));
  const auto list = e.engine.expectations();
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].tuple.dst_id, 50002);
  EXPECT_EQ(list[1].tuple.dst_id, 50003);
  EXPECT_EQ(list[2].tuple.dst_id, 50010);
  EXPECT_EQ(list[3].tuple.dst_id, 50011);
}

TEST(AmandaHelper, AnyReplyRefreshesTheMasterEvenWithoutConnect) {
  L4Engine e(amanda_config());
  e.send(0, udp(kServer, kDaemon, kRequest));
  const Result r = e.send(10, udp(kDaemon, kServer, "Amanda 2.6 ACK HANDLE 000 SEQ 1\n"));
  ASSERT_NE(r.conn, nullptr);
  EXPECT_EQ(r.conn->expires, ms(10) + seconds(300));
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  // Empty payload too.
  const Result r2 = e.send(20, udp(kDaemon, kServer, ""));
  EXPECT_EQ(r2.conn->expires, ms(20) + seconds(300));
  // The request direction is left to the UDP tracker (2 s after creation
  // with a reply seen: stream, 120 s).
  const Result q = e.send(3000, udp(kServer, kDaemon, kRequest));
  EXPECT_EQ(q.conn->expires, ms(3000) + seconds(120));

  Config c = amanda_config();
  c.amanda_master_timeout = 1000;
  L4Engine e2(c);
  e2.send(0, udp(kServer, kDaemon, kRequest));
  EXPECT_EQ(e2.send(10, udp(kDaemon, kServer, "x")).conn->expires, ms(10) + seconds(1000));
}

TEST(AmandaHelper, ConnectInTheRequestDirectionIsIgnored) {
  L4Engine e(amanda_config());
  e.send(0, udp(kServer, kDaemon, reply("CONNECT DATA 50000")));
  EXPECT_EQ(e.engine.expectation_count(), 0u);
}

TEST(AmandaHelper, MalformedRepliesPassAndExpectWhatTheKernelWould) {
  struct Case {
    const char* text;
    std::size_t want;
  };
  for (const Case& c :
       {Case{"CONNECT DATA 0 MESG 50001 INDEX 50002\n", 0},
        Case{"CONNECT DATA 50000 MESG 65536 INDEX 50002\n", 1},
        Case{"CONNECT DATA 50000 MESG 50001 INDEX 50002", 0},  // no '\n'
        Case{"CONNECT DATA 123456\n", 1}, Case{"connect DATA 50000\n", 0}, Case{"CONNECT\n", 0}}) {
    SCOPED_TRACE(c.text);
    L4Engine e(amanda_config());
    e.send(0, udp(kServer, kDaemon, kRequest));
    const Result r = e.send(10, udp(kDaemon, kServer, c.text));
    EXPECT_FALSE(r.dropped);
    EXPECT_EQ(e.engine.expectation_count(), c.want);
  }
}

TEST(AmandaHelper, ConnectLineSplitOverTwoDatagramsExpectsNothing) {
  L4Engine e(amanda_config());
  e.send(0, udp(kServer, kDaemon, kRequest));
  e.send(10, udp(kDaemon, kServer, "CONNECT DATA 50000 MESG"));
  e.send(11, udp(kDaemon, kServer, " 50001 INDEX 50002\n"));
  EXPECT_EQ(e.engine.expectation_count(), 0u);
}

TEST(AmandaHelper, RefusedExpectationDropsButTheOthersStay) {
  // Another master already expects the same tuple (same two hosts, port
  // 50001): -EBUSY for that one, the packet is dropped, the other ports of
  // the line are still registered.
  L4Engine e(amanda_config());
  e.send(0, udp(kServer, kDaemon, kRequest));
  e.send(10, udp(kDaemon, kServer, reply("CONNECT MESG 50001")));
  const Endpoint server2 = {kA, 851, false};
  e.send(20, udp(server2, kDaemon, kRequest));
  const Result r =
      e.send(30, udp(kDaemon, server2, reply("CONNECT DATA 50000 MESG 50001 INDEX 50002")));
  EXPECT_TRUE(r.dropped);
  EXPECT_TRUE(r.helper_drop);
  EXPECT_EQ(e.engine.expectation_count(), 3u);  // 50001 (first master), 50000, 50002
}

TEST(AmandaHelper, Ipv6) {
  L4Engine e(amanda_config());
  const Endpoint s6 = {a6(), 850, true};
  const Endpoint d6 = {b6(), 10080, true};
  e.send(0, udp(s6, d6, kRequest));
  e.send(10, udp(d6, s6, reply("CONNECT DATA 50000")));
  const auto list = e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tuple, make_tuple(a6(), b6(), true, kProtoTCP, 0, 50000));
  EXPECT_EQ(e.send(20, syn({a6(), 33000, true}, {b6(), 50000, true})).state, CtState::Related);
}

TEST(AmandaHelper, ExpectationTimeoutIs180Seconds) {
  L4Engine e(amanda_config());
  e.send(0, udp(kServer, kDaemon, kRequest));
  e.send(10, udp(kDaemon, kServer, reply("CONNECT DATA 50000")));
  e.engine.expire(ms(10) + seconds(180) - 1);
  EXPECT_EQ(e.engine.expectation_count(), 1u);
  e.engine.expire(ms(10) + seconds(180));
  EXPECT_EQ(e.engine.expectation_count(), 0u);
}

}  // namespace
}  // namespace ctrack::test

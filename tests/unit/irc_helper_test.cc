// The IRC helper at work in the engine (linux-core.md §7.5 and test vector 17
// of §13, verified there on Linux 6.18): a client's DCC offer leaves an
// expectation for its announced port from any host, the peer's connection is
// RELATED to the IRC connection; RESUME, NOTICE, server-sent and forged
// offers leave nothing; max_dcc_channels and dcc_timeout apply.
#include <gtest/gtest.h>

#include <string>

#include "ftp_session.h"

namespace ctrack::test {
namespace {

const Endpoint kClient = {kA, 40400, false};  // 10.0.1.2 = 167772418
const Endpoint kServer = {kB, 6667, false};
const Addr kPeer = Addr::v4(10, 0, 2, 77);

Config irc_config() {
  Config c = test_config(Profile::Linux);
  c.helpers.push_back(HelperAttachment{"irc", kProtoTCP, 6667});
  return c;
}

std::string send_offer(std::uint16_t port, const char* ip = "167772418") {
  return std::string("PRIVMSG bob :\1DCC SEND file.txt ") + ip + " " + std::to_string(port) +
         " 1234\1\r\n";
}

// The IRC connection after its handshake (the first data segment is parsed:
// the IRC helper keeps no line bookkeeping).
struct IrcSession {
  explicit IrcSession(const Config& c = irc_config()) : e(c), s(e, kClient, kServer) {
    s.handshake(0);
  }
  L4Engine e;
  FtpSession s;
};

TEST(IrcHelper, DccSendOpensTheClientsPortToAnyHost) {
  IrcSession t;
  const Result r = t.s.client(10, send_offer(40500));
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_FALSE(r.dropped);
  const Conn* ctl = t.s.control();
  ASSERT_NE(ctl, nullptr);
  EXPECT_EQ(ctl->helper, helper_id("irc"));

  // 299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.0.1.2 sport=0 dport=40500 irc
  const auto list = t.e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  const Expectation& x = list[0];
  EXPECT_EQ(x.tuple, make_tuple(Addr{}, kA, false, kProtoTCP, 0, 40500));
  EXPECT_TRUE(x.src_any());
  EXPECT_TRUE(x.sport_any());
  EXPECT_EQ(x.master_id, ctl->id);
  EXPECT_STREQ(helper_name(x.helper), "irc");
  EXPECT_EQ(x.child_helper, 0);
  EXPECT_EQ(x.expires, ms(10) + seconds(300));

  // Anyone: here a host that is not the IRC server.
  const Result d = t.e.send(1000, syn({kPeer, 51000, false}, {kA, 40500, false}));
  EXPECT_EQ(d.state, CtState::Related);
  ASSERT_NE(d.conn, nullptr);
  EXPECT_TRUE(d.conn->has(kStatusExpected));
  EXPECT_EQ(d.conn->master, ctl->id);
  EXPECT_EQ(d.conn->helper, 0);
  EXPECT_EQ(t.e.engine.expectation_count(), 0u);  // consumed

  TcpSpec sa;
  sa.flags = SYN | ACK;
  sa.seq = 9000;
  sa.ack = 7001;
  EXPECT_EQ(t.e.send(1001, tcp({kA, 40500, false}, {kPeer, 51000, false}, sa)).state,
            CtState::Established);
}

TEST(IrcHelper, TheIrcServerMayConnectToo) {
  IrcSession t;
  t.s.client(10, send_offer(40500));
  const Result d = t.e.send(20, syn({kB, 43614, false}, {kA, 40500, false}));
  EXPECT_EQ(d.state, CtState::Related);
  EXPECT_EQ(d.conn->master, t.s.control()->id);
}

TEST(IrcHelper, DccChatToo) {
  IrcSession t;
  t.s.client(10, "PRIVMSG bob :\1DCC CHAT chat 167772418 59214\1\r\n");
  ASSERT_EQ(t.e.engine.expectation_count(), 1u);
  EXPECT_EQ(t.e.engine.expectations()[0].tuple.dst_id, 59214);
}

TEST(IrcHelper, IgnoredMessagesLeaveNothingAndPass) {
  for (const std::string& m : {
           std::string("PRIVMSG bob :\1DCC RESUME file.txt 40500 1024\1\r\n"),
           std::string("PRIVMSG bob :\1DCC ACCEPT file.txt 40500 1024\1\r\n"),
           std::string("NOTICE bob :\1DCC SEND file.txt 167772418 40500 1234\1\r\n"),
           send_offer(40500, "167772419"),                             // 10.0.1.3: forged
           send_offer(0),                                              // port 0: forged
           send_offer(40500).substr(0, send_offer(40500).size() - 1),  // no '\n'
       }) {
    SCOPED_TRACE(m);
    IrcSession t;
    const Result r = t.s.client(10, m);
    EXPECT_FALSE(r.dropped);
    EXPECT_FALSE(r.helper_drop);
    EXPECT_EQ(t.e.engine.expectation_count(), 0u);
  }
}

TEST(IrcHelper, OffersFromTheServerAreIgnored) {
  IrcSession t;
  // "...a DCC sent by the server (B->A)": even naming the client's address.
  EXPECT_FALSE(t.s.server(10, send_offer(40500)).dropped);
  EXPECT_FALSE(
      t.s.server(11, "PRIVMSG bob :\1DCC SEND file.txt 167772674 40500 1234\1\r\n").dropped);
  EXPECT_EQ(t.e.engine.expectation_count(), 0u);
}

TEST(IrcHelper, OfferSplitAcrossSegmentsIsNotReassembled) {
  IrcSession t;
  const std::string m = send_offer(40500);
  const std::size_t cut = m.find("40500");
  t.s.client(10, m.substr(0, cut));
  t.s.client(11, m.substr(cut));
  EXPECT_EQ(t.e.engine.expectation_count(), 0u);
  // The next complete one is found: no state was kept from the pieces.
  t.s.client(12, send_offer(40501));
  EXPECT_EQ(t.e.engine.expectation_count(), 1u);
}

TEST(IrcHelper, OfferBeyondTheSearchWindowIsIgnored) {
  IrcSession t;
  const std::string big = "PRIVMSG bob :" + std::string(4100, 'x') + "\r\n";
  EXPECT_FALSE(t.s.client(10, big).dropped);
  // Blanks then an offer ending after byte 4095.
  const std::string offer = send_offer(40500);
  EXPECT_FALSE(t.s.client(11, std::string(4096 - offer.size() + 1, ' ') + offer).dropped);
  EXPECT_EQ(t.e.engine.expectation_count(), 0u);
  t.s.client(12, std::string(4095 - offer.size(), ' ') + offer);
  EXPECT_EQ(t.e.engine.expectation_count(), 1u);
}

TEST(IrcHelper, MaxDccChannelsEvictsTheOldest) {
  IrcSession t;
  for (std::uint16_t i = 0; i < 9; ++i) t.s.client(10 + i, send_offer(40500 + i));
  auto list = t.e.engine.expectations();
  ASSERT_EQ(list.size(), 8u);
  for (const Expectation& x : list) EXPECT_NE(x.tuple.dst_id, 40500);  // the first is gone
  EXPECT_EQ(t.e.engine.stats().expect_create, 9u);
  EXPECT_EQ(t.e.engine.stats().expect_delete, 1u);
  EXPECT_EQ(t.e.send(100, syn({kPeer, 51000, false}, {kA, 40500, false})).state, CtState::New);
  EXPECT_EQ(t.e.send(101, syn({kPeer, 51001, false}, {kA, 40508, false})).state, CtState::Related);

  Config c = irc_config();
  c.irc_max_dcc_channels = 2;
  IrcSession two(c);
  for (std::uint16_t i = 0; i < 3; ++i) two.s.client(10 + i, send_offer(40500 + i));
  list = two.e.engine.expectations();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].tuple.dst_id, 40501);
  EXPECT_EQ(list[1].tuple.dst_id, 40502);
}

TEST(IrcHelper, DccTimeout) {
  Config c = irc_config();
  c.irc_dcc_timeout = 60;
  IrcSession t(c);
  t.s.client(10, send_offer(40500));
  ASSERT_EQ(t.e.engine.expectation_count(), 1u);
  EXPECT_EQ(t.e.engine.expectations()[0].expires, ms(10) + seconds(60));
  t.e.engine.expire(ms(10) + seconds(60) - 1);
  EXPECT_EQ(t.e.engine.expectation_count(), 1u);
  t.e.engine.expire(ms(10) + seconds(60));
  EXPECT_EQ(t.e.engine.expectation_count(), 0u);
  EXPECT_EQ(t.e.send(70000, syn({kPeer, 51000, false}, {kA, 40500, false})).state, CtState::New);
}

TEST(IrcHelper, RepeatedOfferRestartsTheSameExpectation) {
  IrcSession t;
  t.s.client(10, send_offer(40500));
  t.s.client(5000, send_offer(40500));
  const auto list = t.e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].expires, ms(5000) + seconds(300));
}

TEST(IrcHelper, SamePortOfferedOnAnotherConnectionIsDropped) {
  // Verified on 6.18: the second connection's segment never reaches the
  // server while the first expectation lives.
  // The second IRC connection's expectation overlaps the first one's (any
  // source, same destination): -EBUSY, "cannot add expectation" -> drop.
  IrcSession t;
  t.s.client(10, send_offer(40500));
  FtpSession second(t.e, {kA, 40401, false}, kServer);
  second.handshake(20);
  const Result r = second.client(30, send_offer(40500));
  EXPECT_TRUE(r.dropped);
  EXPECT_TRUE(r.helper_drop);
  ASSERT_EQ(t.e.engine.expectation_count(), 1u);
  EXPECT_EQ(t.e.engine.expectations()[0].master_id, t.s.control()->id);
}

TEST(IrcHelper, ExpectationsDieWithTheirMaster) {
  IrcSession t;
  t.s.client(10, send_offer(40500));
  TcpSpec rst;
  rst.flags = RST | ACK;
  rst.seq = t.s.cseq();
  rst.ack = 5001;
  ASSERT_NE(t.e.send(20, tcp(kClient, kServer, rst)).state, CtState::Invalid);
  t.e.engine.expire(ms(20) + seconds(10));
  EXPECT_EQ(t.s.control(), nullptr);
  EXPECT_EQ(t.e.engine.expectation_count(), 0u);
}

TEST(IrcHelper, Ipv4OnlyHelper) {
  // The irc helper is registered for AF_INET only: an IPv6 connection to
  // port 6667 gets no helper.
  L4Engine e(irc_config());
  FtpSession s(e, {a6(), 40400, true}, {b6(), 6667, true});
  s.handshake(0);
  s.client(10, send_offer(40500));
  ASSERT_NE(s.control(), nullptr);
  EXPECT_EQ(s.control()->helper, 0);
  EXPECT_EQ(e.engine.expectation_count(), 0u);
}

TEST(IrcHelper, ClassicProfileAttachesOnPort6667) {
  Config c = test_config(Profile::Classic);
  ASSERT_TRUE(c.auto_helpers);
  IrcSession t(c);
  t.s.client(10, send_offer(40500));
  EXPECT_EQ(t.s.control()->helper, helper_id("irc"));
  EXPECT_EQ(t.e.engine.expectation_count(), 1u);
}

}  // namespace
}  // namespace ctrack::test

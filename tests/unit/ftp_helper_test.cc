// The FTP helper at work in the engine (linux-core.md §7.4 and test vectors
// 13-16 of §13, verified there on Linux 6.18): which segments are parsed,
// the expectation each command leaves, the RELATED data connection and its
// master, drops of commands that start right but do not parse.
#include <gtest/gtest.h>

#include "ftp_session.h"

namespace ctrack::test {
namespace {

const Endpoint kClient = {kA, 40100, false};
const Endpoint kServer = {kB, 21, false};

const Expectation* only_expectation(const std::vector<Expectation>& v) {
  return v.size() == 1 ? &v[0] : nullptr;
}

TEST(FtpHelper, ActivePortOpensTheServersDataConnectionAsRelated) {
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  const Result r = s.client(20, "PORT 10,0,1,2,156,65\r\n");
  EXPECT_EQ(r.state, CtState::Established);
  EXPECT_FALSE(r.dropped);
  const Conn* ctl = s.control();
  ASSERT_NE(ctl, nullptr);
  EXPECT_EQ(ctl->helper, helper_id("ftp"));

  // Listed before the data connection arrives:
  // 299 l3proto = 2 proto=6 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=40001 ftp
  const auto list = e.engine.expectations();
  const Expectation* x = only_expectation(list);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->tuple, make_tuple(kB, kA, false, kProtoTCP, 0, 40001));
  EXPECT_TRUE(x->sport_any());
  EXPECT_FALSE(x->src_any());
  EXPECT_EQ(x->master_id, ctl->id);
  EXPECT_STREQ(helper_name(x->helper), "ftp");
  EXPECT_EQ(x->expires, ms(20) + seconds(300));
  EXPECT_EQ(e.engine.stats().expect_create, 1u);

  // B:20 -> A:40001 SYN: RELATED, child of the control connection.
  const Endpoint data_b = {kB, 20, false};
  const Endpoint data_a = {kA, 40001, false};
  const Result d = e.send(1000, syn(data_b, data_a));
  EXPECT_EQ(d.state, CtState::Related);
  ASSERT_NE(d.conn, nullptr);
  EXPECT_TRUE(d.conn->has(kStatusExpected));
  EXPECT_EQ(d.conn->master, ctl->id);
  EXPECT_EQ(d.conn->helper, 0);                 // FTP children get no helper
  EXPECT_EQ(e.engine.expectation_count(), 0u);  // consumed
  EXPECT_EQ(e.engine.stats().expect_new, 1u);
  EXPECT_EQ(e.engine.stats().expect_delete, 1u);

  // SYN/ACK from A is ESTABLISHED (reply); the final ACK too.
  TcpSpec sa;
  sa.flags = SYN | ACK;
  sa.seq = 9000;
  sa.ack = 7001;
  EXPECT_EQ(e.send(1001, tcp(data_a, data_b, sa)).state, CtState::Established);
  TcpSpec a;
  a.flags = ACK;
  a.seq = 7001;
  a.ack = 9001;
  const Result last = e.send(1002, tcp(data_b, data_a, a));
  EXPECT_EQ(last.state, CtState::Established);
  EXPECT_TRUE(last.conn->has(kStatusAssured));
}

TEST(FtpHelper, ExpectationTimeoutIsFiveMinutesOfPacketTime) {
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  s.client(20, "PORT 10,0,1,2,156,65\r\n");
  // A fresh 300-s expectation prints 299 one tick later, as in /proc.
  e.engine.expire(ms(21));
  ASSERT_EQ(e.engine.expectations().size(), 1u);
  EXPECT_EQ(e.engine.timeout_left(e.engine.expectations()[0]), 299);
  e.engine.expire(ms(20) + seconds(300) - 1);
  EXPECT_EQ(e.engine.expectation_count(), 1u);
  e.engine.expire(ms(20) + seconds(300));
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  EXPECT_EQ(e.engine.stats().expect_delete, 1u);
  // Too late: the data connection is an ordinary NEW one.
  const Result d = e.send(400000, syn({kB, 20, false}, {kA, 40001, false}));
  EXPECT_EQ(d.state, CtState::New);
  EXPECT_EQ(d.conn->master, kNoConn);
}

TEST(FtpHelper, FirstSegmentOfEachDirectionIsNeverParsed) {
  // Vector 14: the very first client segment is a PORT; it passes but
  // expects nothing. The next one is parsed.
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  EXPECT_FALSE(s.client(10, "PORT 10,0,1,2,156,70\r\n").dropped);
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  EXPECT_FALSE(s.client(11, "PORT 10,0,1,2,156,71\r\n").dropped);
  const auto list = e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tuple.dst_id, 40007);
}

TEST(FtpHelper, FirstServerSegmentIsNeverParsedEither) {
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.server(10, "227 Entering Passive Mode (10,0,2,2,195,80).\r\n");
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  s.server(11, "227 Entering Passive Mode (10,0,2,2,195,81).\r\n");
  ASSERT_EQ(e.engine.expectation_count(), 1u);
  EXPECT_EQ(e.engine.expectations()[0].tuple.dst_id, 50001);
}

TEST(FtpHelper, PassivePasvThenEpsvReplacesThePendingExpectation) {
  // Vector 15.
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  s.client(20, "PASV\r\n");
  s.server(21, "227 Entering Passive Mode (10,0,2,2,195,80).\r\n");
  auto list = e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tuple, make_tuple(kA, kB, false, kProtoTCP, 0, 50000));
  s.client(22, "EPSV\r\n");
  s.server(23, "229 Entering Extended Passive Mode (|||50001|)\r\n");
  list = e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);  // max_expected 1: the oldest was evicted
  EXPECT_EQ(list[0].tuple, make_tuple(kA, kB, false, kProtoTCP, 0, 50001));
  EXPECT_EQ(e.engine.stats().expect_create, 2u);
  EXPECT_EQ(e.engine.stats().expect_delete, 1u);
  // The evicted one no longer relates anything.
  EXPECT_EQ(e.send(30, syn({kA, 41234, false}, {kB, 50000, false})).state, CtState::New);
  const Result d = e.send(31, syn({kA, 41235, false}, {kB, 50001, false}));
  EXPECT_EQ(d.state, CtState::Related);
  EXPECT_EQ(d.conn->master, s.control()->id);
}

TEST(FtpHelper, DataConnectionFromAnotherSourceAddressIsNotRelated) {
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  s.server(21, "227 Entering Passive Mode (10,0,2,2,195,80).\r\n");
  EXPECT_EQ(e.send(30, syn({kOther, 41234, false}, {kB, 50000, false})).state, CtState::New);
  EXPECT_EQ(e.engine.expectation_count(), 1u);
  EXPECT_EQ(e.send(31, syn({kA, 41234, false}, {kB, 50000, false})).state, CtState::Related);
}

TEST(FtpHelper, MalformedCommandsAreDroppedAndNotRemembered) {
  // Vector 16 and the verified partial-match cases.
  for (const char* bad :
       {"PORT 10,0,1,2,156\r\n", "PORT 10,0,1,2,156,67\n", "PORT  10,0,1,2,156,67\r\n",
        "EPRT |2|fd00:1::2|40001|\r\n", "POR", "PORT 10,0,1,2,156,67"}) {
    SCOPED_TRACE(bad);
    L4Engine e(ftp_config());
    FtpSession s(e, kClient, kServer);
    s.handshake(0);
    s.login(10);
    const Result r = s.client(20, bad);
    EXPECT_TRUE(r.dropped);
    EXPECT_TRUE(r.helper_drop);
    EXPECT_EQ(r.state, CtState::Established);  // the state rules saw
    EXPECT_EQ(e.engine.expectation_count(), 0u);
    EXPECT_NE(s.control(), nullptr);  // the control connection lives on
    // The line bookkeeping was not touched: a good command at the same
    // sequence number (the client's retransmission) is parsed.
    EXPECT_FALSE(s.client(30, "PORT 10,0,1,2,156,67\r\n").dropped);
    EXPECT_EQ(e.engine.expectation_count(), 1u);
  }
}

TEST(FtpHelper, ThirdHostAddressIsAcceptedButExpectsNothing) {
  // FTP bounce: PORT naming 10.0.1.99 instead of the client.
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  const Result r = s.client(20, "PORT 10,0,1,99,156,67\r\n");
  EXPECT_FALSE(r.dropped);
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  // The line was still recorded: the next command is parsed.
  s.client(21, "PORT 10,0,1,2,156,68\r\n");
  EXPECT_EQ(e.engine.expectation_count(), 1u);
}

TEST(FtpHelper, LooseAcceptsAThirdHost) {
  Config c = ftp_config();
  c.ftp_loose = true;
  L4Engine e(c);
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  s.client(20, "PORT 10,0,1,99,156,67\r\n");
  const auto list = e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tuple, make_tuple(kB, Addr::v4(10, 0, 1, 99), false, kProtoTCP, 0, 40003));
}

TEST(FtpHelper, CommandMustStartTheSegment) {
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  s.client(20, "NOOP\r\nPORT 10,0,1,2,156,65\r\n");
  EXPECT_EQ(e.engine.expectation_count(), 0u);
}

TEST(FtpHelper, SegmentNotEndingALineHidesTheNextOne) {
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  s.client(20, "NOOP");  // no newline: the next segment does not start a line
  s.client(21, "\r\n");
  s.client(22, "PORT 10,0,1,2,156,65\r\n");  // follows "\r\n" at a known seq
  EXPECT_EQ(e.engine.expectation_count(), 1u);

  L4Engine e2(ftp_config());
  FtpSession s2(e2, kClient, kServer);
  s2.handshake(0);
  s2.login(10);
  s2.client(20, "NOOP");
  s2.client(21, "PORT 10,0,1,2,156,65\r\n");  // mid-line: not parsed
  EXPECT_EQ(e2.engine.expectation_count(), 0u);
}

TEST(FtpHelper, CaseInsensitiveAndTrailingLetters) {
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  s.client(20, "portx 10,0,1,2,156,65\r\n");
  ASSERT_EQ(e.engine.expectation_count(), 1u);
  EXPECT_EQ(e.engine.expectations()[0].tuple.dst_id, 40001);
}

TEST(FtpHelper, OutOfRangeNumbersAreOredAsTheKernelDoes) {
  // Verified on 6.18: PORT 10,0,1,258,156,75 -> 10.0.1.2 port 40011.
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  s.client(20, "PORT 10,0,1,258,156,75\r\n");
  ASSERT_EQ(e.engine.expectation_count(), 1u);
  EXPECT_EQ(e.engine.expectations()[0].tuple.dst_id, 40011);
}

TEST(FtpHelper, PortZeroIsAccepted) {
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  s.client(20, "PORT 10,0,1,2,0,0\r\n");
  ASSERT_EQ(e.engine.expectation_count(), 1u);
  EXPECT_EQ(e.engine.expectations()[0].tuple.dst_id, 0);
}

TEST(FtpHelper, Ipv6EprtAndEpsv) {
  L4Engine e(ftp_config());
  const Endpoint c6 = {a6(), 40100, true};
  const Endpoint s6 = {b6(), 21, true};
  FtpSession s(e, c6, s6);
  s.handshake(0);
  s.login(10);
  s.client(20, "EPRT |2|fd00:1::2|40001|\r\n");
  auto list = e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tuple, make_tuple(b6(), a6(), true, kProtoTCP, 0, 40001));
  EXPECT_EQ(e.send(30, syn({b6(), 20, true}, {a6(), 40001, true})).state, CtState::Related);

  s.server(40, "229 Entering Extended Passive Mode (|||50001|)\r\n");
  list = e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tuple, make_tuple(a6(), b6(), true, kProtoTCP, 0, 50001));
  const Result d = e.send(50, syn({a6(), 41000, true}, {b6(), 50001, true}));
  EXPECT_EQ(d.state, CtState::Related);
  EXPECT_EQ(d.conn->master, s.control()->id);
}

TEST(FtpHelper, Ipv4PortOnIpv6ControlExpectsNothing) {
  L4Engine e(ftp_config());
  FtpSession s(e, {a6(), 40100, true}, {b6(), 21, true});
  s.handshake(0);
  s.login(10);
  EXPECT_FALSE(s.client(20, "PORT 10,0,1,2,156,65\r\n").dropped);
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  // EPRT with the IPv4 protocol number on IPv6 starts right, fails: dropped.
  EXPECT_TRUE(s.client(21, "EPRT |1|10.0.1.2|40001|\r\n").dropped);
}

TEST(FtpHelper, ExpectationsDieWithTheirMaster) {
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  s.client(20, "PORT 10,0,1,2,156,65\r\n");
  ASSERT_EQ(e.engine.expectation_count(), 1u);
  // A RST moves the control connection to CLOSE (10 s); its expectation
  // lives exactly as long as the entry does.
  TcpSpec rst;
  rst.flags = RST | ACK;
  rst.seq = s.cseq();
  rst.ack = 5000 + 1 + 11 + 8;  // after "220 hello\r\n" and "331 pw\r\n"
  const Result r = e.send(30, tcp(kClient, kServer, rst));
  ASSERT_NE(r.state, CtState::Invalid);
  e.engine.expire(ms(30) + seconds(10) - 1);
  ASSERT_NE(s.control(), nullptr);
  EXPECT_EQ(e.engine.expectation_count(), 1u);
  e.engine.expire(ms(30) + seconds(10));
  EXPECT_EQ(s.control(), nullptr);
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  EXPECT_EQ(e.send(20000, syn({kB, 20, false}, {kA, 40001, false})).state, CtState::New);
}

TEST(FtpHelper, NoHelperWithoutAttachmentInTheLinuxProfile) {
  L4Engine e(ftp_config(Profile::Linux, /*attach=*/false));
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  s.client(20, "PORT 10,0,1,2,156,65\r\n");
  EXPECT_EQ(s.control()->helper, 0);
  EXPECT_EQ(e.engine.expectation_count(), 0u);
}

TEST(FtpHelper, ClassicProfileAttachesByWellKnownPort) {
  Config c = ftp_config(Profile::Classic, /*attach=*/false);
  EXPECT_TRUE(c.auto_helpers);
  L4Engine e(c);
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  s.client(20, "PORT 10,0,1,2,156,65\r\n");
  EXPECT_EQ(s.control()->helper, helper_id("ftp"));
  EXPECT_EQ(e.engine.expectation_count(), 1u);

  c.auto_helpers = false;  // --no-helpers
  L4Engine off(c);
  FtpSession s2(off, kClient, kServer);
  s2.handshake(0);
  s2.login(10);
  s2.client(20, "PORT 10,0,1,2,156,65\r\n");
  EXPECT_EQ(off.engine.expectation_count(), 0u);
}

TEST(FtpHelper, TemplateAttachesTheHelperOnAnyPort) {
  L4Engine e(ftp_config(Profile::Linux, /*attach=*/false));
  const Endpoint srv = {kB, 2121, false};
  CtTemplate t;
  t.helper = helper_id("ftp");
  TcpSpec sy;
  sy.flags = SYN;
  sy.seq = 999;
  const Bytes first = tcp(kClient, srv, sy);
  const Result r = e.engine.process(std::span<const std::uint8_t>(first.data(), first.size()),
                                    ms(0), Hook::Network, t);
  ASSERT_EQ(r.state, CtState::New);
  EXPECT_EQ(r.conn->helper, helper_id("ftp"));
  EXPECT_TRUE(r.conn->has(kStatusHelper));
}

TEST(FtpHelper, ConfiguredPortAttachment) {
  Config c = test_config(Profile::Linux);
  c.helpers.push_back(HelperAttachment{"ftp", kProtoTCP, 2121});
  L4Engine e(c);
  FtpSession s(e, kClient, {kB, 2121, false});
  s.handshake(0);
  s.login(10);
  s.client(20, "PORT 10,0,1,2,156,65\r\n");
  EXPECT_EQ(e.engine.expectation_count(), 1u);
}

TEST(FtpHelper, RuleDroppedPacketNeverReachesTheHelper) {
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  TcpSpec p;
  p.flags = PSH | ACK;
  p.seq = s.cseq();
  p.ack = 5000 + 1 + 11 + 8;
  p.payload = "PORT 10,0,1,2,156,65\r\n";
  const Bytes b = tcp(kClient, kServer, p);
  e.engine.track(std::span<const std::uint8_t>(b.data(), b.size()), ms(20));
  e.engine.discard();  // the filter dropped it
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  e.engine.track(std::span<const std::uint8_t>(b.data(), b.size()), ms(21));
  EXPECT_TRUE(e.engine.confirm());
  EXPECT_EQ(e.engine.expectation_count(), 1u);
}

TEST(FtpHelper, HostilePayloadsNeverCrash) {
  L4Engine e(ftp_config());
  FtpSession s(e, kClient, kServer);
  s.handshake(0);
  s.login(10);
  std::string longline = "PORT " + std::string(3000, '9') + "\r\n";
  s.client(20, longline);
  s.client(21, "PORT 99999999999,1,1,1,1,1\r\n");
  s.client(22, "EPRT |1|" + std::string(2000, '1') + "|1|\r\n");
  s.server(23, "229 (" + std::string(1500, '|') + ")\r\n");
  s.server(24, "227 " + std::string(1400, ',') + "\r\n");
  s.client(25, std::string(1, '\0'));
  SUCCEED();
}

}  // namespace
}  // namespace ctrack::test

namespace ctrack::test {
namespace {

TEST(FtpHelper, InvalidFirstPacketStillUsesUpTheExpectation) {
  // Kernel order (verified with kernel-diff on 6.18): init_conntrack takes the
  // expectation before the TCP handler rejects the bad checksum, so the
  // good SYN that follows is NEW, not RELATED.
  L4Engine e(ftp_config());
  FtpSession s(e, {kA, 40100, false}, {kB, 21, false});
  s.handshake(0);
  s.login(10);
  s.client(20, "PORT 10,0,1,2,156,65\r\n");
  ASSERT_EQ(e.engine.expectation_count(), 1u);
  TcpSpec bad;
  bad.flags = SYN;
  bad.seq = 7000;
  bad.bad_checksum = true;
  const Result r = e.send(30, tcp({kB, 20, false}, {kA, 40001, false}, bad));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  EXPECT_EQ(e.engine.stats().expect_new, 1u);
  EXPECT_EQ(e.send(31, syn({kB, 20, false}, {kA, 40001, false})).state, CtState::New);
}

}  // namespace
}  // namespace ctrack::test

namespace ctrack::test {
namespace {

TEST(FtpHelper, BatchReportsHelperDropsAsProcessDoes) {
  // The same session once packet by packet and once as one batch.
  const Endpoint c = {kA, 40100, false}, s = {kB, 21, false};
  std::vector<Bytes> pkts;
  auto seg = [&](const Endpoint& from, const Endpoint& to, std::uint8_t fl, std::uint32_t seq,
                 std::uint32_t ack, const std::string& p) {
    TcpSpec x;
    x.flags = fl;
    x.seq = seq;
    x.ack = ack;
    x.payload = p;
    pkts.push_back(tcp(from, to, x));
  };
  seg(c, s, SYN, 1000, 0, "");
  seg(s, c, SYN | ACK, 5000, 1001, "");
  seg(c, s, ACK, 1001, 5001, "");
  seg(c, s, PSH | ACK, 1001, 5001, "USER x\r\n");
  seg(c, s, PSH | ACK, 1009, 5001, "PORT 10,0,1,2,156\r\n");     // dropped
  seg(c, s, PSH | ACK, 1009, 5001, "PORT 10,0,1,2,156,65\r\n");  // parsed
  L4Engine single(ftp_config());
  std::vector<Result> one;
  for (std::size_t i = 0; i < pkts.size(); ++i)
    one.push_back(single.send(static_cast<std::int64_t>(i), pkts[i]));
  L4Engine batched(ftp_config());
  std::vector<BatchPacket> in;
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    in.push_back(BatchPacket{std::span<const std::uint8_t>(pkts[i].data(), pkts[i].size()),
                             ms(static_cast<std::int64_t>(i)),
                             {}});
  }
  std::vector<Result> out(in.size());
  batched.engine.process_batch(in, out);
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    EXPECT_EQ(out[i].helper_drop, one[i].helper_drop) << i;
    EXPECT_EQ(out[i].dropped, one[i].dropped) << i;
  }
  EXPECT_TRUE(one[4].helper_drop);
  EXPECT_EQ(batched.engine.expectation_count(), 1u);
  EXPECT_EQ(single.engine.expectation_count(), 1u);
}

}  // namespace
}  // namespace ctrack::test

namespace ctrack::test {
namespace {

TEST(FtpHelper, Ipv4PortOnIpv6MatchingTheAddressHeadExpects) {
  // Verified on 6.18 (::1, "PORT 0,0,0,0,156,65"): the four numbers only
  // overwrite the first 4 bytes of the sender's address, so when they equal
  // them the address check passes and an IPv6 expectation is created.
  L4Engine e(ftp_config());
  FtpSession s(e, {a6(), 40100, true}, {b6(), 21, true});
  s.handshake(0);
  s.login(10);
  s.client(20, "PORT 253,0,0,1,156,65\r\n");  // fd00:0001:...
  const auto list = e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tuple, make_tuple(b6(), a6(), true, kProtoTCP, 0, 40001));
}

}  // namespace
}  // namespace ctrack::test

// The TFTP helper at work in the engine (linux-core.md §7.6 and test vector
// 18 of §13, verified there on Linux 6.18): a read or write request to port
// 69 expects the server's answer from any port back to the client's port;
// that answer is RELATED, the client's next packet ESTABLISHED, and the
// master stays [UNREPLIED].
#include <gtest/gtest.h>

#include <string>

#include "l4_engine_fixture.h"

namespace ctrack::test {
namespace {

using namespace std::string_literals;

const Endpoint kClient = {kA, 40600, false};
const Endpoint kServer = {kB, 69, false};

Config tftp_config() {
  Config c = test_config(Profile::Linux);
  c.helpers.push_back(HelperAttachment{"tftp", kProtoUDP, 69});
  return c;
}

const std::string kRrq = "\0\1file\0octet\0"s;
const std::string kWrq = "\0\2file\0octet\0"s;

std::string data_block(std::uint16_t block, const std::string& text) {
  return "\0\3"s + static_cast<char>(block >> 8) + static_cast<char>(block & 0xff) + text;
}
std::string ack(std::uint16_t block) {
  return "\0\4"s + static_cast<char>(block >> 8) + static_cast<char>(block & 0xff);
}

TEST(TftpHelper, ReadRequestExpectsTheServersAnswerFromAnyPort) {
  L4Engine e(tftp_config());
  const Result r = e.send(0, udp(kClient, kServer, kRrq));
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_FALSE(r.dropped);
  const Conn* ctl = e.engine.find(make_tuple(kA, kB, false, kProtoUDP, 40600, 69));
  ASSERT_NE(ctl, nullptr);
  EXPECT_EQ(ctl->helper, helper_id("tftp"));

  // 299 l3proto = 2 proto=17 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=40600 tftp
  const auto list = e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tuple, make_tuple(kB, kA, false, kProtoUDP, 0, 40600));
  EXPECT_FALSE(list[0].src_any());
  EXPECT_TRUE(list[0].sport_any());
  EXPECT_EQ(list[0].master_id, ctl->id);
  EXPECT_STREQ(helper_name(list[0].helper), "tftp");
  EXPECT_EQ(list[0].expires, ms(0) + seconds(300));

  // B:55000 -> A:40600 DATA: RELATED, child of the request.
  const Result d = e.send(10, udp({kB, 55000, false}, kClient, data_block(1, "hello")));
  EXPECT_EQ(d.state, CtState::Related);
  EXPECT_EQ(d.direction, Direction::Original);
  ASSERT_NE(d.conn, nullptr);
  EXPECT_EQ(d.conn->master, ctl->id);
  EXPECT_TRUE(d.conn->has(kStatusExpected));
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  // A:40600 -> B:55000 ACK: the reply direction of the child.
  const Result a = e.send(11, udp(kClient, {kB, 55000, false}, ack(1)));
  EXPECT_EQ(a.state, CtState::Established);
  EXPECT_EQ(a.direction, Direction::Reply);
  EXPECT_EQ(a.conn, d.conn);

  // The master never sees a reply: [UNREPLIED], 30 s from the request.
  ctl = e.engine.find(make_tuple(kA, kB, false, kProtoUDP, 40600, 69));
  ASSERT_NE(ctl, nullptr);
  EXPECT_FALSE(ctl->has(kStatusSeenReply));
  e.expect_expires(make_tuple(kA, kB, false, kProtoUDP, 40600, 69), 0, 30);
}

TEST(TftpHelper, WriteRequestToo) {
  L4Engine e(tftp_config());
  e.send(0, udp({kA, 40601, false}, kServer, kWrq));
  ASSERT_EQ(e.engine.expectation_count(), 1u);
  EXPECT_EQ(e.engine.expectations()[0].tuple, make_tuple(kB, kA, false, kProtoUDP, 0, 40601));
  EXPECT_EQ(e.send(5, udp({kB, 2087, false}, {kA, 40601, false}, ack(0))).state, CtState::Related);
}

TEST(TftpHelper, AnswerFromAnotherHostIsNotRelated) {
  // Vector 18: 10.0.2.77:55001 -> A:40601 after a WRQ from 40601 -> NEW.
  L4Engine e(tftp_config());
  e.send(0, udp({kA, 40601, false}, kServer, kWrq));
  const Result r = e.send(5, udp({kM, 55001, false}, {kA, 40601, false}, ack(0)));
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_EQ(r.conn->master, kNoConn);
  EXPECT_EQ(e.engine.expectation_count(), 1u);
  // Nor is one to another client port.
  EXPECT_EQ(e.send(6, udp({kB, 55001, false}, {kA, 40602, false}, ack(0))).state, CtState::New);
}

TEST(TftpHelper, RetransmittedRequestRefreshesTheExpectation) {
  L4Engine e(tftp_config());
  e.send(0, udp(kClient, kServer, kRrq));
  e.send(5000, udp(kClient, kServer, kRrq));
  const auto list = e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].expires, ms(5000) + seconds(300));
  EXPECT_EQ(e.engine.stats().expect_create, 2u);
  EXPECT_EQ(e.engine.stats().expect_delete, 1u);
}

TEST(TftpHelper, OtherOpcodesAndShortPayloadsExpectNothing) {
  for (const std::string& p : {data_block(1, "x"), ack(0), "\0\5\0\1oops\0"s, "\0\6x"s, "\1\1x"s,
                               "\0"s, ""s, "\xff\xff"s}) {
    SCOPED_TRACE(p.size());
    L4Engine e(tftp_config());
    const Result r = e.send(0, udp(kClient, kServer, p));
    EXPECT_EQ(r.state, CtState::New);
    EXPECT_FALSE(r.dropped);
    EXPECT_EQ(e.engine.expectation_count(), 0u);
  }
  // The opcode alone is enough: no file name or mode is checked.
  L4Engine e(tftp_config());
  e.send(0, udp(kClient, kServer, "\0\1"s));
  EXPECT_EQ(e.engine.expectation_count(), 1u);
}

TEST(TftpHelper, RequestInTheReplyDirectionAlsoExpects) {
  // Every packet of the master is looked at, whichever direction; the
  // expectation is built from the reply tuple either way.
  L4Engine e(tftp_config());
  e.send(0, udp(kClient, kServer, ack(0)));
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  e.send(1, udp(kServer, kClient, kRrq));
  const auto list = e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tuple, make_tuple(kB, kA, false, kProtoUDP, 0, 40600));
}

TEST(TftpHelper, OneExpectationPerRequestConnection) {
  L4Engine e(tftp_config());
  e.send(0, udp({kA, 40600, false}, kServer, kRrq));
  e.send(1, udp({kA, 40601, false}, kServer, kRrq));
  EXPECT_EQ(e.engine.expectation_count(), 2u);  // max_expected is per master
}

TEST(TftpHelper, Ipv6) {
  L4Engine e(tftp_config());
  const Endpoint c6 = {a6(), 40600, true};
  e.send(0, udp(c6, {b6(), 69, true}, kRrq));
  const auto list = e.engine.expectations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tuple, make_tuple(b6(), a6(), true, kProtoUDP, 0, 40600));
  const Result d = e.send(5, udp({b6(), 55000, true}, c6, data_block(1, "x")));
  EXPECT_EQ(d.state, CtState::Related);
}

TEST(TftpHelper, ExpectationTimeoutOutlivesTheMaster) {
  // The master (30 s, unreplied) dies long before its 300-s expectation,
  // which goes with it.
  L4Engine e(tftp_config());
  e.send(0, udp(kClient, kServer, kRrq));
  e.engine.expire(ms(30000));
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  EXPECT_EQ(e.send(30001, udp({kB, 55000, false}, kClient, data_block(1, "x"))).state,
            CtState::New);
}

TEST(TftpHelper, NoHelperWithoutAttachment) {
  L4Engine e(test_config(Profile::Linux));
  e.send(0, udp(kClient, kServer, kRrq));
  EXPECT_EQ(e.engine.expectation_count(), 0u);
  L4Engine classic(test_config(Profile::Classic));
  classic.send(0, udp(kClient, kServer, kRrq));
  EXPECT_EQ(classic.engine.expectation_count(), 1u);
}

}  // namespace
}  // namespace ctrack::test

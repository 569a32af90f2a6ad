// Conntrack zones (linux-core.md §11, §13 vector 22): the zone is part of the
// key, so the same addresses and ports in two zones are two entries; ICMP
// errors look up the quoted connection in the error's own zone; expectations
// are met only in their master's zone; /proc prints zone=N always, conntrack
// -L only when non-zero.
#include <gtest/gtest.h>

#include <string>

#include "ctrack/engine.h"
#include "ftp_session.h"
#include "io/entry_format.h"
#include "l4_engine_fixture.h"

namespace ctrack {
namespace {

using namespace ctrack::test;

const Endpoint kA = ep4("192.0.2.1", 7000);
const Endpoint kB = ep4("198.51.100.2", 5353);

CtTemplate zone(std::uint16_t z) {
  CtTemplate t;
  t.zone = z;
  return t;
}

TEST(Zones, SameTupleInTwoZonesIsTwoEntries) {
  Engine e(test_config(Profile::Linux));
  const Bytes q = udp(kA, kB, "q");
  Result r5 = e.process(q, ms(1), Hook::Network, zone(5));
  ASSERT_EQ(r5.state, CtState::New);
  EXPECT_EQ(r5.tuple.zone, 5);
  Result r0 = e.process(q, ms(2), Hook::Network, zone(0));
  ASSERT_EQ(r0.state, CtState::New);
  EXPECT_NE(r0.conn, r5.conn);
  EXPECT_EQ(e.stats().entries, 2u);
  // A reply in zone 5 belongs to the zone-5 entry only.
  Result reply = e.process(udp(kB, kA, "r"), ms(3), Hook::Network, zone(5));
  EXPECT_EQ(reply.state, CtState::Established);
  EXPECT_EQ(reply.direction, Direction::Reply);
  EXPECT_EQ(reply.conn, r5.conn);
  Tuple t = make_tuple(kA.addr, kB.addr, false, kProtoUDP, kA.port, kB.port);
  t.zone = 5;
  ASSERT_NE(e.find(t), nullptr);
  EXPECT_TRUE(e.find(t)->has(kStatusSeenReply));
  t.zone = 0;
  ASSERT_NE(e.find(t), nullptr);
  EXPECT_FALSE(e.find(t)->has(kStatusSeenReply));
  t.zone = 7;
  EXPECT_EQ(e.find(t), nullptr);
}

TEST(Zones, BatchPathKeysOnTheZoneToo) {
  Config cfg = test_config(Profile::Linux);
  cfg.buckets = 1u << 16;  // large enough for the batch look-ahead to hash early
  Engine single(cfg), batched(cfg);
  std::vector<Bytes> pkts = {udp(kA, kB, "q"), udp(kA, kB, "q"), udp(kB, kA, "r"),
                             udp(kB, kA, "r")};
  const std::uint16_t zones[] = {5, 0, 5, 3};
  std::vector<BatchPacket> batch;
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    batch.push_back(BatchPacket{pkts[i], ms(static_cast<std::int64_t>(i + 1)), zone(zones[i])});
  }
  std::vector<Result> out(batch.size());
  batched.process_batch(batch, out);
  const CtState want[] = {CtState::New, CtState::New, CtState::Established, CtState::New};
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    Result r = single.process(pkts[i], batch[i].now, Hook::Network, batch[i].tmpl);
    EXPECT_EQ(r.state, want[i]) << i;
    EXPECT_EQ(out[i].state, want[i]) << i;
    EXPECT_EQ(out[i].direction, r.direction) << i;
  }
  EXPECT_EQ(batched.stats().entries, 3u);
}

TEST(Zones, IcmpErrorLooksUpTheQuotedFlowInItsOwnZone) {
  Engine e(test_config(Profile::Linux));
  const Bytes q = udp(kA, kB, "q");
  ASSERT_EQ(e.process(q, ms(1), Hook::Network, zone(5)).state, CtState::New);
  // Port unreachable from B back to A, quoting the query.
  const Bytes err = icmp_error(kB.addr, kA.addr, false, 3, 3, q);
  Result in0 = e.process(err, ms(2));
  EXPECT_EQ(in0.state, CtState::Invalid);
  EXPECT_EQ(in0.reason, InvalidReason::IcmpErrorNoConn);
  Result in5 = e.process(err, ms(3), Hook::Network, zone(5));
  EXPECT_EQ(in5.state, CtState::Related);
  EXPECT_EQ(in5.direction, Direction::Reply);
  EXPECT_EQ(in5.tuple.zone, 5);
}

// FTP control connection in zone 5: the data connection it announces is
// RELATED only when it, too, arrives in zone 5.
TEST(Zones, ExpectationsAreMetOnlyInTheMastersZone) {
  const Endpoint client = ep4("192.0.2.1", 40000);
  const Endpoint server = ep4("198.51.100.2", 21);
  const Endpoint data_from = ep4("198.51.100.2", 20);
  const Endpoint data_to = ep4("192.0.2.1", 50000);
  L4Engine e(ftp_config());
  e.tmpl.zone = 5;
  FtpSession s(e, client, server);
  s.handshake(0);
  s.login(10);
  EXPECT_FALSE(s.client(20, "PORT 192,0,2,1,195,80\r\n").dropped);
  ASSERT_EQ(e.engine.expectations().size(), 1u);
  EXPECT_EQ(e.engine.expectations()[0].tuple.zone, 5);

  e.tmpl.zone = 0;
  Result r0 = e.send(30, syn(data_from, data_to));
  EXPECT_EQ(r0.state, CtState::New) << "zone 0 must not meet a zone-5 expectation";
  ASSERT_EQ(e.engine.expectations().size(), 1u);
  e.tmpl.zone = 5;
  Result r5 = e.send(31, syn(data_from, data_to));
  EXPECT_EQ(r5.state, CtState::Related);
  ASSERT_NE(r5.conn, nullptr);
  EXPECT_EQ(r5.conn->orig.zone, 5);
  EXPECT_TRUE(e.engine.expectations().empty());
}

TEST(Zones, ProcAlwaysPrintsTheZoneConntrackOnlyWhenNonZero) {
  Engine e(test_config(Profile::Linux));
  e.process(udp(kA, kB, "q"), seconds(1), Hook::Network, zone(5));
  e.process(udp(ep4("192.0.2.1", 7001), kB, "q"), seconds(1));
  std::string proc, ct;
  for (const Conn* c : e.entries()) {
    io::append_entry(proc, io::TableFormat::Proc, io::entry_info(e, *c));
    io::append_entry(ct, io::TableFormat::Conntrack, io::entry_info(e, *c));
  }
  EXPECT_NE(proc.find("sport=5353 dport=7000 mark=0 zone=5 use=2\n"), std::string::npos) << proc;
  EXPECT_NE(proc.find("sport=5353 dport=7001 mark=0 zone=0 use=2\n"), std::string::npos) << proc;
  EXPECT_NE(ct.find("sport=5353 dport=7000 mark=0 zone=5 use=1\n"), std::string::npos) << ct;
  EXPECT_NE(ct.find("sport=5353 dport=7001 mark=0 use=1\n"), std::string::npos) << ct;
}

}  // namespace
}  // namespace ctrack

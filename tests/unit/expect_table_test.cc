// Expectation lifetime and limits (linux-core.md §7.1): consumed on match
// unless PERMANENT, INACTIVE ones never match, all die with their master and
// on timeout (packet time), max_expected per master evicts the oldest,
// nf_conntrack_expect_max refuses, identical re-registration restarts the
// timer, overlaps with another master's are refused.
#include "core/expect_table.h"

#include <gtest/gtest.h>

#include "ftp_session.h"

namespace ctrack::test {
namespace {

const Tuple kMasterA = make_tuple(kA, kB, false, kProtoTCP, 40100, 21);
const Tuple kMasterB = make_tuple(kA, kB, false, kProtoTCP, 40101, 21);
constexpr std::uint8_t kFtp = 1;

ExpectSpec spec_to(std::uint16_t dport, const Addr& src = kB) {
  ExpectSpec s;
  s.family = kFamilyIPv4;
  s.src = src;
  s.dst = kA;
  s.proto = kProtoTCP;
  s.dport = dport;
  return s;
}

Tuple child(std::uint16_t sport, std::uint16_t dport, const Addr& src = kB) {
  return make_tuple(src, kA, false, kProtoTCP, sport, dport);
}

struct Table {
  ExpectTable t{4096};
  Stats st;
  Table() {
    t.attach(3);
    t.attach(4);
  }
  ExpectStatus add(const ExpectSpec& s, std::uint32_t slot = 3, Timestamp now = 0,
                   HelperPolicy p = {1, 300}) {
    return t.insert(s, slot, slot * 10, slot == 3 ? kMasterA : kMasterB, kFtp, p, now, st);
  }
  ExpectTable::Match find(const Tuple& c, Timestamp now = 0, bool master_ok = true) {
    return t.match(c, now, st, [&](std::uint32_t) { return master_ok; });
  }
  std::vector<Expectation> list() {
    std::vector<Expectation> v;
    t.for_each([&](const Expectation& e) { v.push_back(e); });
    return v;
  }
};

TEST(ExpectTable, MatchConsumesTheExpectation) {
  Table x;
  ASSERT_EQ(x.add(spec_to(40001)), ExpectStatus::Ok);
  EXPECT_EQ(x.t.count(), 1u);
  EXPECT_EQ(x.st.expect_create, 1u);
  EXPECT_FALSE(x.find(child(20, 40002)).found);                                 // other port
  EXPECT_FALSE(x.find(make_tuple(kB, kA, false, kProtoUDP, 20, 40001)).found);  // other proto
  EXPECT_FALSE(x.find(child(20, 40001, kOther)).found);                         // other source
  const auto m = x.find(child(20, 40001));
  ASSERT_TRUE(m.found);
  EXPECT_EQ(m.master_slot, 3u);
  EXPECT_EQ(m.master_id, 30u);
  EXPECT_EQ(x.t.count(), 0u);
  EXPECT_EQ(x.t.expecting(3, 0), 0u);
  EXPECT_EQ(x.st.expect_delete, 1u);
  EXPECT_FALSE(x.find(child(21, 40001)).found);  // one shot
}

TEST(ExpectTable, SourcePortAndAddressWildcards) {
  Table x;
  ExpectSpec s = spec_to(40500);
  s.src_any = true;  // IRC DCC: anyone may connect
  ASSERT_EQ(x.add(s), ExpectStatus::Ok);
  const auto v = x.list();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].src_any());
  EXPECT_TRUE(v[0].sport_any());
  EXPECT_EQ(v[0].tuple.src, Addr{});
  EXPECT_TRUE(x.find(child(55555, 40500, kOther)).found);

  ExpectSpec exact = spec_to(40600);
  exact.sport_any = false;
  exact.sport = 20;
  ASSERT_EQ(x.add(exact), ExpectStatus::Ok);
  EXPECT_FALSE(x.find(child(21, 40600)).found);
  EXPECT_TRUE(x.find(child(20, 40600)).found);
}

TEST(ExpectTable, PermanentMatchesManyTimes) {
  Table x;
  ExpectSpec s = spec_to(40001);
  s.flags = kExpectPermanent;
  ASSERT_EQ(x.add(s), ExpectStatus::Ok);
  EXPECT_TRUE(x.find(child(20, 40001)).found);
  EXPECT_TRUE(x.find(child(21, 40001)).found);
  EXPECT_EQ(x.t.count(), 1u);
  EXPECT_EQ(x.st.expect_delete, 0u);
  EXPECT_TRUE(x.list()[0].permanent());
}

TEST(ExpectTable, InactiveNeverMatches) {
  Table x;
  ExpectSpec s = spec_to(40001);
  s.flags = kExpectInactive;
  ASSERT_EQ(x.add(s), ExpectStatus::Ok);
  EXPECT_FALSE(x.find(child(20, 40001)).found);
  EXPECT_EQ(x.t.count(), 1u);
}

TEST(ExpectTable, UnfitMasterMatchesNothingAndKeepsIt) {
  Table x;
  ASSERT_EQ(x.add(spec_to(40001)), ExpectStatus::Ok);
  EXPECT_FALSE(x.find(child(20, 40001), 0, /*master_ok=*/false).found);
  EXPECT_EQ(x.t.count(), 1u);
}

TEST(ExpectTable, DiesWithItsMaster) {
  Table x;
  ASSERT_EQ(x.add(spec_to(40001), 3, 0, {8, 300}), ExpectStatus::Ok);
  ASSERT_EQ(x.add(spec_to(40002), 3, 0, {8, 300}), ExpectStatus::Ok);
  ASSERT_EQ(x.add(spec_to(40003), 4, 0, {8, 300}), ExpectStatus::Ok);
  x.t.remove_master(3, x.st);
  EXPECT_EQ(x.t.count(), 1u);
  EXPECT_EQ(x.st.expect_delete, 2u);
  EXPECT_FALSE(x.find(child(20, 40001)).found);
  EXPECT_TRUE(x.find(child(20, 40003)).found);
}

TEST(ExpectTable, TimesOutByPacketTime) {
  Table x;
  ASSERT_EQ(x.add(spec_to(40001), 3, seconds(10), {1, 300}), ExpectStatus::Ok);
  EXPECT_EQ(x.list()[0].expires, seconds(310));
  EXPECT_TRUE(x.find(child(20, 40001), seconds(310) - 1, true).found);
  ASSERT_EQ(x.add(spec_to(40001), 3, seconds(10), {1, 300}), ExpectStatus::Ok);
  EXPECT_FALSE(x.find(child(20, 40001), seconds(310)).found);
  EXPECT_EQ(x.t.count(), 0u);
  EXPECT_EQ(x.st.expect_delete, 2u);
}

TEST(ExpectTable, MaxExpectedEvictsTheOldest) {
  Table x;
  const HelperPolicy amanda{3, 180};
  for (std::uint16_t p : {50000, 50001, 50002, 50003}) {
    ASSERT_EQ(x.add(spec_to(p), 3, 0, amanda), ExpectStatus::Ok);
  }
  EXPECT_EQ(x.t.count(), 3u);
  EXPECT_EQ(x.t.expecting(3, 0), 3u);
  EXPECT_EQ(x.st.expect_delete, 1u);
  EXPECT_FALSE(x.find(child(20, 50000)).found);  // the oldest went
  const auto v = x.list();
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].tuple.dst_id, 50001);
  EXPECT_EQ(v[2].tuple.dst_id, 50003);
  // Another master has its own quota.
  ASSERT_EQ(x.add(spec_to(50010), 4, 0, amanda), ExpectStatus::Ok);
  EXPECT_EQ(x.t.count(), 4u);
}

TEST(ExpectTable, GlobalLimitRefuses) {
  ExpectTable t(2);
  Stats st;
  t.attach(3);
  t.attach(4);
  const HelperPolicy p{0, 300};  // unlimited per master
  EXPECT_EQ(t.insert(spec_to(1), 3, 30, kMasterA, kFtp, p, 0, st), ExpectStatus::Ok);
  EXPECT_EQ(t.insert(spec_to(2), 3, 30, kMasterA, kFtp, p, 0, st), ExpectStatus::Ok);
  EXPECT_EQ(t.insert(spec_to(3), 4, 40, kMasterB, kFtp, p, 0, st), ExpectStatus::Full);
  EXPECT_EQ(t.count(), 2u);
  // Per-master eviction happens before the global check, so a helper with a
  // quota can still replace its own.
  EXPECT_EQ(t.insert(spec_to(4), 3, 30, kMasterA, kFtp, {2, 300}, 0, st), ExpectStatus::Ok);
  EXPECT_EQ(t.count(), 2u);
  // Raising the limit makes room.
  t.set_max(3);
  EXPECT_EQ(t.insert(spec_to(3), 4, 40, kMasterB, kFtp, p, 0, st), ExpectStatus::Ok);
}

TEST(ExpectTable, ZeroLimitRefusesEverything) {
  ExpectTable t(0);
  Stats st;
  t.attach(3);
  EXPECT_EQ(t.insert(spec_to(1), 3, 30, kMasterA, kFtp, {1, 300}, 0, st), ExpectStatus::Full);
}

TEST(ExpectTable, SameExpectationAgainRestartsTheTimer) {
  Table x;
  ASSERT_EQ(x.add(spec_to(40001), 3, 0, {8, 300}), ExpectStatus::Ok);
  ASSERT_EQ(x.add(spec_to(40001), 3, seconds(100), {8, 300}), ExpectStatus::Ok);
  EXPECT_EQ(x.t.count(), 1u);
  EXPECT_EQ(x.list()[0].expires, seconds(400));
  EXPECT_EQ(x.st.expect_create, 2u);
  EXPECT_EQ(x.st.expect_delete, 1u);
  // Same tuple, other class: refused.
  ExpectSpec other = spec_to(40001);
  other.cls = 1;
  EXPECT_EQ(x.add(other, 3, 0, {8, 300}), ExpectStatus::Exists);
}

TEST(ExpectTable, OverlapWithAnotherMasterIsBusy) {
  Table x;
  ASSERT_EQ(x.add(spec_to(40001), 3), ExpectStatus::Ok);
  EXPECT_EQ(x.add(spec_to(40001), 4), ExpectStatus::Busy);
  ExpectSpec any = spec_to(40001);
  any.src_any = true;  // overlaps on the intersection of the masks
  EXPECT_EQ(x.add(any, 4), ExpectStatus::Busy);
  EXPECT_EQ(x.add(spec_to(40001, kOther), 4), ExpectStatus::Ok);  // disjoint sources
}

TEST(ExpectTable, NoHelperAreaNoExpectation) {
  ExpectTable t(16);
  Stats st;
  EXPECT_EQ(t.insert(spec_to(1), 9, 90, kMasterA, kFtp, {1, 300}, 0, st), ExpectStatus::NoHelper);
  t.attach(9);
  EXPECT_EQ(t.insert(spec_to(1), 9, 90, kMasterA, 0, {1, 300}, 0, st), ExpectStatus::NoHelper);
}

// Engine level: nf_conntrack_expect_max reaches the table.
TEST(ExpectTable, EngineHonoursExpectMax) {
  Config c = ftp_config();
  c.expect_max = 1;
  L4Engine e(c);
  FtpSession s1(e, {kA, 40100, false}, {kB, 21, false});
  s1.handshake(0);
  s1.login(10);
  EXPECT_FALSE(s1.client(20, "PORT 10,0,1,2,156,65\r\n").dropped);
  FtpSession s2(e, {kA, 40102, false}, {kB, 21, false});
  s2.handshake(30);
  s2.login(40);
  // "cannot add expectation": the FTP helper drops the command.
  const Result r = s2.client(50, "PORT 10,0,1,2,156,66\r\n");
  EXPECT_TRUE(r.dropped);
  EXPECT_TRUE(r.helper_drop);
  EXPECT_EQ(e.engine.expectation_count(), 1u);
  std::string err;
  ASSERT_TRUE(e.engine.set("nf_conntrack_expect_max", "4", &err)) << err;
  EXPECT_FALSE(s2.client(60, "PORT 10,0,1,2,156,66\r\n").dropped);
  EXPECT_EQ(e.engine.expectation_count(), 2u);
}

TEST(ExpectTable, MasterExpiryTakesItsExpectations) {
  Config c = ftp_config();
  c.tcp.established = 100;  // so the control connection times out first
  L4Engine e(c);
  FtpSession s(e, {kA, 40100, false}, {kB, 21, false});
  s.handshake(0);
  s.login(10);
  s.client(20, "PORT 10,0,1,2,156,65\r\n");
  ASSERT_EQ(e.engine.expectation_count(), 1u);
  // The master died at 100 s; the data SYN at 150 s is not related.
  const Result d = e.send(150000, syn({kB, 20, false}, {kA, 40001, false}));
  EXPECT_EQ(d.state, CtState::New);
  EXPECT_EQ(e.engine.expectation_count(), 0u);
}

}  // namespace
}  // namespace ctrack::test

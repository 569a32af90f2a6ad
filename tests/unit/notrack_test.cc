// NOTRACK (linux-core.md §8): a packet the raw table marked untracked is
// UNTRACKED, creates no entry, does not touch an existing one, and an ICMP
// error quoting it finds nothing to be RELATED to.
#include <gtest/gtest.h>

#include "l4_engine_fixture.h"

namespace ctrack::test {
namespace {

const Endpoint kA53000 = {Addr::v4(10, 0, 1, 2), 53000, false};
const Endpoint kB53 = {Addr::v4(10, 0, 2, 2), 53, false};

Result send_notrack(L4Engine& e, std::int64_t at_ms, const Bytes& pkt) {
  CtTemplate t;
  t.notrack = true;
  return e.engine.process(std::span<const std::uint8_t>(pkt.data(), pkt.size()), ms(at_ms), Hook::Network, t);
}

TEST(Notrack, UntrackedPacketCreatesNoEntry) {
  L4Engine e;
  const Result r = send_notrack(e, 0, udp(kA53000, kB53, "q"));
  EXPECT_EQ(r.state, CtState::Untracked);
  EXPECT_EQ(r.conn, nullptr);
  ASSERT_TRUE(r.has_tuple);
  EXPECT_EQ(r.tuple.src_id, 53000);
  EXPECT_EQ(r.tuple.dst_id, 53);
  EXPECT_EQ(e.engine.stats().entries, 0u);
  EXPECT_EQ(e.engine.stats().insert, 0u);
}

TEST(Notrack, UntrackedPacketOfAnExistingFlowLeavesItAlone) {
  L4Engine e;
  const Result first = e.send(0, udp(kA53000, kB53, "q"));
  ASSERT_EQ(first.state, CtState::New);
  const Timestamp expires = first.conn->expires;
  const Result r = send_notrack(e, 5000, udp(kB53, kA53000, "r"));
  EXPECT_EQ(r.state, CtState::Untracked);
  const Conn* c = e.engine.find(make_tuple(kA53000.addr, kB53.addr, false, kProtoUDP, 53000, 53));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->expires, expires);                // not refreshed
  EXPECT_FALSE(c->has(kStatusSeenReply));        // the reply was never seen
}

TEST(Notrack, IcmpErrorAboutAnUntrackedFlowIsInvalid) {
  L4Engine e;
  const Bytes q = udp(kA53000, kB53, "q");
  ASSERT_EQ(send_notrack(e, 0, q).state, CtState::Untracked);
  const Result r = e.send(10, icmp_error(kB53.addr, kA53000.addr, false, 3, 3, q));
  EXPECT_EQ(r.state, CtState::Invalid);
  EXPECT_EQ(r.reason, InvalidReason::IcmpErrorNoConn);
}

TEST(Notrack, MalformedPacketIsStillInvalid) {
  L4Engine e;
  Bytes q = udp(kA53000, kB53, "q");
  q.resize(10);  // truncated IPv4 header
  EXPECT_EQ(send_notrack(e, 0, q).state, CtState::Invalid);
}

}  // namespace
}  // namespace ctrack::test

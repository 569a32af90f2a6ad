// Golden tests: UDP pseudo-connections of ../shared/corpus (Linux profile).
// Expectations derived from linux-core.md (LC) §2 and the packets.
#include "golden/golden_util.h"

namespace ctrack::golden {
namespace {

constexpr auto NEW = CtState::New;
constexpr auto EST = CtState::Established;
constexpr auto O = Direction::Original;
constexpr auto R = Direction::Reply;

// dns-udp-query-response.pcap: 192.168.1.11:43966 -> 209.87.249.18:53, one
// query (t=794.740079) and its answer 0.13 s later. tcpdump -vv: "udp sum ok"
// on both, so checksum verification stays on.
TEST(UdpCorpus, DnsQueryResponse) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "dns-udp-query-response.pcap");
  ASSERT_EQ(rp.frames.size(), 2u);

  // 1 query: NEW, [UNREPLIED], 30 s (LC §2.3 step 2, §13 vector 1).
  check(rp, {.frame = 1, .state = NEW, .dir = O, .timeout = 30, .unreplied = 1, .assured = 0});
  // 2 answer: ESTABLISHED (reply). The L4 handler runs before SEEN_REPLY is
  //   set (LC §0.2 step 6), so it is handled as unreplied: 30 s, and it is
  //   within 2 s of creation anyway -> no ASSURED (LC §2.3).
  check(rp, {.frame = 2, .state = EST, .dir = R, .timeout = 30, .unreplied = 0, .assured = 0});
  EXPECT_EQ(rp.at(1).conn_id, rp.at(2).conn_id);

  // Final: one entry, not [UNREPLIED], never ASSURED (a single exchange never
  // is, LC §2.3), 30 s left at the answer's time.
  const auto rows = final_table(engine);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(describe(rows[0].orig), describe(v4("192.168.1.11", 43966, "209.87.249.18", 53, kProtoUDP)));
  EXPECT_FALSE(rows[0].unreplied);
  EXPECT_FALSE(rows[0].assured);
  EXPECT_EQ(rows[0].timeout_left, 30);

  // 30 s after the answer the entry is gone (LC §13 vector 1: "removed 30 s later").
  engine.expire(rp.last_ts + seconds(30));
  EXPECT_TRUE(engine.entries().empty());
}

}  // namespace
}  // namespace ctrack::golden

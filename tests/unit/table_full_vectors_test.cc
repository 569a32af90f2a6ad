// linux-core.md §13 vectors 24 and 25, at the kernel's real scale: a table of
// 262144 buckets holding nf_conntrack_max = 262144 entries (the 6.18 default
// on a 25 GB machine), filled with unreplied or with ASSURED UDP flows.
// Early drop scans at most eight buckets from the new tuple's bucket and
// evicts every non-ASSURED entry of the first bucket that has one.
#include <gtest/gtest.h>

#include <set>
#include <unordered_map>
#include <vector>

#include "core/flow_hash.h"
#include "ctrack/engine.h"
#include "support/packet_builder.h"

namespace ctrack {
namespace {

using namespace ctrack::test;

constexpr std::uint32_t kSize = 262144;
constexpr std::uint64_t kSeed = 777;

Config full_scale() {
  Config c = Config::for_profile(Profile::Linux);
  c.buckets = kSize;
  c.max = kSize;
  c.hash_seed = kSeed;
  return c;
}

// Flow i: 10.(i>>8 & 0xff).(i & 0xff).1 : 1024 + (i >> 16) -> 10.255.0.1:53.
Endpoint client(std::uint32_t i) {
  return {Addr::v4(10, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i), 1),
          static_cast<std::uint16_t>(1024 + (i >> 16)), false};
}
const Endpoint kServer = {Addr::v4(10, 255, 0, 1), 53, false};

Tuple udp_tuple(const Endpoint& s, const Endpoint& d) {
  Tuple t;
  t.src = s.addr;
  t.dst = d.addr;
  t.src_id = s.port;
  t.dst_id = d.port;
  t.family = kFamilyIPv4;
  t.proto = kProtoUDP;
  return t;
}

// The bucket of the flow whose original tuple is `s` -> `d`. The kernel links an
// entry twice (under each tuple); ctrack links it once, under a hash both
// tuples share (src/core/conn_table.h), so a bucket holds entries, not nodes.
std::uint32_t bucket_for(const Endpoint& s, const Endpoint& d) {
  const Tuple o = udp_tuple(s, d), r = udp_tuple(d, s);
  return bucket_of(flow_hash(o, &r, HashKey::from_seed(kSeed)), kSize);
}

Result send(Engine& e, const Bytes& p, Timestamp t) {
  return e.process(std::span<const std::uint8_t>(p.data(), p.size()), t);
}

TEST(TableFullVectors, V24_UnassuredVictimsOfTheFirstNonEmptyBucketAreEvicted) {
  Engine e(full_scale());
  for (std::uint32_t i = 0; i < kSize; ++i) {
    ASSERT_EQ(send(e, udp(client(i), kServer, "q"), 1000).state, CtState::New) << i;
  }
  ASSERT_EQ(e.stats().entries, kSize);

  // Which flows are linked in each bucket.
  std::unordered_map<std::uint32_t, std::set<std::uint32_t>> nodes;
  for (std::uint32_t i = 0; i < kSize; ++i) nodes[bucket_for(client(i), kServer)].insert(i);
  const Endpoint a = {Addr::v4(192, 0, 2, 1), 40000, false};
  const Endpoint b = {Addr::v4(198, 51, 100, 2), 53, false};
  const std::uint32_t start = bucket_for(a, b);
  std::set<std::uint32_t> victims;
  for (std::uint32_t k = 0; k < 8 && victims.empty(); ++k) {
    auto it = nodes.find((start + k) % kSize);
    if (it != nodes.end()) victims = it->second;
  }
  ASSERT_FALSE(victims.empty()) << "eight empty buckets in a full table: pick another seed";

  const Result r = send(e, udp(a, b, "q"), 2000);
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_FALSE(r.dropped);
  EXPECT_EQ(e.stats().early_drop, victims.size());
  EXPECT_EQ(e.stats().drop, 0u);
  EXPECT_EQ(e.stats().entries, kSize - victims.size() + 1);
  for (std::uint32_t v : victims) EXPECT_EQ(e.find(udp_tuple(client(v), kServer)), nullptr) << v;
}

TEST(TableFullVectors, V25_AllAssuredDropsNewFlowsButNotExistingOnes) {
  Engine e(full_scale());
  // Query, answer, and a third packet more than 2 s later: ASSURED (stream).
  for (std::uint32_t i = 0; i < kSize; ++i) send(e, udp(client(i), kServer, "q"), seconds(1));
  for (std::uint32_t i = 0; i < kSize; ++i) send(e, udp(kServer, client(i), "r"), seconds(2));
  for (std::uint32_t i = 0; i < kSize; ++i) {
    const Result r = send(e, udp(client(i), kServer, "q"), seconds(4));
    ASSERT_TRUE(r.conn && r.conn->has(kStatusAssured)) << i;
  }
  ASSERT_EQ(e.stats().entries, kSize);

  const Endpoint a = {Addr::v4(192, 0, 2, 1), 40000, false};
  const Endpoint b = {Addr::v4(198, 51, 100, 2), 53, false};
  const Result u = send(e, udp(a, b, "q"), seconds(5));
  EXPECT_TRUE(u.dropped);
  EXPECT_EQ(u.state, CtState::Invalid);
  EXPECT_EQ(u.reason, InvalidReason::TableFull);
  EXPECT_EQ(e.stats().drop, 1u);

  const Result ping = send(e, icmp(a.addr, b.addr, false, 8, 0, icmp_echo_body(0x1234, 1)), seconds(5));
  EXPECT_TRUE(ping.dropped);
  EXPECT_EQ(e.stats().drop, 2u);
  EXPECT_EQ(e.stats().early_drop, 0u);
  EXPECT_EQ(e.stats().entries, kSize);

  EXPECT_EQ(send(e, udp(kServer, client(77), "r"), seconds(6)).state, CtState::Established);
}

}  // namespace
}  // namespace ctrack

// tests/CMakeLists.txt globs only tests/golden/*_test.cc into
// ctrack_golden_tests, so the golden utility's implementation is compiled
// here, together with a few checks of the utility itself.
#include "golden/golden_util.cc"  // NOLINT(bugprone-suspicious-include)

namespace ctrack::golden {
namespace {

TEST(GoldenUtil, TupleBuildersMatchTheKernelLayout) {
  // linux-core.md §1: ICMP keeps the echo id in src.u and type/code in dst.u.
  const Tuple t = icmp4("172.16.133.2", "172.217.11.78", 0x04ca, 8, 0);
  EXPECT_EQ(t.src_id, 0x04ca);
  EXPECT_EQ(t.dst_id, 0x0800);
  EXPECT_EQ(t.proto, kProtoICMP);
  EXPECT_EQ(t.family, kFamilyIPv4);
  EXPECT_EQ(t.src.b[0], 172);
  EXPECT_EQ(t.src.b[3], 2);
  EXPECT_EQ(t.src.b[4], 0);  // IPv4 uses the first 4 bytes only
  const Tuple u = v6("::1", 47826, "2001:db8::1", 784, kProtoUDP);
  EXPECT_EQ(u.family, kFamilyIPv6);
  EXPECT_EQ(u.src.b[15], 1);
  EXPECT_EQ(u.dst.b[0], 0x20);
  EXPECT_EQ(u.dst.b[1], 0x01);
  EXPECT_EQ(u.dst.b[15], 1);
}

// The scan capture starts with two ARP frames (tcpdump -e: ethertype 0x0806):
// they must be recorded as "not IP" and never reach the engine.
TEST(GoldenUtil, RecordsNonIpFramesWithoutTouchingTheEngine) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "tcp-scan-syn-fin-null-xmas.pcapng");
  ASSERT_EQ(rp.frames.size(), 30u);  // README: 30 packets
  EXPECT_EQ(rp.linktype, 1);         // Ethernet
  check_not_ip(rp, 1);
  check_not_ip(rp, 2);
  EXPECT_EQ(rp.at(1).entries_after, 0u);
  EXPECT_TRUE(rp.at(3).is_ip);
  for (std::size_t i = 0; i < rp.frames.size(); ++i) EXPECT_EQ(rp.frames[i].frame, i + 1);
}

}  // namespace
}  // namespace ctrack::golden

// Golden tests: ICMPv6 on the captures of ../shared/corpus, Linux profile.
// Expectations derived from linux-core.md (LC) §1 (tuples, ICMPv6 type
// table), §2.3 (UDP), §3.1, §3.3, §3.4 and the packets themselves.
#include "golden/golden_util.h"

namespace ctrack::golden {
namespace {

constexpr auto NEW = CtState::New;
constexpr auto EST = CtState::Established;
constexpr auto REL = CtState::Related;
constexpr auto O = Direction::Original;
constexpr auto R = Direction::Reply;

void check_untracked(const Replay& rp, std::uint64_t n) {
  const FrameRecord& r = rp.at(n);
  SCOPED_TRACE(rp.file + " " + describe(r));
  ASSERT_TRUE(r.is_ip);
  EXPECT_EQ(r.state, CtState::Untracked) << "frame " << n << " (ND/RS/RA) must be UNTRACKED";
  EXPECT_FALSE(r.has_conn);
}

// ---------------------------------------------------------------------------
// icmpv6-echo.pcap: 2620:0:e00:400e:d1d:db37:beb:5aac -> 2001:4860:8006::63,
// id 1, seq 3..6; requests odd, replies even; "icmp6 sum ok" everywhere.
TEST(Icmpv6Corpus, Echo) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "icmpv6-echo.pcap");
  ASSERT_EQ(rp.frames.size(), 8u);

  // 128 creates the entry (LC §1 ICMPv6 table), 129 is its reply; 30 s each
  // packet, never ASSURED, kept after the reply (LC §3.1).
  check(rp, {.frame = 1, .state = NEW, .dir = O, .timeout = 30, .unreplied = 1, .assured = 0});
  check(rp, {.frame = 2, .state = EST, .dir = R, .timeout = 30, .unreplied = 0, .assured = 0});
  for (std::uint64_t n = 3; n <= 8; ++n)
    check(rp, {.frame = n, .state = EST, .dir = (n % 2 ? O : R), .timeout = 30, .unreplied = 0, .assured = 0});

  const auto rows = final_table(engine);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(describe(rows[0].orig),
            describe(icmp6("2620:0:e00:400e:d1d:db37:beb:5aac", "2001:4860:8006::63", 1, 128, 0)));
  EXPECT_FALSE(rows[0].unreplied);
  EXPECT_FALSE(rows[0].assured);
  EXPECT_EQ(rows[0].timeout_left, 30);
}

// ---------------------------------------------------------------------------
// icmpv6-nd-traceroute6-echo.pcap (49 frames, "icmp6 sum ok" everywhere).
TEST(Icmpv6Corpus, NdTraceroute6Echo) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "icmpv6-nd-traceroute6-echo.pcap");
  ASSERT_EQ(rp.frames.size(), 49u);

  // Neighbour solicitation/advertisement (135/136), RS (133, frame 31) and
  // RA (134, frame 32): UNTRACKED, never an entry (LC §1, §3.4).
  for (std::uint64_t n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 29, 30, 31, 32, 33, 34, 36, 37, 48, 49})
    check_untracked(rp, n);
  EXPECT_EQ(rp.at(10).entries_after, 0u);

  // 11-19 Time Exceeded, 20-22 Port Unreachable, all quoting UDP probes from
  // 3ffe:507:0:1:200:86ff:fe05:80da that are not in the capture: no entry
  // matches -> INVALID (LC §3.3 step 3).
  for (std::uint64_t n = 11; n <= 22; ++n) check_invalid(rp, n, InvalidReason::IcmpErrorNoConn);

  // 23-28 echo id 30240 to 3ffe:501:0:1001::2.
  check(rp, {.frame = 23, .state = NEW, .dir = O, .timeout = 30, .unreplied = 1, .assured = 0});
  for (std::uint64_t n = 24; n <= 28; ++n)
    check(rp, {.frame = n, .state = EST, .dir = (n % 2 ? O : R), .timeout = 30, .unreplied = 0, .assured = 0});

  // 35 Port Unreachable sent by the host itself, quoting UDP
  // 3ffe:501:4819::42 -> host:2410, a flow that was never seen -> INVALID.
  check_invalid(rp, 35, InvalidReason::IcmpErrorNoConn);
  // Counters (LC §3.3, §6.6): the 13 unmatched errors count as `error`, not
  // `invalid`; UNTRACKED ND packets count as neither.
  EXPECT_EQ(engine.stats().error, 13u);
  EXPECT_EQ(engine.stats().invalid, 0u);

  // 38-47 echo id 31520 to the router 3ffe:507:0:1:260:97ff:fe07:69ea.
  check(rp, {.frame = 38, .state = NEW, .dir = O, .timeout = 30, .unreplied = 1, .assured = 0});
  EXPECT_NE(rp.at(38).conn_id, rp.at(23).conn_id);
  for (std::uint64_t n = 39; n <= 47; ++n)
    check(rp, {.frame = n, .state = EST, .dir = (n % 2 ? R : O), .timeout = 30, .unreplied = 0});

  // Final table at t=966.755968: the two echo entries only.
  //   id 30240: last packet 939.423419 -> 30 - 27.33 -> 2.
  //   id 31520: last packet 965.778882 -> 30 - 0.98 -> 29.
  const auto rows = final_table(engine);
  EXPECT_EQ(rows.size(), 2u);
  const TableRow* e1 =
      find_row(rows, icmp6("3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 30240, 128, 0));
  ASSERT_NE(e1, nullptr);
  EXPECT_EQ(e1->timeout_left, 2);
  EXPECT_FALSE(e1->unreplied);
  const TableRow* e2 = find_row(
      rows, icmp6("3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:507:0:1:260:97ff:fe07:69ea", 31520, 128, 0));
  ASSERT_NE(e2, nullptr);
  EXPECT_EQ(e2->timeout_left, 29);
  EXPECT_FALSE(e2->unreplied);
}

// ---------------------------------------------------------------------------
// icmpv6-port-unreach-embedded-udp.pcapng: DNS over QUIC on loopback,
// [::1]:47826 <-> [::1]:784. tcpdump -vv: EVERY UDP datagram has a "bad udp
// cksum": it was captured on lo, where the kernel leaves the checksum to
// (non-existent) offload (CHECKSUM_PARTIAL); a real kernel never verifies
// those (local output, LC §2.1). The ICMPv6 checksums are correct.
//
// With nf_conntrack_checksum=1 at PREROUTING (the default Hook::Network) the
// datagrams are INVALID and the errors then quote nothing known.
TEST(Icmpv6Corpus, PortUnreachEmbeddedUdpBadChecksumsAreInvalid) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "icmpv6-port-unreach-embedded-udp.pcapng");
  ASSERT_EQ(rp.frames.size(), 20u);
  for (std::uint64_t n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15, 17, 19})
    check_invalid(rp, n, InvalidReason::UdpBadChecksum);
  for (std::uint64_t n : {10, 12, 14, 16, 18, 20}) check_invalid(rp, n, InvalidReason::IcmpErrorNoConn);
  EXPECT_EQ(engine.stats().invalid, 14u);  // the UDP datagrams (LC §2.1, §6.6)
  EXPECT_EQ(engine.stats().error, 6u);     // the ICMPv6 errors (LC §3.3)
  EXPECT_TRUE(final_table(engine).empty());
}

// The same capture with checksum verification off (nf_conntrack_checksum=0),
// which is what the loopback host itself effectively did.
//   t0 = 093.199591 (frame 1); the 2-second stream point is 095.199591.
TEST(Icmpv6Corpus, PortUnreachEmbeddedUdp) {
  CTRACK_REQUIRE_CORPUS();
  Config cfg = linux_config();
  cfg.checksum = false;  // loopback capture: offloaded (unfilled) UDP checksums, see above
  Engine engine(cfg);
  CTRACK_REPLAY(rp, engine, "icmpv6-port-unreach-embedded-udp.pcapng");
  ASSERT_EQ(rp.frames.size(), 20u);

  check(rp, {.frame = 1, .state = NEW, .dir = O, .timeout = 30, .unreplied = 1, .assured = 0});
  // 2 first reply: handled as unreplied -> 30 (LC §2.3); 3-9 within 2 s of
  // creation -> 30, no ASSURED.
  check(rp, {.frame = 2, .state = EST, .dir = R, .timeout = 30, .unreplied = 0, .assured = 0});
  for (std::uint64_t n : {3, 5, 6, 8, 9})
    check(rp, {.frame = n, .state = EST, .dir = R, .timeout = 30, .assured = 0});
  for (std::uint64_t n : {4, 7}) check(rp, {.frame = n, .state = EST, .dir = O, .timeout = 30, .assured = 0});
  // 11, 13, 15, 17 (up to 094.761959): server datagrams still before the
  // stream point -> 30, no ASSURED. 19 (096.363686) is after it -> 120 +
  // ASSURED (LC §2.3 step 3).
  for (std::uint64_t n : {11, 13, 15, 17})
    check(rp, {.frame = n, .state = EST, .dir = R, .timeout = 30, .assured = 0});
  check(rp, {.frame = 19, .state = EST, .dir = R, .timeout = 120, .assured = 1});
  // Errors ::1 -> ::1 quoting [::1]:784 -> [::1]:47826 (a reply): inverted,
  // that is the ORIGINAL tuple -> RELATED, original direction; outer daddr
  // ::1 == its dst (LC §3.3, §3.4). No refresh: each comes a few µs after a
  // refresh to 30 (-> 29), the last one after the refresh to 120 (-> 119).
  for (std::uint64_t n : {10, 12, 14, 16, 18})
    check(rp, {.frame = n, .state = REL, .dir = O, .timeout = 29, .unreplied = 0, .assured = 0});
  check(rp, {.frame = 20, .state = REL, .dir = O, .timeout = 119, .unreplied = 0, .assured = 1});
  for (std::uint64_t n = 2; n <= 20; ++n) EXPECT_EQ(rp.at(n).conn_id, rp.at(1).conn_id) << "frame " << n;

  const auto rows = final_table(engine);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(describe(rows[0].orig), describe(v6("::1", 47826, "::1", 784, kProtoUDP)));
  EXPECT_TRUE(rows[0].assured);
  EXPECT_FALSE(rows[0].unreplied);
  EXPECT_EQ(rows[0].timeout_left, 119);
}

}  // namespace
}  // namespace ctrack::golden

// Golden tests: ICMP echo tracking and ICMP errors (RELATED) on the captures
// of ../shared/corpus, Linux profile. Expectations derived from
// linux-core.md (LC) §1 (tuples), §2.3 (UDP), §3.1-§3.3 (ICMP), linux-tcp.md
// (LT) for the TCP flow the errors refer to, and the packets themselves.
#include "golden/golden_util.h"

namespace ctrack::golden {
namespace {

constexpr auto NEW = CtState::New;
constexpr auto EST = CtState::Established;
constexpr auto REL = CtState::Related;
constexpr auto O = Direction::Original;
constexpr auto R = Direction::Reply;

// ---------------------------------------------------------------------------
// icmp-echo-5-pings.pcap: 172.16.133.2 -> 172.217.11.78, id 0x04ca (1226),
// seq 1..5, each request (odd frames) followed by its reply (even frames).
TEST(IcmpCorpus, Echo5Pings) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "icmp-echo-5-pings.pcap");
  ASSERT_EQ(rp.frames.size(), 10u);

  // 1 first request: NEW, [UNREPLIED], 30 (LC §3.1, §13 vector 5).
  check(rp, {.frame = 1, .state = NEW, .dir = O, .timeout = 30, .unreplied = 1, .assured = 0});
  // 2 reply: ESTABLISHED; the entry survives the reply (modern kernels, LC §3.1), 30.
  check(rp, {.frame = 2, .state = EST, .dir = R, .timeout = 30, .unreplied = 0, .assured = 0});
  // 3..10: same id -> the same entry, ESTABLISHED both ways, refreshed to 30,
  //   never ASSURED (LC §3.1).
  for (std::uint64_t n = 3; n <= 10; ++n)
    check(rp, {.frame = n, .state = EST, .dir = (n % 2 ? O : R), .timeout = 30, .unreplied = 0, .assured = 0});
  for (std::uint64_t n = 2; n <= 10; ++n) EXPECT_EQ(rp.at(n).conn_id, rp.at(1).conn_id) << "frame " << n;

  const auto rows = final_table(engine);
  ASSERT_EQ(rows.size(), 1u);
  // Tuple: src.u = echo id, dst.u = type 8 / code 0 (LC §1).
  EXPECT_EQ(describe(rows[0].orig), describe(icmp4("172.16.133.2", "172.217.11.78", 1226, 8, 0)));
  EXPECT_FALSE(rows[0].unreplied);
  EXPECT_FALSE(rows[0].assured);
  EXPECT_EQ(rows[0].timeout_left, 30);
}

// ---------------------------------------------------------------------------
// icmp-port-unreach-embedded-udp-dns.pcap: client 192.168.10.31:58186 ->
// 192.168.10.10:53 (udp sum ok everywhere).
//   t: 1 510.121479, 2 512.128287, 3 514.121434 (queries)
//      4 517.482595, 5 517.482716, 6 525.638356 (replies)
//      7 525.638393 ICMP port unreachable 192.168.10.31 -> 192.168.10.10
//        quoting 192.168.10.10:53 -> 192.168.10.31:58186 (a reply).
TEST(IcmpCorpus, PortUnreachEmbeddedUdpDns) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "icmp-port-unreach-embedded-udp-dns.pcap");
  ASSERT_EQ(rp.frames.size(), 7u);

  // 1-3 the same query three times before any reply: NEW each time (LC §0.2
  //   step 4, §13 vector 3), 30 s, one entry.
  for (std::uint64_t n = 1; n <= 3; ++n)
    check(rp, {.frame = n, .state = NEW, .dir = O, .timeout = 30, .unreplied = 1, .assured = 0});
  EXPECT_EQ(rp.at(3).conn_id, rp.at(1).conn_id);
  // 4 first reply: handled before SEEN_REPLY is set -> 30, no ASSURED (LC §2.3).
  check(rp, {.frame = 4, .state = EST, .dir = R, .timeout = 30, .unreplied = 0, .assured = 0});
  // 5 second reply at +7.36 s: SEEN_REPLY set and more than 2 s after
  //   creation -> stream: 120 s and ASSURED (LC §2.3 step 3).
  check(rp, {.frame = 5, .state = EST, .dir = R, .timeout = 120, .unreplied = 0, .assured = 1});
  check(rp, {.frame = 6, .state = EST, .dir = R, .timeout = 120, .assured = 1});
  // 7 port unreachable: the quoted tuple 10.10:53 -> 10.31:58186, inverted,
  //   is the entry's ORIGINAL tuple -> RELATED in the original direction;
  //   outer daddr 192.168.10.10 == that tuple's dst (LC §3.3 step 4). The
  //   entry is not touched: 120 - 0.000037 s -> 119 (LC §3.3 last paragraph).
  check(rp, {.frame = 7, .state = REL, .dir = O, .timeout = 119, .unreplied = 0, .assured = 1});
  EXPECT_EQ(rp.at(7).conn_id, rp.at(1).conn_id);

  const auto rows = final_table(engine);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(describe(rows[0].orig), describe(v4("192.168.10.31", 58186, "192.168.10.10", 53, kProtoUDP)));
  EXPECT_TRUE(rows[0].assured);
  EXPECT_EQ(rows[0].timeout_left, 119);
}

// ---------------------------------------------------------------------------
// icmp-fragneeded-embedded-tcp-smtp.pcap (60 frames, all checksums correct):
//   1-2   DNS 10.10.1.4:56166 <-> 10.10.1.1:53
//   3-5   handshake 10.10.1.4:1470 -> 74.53.140.153:25 (no WS: scales 0)
//   6-25  SMTP data; 22-25 are four 1460-byte client segments
//   26, 28, 29, 30  ICMP 3/4 (frag needed, mtu 1492) 192.168.1.1 -> 10.10.1.4
//         quoting 10.10.1.4:1470 -> 74.53.140.153:25
//   27, 31-54 data, retransmissions in 1452-byte segments, ACKs
//   55-59 FIN exchange; 60 NetBIOS datagram broadcast 10.10.1.20:138.
TEST(IcmpCorpus, FragNeededEmbeddedTcpSmtp) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "icmp-fragneeded-embedded-tcp-smtp.pcap");
  ASSERT_EQ(rp.frames.size(), 60u);

  check(rp, {.frame = 1, .state = NEW, .dir = O, .timeout = 30, .unreplied = 1});
  check(rp, {.frame = 2, .state = EST, .dir = R, .timeout = 30, .unreplied = 0, .assured = 0});
  // Handshake (LT V1 #1-3).
  check(rp, {.frame = 3, .state = NEW, .dir = O, .tcp = "SYN_SENT", .timeout = 120, .unreplied = 1});
  check(rp, {.frame = 4, .state = EST, .dir = R, .tcp = "SYN_RECV", .timeout = 60, .unreplied = 0});
  check(rp, {.frame = 5, .state = EST, .dir = O, .tcp = "ESTABLISHED", .timeout = 432000, .assured = 1});
  const std::uint32_t tcp_id = rp.at(3).conn_id;

  // Every TCP segment of the transfer is in window (the client never sends
  // beyond ack+window of the server; retransmissions are within
  // receiver.td_maxwin below td_end, LT §4.3 check II): ESTABLISHED.
  for (std::uint64_t n = 6; n <= 54; ++n) {
    if (n == 26 || n == 28 || n == 29 || n == 30) continue;
    const FrameRecord& r = rp.at(n);
    EXPECT_EQ(r.state, EST) << describe(r);
    EXPECT_EQ(r.conn_id, tcp_id) << describe(r);
    EXPECT_EQ(r.tcp_state, "ESTABLISHED") << describe(r);
  }
  // 25 (t=770.692823) leaves client data unacknowledged -> 300 (LT §4.5).
  check(rp, {.frame = 25, .state = EST, .dir = O, .tcp = "ESTABLISHED", .timeout = 300});
  // 26/28/29/30: the quoted client segment, inverted, is the entry's REPLY
  //   tuple -> RELATED (RELATED_REPLY, direction reply); the outer daddr
  //   10.10.1.4 is that tuple's dst; the source (router 192.168.1.1) is not
  //   checked (LC §3.3). The entry is not refreshed or changed: 300 set at
  //   frame 25 (26) or 27 (28-30), a fraction of a second earlier -> 299.
  for (std::uint64_t n : {26, 28, 29, 30}) {
    check(rp, {.frame = n, .state = REL, .dir = R, .tcp = "ESTABLISHED", .timeout = 299, .unreplied = 0, .assured = 1});
    EXPECT_EQ(rp.at(n).conn_id, tcp_id) << "frame " << n;
  }
  // 27 retransmission of 25's data in a smaller segment: in window, refreshed (300).
  check(rp, {.frame = 27, .state = EST, .dir = O, .tcp = "ESTABLISHED", .timeout = 300});

  // 55 client FIN -> FIN_WAIT 120; 56 server data acking up to (not
  // including) the FIN: REPLY ack in sFW -> CLOSE_WAIT 60; 57 server FIN ->
  // LAST_ACK 30; 58 client ACK -> TIME_WAIT 120; 59 server ACK in TIME_WAIT
  // -> TIME_WAIT, refreshed 120 (LT §1.3).
  check(rp, {.frame = 55, .state = EST, .dir = O, .tcp = "FIN_WAIT", .timeout = 120});
  check(rp, {.frame = 56, .state = EST, .dir = R, .tcp = "CLOSE_WAIT", .timeout = 60});
  check(rp, {.frame = 57, .state = EST, .dir = R, .tcp = "LAST_ACK", .timeout = 30});
  check(rp, {.frame = 58, .state = EST, .dir = O, .tcp = "TIME_WAIT", .timeout = 120});
  check(rp, {.frame = 59, .state = EST, .dir = R, .tcp = "TIME_WAIT", .timeout = 120, .assured = 1});
  // 60 broadcast datagram: a new UDP entry.
  check(rp, {.frame = 60, .state = NEW, .dir = O, .timeout = 30, .unreplied = 1});

  // Final table at t=776.690444.
  const auto rows = final_table(engine);
  EXPECT_EQ(rows.size(), 3u);
  // DNS: last refresh 767.526085 -> 30 - 9.164 -> 20.
  const TableRow* dns = find_row(rows, v4("10.10.1.4", 56166, "10.10.1.1", 53, kProtoUDP));
  ASSERT_NE(dns, nullptr);
  EXPECT_FALSE(dns->unreplied);
  EXPECT_FALSE(dns->assured);
  EXPECT_EQ(dns->timeout_left, 20);
  // SMTP: TIME_WAIT since 775.106759 -> 120 - 1.584 -> 118.
  const TableRow* smtp = find_row(rows, v4("10.10.1.4", 1470, "74.53.140.153", 25, kProtoTCP));
  ASSERT_NE(smtp, nullptr);
  EXPECT_EQ(smtp->tcp_state, "TIME_WAIT");
  EXPECT_TRUE(smtp->assured);
  EXPECT_EQ(smtp->timeout_left, 118);
  const TableRow* nb = find_row(rows, v4("10.10.1.20", 138, "10.10.1.255", 138, kProtoUDP));
  ASSERT_NE(nb, nullptr);
  EXPECT_TRUE(nb->unreplied);
  EXPECT_EQ(nb->timeout_left, 30);
}

// ---------------------------------------------------------------------------
// icmp-traceroute-udp-ttl-exceeded.pcap, link type PPP (9). The probes
// (odd frames) are PPP protocol 0x0281 (MPLS unicast) with one label
// (bottom of stack) in front of the IPv4 header: ff 03 02 81 | 18 96 01 01 |
// 45 00 ... The README requires decoding them to match the errors. The
// errors (even frames) are plain IPv4 (PPP 0x0021). Probe UDP checksums are
// 0 ("no cksum"): accepted (LC §2.1).
TEST(IcmpCorpus, TracerouteUdpTtlExceededOverPppMpls) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "icmp-traceroute-udp-ttl-exceeded.pcap");
  ASSERT_EQ(rp.frames.size(), 18u);
  EXPECT_EQ(rp.linktype, 9);

  for (std::uint64_t k = 0; k < 9; ++k) {
    const std::uint64_t probe = 2 * k + 1, err = 2 * k + 2;
    const Tuple t = v4("12.4.4.4", 42315, "12.1.1.1", static_cast<std::uint16_t>(33435 + k), kProtoUDP);
    // Probe: a new UDP flow per destination port, NEW, 30 s.
    check(rp, {.frame = probe, .state = NEW, .dir = O, .timeout = 30, .unreplied = 1, .assured = 0});
    EXPECT_EQ(describe(rp.at(probe).conn_orig), describe(t)) << "frame " << probe;
    // Error (Time Exceeded from 10.5.0.1 / 10.4.0.2, then Port Unreachable
    // from 12.1.1.1): quoted probe inverted = the entry's REPLY tuple ->
    // RELATED (reply); outer daddr 12.4.4.4 is its dst (LC §3.3). The RFC
    // 4950 extension after the quoted datagram does not matter. The entry is
    // not refreshed (error < 1 s after the probe -> 29) and stays
    // [UNREPLIED] (errors never set SEEN_REPLY).
    check(rp, {.frame = err, .state = REL, .dir = R, .timeout = 29, .unreplied = 1, .assured = 0});
    EXPECT_EQ(rp.at(err).conn_id, rp.at(probe).conn_id) << "frame " << err;
  }

  const auto rows = final_table(engine);
  EXPECT_EQ(rows.size(), 9u);
  for (std::uint16_t k = 0; k < 9; ++k) {
    const TableRow* row = find_row(rows, v4("12.4.4.4", 42315, "12.1.1.1", static_cast<std::uint16_t>(33435 + k), kProtoUDP));
    ASSERT_NE(row, nullptr) << "port " << 33435 + k;
    EXPECT_TRUE(row->unreplied);
    EXPECT_EQ(row->timeout_left, 29);  // all probes within 0.3 s of the last packet
  }
}

}  // namespace
}  // namespace ctrack::golden

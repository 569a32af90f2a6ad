// Table and statistics formats, checked against the literal lines of
// linux-tcp.md §9.1-§9.3 and linux-core.md §6.6/§10.1. Each entry is built by
// running the matching packets through an Engine; the table is then read
// some time later (engine.expire(t) moves the clock) so that the remaining
// timeouts come out as in the reference (e.g. 431999 = 432000 s - 0.5 s,
// rounded down).
#include <gtest/gtest.h>

#include <string>

#include "ctrack/engine.h"
#include "io/entry_format.h"
#include "io/json_writer.h"
#include "io/packet_format.h"
#include "io/stats_format.h"
#include "support/packet_builder.h"

namespace ctrack {
namespace {

using namespace ctrack::test;

constexpr Timestamp kT0 = seconds(1000);
constexpr Timestamp kHalf = kNsPerSec / 2;

std::string line(const Engine& e, const Conn& c, io::TableFormat f) {
  std::string out;
  io::append_entry(out, f, io::entry_info(e, c));
  return out;
}

const Conn& only_entry(const Engine& e) {
  const auto entries = e.entries();
  EXPECT_EQ(entries.size(), 1u);
  return *entries.at(0);
}

TcpSpec spec(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack) {
  TcpSpec s;
  s.flags = flags;
  s.seq = seq;
  s.ack = ack;
  return s;
}

// A full handshake client:cport -> server:80, all at kT0.
void handshake(Engine& e, const Endpoint& client, const Endpoint& server) {
  ASSERT_EQ(e.process(tcp(client, server, spec(SYN, 100, 0)), kT0).state, CtState::New);
  ASSERT_EQ(e.process(tcp(server, client, spec(SYN | ACK, 500, 101)), kT0).state,
            CtState::Established);
  ASSERT_EQ(e.process(tcp(client, server, spec(ACK, 101, 501)), kT0).state,
            CtState::Established);
}

TEST(ProcFormat, EstablishedAssuredLineOfSection91) {
  Engine e;
  handshake(e, ep4("10.99.0.2", 40001), ep4("10.99.0.3", 80));
  e.expire(kT0 + kHalf);
  EXPECT_EQ(line(e, only_entry(e), io::TableFormat::Proc),
            "ipv4     2 tcp      6 431999 ESTABLISHED src=10.99.0.2 dst=10.99.0.3 sport=40001 "
            "dport=80 src=10.99.0.3 dst=10.99.0.2 sport=80 dport=40001 [ASSURED] mark=0 zone=0 "
            "use=2\n");
}

TEST(ProcFormat, SynSentUnrepliedLineOfSection91) {
  Engine e;
  e.process(tcp(ep4("10.99.0.2", 40000), ep4("10.99.0.3", 80), spec(SYN, 100, 0)), kT0);
  e.expire(kT0 + seconds(1) + kHalf);  // 120 - 1.5 = 118.5 -> 118
  EXPECT_EQ(line(e, only_entry(e), io::TableFormat::Proc),
            "ipv4     2 tcp      6 118 SYN_SENT src=10.99.0.2 dst=10.99.0.3 sport=40000 dport=80 "
            "[UNREPLIED] src=10.99.0.3 dst=10.99.0.2 sport=80 dport=40000 mark=0 zone=0 use=2\n");
}

TEST(ProcFormat, Ipv6SynRecvIsPrintedExpanded) {
  Engine e;
  const Endpoint c = ep6("fd00:99::2", 40000);
  const Endpoint s = ep6("fd00:99::3", 80);
  e.process(tcp(c, s, spec(SYN, 100, 0)), kT0);
  e.process(tcp(s, c, spec(SYN | ACK, 500, 101)), kT0);
  e.expire(kT0 + kHalf);  // SYN_RECV 60 -> 59
  EXPECT_EQ(line(e, only_entry(e), io::TableFormat::Proc),
            "ipv6     10 tcp      6 59 SYN_RECV src=fd00:0099:0000:0000:0000:0000:0000:0002 "
            "dst=fd00:0099:0000:0000:0000:0000:0000:0003 sport=40000 dport=80 "
            "src=fd00:0099:0000:0000:0000:0000:0000:0003 "
            "dst=fd00:0099:0000:0000:0000:0000:0000:0002 sport=80 dport=40000 mark=0 zone=0 use=2\n");
}

TEST(ProcFormat, UdpIcmpGenericAndIcmpv6LinesOfCoreSection101) {
  const Addr a = parse_addr("10.0.1.2");
  const Addr b = parse_addr("10.0.2.2");
  {
    Engine e;
    e.process(udp(ep4("10.0.1.2", 40001), ep4("10.0.2.2", 53), "q"), kT0);
    e.expire(kT0 + kHalf);
    EXPECT_EQ(line(e, only_entry(e), io::TableFormat::Proc),
              "ipv4     2 udp      17 29 src=10.0.1.2 dst=10.0.2.2 sport=40001 dport=53 "
              "[UNREPLIED] src=10.0.2.2 dst=10.0.1.2 sport=53 dport=40001 mark=0 zone=0 use=2\n");
  }
  {
    Engine e;
    e.process(icmp(a, b, false, 8, 0, icmp_echo_body(4660, 1)), kT0);
    e.expire(kT0 + kHalf);
    EXPECT_EQ(line(e, only_entry(e), io::TableFormat::Proc),
              "ipv4     2 icmp     1 29 src=10.0.1.2 dst=10.0.2.2 type=8 code=0 id=4660 "
              "[UNREPLIED] src=10.0.2.2 dst=10.0.1.2 type=0 code=0 id=4660 mark=0 zone=0 use=2\n");
  }
  {
    Engine e;
    e.process(raw_ip(a, b, false, 99, Bytes{1, 2, 3, 4}), kT0);
    e.expire(kT0 + kHalf);
    EXPECT_EQ(line(e, only_entry(e), io::TableFormat::Proc),
              "ipv4     2 unknown  99 599 src=10.0.1.2 dst=10.0.2.2 [UNREPLIED] src=10.0.2.2 "
              "dst=10.0.1.2 mark=0 zone=0 use=2\n");
  }
  {
    Engine e;
    e.process(icmp(parse_addr("fd00:1::2"), parse_addr("fd00:2::2"), true, 128, 0,
                   icmp_echo_body(43981, 1)),
              kT0);
    e.expire(kT0 + kHalf);
    EXPECT_EQ(line(e, only_entry(e), io::TableFormat::Proc),
              "ipv6     10 icmpv6   58 29 src=fd00:0001:0000:0000:0000:0000:0000:0002 "
              "dst=fd00:0002:0000:0000:0000:0000:0000:0002 type=128 code=0 id=43981 [UNREPLIED] "
              "src=fd00:0002:0000:0000:0000:0000:0000:0002 "
              "dst=fd00:0001:0000:0000:0000:0000:0000:0002 type=129 code=0 id=43981 mark=0 zone=0 "
              "use=2\n");
  }
}

TEST(ClassicFormat, SynSentLineOfSection92HasTrailingSpace) {
  Engine e(Config::for_profile(Profile::Classic));
  e.process(tcp(ep4("192.168.1.5", 1031), ep4("192.168.1.35", 23), spec(SYN, 100, 0)), kT0);
  e.expire(kT0 + seconds(2) + kHalf);  // 120 - 2.5 -> 117
  EXPECT_EQ(line(e, only_entry(e), io::TableFormat::Classic),
            "tcp      6 117 SYN_SENT src=192.168.1.5 dst=192.168.1.35 sport=1031 dport=23 "
            "[UNREPLIED] src=192.168.1.35 dst=192.168.1.5 sport=23 dport=1031 use=1 \n");
}

TEST(ConntrackFormat, LinesOfSection93) {
  Engine e;
  e.process(tcp(ep4("10.99.0.2", 40000), ep4("10.99.0.3", 80), spec(SYN, 100, 0)),
            kT0 - seconds(1));  // 120 - 1.5 -> 118 at the read below
  handshake(e, ep4("10.99.0.2", 40001), ep4("10.99.0.3", 80));
  e.expire(kT0 + kHalf);
  const auto entries = e.entries();
  ASSERT_EQ(entries.size(), 2u);
  // Creation order: the SYN_SENT entry first.
  EXPECT_EQ(line(e, *entries[1], io::TableFormat::Conntrack),
            "tcp      6 431999 ESTABLISHED src=10.99.0.2 dst=10.99.0.3 sport=40001 dport=80 "
            "src=10.99.0.3 dst=10.99.0.2 sport=80 dport=40001 [ASSURED] mark=0 use=1\n");
  EXPECT_EQ(line(e, *entries[0], io::TableFormat::Conntrack),
            "tcp      6 118 SYN_SENT src=10.99.0.2 dst=10.99.0.3 sport=40000 dport=80 "
            "[UNREPLIED] src=10.99.0.3 dst=10.99.0.2 sport=80 dport=40000 mark=0 use=1\n");
  EXPECT_EQ(io::conntrack_summary_line(entries.size()),
            "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.\n");
}

TEST(ConntrackFormat, Ipv6IsCompressed) {
  Engine e;
  e.process(icmp(parse_addr("fd00:1::2"), parse_addr("fd00:2::2"), true, 128, 0,
                 icmp_echo_body(43981, 1)),
            kT0);
  e.expire(kT0 + kHalf);
  EXPECT_EQ(line(e, only_entry(e), io::TableFormat::Conntrack),
            "icmpv6   58 29 src=fd00:1::2 dst=fd00:2::2 type=128 code=0 id=43981 [UNREPLIED] "
            "src=fd00:2::2 dst=fd00:1::2 type=129 code=0 id=43981 mark=0 use=1\n");
}

TEST(JsonFormat, TcpEntryObject) {
  Engine e;
  handshake(e, ep4("192.0.2.1", 40000), ep4("198.51.100.2", 80));
  e.expire(kT0 + kHalf);
  EXPECT_EQ(line(e, only_entry(e), io::TableFormat::Json),
            "{\"proto\": \"tcp\", \"protonum\": 6, \"state\": \"ESTABLISHED\", \"timeout\": 431999, "
            "\"orig\": {\"src\": \"192.0.2.1\", \"dst\": \"198.51.100.2\", \"sport\": 40000, "
            "\"dport\": 80}, \"reply\": {\"src\": \"198.51.100.2\", \"dst\": \"192.0.2.1\", "
            "\"sport\": 80, \"dport\": 40000}, \"unreplied\": false, \"assured\": true, \"zone\": 0}\n");
}

TEST(JsonFormat, IcmpAndGenericEntryObjects) {
  const Addr a = parse_addr("192.0.2.1");
  const Addr b = parse_addr("2001:db8::1");
  {
    Engine e;
    e.process(icmp(a, parse_addr("198.51.100.2"), false, 8, 0, icmp_echo_body(7, 1)), kT0);
    EXPECT_EQ(line(e, only_entry(e), io::TableFormat::Json),
              "{\"proto\": \"icmp\", \"protonum\": 1, \"state\": null, \"timeout\": 30, "
              "\"orig\": {\"src\": \"192.0.2.1\", \"dst\": \"198.51.100.2\", \"type\": 8, "
              "\"code\": 0, \"id\": 7}, \"reply\": {\"src\": \"198.51.100.2\", \"dst\": "
              "\"192.0.2.1\", \"type\": 0, \"code\": 0, \"id\": 7}, \"unreplied\": true, "
              "\"assured\": false, \"zone\": 0}\n");
  }
  {
    Engine e;
    e.process(raw_ip(b, parse_addr("2001:db8::2"), true, 99, Bytes{1, 2}), kT0);
    EXPECT_EQ(line(e, only_entry(e), io::TableFormat::Json),
              "{\"proto\": \"unknown\", \"protonum\": 99, \"state\": null, \"timeout\": 600, "
              "\"orig\": {\"src\": \"2001:db8::1\", \"dst\": \"2001:db8::2\"}, \"reply\": "
              "{\"src\": \"2001:db8::2\", \"dst\": \"2001:db8::1\"}, \"unreplied\": true, "
              "\"assured\": false, \"zone\": 0}\n");
  }
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
  std::string out;
  io::append_json_string(out, std::string("a\"b\\c\n\t\r\b\f\x01\x1f\x7f", 13));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\\u007f\"");
  out.clear();
  io::append_json_string(out, std::string("nul\0x", 5));
  EXPECT_EQ(out, "\"nul\\u0000x\"");
  out.clear();
  io::append_json_string(out, "caf\xc3\xa9");  // UTF-8 passes through
  EXPECT_EQ(out, "\"caf\xc3\xa9\"");
}

// Short strings without escapes take a fast path (quoted in a local
// buffer); long ones and those with escapes the general one. Both must give
// the same spelling on either side of the boundary, keys included.
TEST(JsonWriter, ShortAndLongStringsAndKeysQuoteAlike) {
  for (std::size_t len : {0u, 1u, 59u, 60u, 61u, 200u}) {
    SCOPED_TRACE(len);
    const std::string plain(len, 'k');
    std::string out;
    io::append_json_string(out, plain);
    EXPECT_EQ(out, "\"" + plain + "\"");
    out.clear();
    io::append_json_key(out, plain);
    EXPECT_EQ(out, "\"" + plain + "\": ");
    std::string escaped = plain;
    escaped.insert(escaped.size() / 2, "\"");
    out.clear();
    io::append_json_key(out, escaped);
    std::string want = plain;
    want.insert(want.size() / 2, "\\\"");
    EXPECT_EQ(out, "\"" + want + "\": ");
  }
}

TEST(JsonWriter, SecondsAreExact) {
  std::string out;
  io::append_json_seconds(out, 1'700'000'000'000'120'000LL);
  EXPECT_EQ(out, "1700000000.000120");
  out.clear();
  io::append_json_seconds(out, 1'700'000'000'000'000'001LL);
  EXPECT_EQ(out, "1700000000.000000001");
  out.clear();
  io::append_json_seconds(out, -1'500'000'000LL);
  EXPECT_EQ(out, "-1.500000");
}

TEST(PacketFormat, JsonLineHasExactlyTheDocumentedKeys) {
  Engine e;
  const Result r =
      e.process(tcp(ep4("192.0.2.1", 40000), ep4("198.51.100.2", 80), spec(SYN | FIN, 1, 0)), kT0);
  ASSERT_EQ(r.state, CtState::Invalid);
  std::string out;
  io::append_packet_json(out, e, io::PacketEvent{7, kT0 + 250'000, &r});
  EXPECT_EQ(out,
            "{\"index\": 7, \"ts\": 1000.000250, \"ct_state\": \"invalid\", \"ct_direction\": null, "
            "\"reason\": \"invalid tcp flag combination\", \"entry\": null}\n");
}

TEST(PacketFormat, TextLineShowsStateDirectionAndTransition) {
  Engine e;
  const Endpoint c = ep4("192.0.2.1", 40000);
  const Endpoint s = ep4("198.51.100.2", 80);
  e.process(tcp(c, s, spec(SYN, 100, 0)), kT0);
  const Result r = e.process(tcp(s, c, spec(SYN | ACK, 500, 101)), kT0 + 120'000);
  ASSERT_EQ(r.tcp_before, TcpState::SynSent);
  std::string out;
  io::append_packet_text(out, e, io::PacketEvent{2, kT0 + 120'000, &r}, kT0);
  EXPECT_EQ(out,
            "    2 0.000120 tcp     198.51.100.2:80 -> 192.0.2.1:40000            [SA]  "
            "ESTABLISHED reply    SYN_SENT->SYN_RECV\n");
}

// The columns the text formatter writes into its bounded line buffer, at
// their widest: a six-digit packet number, a time before the first packet,
// bracketed IPv6 endpoints of full length, an ICMPv6 tuple, a protocol
// without a name, a packet without a tuple, every TCP flag.
TEST(PacketFormat, TextLineColumnsAtTheirWidest) {
  Engine e;
  std::string out;
  const Endpoint c6 = ep6("2001:db8:1111:2222:3333:4444:5555:6666", 65535);
  const Endpoint s6 = ep6("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", 443);
  const Result udp6 = e.process(udp(c6, s6, "x"), kT0 + 5'000'000'000);
  io::append_packet_text(out, e, io::PacketEvent{123456, kT0 + 5'000'000'000, &udp6},
                         kT0 + 6'000'000);
  const Result echo6 =
      e.process(icmp(c6.addr, s6.addr, true, 128, 0, icmp_echo_body(65535, 1)), kT0);
  io::append_packet_text(out, e, io::PacketEvent{3, kT0 - 1'500'000, &echo6}, kT0);
  const Result gre = e.process(
      raw_ip(parse_addr("192.0.2.1"), parse_addr("198.51.100.2"), false, 99, Bytes(8, 0)), kT0);
  io::append_packet_text(out, e, io::PacketEvent{4, kT0, &gre}, kT0);
  const Result bad = e.process(Bytes{0x45, 0x00}, kT0);
  io::append_packet_text(out, e, io::PacketEvent{5, kT0, &bad}, kT0);
  const Result xmas = e.process(tcp(ep4("255.255.255.254", 65535), ep4("10.200.30.4", 9),
                                    spec(FIN | SYN | RST | PSH | ACK | URG | ECE | CWR, 1, 0)),
                                kT0);
  io::append_packet_text(out, e, io::PacketEvent{18446744073709551615ull, kT0, &xmas}, kT0);
  EXPECT_EQ(
      out,
      "123456 4.994000 udp     [2001:db8:1111:2222:3333:4444:5555:6666]:65535 -> "
      "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443       NEW         original\n"
      "    3 -0.001500 icmpv6  2001:db8:1111:2222:3333:4444:5555:6666 -> "
      "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff type=128 code=0 id=65535       NEW         original\n"
      "    4 0.000000 proto99 192.0.2.1 -> 198.51.100.2                           NEW         "
      "original\n"
      "    5 0.000000 -       (no tuple)                                          INVALID     -    "
      "    "
      "truncated IP header\n"
      "18446744073709551615 0.000000 tcp     255.255.255.254:65535 -> 10.200.30.4:9        "
      "[FSRPAUEC] INVALID     -        invalid tcp flag combination\n");
}

TEST(TcpFlags, LettersInBitOrder) {
  std::string out;
  io::append_tcp_flags(out, SYN | ACK);
  io::append_tcp_flags(out, FIN | PSH | ACK);
  io::append_tcp_flags(out, 0);
  EXPECT_EQ(out, "[SA][FPA][]");
}

TEST(StatsFormat, ConntrackDashSLineAndOwnCounters) {
  Engine e;
  e.process(tcp(ep4("192.0.2.1", 40000), ep4("198.51.100.2", 80), spec(SYN | FIN, 1, 0)), kT0);
  e.process(udp(ep4("192.0.2.1", 5000), ep4("198.51.100.2", 53), "q"), kT0);
  std::string out;
  io::append_conntrack_stats(out, e.stats());
  io::append_ctrack_stats(out, e.stats(), 3);
  EXPECT_EQ(out,
            "cpu=0 found=0 invalid=1 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 "
            "search_restart=0 clash_resolve=0 chaintoolong=0\n"
            "packets=2 created=1 expired=0 entries=1 link_errors=3\n");
}

TEST(TableFormatNames, ParseAndReject) {
  EXPECT_EQ(io::parse_table_format("proc"), io::TableFormat::Proc);
  EXPECT_EQ(io::parse_table_format("classic"), io::TableFormat::Classic);
  EXPECT_EQ(io::parse_table_format("conntrack"), io::TableFormat::Conntrack);
  EXPECT_EQ(io::parse_table_format("json"), io::TableFormat::Json);
  EXPECT_FALSE(io::parse_table_format("xml").has_value());
}

}  // namespace
}  // namespace ctrack

// Expectation listings and the helper-related parts of entry listings,
// checked against literal lines: linux-core.md §7.2 and lines read on the
// live 6.18 kernel in a private namespace (ftp helper on loopback, IPv4 and
// IPv6; /proc/net/nf_conntrack_expect, `conntrack -L expect [-f ipv6]`,
// `conntrack -L`).
#include "io/expect_format.h"

#include <gtest/gtest.h>

#include <string>

#include "ftp_session.h"
#include "io/entry_format.h"
#include "io/packet_format.h"

namespace ctrack::test {
namespace {

Expectation ftp_expectation(const Tuple& data, const Tuple& master) {
  Expectation e;
  e.tuple = data;
  e.tuple.src_id = 0;
  for (std::size_t i = 0; i < (data.is_v6() ? 16u : 4u); ++i) e.mask_src.b[i] = 0xff;
  e.mask_sport = 0;
  e.master = master;
  e.master_id = 1;
  e.helper = helper_id("ftp");
  return e;
}

std::string text(io::ExpectFormat f, const Expectation& e, std::int64_t timeout = 299) {
  std::string out;
  io::append_expectation(out, f, e, timeout);
  return out;
}

TEST(ExpectFormat, ProcLineOfSection72) {
  const Expectation e = ftp_expectation(make_tuple(kB, kA, false, kProtoTCP, 0, 40001),
                                        make_tuple(kA, kB, false, kProtoTCP, 40100, 21));
  EXPECT_EQ(text(io::ExpectFormat::Proc, e),
            "299 l3proto = 2 proto=6 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=40001 ftp\n");
}

TEST(ExpectFormat, ConntrackLineOfSection72) {
  const Expectation e = ftp_expectation(make_tuple(kA, kB, false, kProtoTCP, 0, 50020),
                                        make_tuple(kA, kB, false, kProtoTCP, 40800, 21));
  EXPECT_EQ(text(io::ExpectFormat::Conntrack, e),
            "299 proto=6 src=10.0.1.2 dst=10.0.2.2 sport=0 dport=50020 mask-src=255.255.255.255 "
            "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 master-dst=10.0.2.2 "
            "sport=40800 dport=21 class=0 helper=ftp\n");
}

TEST(ExpectFormat, Ipv6AsTheLiveKernelPrintsIt) {
  const Addr lo = parse_addr("::1");
  const Expectation e = ftp_expectation(make_tuple(lo, lo, true, kProtoTCP, 0, 50001),
                                        make_tuple(lo, lo, true, kProtoTCP, 51578, 21));
  EXPECT_EQ(text(io::ExpectFormat::Proc, e),
            "299 l3proto = 10 proto=6 src=0000:0000:0000:0000:0000:0000:0000:0001 "
            "dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=0 dport=50001 ftp\n");
  EXPECT_EQ(text(io::ExpectFormat::Conntrack, e),
            "299 proto=6 src=::1 dst=::1 sport=0 dport=50001 "
            "mask-src=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
            "mask-dst=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff sport=0 dport=65535 master-src=::1 "
            "master-dst=::1 sport=51578 dport=21 class=0 helper=ftp\n");
}

TEST(ExpectFormat, WildcardSourceAndFlags) {
  Expectation e = ftp_expectation(make_tuple(Addr{}, kA, false, kProtoTCP, 0, 40500),
                                  make_tuple(kA, kB, false, kProtoTCP, 40400, 6667));
  e.mask_src = Addr{};
  EXPECT_EQ(text(io::ExpectFormat::Proc, e),
            "299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.0.1.2 sport=0 dport=40500 ftp\n");
  e.flags = kExpectPermanent | kExpectInactive;
  EXPECT_EQ(text(io::ExpectFormat::Proc, e),
            "299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.0.1.2 sport=0 dport=40500 "
            "PERMANENT,INACTIVE ftp\n");
  const std::string c = text(io::ExpectFormat::Conntrack, e);
  EXPECT_NE(c.find("mask-src=0.0.0.0 "), std::string::npos) << c;
  EXPECT_NE(c.find("PERMANENT,INACTIVE class=0 helper=ftp\n"), std::string::npos) << c;
}

TEST(ExpectFormat, Json) {
  const Expectation e = ftp_expectation(make_tuple(kB, kA, false, kProtoTCP, 0, 40001),
                                        make_tuple(kA, kB, false, kProtoTCP, 40100, 21));
  EXPECT_EQ(
      text(io::ExpectFormat::Json, e),
      "{\"id\": 0, \"timeout\": 299, \"proto\": \"tcp\", \"protonum\": 6, \"family\": \"ipv4\", "
      "\"tuple\": {\"src\": \"10.0.2.2\", \"dst\": \"10.0.1.2\", \"sport\": 0, \"dport\": 40001}, "
      "\"src_any\": false, \"sport_any\": true, \"master\": {\"id\": 1, \"orig\": {\"src\": "
      "\"10.0.1.2\", \"dst\": \"10.0.2.2\", \"sport\": 40100, \"dport\": 21}}, \"helper\": "
      "\"ftp\", "
      "\"class\": 0, \"flags\": []}\n");
  EXPECT_EQ(io::parse_expect_format("proc"), io::ExpectFormat::Proc);
  EXPECT_EQ(io::parse_expect_format("conntrack"), io::ExpectFormat::Conntrack);
  EXPECT_EQ(io::parse_expect_format("json"), io::ExpectFormat::Json);
  EXPECT_FALSE(io::parse_expect_format("classic"));
  EXPECT_EQ(io::conntrack_expect_summary_line(1),
            "conntrack v1.4.7 (conntrack-tools): 1 expectations have been shown.\n");
}

// Entry lines: `conntrack -L` names the helper, /proc never does; use= counts
// the references RELATED children hold on their master.
TEST(ExpectFormat, EntryLinesShowTheHelperInConntrackFormatOnly) {
  L4Engine e(ftp_config());
  FtpSession s(e, {kA, 40100, false}, {kB, 21, false});
  s.handshake(0);
  s.login(10);
  s.client(20, "PORT 10,0,1,2,156,65\r\n");
  const Conn* ctl = s.control();
  ASSERT_NE(ctl, nullptr);
  io::EntryInfo info = io::entry_info(e.engine, *ctl);
  std::string out;
  io::append_entry(out, io::TableFormat::Conntrack, info);
  EXPECT_NE(out.find("[ASSURED] mark=0 helper=ftp use=1\n"), std::string::npos) << out;
  out.clear();
  io::append_entry(out, io::TableFormat::Proc, info);
  EXPECT_EQ(out.find("helper"), std::string::npos) << out;
  EXPECT_NE(out.find("[ASSURED] mark=0 zone=0 use=2\n"), std::string::npos) << out;

  // With a live child the master prints use=3 (/proc) and use=2 (conntrack).
  const Result d = e.send(30, syn({kB, 20, false}, {kA, 40001, false}));
  ASSERT_EQ(d.state, CtState::Related);
  info.children = 1;
  out.clear();
  io::append_entry(out, io::TableFormat::Proc, info);
  EXPECT_NE(out.find(" use=3\n"), std::string::npos) << out;
  out.clear();
  io::append_entry(out, io::TableFormat::Conntrack, info);
  EXPECT_NE(out.find(" helper=ftp use=2\n"), std::string::npos) << out;

  // JSON: the child names its master, the master its helper.
  const std::string master_json = "\"master\": {\"id\": " + std::to_string(ctl->id) +
                                  ", \"orig\": {\"src\": \"10.0.1.2\", \"dst\": \"10.0.2.2\", "
                                  "\"sport\": 40100, \"dport\": 21}}";
  out.clear();
  io::append_entry_json(out, io::entry_info(e.engine, *d.conn));
  EXPECT_NE(out.find(master_json), std::string::npos) << out;
  EXPECT_EQ(out.find("\"helper\""), std::string::npos) << out;
  out.clear();
  io::append_entry_json(out, io::entry_info(e.engine, *ctl));
  EXPECT_NE(out.find("\"helper\": \"ftp\""), std::string::npos) << out;
  // Per-packet records carry both at the top level, after "entry".
  out.clear();
  const io::PacketEvent ev{16, ms(30), &d};
  io::append_packet_json(out, e.engine, ev);
  EXPECT_NE(out.find("}, " + master_json + "}\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace ctrack::test

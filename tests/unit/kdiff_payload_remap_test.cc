// kernel-diff's remapping of addresses written in helper payloads, and its
// --notrack expression matcher (no namespaces needed).
#include <gtest/gtest.h>

#include <string>

#include "kdiff/address_map.h"
#include "kdiff/notrack_expr.h"
#include "kdiff/payload_remap.h"
#include "support/packet_builder.h"

namespace ctrack::kdiff {
namespace {

using test::Bytes;

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Bytes ftp_segment(const test::Endpoint& s, const test::Endpoint& d, const std::string& payload) {
  test::TcpSpec sp;
  sp.flags = test::PSH | test::ACK;
  sp.seq = 1017;
  sp.ack = 5033;
  sp.payload = payload;
  return test::tcp(s, d, sp);
}

TEST(PayloadRemap, FindsFtpAndIrcAddresses) {
  const std::string port = "PORT 172,23,0,3,156,65\r\n";
  auto a = find_payload_addrs(bytes_of(port));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].off, 5u);
  EXPECT_EQ(a[0].len, 10u);  // "172,23,0,3"
  EXPECT_EQ(a[0].addr, Addr::v4(172, 23, 0, 3));

  auto p =
      find_payload_addrs(bytes_of(std::string("227 Entering Passive Mode (10,0,1,2,156,75)\r\n")));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].addr, Addr::v4(10, 0, 1, 2));

  auto e = find_payload_addrs(bytes_of(std::string("EPRT |2|2001:470::1|5282|\r\n")));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_TRUE(e[0].v6);
  EXPECT_EQ(e[0].form, PayloadAddrForm::V6Text);
  EXPECT_EQ(e[0].len, 11u);

  auto d = find_payload_addrs(
      bytes_of(std::string("PRIVMSG bob :\1DCC SEND f.bin 167772418 40010 12\1\r\n")));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].addr, Addr::v4(10, 0, 1, 2));
  EXPECT_EQ(d[0].form, PayloadAddrForm::Decimal);

  // RESUME carries no address; 229 carries only a port; an FTP number above
  // 255 is left alone (the kernel ORs it into the address).
  EXPECT_TRUE(
      find_payload_addrs(bytes_of(std::string("PRIVMSG b :\1DCC RESUME f 40010 0\1\r\n"))).empty());
  EXPECT_TRUE(find_payload_addrs(bytes_of(std::string("229 Extended Passive Mode (|||50000|)\r\n")))
                  .empty());
  EXPECT_TRUE(find_payload_addrs(bytes_of(std::string("PORT 10,0,1,258,156,75\r\n"))).empty());
}

TEST(PayloadRemap, PadsWithLeadingZerosToKeepTheLength) {
  EXPECT_EQ(payload_addr_text(Addr::v4(198, 18, 0, 1), false, PayloadAddrForm::Comma, 15),
            "198,018,000,001");
  EXPECT_EQ(payload_addr_text(Addr::v4(192, 0, 2, 1), false, PayloadAddrForm::Comma, 9),
            "192,0,2,1");
  EXPECT_EQ(payload_addr_text(Addr::v4(192, 0, 2, 1), false, PayloadAddrForm::Comma, 8), "");
  EXPECT_EQ(payload_addr_text(Addr::v4(192, 0, 2, 1), false, PayloadAddrForm::Decimal, 11),
            "03221225985");
  EXPECT_EQ(payload_addr_text(Addr::v4(192, 0, 2, 1), false, PayloadAddrForm::Decimal, 9), "");
  const Addr v6 = test::parse_addr("2001:db8:ffff::1");
  for (std::size_t len = 16; len <= 39; ++len) {
    const std::string t = payload_addr_text(v6, true, PayloadAddrForm::V6Text, len);
    ASSERT_EQ(t.size(), len) << t;
    EXPECT_EQ(test::parse_addr(t.c_str()), v6) << t;
  }
}

TEST(PayloadRemap, AddressMapRewritesPayloadAndChecksum) {
  const auto c = test::ep4("172.23.0.3", 58252), s = test::ep4("141.142.220.235", 21);
  const Bytes orig = ftp_segment(c, s, "PORT 172,23,0,3,156,65\r\n");
  const Bytes pasv = ftp_segment(s, c, "227 Entering Passive Mode (141,142,220,235,82,9)\r\n");
  AddressMap m;
  m.build({orig, pasv});
  Bytes got = orig;
  std::string problem;
  ASSERT_TRUE(m.apply(got, &problem)) << problem;
  const Addr mc = m.mapped(c.addr, false), ms = m.mapped(s.addr, false);
  ASSERT_TRUE(is_documentation_addr(mc, false));
  ASSERT_TRUE(is_documentation_addr(ms, false));
  // Built from scratch with the mapped addresses and the padded text: same
  // bytes means the incremental checksum update was right.
  const std::string text = payload_addr_text(mc, false, PayloadAddrForm::Comma, 10);
  ASSERT_EQ(text.size(), 10u);
  test::Endpoint mce = c, mse = s;
  mce.addr = mc;
  mse.addr = ms;
  EXPECT_EQ(got, ftp_segment(mce, mse, "PORT " + text + ",156,65\r\n"));

  Bytes got2 = pasv;
  ASSERT_TRUE(m.apply(got2, &problem)) << problem;
  const std::string text2 = payload_addr_text(ms, false, PayloadAddrForm::Comma, 15);
  EXPECT_EQ(got2, ftp_segment(mse, mce, "227 Entering Passive Mode (" + text2 + ",82,9)\r\n"));
}

TEST(PayloadRemap, ReportsWhatCannotKeepItsLength) {
  // 10.0.0.7 is 167772167 (9 digits); every documentation address has 10.
  const auto c = test::ep4("10.0.0.7", 59069), s = test::ep4("10.0.0.22", 6667);
  const Bytes dcc = ftp_segment(c, s, "PRIVMSG bob :\1DCC CHAT chat 167772167 40011\1\r\n");
  AddressMap m;
  m.build({dcc});
  Bytes got = dcc;
  std::string problem;
  EXPECT_FALSE(m.apply(got, &problem));
  EXPECT_NE(problem.find("IRC DCC"), std::string::npos) << problem;
  EXPECT_EQ(got.size(), dcc.size());
}

TEST(NotrackExpr, ParsesMatchesAndRejects) {
  NotrackExpr e;
  std::string err;
  ASSERT_TRUE(e.parse("udp dport 53 ip saddr 192.0.2.0/24", &err)) << err;
  const auto c = test::ep4("192.0.2.1", 5353), s = test::ep4("198.51.100.2", 53);
  EXPECT_TRUE(e.matches(test::udp(c, s, "q")));
  EXPECT_FALSE(e.matches(test::udp(s, c, "r")));
  EXPECT_EQ(e.nft_text(), "udp dport 53-53 ip saddr 192.0.2.0/24");

  NotrackExpr neg;
  ASSERT_TRUE(neg.parse("tcp dport != 80", &err)) << err;
  test::TcpSpec sp;
  sp.flags = test::SYN;
  EXPECT_FALSE(
      neg.matches(test::tcp(test::ep4("192.0.2.1", 1), test::ep4("198.51.100.2", 80), sp)));
  EXPECT_TRUE(neg.matches(test::tcp(test::ep4("192.0.2.1", 1), test::ep4("198.51.100.2", 81), sp)));
  EXPECT_FALSE(neg.matches(test::udp(c, s, "q")));  // tcp match implies the protocol

  NotrackExpr bad;
  EXPECT_FALSE(bad.parse("ct state new", &err));
  EXPECT_NE(err.find("supported"), std::string::npos);
  EXPECT_FALSE(bad.parse("tcp dport 70000", &err));
}

}  // namespace
}  // namespace ctrack::kdiff

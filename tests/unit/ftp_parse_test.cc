// Every path of the FTP command parser (linux-core.md §7.4): PORT, EPRT,
// 227, 229; good, malformed ("partial": the kernel drops the packet), out of
// range, cut short, IPv6.
#include "helpers/ftp_parse.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "support/packet_builder.h"

namespace ctrack::test {
namespace {

using ftp::Command;
using ftp::Outcome;

const Addr kClient = Addr::v4(10, 0, 1, 2);
const Addr kServer = Addr::v4(10, 0, 2, 2);

ftp::Parsed parse(std::string_view text, Direction dir, std::uint8_t family = kFamilyIPv4,
                  const Addr& own = kClient) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
  return ftp::parse(std::span<const std::uint8_t>(p, text.size()), dir, family, own);
}
ftp::Parsed from_client(std::string_view t) { return parse(t, Direction::Original); }
ftp::Parsed from_server(std::string_view t) {
  return parse(t, Direction::Reply, kFamilyIPv4, kServer);
}

TEST(FtpParse, PortGood) {
  const auto p = from_client("PORT 10,0,1,2,156,65\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.command, Command::Port);
  EXPECT_EQ(p.addr, kClient);
  EXPECT_EQ(p.port, 40001);
  EXPECT_EQ(p.match_off, 5u);
  EXPECT_EQ(p.match_len, 15u);  // up to the '\r'
}

TEST(FtpParse, PortCaseAndSkipToFirstSpace) {
  EXPECT_EQ(from_client("port 10,0,1,2,156,65\r\n").outcome, Outcome::Match);
  EXPECT_EQ(from_client("PoRt 10,0,1,2,156,65\r\n").outcome, Outcome::Match);
  // Letters after PORT are skipped up to the first space.
  const auto p = from_client("PORTX 10,0,1,2,156,65\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.port, 40001);
}

TEST(FtpParse, PortMalformedIsPartial) {
  for (const char* bad : {
           "PORT 10,0,1,2,156\r\n",       // five numbers
           "PORT 10,0,1,2,156,65\n",      // no CR
           "PORT  10,0,1,2,156,65\r\n",   // two spaces: the second is not a digit
           "PORT 10,0,1,2,156,65,7\r\n",  // seven numbers
           "PORT 10,0,1,2,156,65",        // cut before the terminator
           "PORT 10.0.1.2.156.65\r\n",    // wrong separator
           "PORTabc\r\n",                 // no space at all
           "PORT ",                       // nothing after the space
       }) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(from_client(bad).outcome, Outcome::Partial);
  }
}

TEST(FtpParse, PrefixOfAPatternIsPartial) {
  // A segment no longer than the pattern that is a prefix of it: the rest may
  // be in the next segment, so the kernel drops it.
  for (const char* cut : {"P", "POR", "PORT", "po", "E", "EPR"}) {
    SCOPED_TRACE(cut);
    EXPECT_EQ(from_client(cut).outcome, Outcome::Partial);
  }
  EXPECT_EQ(from_server("22").outcome, Outcome::Partial);
  EXPECT_EQ(from_server("227 ").outcome, Outcome::Partial);
  EXPECT_EQ(from_server("229").outcome, Outcome::Partial);
  EXPECT_EQ(from_client("PX").outcome, Outcome::NoMatch);
  EXPECT_EQ(from_server("2").outcome, Outcome::Partial);
}

TEST(FtpParse, OtherCommandsAndRepliesDoNotMatch) {
  EXPECT_EQ(from_client("USER ftp\r\n").outcome, Outcome::NoMatch);
  EXPECT_EQ(from_client("PASV\r\n").outcome, Outcome::NoMatch);
  EXPECT_EQ(from_client("NOOP\r\nPORT 10,0,1,2,156,65\r\n").outcome, Outcome::NoMatch);
  EXPECT_EQ(from_server("220 hello\r\n").outcome, Outcome::NoMatch);
  EXPECT_EQ(from_server("2270 x\r\n").outcome, Outcome::NoMatch);
  // Direction matters: a 227 from the client and a PORT from the server
  // are not looked at.
  EXPECT_EQ(from_client("227 (10,0,2,2,195,80)\r\n").outcome, Outcome::NoMatch);
  EXPECT_EQ(from_server("PORT 10,0,2,2,195,80\r\n").outcome, Outcome::NoMatch);
}

TEST(FtpParse, PortNumbersAreNotRangeChecked) {
  // Verified on 6.18: 258 ORs into the neighbouring byte.
  auto p = from_client("PORT 10,0,1,258,156,75\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.addr, kClient);
  EXPECT_EQ(p.port, 40011);
  p = from_client("PORT 10,0,1,2,0,0\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.port, 0);
  // Values wrap at 32 bits: 4294967306 = 2^32 + 10.
  p = from_client("PORT 4294967306,0,1,2,1,1\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.addr, kClient);
  EXPECT_EQ(p.port, 257);
  // Port bytes: (p1 << 8 | p2) & 0xffff.
  p = from_client("PORT 10,0,1,2,256,1\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.port, 1);
}

TEST(FtpParse, PortOnIpv6KeepsTheTailOfTheOwnAddress) {
  const Addr a6 = parse_addr("2001:db8::1");
  const auto p = parse("PORT 10,0,1,2,156,65\r\n", Direction::Original, kFamilyIPv6, a6);
  ASSERT_EQ(p.outcome, Outcome::Match);
  Addr want = a6;
  want.b[0] = 10;
  want.b[1] = 0;
  want.b[2] = 1;
  want.b[3] = 2;
  EXPECT_EQ(p.addr, want);
  EXPECT_NE(p.addr, a6);  // so the helper's address check refuses it
}

TEST(FtpParse, EprtIpv4) {
  auto p = from_client("EPRT |1|10.0.1.2|40001|\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.command, Command::Eprt);
  EXPECT_EQ(p.addr, kClient);
  EXPECT_EQ(p.port, 40001);
  // Any printable non-digit delimiter.
  p = from_client("EPRT !1!10.0.1.2!40001!\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.port, 40001);
  // No CR needed: the delimiter ends it.
  EXPECT_EQ(from_client("EPRT |1|10.0.1.2|40001|").outcome, Outcome::Match);
}

TEST(FtpParse, EprtMalformed) {
  for (const char* bad : {
           "EPRT |2|10.0.1.2|40001|\r\n",  // protocol 2 on IPv4
           "EPRT |3|10.0.1.2|40001|\r\n",
           "EPRT 1|1|10.0.1.2|40001|\r\n",   // digit as delimiter
           "EPRT  |1|10.0.1.2|40001|\r\n",   // space as delimiter
           "EPRT |1-10.0.1.2|40001|\r\n",    // delimiter mismatch
           "EPRT |1|10.0.1|40001|\r\n",      // three octets
           "EPRT |1|10.0.1.2.3|40001|\r\n",  // five
           "EPRT |1|10.0.1.2|0|\r\n",        // port 0
           "EPRT |1|10.0.1.2|40001\r\n",     // no closing delimiter
           "EPRT |1|10.0.1.2|4x|\r\n",
           "EPRT |1|",
           "EPRT |1\r\n",
       }) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(from_client(bad).outcome, Outcome::Partial);
  }
}

TEST(FtpParse, EprtPortWrapsAt16Bits) {
  // 105537 = 65536 + 40001.
  const auto p = from_client("EPRT |1|10.0.1.2|105537|\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.port, 40001);
  EXPECT_EQ(from_client("EPRT |1|10.0.1.2|65536|\r\n").outcome, Outcome::Partial);  // wraps to 0
}

TEST(FtpParse, EprtIpv6) {
  const Addr a6 = parse_addr("2001:470:1f11:81f:c999:d94:aa7c:2e3e");
  auto p = parse("EPRT |2|2001:470:1f11:81f:c999:d94:aa7c:2e3e|49189|\r\n", Direction::Original,
                 kFamilyIPv6, a6);
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.addr, a6);
  EXPECT_EQ(p.port, 49189);
  p = parse("EPRT |2|fd00:1::2|40001|\r\n", Direction::Original, kFamilyIPv6, a6);
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.addr, parse_addr("fd00:1::2"));
  // IPv4 protocol number on an IPv6 connection: refused.
  EXPECT_EQ(parse("EPRT |1|10.0.1.2|40001|\r\n", Direction::Original, kFamilyIPv6, a6).outcome,
            Outcome::Partial);
}

Addr v6_of(std::string_view text, char delim, std::size_t* len) {
  Addr a;
  const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
  *len = ftp::parse_ipv6(std::span<const std::uint8_t>(p, text.size()),
                         static_cast<std::uint8_t>(delim), a);
  return a;
}

TEST(FtpParse, Ipv6TextForms) {
  std::size_t n = 0;
  EXPECT_EQ(v6_of("::|", '|', &n), Addr{});
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(v6_of("::1|", '|', &n), parse_addr("::1"));
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(v6_of("fd00:1::|", '|', &n), parse_addr("fd00:1::"));
  EXPECT_EQ(n, 8u);
  EXPECT_EQ(v6_of("1:2:3:4:5:6:7:8|", '|', &n), parse_addr("1:2:3:4:5:6:7:8"));
  EXPECT_EQ(n, 15u);
  EXPECT_EQ(v6_of("::ffff:10.0.1.2|", '|', &n), parse_addr("::ffff:10.0.1.2"));
  EXPECT_EQ(n, 15u);
  EXPECT_EQ(v6_of("1:2:3:4:5:6:10.0.1.2|", '|', &n), parse_addr("1:2:3:4:5:6:a00:102"));
  EXPECT_EQ(v6_of("FD00:0001::0002|", '|', &n), parse_addr("fd00:1::2"));
  EXPECT_EQ(v6_of("00000001::|", '|', &n), parse_addr("1::"));  // leading zeros run on
  EXPECT_NE(n, 0u);
  // "::" must stand for at least one zero group (verified on 6.18).
  EXPECT_EQ(v6_of("1:2:3:4:5:6:7::|", '|', &n), parse_addr("1:2:3:4:5:6:7:0"));
  EXPECT_NE(n, 0u);
  EXPECT_EQ(v6_of("::2:3:4:5:6:7:8|", '|', &n), parse_addr("0:2:3:4:5:6:7:8"));
  EXPECT_NE(n, 0u);
  EXPECT_EQ(v6_of("1:2:3:4:5::1.2.3.4|", '|', &n), parse_addr("1:2:3:4:5:0:102:304"));
  EXPECT_NE(n, 0u);
  for (const char* bad : {"1:2:3:4:5:6:7|", "1:2:3:4:5:6:7:8:9|", "1::2::3|", ":1::|", "12345::|",
                          "fd00:1::2", "fd00:1::2 |", "1.2.3.4|", "::1.2.3|", "::1.2.3.256|",
                          "g::|", "1:2:3:4:5:6:7:8::|", ":|", "|", "", "1:2:3:4:5:6:7::8|",
                          "::1:2:3:4:5:6:7:8|", "1::2:3:4:5:6:7:8|", "1:2:3:4:5:6::1.2.3.4|"}) {
    SCOPED_TRACE(bad);
    v6_of(bad, '|', &n);
    EXPECT_EQ(n, 0u);
  }
}

TEST(FtpParse, Pasv227Good) {
  auto p = from_server("227 Entering Passive Mode (10,0,2,2,195,80).\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.command, Command::Pasv227);
  EXPECT_EQ(p.addr, kServer);
  EXPECT_EQ(p.port, 50000);
  EXPECT_EQ(p.match_off, 27u);  // at the first digit
  // Parentheses are optional (RFC 1123): the first digit starts the numbers,
  // and any non-digit non-comma ends them.
  p = from_server("227 =10,0,2,2,195,80\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.port, 50000);
  p = from_server("227 10,0,2,2,195,80 ok\r\n");
  EXPECT_EQ(p.outcome, Outcome::Match);
}

TEST(FtpParse, Pasv227Malformed) {
  for (const char* bad : {
           "227 Entering Passive Mode\r\n",  // no digit at all
           "227 Entering Passive Mode (10,0,2,2,195)\r\n",
           "227 (10,0,2,2,195,80",  // runs out before a terminator
           "227 (10,0,2,2,195,80,1)\r\n",
       }) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(from_server(bad).outcome, Outcome::Partial);
  }
  // "227" without the space is another reply.
  EXPECT_EQ(from_server("227-multi\r\n").outcome, Outcome::NoMatch);
}

TEST(FtpParse, Epsv229) {
  auto p = from_server("229 Entering Extended Passive Mode (|||50001|)\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.command, Command::Epsv229);
  EXPECT_EQ(p.addr, kServer);  // EPSV names no address: the server's own
  EXPECT_EQ(p.port, 50001);
  p = from_server("229 x (!!!50001!)\r\n");
  ASSERT_EQ(p.outcome, Outcome::Match);
  EXPECT_EQ(p.port, 50001);
  for (const char* bad : {
           "229 Entering Extended Passive Mode |||50001|\r\n",  // no '('
           "229 (|||0|)\r\n",
           "229 (||50001|)\r\n",
           "229 (111501|)\r\n",
           "229 (|||50001)\r\n",
           "229 (|||",
           "229 (",
       }) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(from_server(bad).outcome, Outcome::Partial);
  }
}

TEST(FtpParse, NeverReadsPastTheEnd) {
  // Every prefix of every good command: none may read beyond its length
  // (checked by the sanitizer build) and none may be a Match unless the
  // terminator is included.
  for (std::string_view full : {"PORT 10,0,1,2,156,65\r\n", "EPRT |2|fd00:1::2|40001|\r\n",
                                "EPRT |1|10.0.1.2|40001|\r\n"}) {
    for (std::size_t n = 0; n <= full.size(); ++n) {
      std::string copy(full.substr(0, n));
      (void)parse(copy, Direction::Original, full[6] == '2' ? kFamilyIPv6 : kFamilyIPv4);
    }
  }
  for (std::string_view full : {"227 Entering Passive Mode (10,0,2,2,195,80).\r\n",
                                "229 Entering Extended Passive Mode (|||50001|)\r\n"}) {
    for (std::size_t n = 0; n <= full.size(); ++n) {
      std::string copy(full.substr(0, n));
      (void)from_server(copy);
    }
  }
  EXPECT_EQ(from_client("PORT 10,0,1,2,156,65").outcome, Outcome::Partial);
  EXPECT_EQ(from_server("227 (10,0,2,2,195,80").outcome, Outcome::Partial);
}

}  // namespace
}  // namespace ctrack::test

namespace ctrack::test {
namespace {

TEST(FtpParse, RandomPayloadsStayInBounds) {
  // Deterministic pseudo-random payloads that start like a command: the
  // parser must return without reading past the copy (sanitizer builds
  // catch any over-read; each payload lives in an exactly sized buffer).
  std::uint32_t x = 12345;
  auto next = [&x]() {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  const char* heads[] = {"PORT ", "EPRT ", "227 ", "229 (", "EPRT |2|", "EPRT |1|", "229 (|||"};
  const char alphabet[] = "0123456789,.|:()! \r\nabcdefABCDEF";
  for (int i = 0; i < 20000; ++i) {
    std::string s = heads[next() % 7];
    const std::size_t n = next() % 48;
    for (std::size_t k = 0; k < n; ++k) s += alphabet[next() % (sizeof alphabet - 1)];
    std::vector<std::uint8_t> buf(s.begin(), s.end());
    const Direction dir = s[0] == '2' ? Direction::Reply : Direction::Original;
    const std::uint8_t fam = (next() & 1) != 0 ? kFamilyIPv6 : kFamilyIPv4;
    const ftp::Parsed p =
        ftp::parse(std::span<const std::uint8_t>(buf.data(), buf.size()), dir, fam, Addr{});
    if (p.outcome == ftp::Outcome::Match) {
      EXPECT_LE(p.match_off + p.match_len, buf.size());
    }
  }
}

}  // namespace
}  // namespace ctrack::test

namespace ctrack::test {
namespace {

TEST(FtpParse, EprtIpv6FormsAsThe618KernelReadsThem) {
  // Sent over a real TCP connection on ::1 with the ftp helper attached, on
  // Linux 6.18: dropped (Partial), or accepted with or without an
  // expectation (Match with the sender's address or another one).
  const Addr lo = parse_addr("::1");
  struct Case {
    const char* cmd;
    Outcome outcome;
    bool own_address;
  } cases[] = {
      {"EPRT |2|0:0:0:0:0:0:0::1|40001|\r\n", Outcome::Partial, false},
      {"EPRT |2|0:0:0:0:0:0::1|40002|\r\n", Outcome::Match, true},
      {"EPRT |2|::0:0:0:0:0:0:0:1|40003|\r\n", Outcome::Partial, false},
      {"EPRT |2|::0.0.0.1|40004|\r\n", Outcome::Match, true},
      {"EPRT |2|0:0:0:0:0:0::0.0.0.1|40005|\r\n", Outcome::Partial, false},
      {"EPRT |2|0:0:0:0:0::0.0.0.1|40006|\r\n", Outcome::Match, true},
      {"EPRT |2|0000000000001::|40007|\r\n", Outcome::Match, false},
      {"EPRT |2|::00001|40008|\r\n", Outcome::Match, true},
      {"EPRT |2|0:0:0:0:0:0:0.0.0.1|40009|\r\n", Outcome::Match, true},
      {"EPRT |2|::1:|40010|\r\n", Outcome::Partial, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.cmd);
    const ftp::Parsed p = parse(c.cmd, Direction::Original, kFamilyIPv6, lo);
    EXPECT_EQ(p.outcome, c.outcome);
    if (c.outcome == Outcome::Match) {
      EXPECT_EQ(p.addr == lo, c.own_address);
    }
  }
}

}  // namespace
}  // namespace ctrack::test

namespace ctrack::test {
namespace {

TEST(FtpParse, PortAndEprtFormsAsThe618KernelReadsThem) {
  // Sent over a real TCP connection on 127.0.0.1 with the ftp helper, on
  // Linux 6.18 (dropped = Partial; expectation = Match naming the sender).
  const Addr lo = Addr::v4(127, 0, 0, 1);
  struct Case {
    const char* cmd;
    Outcome outcome;
    bool own_address;
    std::uint16_t port;
  } cases[] = {
      {"PORT 127,0,0,1,156,65,\r\n", Outcome::Partial, false, 0},
      {"PORT 127,0,0,257,156,65\r\n", Outcome::Match, false, 40001},  // 127.0.1.1
      {"PORT 127,0,0,1,256,1\r\n", Outcome::Match, true, 1},
      {"port 127,0,0,1,156,67\r\n", Outcome::Match, true, 40003},
      {"PORT127,0,0,1,156,68\r\n", Outcome::Partial, false, 0},
      {"PORT x 127,0,0,1,156,69\r\n", Outcome::Partial, false, 0},
      {"EPRT |1|127.0.0.1|40070|", Outcome::Match, true, 40070},
      {"EPRT |1|127.0.0.1|105606|\r\n", Outcome::Match, true, 40070},
      {"EPRT |1|127.0.0.01|40072|\r\n", Outcome::Match, true, 40072},
      {"PORTX 127,0,0,1,156,73\r\n", Outcome::Match, true, 40009},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.cmd);
    const ftp::Parsed p = parse(c.cmd, Direction::Original, kFamilyIPv4, lo);
    EXPECT_EQ(p.outcome, c.outcome);
    if (c.outcome == Outcome::Match) {
      EXPECT_EQ(p.addr == lo, c.own_address);
      EXPECT_EQ(p.port, c.port);
    }
  }
}

}  // namespace
}  // namespace ctrack::test

namespace ctrack::test {
namespace {

TEST(FtpParse, RepliesAsThe618KernelReadsThem) {
  // Server replies on 127.0.0.1 with the ftp helper, on Linux 6.18.
  const Addr lo = Addr::v4(127, 0, 0, 1);
  struct Case {
    const char* reply;
    Outcome outcome;
    bool own_address;
    std::uint16_t port;
  } cases[] = {
      {"227 Entering Passive Mode (127,0,0,1,156,80)\r\n", Outcome::Match, true, 40016},
      {"227 (127,0,0,1,156,81", Outcome::Partial, false, 0},
      {"227 Entering Passive Mode\r\n", Outcome::Partial, false, 0},
      {"229 (|||40100|)\r\n", Outcome::Match, true, 40100},
      {"229 Entering (|||0|)\r\n", Outcome::Partial, false, 0},
      {"227 127,0,0,1,156,82 ok\r\n", Outcome::Match, true, 40018},
      {"227-multi\r\n", Outcome::NoMatch, false, 0},
      {"229 Extended (!!!40101!)\r\n", Outcome::Match, true, 40101},
      {"227 (127,0,0,2,156,83)\r\n", Outcome::Match, false, 40019},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.reply);
    const ftp::Parsed p = parse(c.reply, Direction::Reply, kFamilyIPv4, lo);
    EXPECT_EQ(p.outcome, c.outcome);
    if (c.outcome == Outcome::Match) {
      EXPECT_EQ(p.addr == lo, c.own_address);
      EXPECT_EQ(p.port, c.port);
    }
  }
}

}  // namespace
}  // namespace ctrack::test

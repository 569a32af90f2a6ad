// Every path of the Amanda reply parser (linux-core.md §7.7, and the search
// rules of nf_conntrack_amanda's help() read for facts): the CONNECT line,
// the four keywords in any order, port 0 stopping the processing, the
// 5-digit window, the '\n' bound, case and substring matching. Verified on
// Linux 6.18 in a namespace: STATE is a fourth keyword; "DATA 123456 MESG 0
// INDEX 50002" expects 12345 only; "INDEX 3 XDATA 7 MESG 99999" expects 7,
// 34463 and 3. (linux-core.md §7.7 predates STATE and says max 3.)
#include "helpers/amanda_parse.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ctrack::test {
namespace {

using amanda::Keyword;

amanda::Parsed parse(std::string_view text) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
  return amanda::parse(std::span<const std::uint8_t>(p, text.size()));
}

std::vector<std::uint16_t> ports(std::string_view text) {
  const auto p = parse(text);
  std::vector<std::uint16_t> v;
  for (std::size_t i = 0; i < p.count; ++i) v.push_back(p.ports[i].port);
  return v;
}

using V = std::vector<std::uint16_t>;

TEST(AmandaParse, ConnectLineWithThreePorts) {
  const std::string m = "CONNECT DATA 50000 MESG 50001 INDEX 50002\n";
  const auto p = parse(m);
  EXPECT_TRUE(p.connect);
  ASSERT_EQ(p.count, 3u);
  EXPECT_EQ(p.ports[0].keyword, Keyword::Data);
  EXPECT_EQ(p.ports[0].port, 50000);
  EXPECT_EQ(p.ports[0].off, m.find("50000"));
  EXPECT_EQ(p.ports[0].len, 5u);
  EXPECT_EQ(p.ports[1].keyword, Keyword::Mesg);
  EXPECT_EQ(p.ports[1].port, 50001);
  EXPECT_EQ(p.ports[2].keyword, Keyword::Index);
  EXPECT_EQ(p.ports[2].port, 50002);
  EXPECT_EQ(p.ports[2].off, m.find("50002"));
}

TEST(AmandaParse, StateIsTheFourthKeyword) {
  EXPECT_EQ(ports("CONNECT DATA 50000 MESG 50001 INDEX 50002 STATE 50003\n"),
            (V{50000, 50001, 50002, 50003}));
  const auto p = parse("CONNECT STATE 7\n");
  ASSERT_EQ(p.count, 1u);
  EXPECT_EQ(p.ports[0].keyword, Keyword::State);
}

TEST(AmandaParse, InsideARealReply) {
  // amandad's REP packet: header line, then CONNECT inside the body.
  EXPECT_EQ(ports("Amanda 2.6 REP HANDLE 000-00000000 SEQ 1\n"
                  "OPTIONS features=ffffffff;\n"
                  "CONNECT DATA 50000 MESG 50001 INDEX 50002\n"
                  "OPTIONS ...\n"),
            (V{50000, 50001, 50002}));
}

TEST(AmandaParse, KeywordsAreSearchedIndependentlyInAFixedOrder) {
  EXPECT_EQ(ports("CONNECT INDEX 3 MESG 2 DATA 1\n"), (V{1, 2, 3}));
  EXPECT_EQ(ports("CONNECT DATA 5 INDEX 7\n"), (V{5, 7}));  // absent MESG skipped
  EXPECT_EQ(ports("CONNECT MESG 6\n"), (V{6}));
  // Plain substring search: any text around is fine, repeats use the first.
  EXPECT_EQ(ports("CONNECT XDATA 7 DATA 8\n"), (V{7}));
  EXPECT_EQ(ports("xxCONNECT DATA 9\n"), (V{9}));
}

TEST(AmandaParse, OnlyBetweenConnectAndTheNextNewline) {
  EXPECT_EQ(ports("CONNECT DATA 5\nMESG 6\n"), (V{5}));
  EXPECT_EQ(ports("DATA 4 CONNECT MESG 6\n"), (V{6}));
  // A second CONNECT line is never looked at.
  EXPECT_EQ(ports("CONNECT DATA 5\nCONNECT MESG 6\n"), (V{5}));
  // The keyword with its space must end before the '\n'.
  EXPECT_EQ(ports("CONNECT MESG 5 DATA\n"), (V{5}));
  // No '\n' after CONNECT: nothing at all.
  auto p = parse("CONNECT DATA 50000 MESG 50001 INDEX 50002");
  EXPECT_FALSE(p.connect);
  EXPECT_EQ(p.count, 0u);
  EXPECT_FALSE(parse("\nCONNECT DATA 5").connect);
}

TEST(AmandaParse, CaseSensitive) {
  EXPECT_FALSE(parse("connect DATA 5\n").connect);
  EXPECT_TRUE(ports("CONNECT data 5 Mesg 6\n").empty());
  EXPECT_FALSE(parse("CONNECT\n").connect);  // "CONNECT " needs its space
  EXPECT_FALSE(parse("CONNECTDATA 5\n").connect);
}

TEST(AmandaParse, PortZeroStopsTheRemainingKeywords) {
  EXPECT_TRUE(ports("CONNECT DATA 0 MESG 6 INDEX 7\n").empty());
  EXPECT_EQ(ports("CONNECT DATA 5 MESG x INDEX 7\n"), (V{5}));
  EXPECT_EQ(ports("CONNECT DATA 5 MESG  6 INDEX 7\n"), (V{5}));     // blank before digits
  EXPECT_EQ(ports("CONNECT DATA 5 MESG -6 INDEX 7\n"), (V{5}));     // no sign
  EXPECT_EQ(ports("CONNECT DATA 5 MESG 65536 INDEX 7\n"), (V{5}));  // 16-bit truncation to 0
  EXPECT_TRUE(ports("CONNECT DATA \n").empty());                    // nothing before the '\n'
  EXPECT_EQ(ports("CONNECT DATA 5 INDEX 0 STATE 8\n"), (V{5}));
}

TEST(AmandaParse, AtMostFiveDigitsTruncatedTo16Bits) {
  EXPECT_EQ(ports("CONNECT DATA 123456\n"), (V{12345}));
  EXPECT_EQ(ports("CONNECT DATA 99999\n"), (V{34463}));  // 99999 - 65536
  EXPECT_EQ(ports("CONNECT DATA 70000\n"), (V{4464}));
  EXPECT_EQ(ports("CONNECT DATA 65535\n"), (V{65535}));
  EXPECT_EQ(ports("CONNECT DATA 00080\n"), (V{80}));
  const auto p = parse("CONNECT DATA 12\n");  // the '\n' bounds the digits
  ASSERT_EQ(p.count, 1u);
  EXPECT_EQ(p.ports[0].port, 12);
  EXPECT_EQ(p.ports[0].len, 2u);
  EXPECT_EQ(ports("CONNECT DATA 12x45\n"), (V{12}));
}

TEST(AmandaParse, EveryPrefixIsHarmless) {
  const std::string m = "CONNECT DATA 50000 MESG 50001 INDEX 50002\n";
  for (std::size_t n = 0; n < m.size(); ++n) {
    SCOPED_TRACE(n);
    const auto p = parse(m.substr(0, n));
    EXPECT_FALSE(p.connect);
    EXPECT_EQ(p.count, 0u);
  }
}

TEST(AmandaParse, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  const std::string alphabet = "CONNECT DATA MESG INDEX STATE 0123456789\n ";
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s;
    const std::size_t n = rng() % 64;
    for (std::size_t k = 0; k < n; ++k) {
      s.push_back((rng() & 1) ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng()));
    }
    const auto p = parse(s);
    ASSERT_LE(p.count, amanda::kKeywords);
    for (std::size_t i = 0; i < p.count; ++i) {
      EXPECT_NE(p.ports[i].port, 0);
      EXPECT_LE(p.ports[i].off + p.ports[i].len, s.size());
    }
  }
  EXPECT_FALSE(parse("").connect);
}

}  // namespace
}  // namespace ctrack::test

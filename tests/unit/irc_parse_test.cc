// Every path of the IRC DCC parser (linux-core.md §7.5, and the scan rules
// of nf_conntrack_irc's help()/parse_dcc() read for facts): good offers of
// each type, the ignored RESUME/ACCEPT/NOTICE, the PRIVMSG and "\1DCC " gates,
// the address check, number wrapping, window and terminator limits, and
// payloads cut anywhere. Verified on Linux 6.18 in a namespace: port 106036
// -> 40500, address 2^32 + ip accepted, a forged offer ends the scan even
// with a good one after it, RESUME then SEND in one segment expects the
// SEND's port, "PRIVMSG a:b :" and a '\n' after trailing text work, no '\n'
// expects nothing, the same port offered on a second connection is dropped.
#include "helpers/irc_parse.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace ctrack::test {
namespace {

using irc::DccType;

const Addr kClient = Addr::v4(10, 0, 1, 2);      // 167772418
const Addr kNatted = Addr::v4(198, 51, 100, 9);  // 3325256713

irc::Parsed parse(std::string_view text, const Addr& client = kClient, const Addr& nat = kClient) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
  return irc::parse(std::span<const std::uint8_t>(p, text.size()), client, nat);
}

TEST(IrcParse, DccSendGood) {
  const std::string m = "PRIVMSG bob :\1DCC SEND file.txt 167772418 40500 1234\1\r\n";
  const auto p = parse(m);
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.type, DccType::Send);
  EXPECT_EQ(p.addr, kClient);
  EXPECT_EQ(p.port, 40500);
  EXPECT_EQ(p.addr_off, m.find("167772418"));
  EXPECT_EQ(p.addr_len, std::string_view("167772418 40500").size());
  EXPECT_FALSE(p.forged);
}

TEST(IrcParse, EveryRecognisedType) {
  const struct {
    const char* type;
    DccType want;
  } cases[] = {{"SEND", DccType::Send},
               {"CHAT", DccType::Chat},
               {"MOVE", DccType::Move},
               {"TSEND", DccType::Tsend},
               {"SCHAT", DccType::Schat}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.type);
    const auto p =
        parse(std::string("PRIVMSG bob :\1DCC ") + c.type + " chat 167772418 40501\1\r\n");
    ASSERT_TRUE(p.found);
    EXPECT_EQ(p.type, c.want);
    EXPECT_EQ(p.port, 40501);
  }
}

TEST(IrcParse, ResumeAcceptAndUnknownTypesCreateNothing) {
  for (const char* m : {
           "PRIVMSG bob :\1DCC RESUME file.txt 40500 1024\1\r\n",
           "PRIVMSG bob :\1DCC ACCEPT file.txt 40500 1024\1\r\n",
           "PRIVMSG bob :\1DCC RESUME file.txt 167772418 40500\1\r\n",
           "PRIVMSG bob :\1DCC XMIT file.txt 167772418 40500\1\r\n",
           "PRIVMSG bob :\1DCC send file.txt 167772418 40500\1\r\n",  // type is case-sensitive
           "PRIVMSG bob :\1DCC SENDX file.txt 167772418 40500\1\r\n",
       }) {
    SCOPED_TRACE(m);
    const auto p = parse(m);
    EXPECT_FALSE(p.found);
    EXPECT_FALSE(p.forged);
  }
}

TEST(IrcParse, OnlyPrivmsgAtTheStartAnyCase) {
  EXPECT_TRUE(parse("privmsg bob :\1DCC SEND f 167772418 40500\1\r\n").found);
  EXPECT_TRUE(parse("PrivMsg bob :\1DCC SEND f 167772418 40500\1\r\n").found);
  // Leading spaces, CR and LF are skipped.
  EXPECT_TRUE(parse("\r\n \r\nPRIVMSG bob :\1DCC SEND f 167772418 40500\1\r\n").found);
  // NOTICE, a tab, or another command first: ignored (verified for NOTICE).
  EXPECT_FALSE(parse("NOTICE bob :\1DCC SEND f 167772418 40500\1\r\n").found);
  EXPECT_FALSE(parse("\tPRIVMSG bob :\1DCC SEND f 167772418 40500\1\r\n").found);
  EXPECT_FALSE(parse("NICK x\r\nPRIVMSG bob :\1DCC SEND f 167772418 40500\1\r\n").found);
  EXPECT_FALSE(parse("PRIVMSGbob :\1DCC SEND f 167772418 40500\1\r\n").found);
}

TEST(IrcParse, FirstColonMustOpenTheDcc) {
  // The first " :" decides: text before "\1DCC " ends the scan.
  EXPECT_FALSE(parse("PRIVMSG bob :hi :\1DCC SEND f 167772418 40500\1\r\n").found);
  EXPECT_FALSE(parse("PRIVMSG bob : \1DCC SEND f 167772418 40500\1\r\n").found);
  EXPECT_FALSE(parse("PRIVMSG bob :\1dcc SEND f 167772418 40500\1\r\n").found);
  EXPECT_FALSE(parse("PRIVMSG bob :\1DCCSEND f 167772418 40500\1\r\n").found);
  // Without a " :" there is nothing.
  EXPECT_FALSE(parse("PRIVMSG bob \1DCC SEND f 167772418 40500\1\r\n").found);
  // A ':' not preceded by a space does not count; the next " :" does.
  EXPECT_TRUE(parse("PRIVMSG a:b :\1DCC SEND f 167772418 40500\1\r\n").found);
}

TEST(IrcParse, AddressMustBeTheClients) {
  auto p = parse("PRIVMSG bob :\1DCC SEND f 167772419 40500\1\r\n");  // 10.0.1.3
  EXPECT_FALSE(p.found);
  EXPECT_TRUE(p.forged);
  // The NATed client address (reply tuple's destination) is accepted too.
  p = parse("PRIVMSG bob :\1DCC SEND f 3325256713 40500\1\r\n", kClient, kNatted);
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.addr, kNatted);
  // 0 / no digits: address 0.0.0.0.
  EXPECT_TRUE(parse("PRIVMSG bob :\1DCC SEND file.txt 0 40500 1234\1\r\n").forged);
  EXPECT_TRUE(parse("PRIVMSG bob :\1DCC SEND file.txt x10 40500 1234\1\r\n").forged);
  // The same offers 2 bytes shorter fall under the 38-byte minimum for a
  // " :" at offset 11: not even looked at.
  EXPECT_FALSE(parse("PRIVMSG bob :\1DCC SEND f 0 40500\1\r\n").forged);
}

TEST(IrcParse, PortZeroIsForged) {
  for (const char* m : {
           "PRIVMSG bob :\1DCC SEND f 167772418 0\1\r\n",
           "PRIVMSG bob :\1DCC SEND f 167772418 65536\1\r\n",   // 16-bit truncation
           "PRIVMSG bob :\1DCC SEND f 167772418\t40500\1\r\n",  // only spaces separate
           "PRIVMSG bob :\1DCC SEND f 167772418,40500\1\r\n",
           "PRIVMSG bob :\1DCC SEND f 167772418 +40500\1\r\n",
       }) {
    SCOPED_TRACE(m);
    const auto p = parse(m);
    EXPECT_FALSE(p.found);
    EXPECT_TRUE(p.forged);
  }
}

TEST(IrcParse, NumbersWrapLikeSimpleStrtoul) {
  // Port truncated to 16 bits: 106036 = 65536 + 40500.
  auto p = parse("PRIVMSG bob :\1DCC SEND f 167772418 106036\1\r\n");
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.port, 40500);
  // Address truncated to 32 bits: 2^32 + 167772418.
  p = parse("PRIVMSG bob :\1DCC SEND f 4462739714 40500\1\r\n");
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.addr, kClient);
  // And accumulated modulo 2^64 before that: 2^64 + 167772418.
  p = parse("PRIVMSG bob :\1DCC SEND f 18446744073877324034 40500\1\r\n");
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.addr, kClient);
  // Leading zeros are plain decimal (no octal).
  p = parse("PRIVMSG bob :\1DCC SEND f 0167772418 040500\1\r\n");
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.port, 40500);
  // Several spaces between address and port are fine.
  EXPECT_EQ(parse("PRIVMSG bob :\1DCC SEND f 167772418    40500\1\r\n").port, 40500);
}

TEST(IrcParse, MissingWordShiftsTheArguments) {
  // The first argument is always skipped as the file name: the address is
  // then read from the port field and is forged.
  auto p = parse("PRIVMSG bob :\1DCC SEND 167772418 40500 1320211\1\r\n");
  EXPECT_FALSE(p.found);
  EXPECT_TRUE(p.forged);
  // Without the size, the space after the "word" is too close to the end:
  // the arguments do not parse at all.
  p = parse("PRIVMSG bob :\1DCC SEND 167772418 40500\1\r\n");
  EXPECT_FALSE(p.found);
  EXPECT_FALSE(p.forged);
}

TEST(IrcParse, NewlineRequiredAfterTheWord) {
  EXPECT_FALSE(parse("PRIVMSG bob :\1DCC SEND file.txt 167772418 40500 1234\1").found);
  EXPECT_FALSE(parse("PRIVMSG bob :\1DCC SEND file.txt 167772418 40500 1234\1\r").found);
  EXPECT_FALSE(parse("PRIVMSG bob :\1DCC SEND file.txt 167772418 40500 1234\1\r").forged);
  // Any later '\n' will do, even past other lines.
  EXPECT_TRUE(
      parse("PRIVMSG bob :\1DCC SEND file.txt 167772418 40500 1234\1 and more text\n").found);
}

TEST(IrcParse, FirstRecognisedTypeDecides) {
  // Verified on 6.18: a forged offer ends the scan, even when a good one
  // follows in the same segment ("Forged DCC command" logged once)...
  auto p = parse("PRIVMSG bob :\1DCC SEND f 167772419 40500\1 :\1DCC SEND g 167772418 40600\1\r\n");
  EXPECT_FALSE(p.found);
  EXPECT_TRUE(p.forged);
  // ...and the remaining types are not tried on the rest: "SEND CHAT 5 ip
  // port" is a SEND of file "CHAT" from 0.0.0.5 port 513, nothing else.
  p = parse("PRIVMSG bob :\1DCC SEND CHAT 5 167772418 40700\1\r\n");
  EXPECT_FALSE(p.found);
  EXPECT_TRUE(p.forged);
  // An unrecognised type is passed over: the next " :\1DCC " is looked at
  // (verified: RESUME then SEND in one segment expects the SEND's port).
  p = parse("PRIVMSG bob :\1DCC RESUME f 40500 1024\1 :\1DCC SEND g 167772418 40600\1\r\n");
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.port, 40600);
  // ...but that " :" must again open a DCC.
  p = parse("PRIVMSG bob :\1DCC RESUME f 40500 1024\1 :x \1DCC SEND g 167772418 40600\1\r\n");
  EXPECT_FALSE(p.found);
}

TEST(IrcParse, OnlyTheFirstGoodOfferCounts) {
  const auto p =
      parse("PRIVMSG bob :\1DCC SEND f 167772418 40500\1 :\1DCC SEND g 167772418 40600\1\r\n");
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.port, 40500);
}

TEST(IrcParse, WordMustEndTwelveBytesBeforeTheEnd) {
  // Client 0.0.0.1 so that "1 5\n" is a complete offer; the bytes after the
  // word's space (the "tail") must number at least 11.
  const Addr one = Addr::v4(0, 0, 0, 1);
  const std::string head = "PRIVMSG b :\1DCC SEND abcdefghijklmnopqrstuvwxyz ";
  const auto p11 = parse(head + "1 5\n" + std::string(7, 'x'), one, one);
  ASSERT_TRUE(p11.found);
  EXPECT_EQ(p11.port, 5);
  EXPECT_FALSE(parse(head + "1 5\n" + std::string(6, 'x'), one, one).found);
  EXPECT_FALSE(parse(head + "1 5\n" + std::string(6, 'x'), one, one).forged);
}

TEST(IrcParse, ShortestAcceptedMessageLength) {
  // The " :" must start more than 26 bytes before the end.
  const Addr one = Addr::v4(0, 0, 0, 1);
  // " :" at index 9; 9 < len - 26  <=>  len >= 36.
  const std::string m = "PRIVMSG b :\1DCC SEND f 1 5\1\r\n";  // 29 bytes, complete
  ASSERT_EQ(m.size(), 29u);
  EXPECT_FALSE(parse(m, one, one).found);
  EXPECT_FALSE(parse(m + std::string(6, ' '), one, one).found);
  const auto p = parse(m + std::string(7, ' '), one, one);
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.port, 5);
}

TEST(IrcParse, OnlyTheFirst4095BytesAreSearched) {
  const std::string offer = "PRIVMSG bob :\1DCC SEND f 167772418 40500\1\r\n";
  // Padding with blanks before PRIVMSG keeps the offer valid: the whole
  // offer inside the window is found, one byte more is not.
  const std::string in = std::string(irc::kMaxSearch - offer.size(), ' ') + offer;
  EXPECT_TRUE(parse(in).found);
  const std::string out = " " + in;
  EXPECT_FALSE(parse(out).found);  // its '\n' is byte 4096
  // Long text in the message before the DCC is not skipped by " :" search.
  const std::string far =
      "PRIVMSG bob" + std::string(5000, 'x') + " :\1DCC SEND f 167772418 40500\1\r\n";
  EXPECT_FALSE(parse(far).found);
}

TEST(IrcParse, EveryPrefixOfAnOfferIsHarmless) {
  const std::string m = "PRIVMSG bob :\1DCC SEND file.txt 167772418 40500 1234\1\r\n";
  for (std::size_t n = 0; n < m.size(); ++n) {
    SCOPED_TRACE(n);
    // Without the final '\n' nothing parses: the segment split cuts it.
    EXPECT_FALSE(parse(m.substr(0, n)).found);
  }
  EXPECT_TRUE(parse(m).found);
  // The second half alone (next segment) does not start with PRIVMSG.
  for (std::size_t n = 1; n < m.size(); ++n) EXPECT_FALSE(parse(m.substr(n)).found) << n;
}

TEST(IrcParse, RandomBytesNeverCrash) {
  std::mt19937 rng(4);
  const std::string alphabet = "PRIVMSG DCC SEND CHAT :\1\r\n0123456789 ";
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s = "PRIVMSG x :\1DCC ";
    const std::size_t n = rng() % 80;
    for (std::size_t k = 0; k < n; ++k) {
      s.push_back((rng() & 1) ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng()));
    }
    const auto p = parse(s);
    if (p.found) {
      EXPECT_NE(p.port, 0);
      EXPECT_EQ(p.addr, kClient);
      EXPECT_LE(p.addr_off + p.addr_len, s.size());
    }
  }
  EXPECT_FALSE(parse("").found);
  EXPECT_FALSE(parse(" ").found);
  EXPECT_FALSE(parse(std::string(5000, '\n')).found);
  EXPECT_FALSE(parse(std::string(5000, ' ')).found);
}

}  // namespace
}  // namespace ctrack::test

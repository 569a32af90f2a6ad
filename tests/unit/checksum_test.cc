// Internet checksum: the fast word-wise sum must agree with the byte-wise
// definition for every length and alignment, and l4_checksum_ok must accept
// exactly the packets whose checksum is right.
#include "parse/checksum.h"

#include <gtest/gtest.h>

#include <random>

#include "support/packet_builder.h"

namespace ctrack {
namespace {

using test::Bytes;

// RFC 1071 by the book: 16-bit big-endian words, end-around carry.
std::uint16_t reference_checksum(const std::uint8_t* p, std::size_t n) {
  std::uint32_t s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    s += (i % 2 == 0) ? std::uint32_t{p[i]} << 8 : p[i];
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<std::uint16_t>(~s & 0xffff);
}

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 section 3: the sum of these words is 0xddf2.
  const std::uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(csum_fold(csum_add(b, sizeof b)), static_cast<std::uint16_t>(~0xddf2));
}

TEST(Checksum, EmptyAndOddLengths) {
  EXPECT_EQ(csum_fold(csum_add(nullptr, 0)), 0xffff);
  const std::uint8_t one[] = {0xab};
  EXPECT_EQ(csum_fold(csum_add(one, 1)), static_cast<std::uint16_t>(~0xab00));
}

TEST(Checksum, MatchesReferenceForEveryLengthAndAlignment) {
  std::mt19937 rng(1234);
  std::vector<std::uint8_t> buf(300);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
  for (std::size_t start = 0; start < 8; ++start)
    for (std::size_t n = 0; n + start <= buf.size(); ++n)
      ASSERT_EQ(csum_fold(csum_add(buf.data() + start, n)), reference_checksum(buf.data() + start, n))
          << "start " << start << " len " << n;
}

TEST(Checksum, ChainingAtEvenBoundariesEqualsOneCall) {
  std::vector<std::uint8_t> buf(101);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<std::uint8_t>(i * 37 + 11);
  for (std::size_t cut = 0; cut <= buf.size(); cut += 2) {
    const auto s = csum_add(buf.data() + cut, buf.size() - cut, csum_add(buf.data(), cut));
    ASSERT_EQ(csum_fold(s), reference_checksum(buf.data(), buf.size())) << cut;
  }
}

TEST(Checksum, MaximalInputDoesNotOverflow) {
  std::vector<std::uint8_t> buf(65535, 0xff);
  EXPECT_EQ(csum_fold(csum_add(buf.data(), buf.size())), reference_checksum(buf.data(), buf.size()));
  // A huge incoming sum is folded, not overflowed.
  EXPECT_EQ(csum_fold(csum_add(buf.data(), 2, ~std::uint64_t{0} - 5)),
            csum_fold(csum_add(buf.data(), 2, (~std::uint64_t{0} - 5) % 0xffff)));
}

Packet parsed(const Bytes& b) {
  Packet p;
  EXPECT_EQ(parse_ip(b, p), InvalidReason::None);
  return p;
}

TEST(Checksum, L4ChecksumOkForBuiltPackets) {
  const auto a4 = test::ep4("192.0.2.1", 1234), b4 = test::ep4("198.51.100.7", 80);
  const auto a6 = test::ep6("2001:db8::1", 1234), b6 = test::ep6("2001:db8::ff", 80);
  for (bool bad : {false, true}) {
    const Bytes t4 = test::tcp(a4, b4, {.flags = test::SYN, .payload = "abc", .bad_checksum = bad});
    const Bytes t6 = test::tcp(a6, b6, {.flags = test::SYN, .payload = "abcd", .bad_checksum = bad});
    const Bytes u4 = test::udp(a4, b4, "hello", bad);
    const Bytes u6 = test::udp(a6, b6, "hello!", bad);
    const Bytes i4 = test::icmp(a4.addr, b4.addr, false, 8, 0, test::icmp_echo_body(1, 2), bad);
    const Bytes i6 = test::icmp(a6.addr, b6.addr, true, 128, 0, test::icmp_echo_body(1, 2), bad);
    for (const auto& [bytes, proto] : {std::pair{&t4, kProtoTCP}, {&t6, kProtoTCP}, {&u4, kProtoUDP},
                                       {&u6, kProtoUDP}, {&i6, kProtoICMPv6}}) {
      const Packet p = parsed(*bytes);
      EXPECT_EQ(l4_checksum_ok(p, p.l4_len(), proto, p.l4_len()), !bad) << int(proto) << " v6 " << p.is_v6();
    }
    const Packet p = parsed(i4);
    EXPECT_EQ(l4_checksum_ok(p, p.l4_len(), 0, 0, false), !bad);
    // The ICMPv4 checksum does not include a pseudo-header.
    if (!bad) {
      EXPECT_FALSE(l4_checksum_ok(p, p.l4_len(), kProtoICMP, p.l4_len(), true));
    }
  }
}

TEST(Checksum, UdpLitePartialCoverage) {
  const Bytes b = test::udplite(test::ep4("10.0.0.1", 5), test::ep4("10.0.0.2", 6), "0123456789abcdef", 12, 17);
  const Packet p = parsed(b);
  EXPECT_TRUE(l4_checksum_ok(p, 12, 17, p.l4_len()));
  EXPECT_FALSE(l4_checksum_ok(p, 12, kProtoUDPLite, p.l4_len()));  // RFC 3828's 136 differs
  EXPECT_FALSE(l4_checksum_ok(p, p.l4_len(), 17, p.l4_len()));     // uncovered bytes are not summed
}

TEST(Checksum, CoverageBeyondPacketIsRejected) {
  const Bytes b = test::udp(test::ep4("10.0.0.1", 5), test::ep4("10.0.0.2", 6), "x");
  const Packet p = parsed(b);
  EXPECT_FALSE(l4_checksum_ok(p, p.l4_len() + 1, kProtoUDP, p.l4_len()));
}

}  // namespace
}  // namespace ctrack

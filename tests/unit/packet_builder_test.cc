// The packet builder underpins every other test: check its lengths and
// checksums against an independent, naive RFC 1071 implementation.
#include "support/packet_builder.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace ctrack::test {
namespace {

// Deliberately simple: sums 16-bit words one at a time, folds at the end.
std::uint32_t naive_sum(const std::uint8_t* p, std::size_t n, std::uint64_t acc = 0) {
  for (std::size_t i = 0; i < n; ++i) acc += (i % 2 == 0) ? std::uint64_t{p[i]} << 8 : p[i];
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint32_t>(acc);
}

std::uint32_t pseudo(const Bytes& ip, std::uint8_t proto, std::uint32_t l4len) {
  const bool v6 = (ip[0] >> 4) == 6;
  std::uint64_t acc = v6 ? naive_sum(&ip[8], 32) : naive_sum(&ip[12], 8);
  acc += proto;
  acc += l4len >> 16;
  acc += l4len & 0xffff;
  return naive_sum(nullptr, 0, acc);
}

std::size_t l4off(const Bytes& ip) { return (ip[0] >> 4) == 6 ? 40 : (ip[0] & 0xf) * 4u; }

// True when the L4 checksum (with pseudo-header) verifies: the sum is 0xffff.
bool l4_ok(const Bytes& ip, std::uint8_t proto, std::size_t covered = 0) {
  const std::size_t off = l4off(ip);
  const auto len = static_cast<std::uint32_t>(ip.size() - off);
  if (covered == 0) covered = len;
  return naive_sum(&ip[off], covered, pseudo(ip, proto, len)) == 0xffff;
}

TEST(PacketBuilder, Ipv4HeaderFieldsAndChecksum) {
  const Bytes p = udp(ep4("10.0.0.1", 1000), ep4("10.0.0.2", 53), "hello", false, false,
                      IpSpec{.ttl = 7, .ip_id = 0x1234, .df = false});
  ASSERT_EQ(p.size(), 20u + 8u + 5u);
  EXPECT_EQ(p[0], 0x45);
  EXPECT_EQ((p[2] << 8 | p[3]), 33);
  EXPECT_EQ((p[4] << 8 | p[5]), 0x1234);
  EXPECT_EQ((p[6] << 8 | p[7]), 0);  // no DF
  EXPECT_EQ(p[8], 7);
  EXPECT_EQ(p[9], kProtoUDP);
  EXPECT_EQ(naive_sum(p.data(), 20), 0xffffu);
  EXPECT_EQ((p[24] << 8 | p[25]), 13);  // UDP length
  EXPECT_TRUE(l4_ok(p, kProtoUDP));
}

TEST(PacketBuilder, TcpOptionsLayoutAndChecksum) {
  TcpSpec s{.flags = SYN, .seq = 100};
  s.opts = TcpOpts{.wscale = 7, .sack_perm = true, .mss = 1460, .timestamps = true};
  const Bytes p = tcp(ep4("1.2.3.4", 40000), ep4("5.6.7.8", 80), s);
  // 20 + MSS 4 + SACKperm/TS 12 + NOP,WS 4 = 40 bytes of TCP header.
  ASSERT_EQ(p.size(), 20u + 40u);
  EXPECT_EQ(p[20 + 12] >> 4, 10);
  EXPECT_EQ(p[20 + 13], SYN);
  EXPECT_EQ(p[40], 2);  // MSS kind
  EXPECT_EQ((p[42] << 8 | p[43]), 1460);
  EXPECT_EQ(p[44], 4);  // SACK permitted
  EXPECT_EQ(p[46], 8);  // timestamps
  EXPECT_EQ(p[57], 3);  // window scale kind after a NOP
  EXPECT_EQ(p[59], 7);
  EXPECT_TRUE(l4_ok(p, kProtoTCP));
}

TEST(PacketBuilder, TcpSackBlocksArePaddedToFourBytes) {
  TcpSpec s{.flags = ACK, .payload = "abc"};
  s.opts.sack = {{1, 2}, {3, 4}};
  const Bytes p = tcp(ep6("2001:db8::1", 1), ep6("2001:db8::2", 2), s);
  const std::size_t doff = (p[40 + 12] >> 4) * 4u;
  EXPECT_EQ(doff, 20u + 20u);  // NOP NOP 5 18 + 16 bytes of blocks
  EXPECT_EQ(doff % 4, 0u);
  EXPECT_EQ(p.size(), 40u + doff + 3u);
  EXPECT_EQ((p[4] << 8 | p[5]), static_cast<int>(doff + 3));  // IPv6 payload length
  EXPECT_TRUE(l4_ok(p, kProtoTCP));
}

TEST(PacketBuilder, BadChecksumNeverVerifies) {
  for (std::uint32_t seq = 0; seq < 300; ++seq) {
    const Bytes p = tcp(ep4("1.1.1.1", 1), ep4("2.2.2.2", 2), TcpSpec{.flags = ACK, .seq = seq, .bad_checksum = true});
    ASSERT_FALSE(l4_ok(p, kProtoTCP)) << seq;
  }
  EXPECT_FALSE(l4_ok(udp(ep4("1.1.1.1", 1), ep4("2.2.2.2", 2), "x", true), kProtoUDP));
}

TEST(PacketBuilder, TruncateAndDoffOverride) {
  const Bytes p = tcp(ep4("1.1.1.1", 1), ep4("2.2.2.2", 2),
                      TcpSpec{.flags = ACK, .doff_override = 3, .truncate_l4_to = 9});
  ASSERT_EQ(p.size(), 29u);
  EXPECT_EQ((p[2] << 8 | p[3]), 29);  // IP total length follows the cut
  EXPECT_EQ(naive_sum(p.data(), 20), 0xffffu);
  const Bytes q = tcp(ep4("1.1.1.1", 1), ep4("2.2.2.2", 2), TcpSpec{.flags = ACK, .doff_override = 3});
  EXPECT_EQ(q[32] >> 4, 3);
}

TEST(PacketBuilder, UdpZeroChecksumAndV6) {
  const Bytes z = udp(ep6("::1", 1), ep6("::2", 2), "abc", false, true);
  EXPECT_EQ((z[46] << 8 | z[47]), 0);
  const Bytes v = udp(ep6("fe80::1", 1), ep6("fe80::2", 2), "abcd");
  EXPECT_EQ(v[6], kProtoUDP);
  EXPECT_TRUE(l4_ok(v, kProtoUDP));
}

TEST(PacketBuilder, UdpLiteCoverageAndPseudoProto) {
  const Bytes p = udplite(ep4("1.1.1.1", 1), ep4("2.2.2.2", 2), "0123456789", 12, 17);
  EXPECT_EQ(p[9], kProtoUDPLite);
  EXPECT_EQ((p[24] << 8 | p[25]), 12);  // length field = coverage
  EXPECT_TRUE(l4_ok(p, 17, 12));
  EXPECT_FALSE(l4_ok(p, 136, 12));
  const Bytes q = udplite(ep6("::1", 1), ep6("::2", 2), "0123", 0, 136);
  EXPECT_TRUE(l4_ok(q, 136));
}

TEST(PacketBuilder, IcmpChecksums) {
  const Bytes e4 = icmp(Addr{}, Addr{}, false, 8, 0, icmp_echo_body(7, 1, "ping"));
  EXPECT_EQ(e4.size(), 20u + 8u + 4u);
  EXPECT_EQ(naive_sum(&e4[20], e4.size() - 20), 0xffffu);  // no pseudo-header
  const Bytes e6 = icmp(parse_addr("::1"), parse_addr("::2"), true, 128, 0, icmp_echo_body(7, 1));
  EXPECT_EQ(e6[6], kProtoICMPv6);
  EXPECT_TRUE(l4_ok(e6, kProtoICMPv6));
  const Bytes bad = icmp(Addr{}, Addr{}, false, 8, 0, icmp_echo_body(7, 1), true);
  EXPECT_NE(naive_sum(&bad[20], bad.size() - 20), 0xffffu);
}

TEST(PacketBuilder, IcmpErrorQuotesHeaderPlusEightBytes) {
  const Bytes inner = tcp(ep4("1.1.1.1", 1), ep4("2.2.2.2", 2), TcpSpec{.flags = SYN, .payload = "data"});
  const Bytes err = icmp_error(parse_addr("3.3.3.3"), parse_addr("1.1.1.1"), false, 3, 3, inner);
  ASSERT_EQ(err.size(), 20u + 8u + 28u);
  EXPECT_TRUE(std::equal(inner.begin(), inner.begin() + 28, err.begin() + 28));
  const Bytes e6 = icmp_error(parse_addr("::3"), parse_addr("::1"), true, 1, 4,
                              udp(ep6("::1", 5), ep6("::2", 6), std::string(2000, 'y')));
  EXPECT_EQ(e6.size(), 1280u);
  EXPECT_TRUE(l4_ok(e6, kProtoICMPv6));
}

TEST(PacketBuilder, RawIpAndEthernet) {
  const Bytes r = raw_ip(parse_addr("::1"), parse_addr("::2"), true, 47, Bytes{1, 2, 3});
  EXPECT_EQ(r.size(), 43u);
  EXPECT_EQ(r[6], 47);
  const Bytes e = ethernet(r);
  EXPECT_EQ(e.size(), 14u + 43u);
  EXPECT_EQ((e[12] << 8 | e[13]), 0x86dd);
  EXPECT_EQ((ethernet(raw_ip(Addr{}, Addr{}, false, 4, {}))[12]), 0x08);
}

TEST(PacketBuilder, FixIpv4ChecksumAfterEdit) {
  Bytes p = raw_ip(Addr{}, Addr{}, false, 99, {});
  p[8] = 1;
  EXPECT_NE(naive_sum(p.data(), 20), 0xffffu);
  fix_ipv4_checksum(p);
  EXPECT_EQ(naive_sum(p.data(), 20), 0xffffu);
}

TEST(PacketBuilder, PcapWriterUsesNanosecondMagic) {
  const auto path = std::filesystem::temp_directory_path() / "ctrack_pb_test.pcap";
  const Bytes pkt = raw_ip(Addr{}, Addr{}, false, 99, {});
  ASSERT_TRUE(write_pcap(path.string(), {{1'500'000'007, pkt}}, true));
  std::ifstream in(path, std::ios::binary);
  const Bytes f((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  ASSERT_EQ(f.size(), 24u + 16u + 14u + 20u);
  EXPECT_EQ(f[0], 0x4d);
  EXPECT_EQ(f[3], 0xa1);
  EXPECT_EQ(f[20], 1);                              // LINKTYPE_ETHERNET
  EXPECT_EQ(f[24], 1);                              // seconds
  EXPECT_EQ(f[28] | f[29] << 8 | f[30] << 16 | f[31] << 24, 500'000'007);  // nanoseconds
  EXPECT_EQ(f[32], 34);                             // caplen
}

}  // namespace
}  // namespace ctrack::test

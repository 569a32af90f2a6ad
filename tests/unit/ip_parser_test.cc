// parse_ip: every InvalidReason it produces, IPv4 options, each IPv6
// extension header, fragments, and truncation at every byte offset.
#include <gtest/gtest.h>

#include <vector>

#include "parse/packet.h"
#include "support/packet_builder.h"

namespace ctrack {
namespace {

using test::Bytes;

const test::Endpoint kA4 = test::ep4("192.0.2.1", 40000);
const test::Endpoint kB4 = test::ep4("198.51.100.2", 80);
const test::Endpoint kA6 = test::ep6("2001:db8::1", 40000);
const test::Endpoint kB6 = test::ep6("2001:db8::2", 53);

InvalidReason parse(const Bytes& b, Packet& p) { return parse_ip(b, p); }

// Inserts IPv4 options after the fixed header and fixes IHL, total length
// and header checksum.
Bytes with_options(Bytes p, const Bytes& opts) {
  p.insert(p.begin() + 20, opts.begin(), opts.end());
  p[0] = static_cast<std::uint8_t>(0x40 | ((20 + opts.size()) / 4));
  p[2] = static_cast<std::uint8_t>(p.size() >> 8);
  p[3] = static_cast<std::uint8_t>(p.size());
  test::fix_ipv4_checksum(p);
  return p;
}

// Inserts an IPv6 extension header of type `type` right after the fixed
// header; `body` is the header without its next-header byte (which is
// filled in from the packet).
Bytes with_ext(Bytes p, std::uint8_t type, Bytes hdr) {
  hdr[0] = p[6];
  p[6] = type;
  p.insert(p.begin() + 40, hdr.begin(), hdr.end());
  const std::size_t plen = p.size() - 40;
  p[4] = static_cast<std::uint8_t>(plen >> 8);
  p[5] = static_cast<std::uint8_t>(plen);
  return p;
}

Bytes frag_hdr(std::uint16_t offset_units, bool mf, std::uint32_t id) {
  const std::uint16_t fo = static_cast<std::uint16_t>(offset_units << 3 | (mf ? 1 : 0));
  return {0, 0, static_cast<std::uint8_t>(fo >> 8), static_cast<std::uint8_t>(fo),
          static_cast<std::uint8_t>(id >> 24), static_cast<std::uint8_t>(id >> 16),
          static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id)};
}

TEST(IpParser, Ipv4Tcp) {
  const Bytes b = test::tcp(kA4, kB4, {.flags = test::SYN, .payload = "hi"}, {.ttl = 33, .ip_id = 77});
  Packet p;
  ASSERT_EQ(parse(b, p), InvalidReason::None);
  EXPECT_EQ(p.data, b.data());
  EXPECT_EQ(p.family, kFamilyIPv4);
  EXPECT_EQ(p.proto, kProtoTCP);
  EXPECT_EQ(p.len, b.size());
  EXPECT_EQ(p.l4_off, 20u);
  EXPECT_EQ(p.l4_len(), 22u);
  EXPECT_EQ(p.ttl, 33);
  EXPECT_EQ(p.src, kA4.addr);
  EXPECT_EQ(p.dst, kB4.addr);
  EXPECT_FALSE(p.fragment);
  EXPECT_EQ(p.frag_id, 77u);
  EXPECT_FALSE(p.is_v6());
}

TEST(IpParser, TrailingPaddingIsIgnored) {
  Bytes b = test::udp(kA4, kB4, "x");
  const std::size_t real = b.size();
  b.resize(60, 0);  // Ethernet minimum-frame padding
  Packet p;
  ASSERT_EQ(parse(b, p), InvalidReason::None);
  EXPECT_EQ(p.len, real);
  Bytes c = test::udp(kA6, kB6, "x");
  const std::size_t real6 = c.size();
  c.resize(c.size() + 7, 0xee);
  ASSERT_EQ(parse(c, p), InvalidReason::None);
  EXPECT_EQ(p.len, real6);
}

TEST(IpParser, Ipv4Errors) {
  Packet p;
  const Bytes good = test::udp(kA4, kB4, "payload");
  EXPECT_EQ(parse({}, p), InvalidReason::L3Truncated);
  EXPECT_EQ(parse(Bytes(good.begin(), good.begin() + 19), p), InvalidReason::L3Truncated);

  Bytes v = good;
  v[0] = 0x55;
  EXPECT_EQ(parse(v, p), InvalidReason::L3BadVersion);
  v[0] = 0x05;
  EXPECT_EQ(parse(v, p), InvalidReason::L3BadVersion);

  Bytes h = good;
  h[0] = 0x44;  // IHL 16 bytes
  EXPECT_EQ(parse(h, p), InvalidReason::L3BadHeaderLength);

  Bytes big = good;
  big[0] = 0x4f;  // IHL 60 bytes, more than the 35 present
  EXPECT_EQ(parse(big, p), InvalidReason::L3Truncated);

  Bytes tl = good;
  tl[3] = static_cast<std::uint8_t>(tl[3] + 1);  // one byte more than present
  test::fix_ipv4_checksum(tl);
  EXPECT_EQ(parse(tl, p), InvalidReason::L3BadTotalLength);
  tl[2] = 0;
  tl[3] = 19;  // total length smaller than the header
  test::fix_ipv4_checksum(tl);
  EXPECT_EQ(parse(tl, p), InvalidReason::L3BadTotalLength);

  Bytes cs = good;
  cs[10] ^= 0x01;
  EXPECT_EQ(parse(cs, p), InvalidReason::L3BadChecksum);
  Bytes ttl = good;
  ttl[8] = 1;  // header edited without fixing the checksum
  EXPECT_EQ(parse(ttl, p), InvalidReason::L3BadChecksum);
}

TEST(IpParser, Ipv4Options) {
  const Bytes base = test::tcp(kA4, kB4, {.flags = test::SYN});
  Packet p;
  // Router alert (4 bytes).
  ASSERT_EQ(parse(with_options(base, {0x94, 0x04, 0, 0}), p), InvalidReason::None);
  EXPECT_EQ(p.l4_off, 24u);
  EXPECT_EQ(p.proto, kProtoTCP);
  // NOPs, a record-route option of 7 bytes, end of list: 12 bytes.
  ASSERT_EQ(parse(with_options(base, {1, 7, 7, 4, 0, 0, 0, 0, 1, 0, 0, 0}), p), InvalidReason::None);
  EXPECT_EQ(p.l4_off, 32u);
  // After end-of-list anything is padding.
  EXPECT_EQ(parse(with_options(base, {0, 0xff, 0xff, 0xff}), p), InvalidReason::None);
  // Maximum header: 40 bytes of options.
  EXPECT_EQ(parse(with_options(base, Bytes(40, 1)), p), InvalidReason::None);
  EXPECT_EQ(p.l4_off, 60u);

  // Option longer than the header.
  EXPECT_EQ(parse(with_options(base, {0x07, 0x09, 4, 0}), p), InvalidReason::L3BadIpv4Options);
  // Length byte below 2.
  EXPECT_EQ(parse(with_options(base, {0x07, 0x01, 0, 0}), p), InvalidReason::L3BadIpv4Options);
  EXPECT_EQ(parse(with_options(base, {0x07, 0x00, 0, 0}), p), InvalidReason::L3BadIpv4Options);
  // Option kind in the last byte with no room for its length.
  EXPECT_EQ(parse(with_options(base, {1, 1, 1, 0x44}), p), InvalidReason::L3BadIpv4Options);
}

TEST(IpParser, Ipv4Fragments) {
  Bytes first = test::udp(kA4, kB4, "abcdefgh", false, false, {.ip_id = 0xbeef, .df = false});
  first[6] = 0x20;  // MF, offset 0
  test::fix_ipv4_checksum(first);
  Packet p;
  ASSERT_EQ(parse(first, p), InvalidReason::None);
  EXPECT_TRUE(p.fragment);
  EXPECT_TRUE(p.more_fragments);
  EXPECT_EQ(p.frag_offset, 0);
  EXPECT_EQ(p.frag_id, 0xbeefu);
  EXPECT_FALSE(p.non_first_fragment());

  Bytes last = first;
  last[6] = 0x01;  // no MF, offset 0x100 units
  last[7] = 0x00;
  test::fix_ipv4_checksum(last);
  ASSERT_EQ(parse(last, p), InvalidReason::None);
  EXPECT_TRUE(p.fragment);
  EXPECT_FALSE(p.more_fragments);
  EXPECT_EQ(p.frag_offset, 0x100);
  EXPECT_TRUE(p.non_first_fragment());

  // DF alone is not a fragment.
  ASSERT_EQ(parse(test::udp(kA4, kB4, "x"), p), InvalidReason::None);
  EXPECT_FALSE(p.fragment);
  EXPECT_EQ(p.frag_hdr_off, 0u);
}

TEST(IpParser, Ipv6Udp) {
  const Bytes b = test::udp(kA6, kB6, "query", false, false, {.ttl = 9});
  Packet p;
  ASSERT_EQ(parse(b, p), InvalidReason::None);
  EXPECT_TRUE(p.is_v6());
  EXPECT_EQ(p.family, kFamilyIPv6);
  EXPECT_EQ(p.proto, kProtoUDP);
  EXPECT_EQ(p.l4_off, 40u);
  EXPECT_EQ(p.len, b.size());
  EXPECT_EQ(p.ttl, 9);
  EXPECT_EQ(p.src, kA6.addr);
  EXPECT_EQ(p.dst, kB6.addr);
  EXPECT_FALSE(p.fragment);
}

TEST(IpParser, Ipv6EachExtensionHeader) {
  const Bytes base = test::tcp(kA6, kB6, {.flags = test::SYN});
  Packet p;
  // Hop-by-hop with a PadN option (8 bytes).
  ASSERT_EQ(parse(with_ext(base, 0, {0, 0, 1, 4, 0, 0, 0, 0}), p), InvalidReason::None);
  EXPECT_EQ(p.proto, kProtoTCP);
  EXPECT_EQ(p.l4_off, 48u);
  // Routing header, length 2 (24 bytes).
  Bytes rt(24, 0);
  rt[1] = 2;
  ASSERT_EQ(parse(with_ext(base, 43, rt), p), InvalidReason::None);
  EXPECT_EQ(p.l4_off, 64u);
  // Destination options, length 1 (16 bytes).
  Bytes dst(16, 0);
  dst[1] = 1;
  ASSERT_EQ(parse(with_ext(base, 60, dst), p), InvalidReason::None);
  EXPECT_EQ(p.l4_off, 56u);
  // AH: length in 4-byte units minus 2; 4 -> 24 bytes.
  Bytes ah(24, 0);
  ah[1] = 4;
  ASSERT_EQ(parse(with_ext(base, 51, ah), p), InvalidReason::None);
  EXPECT_EQ(p.l4_off, 64u);
  EXPECT_EQ(p.proto, kProtoTCP);
}

TEST(IpParser, Ipv6ExtensionChain) {
  Bytes b = test::udp(kA6, kB6, "dns");
  Bytes ah(16, 0);
  ah[1] = 2;  // (2 + 2) * 4 = 16
  b = with_ext(b, 51, ah);
  b = with_ext(b, 44, frag_hdr(0, false, 1));  // atomic fragment
  Bytes rt(8, 0);
  b = with_ext(b, 43, rt);
  b = with_ext(b, 60, Bytes(8, 0));
  b = with_ext(b, 0, Bytes(8, 0));
  Packet p;
  ASSERT_EQ(parse(b, p), InvalidReason::None);
  EXPECT_EQ(p.proto, kProtoUDP);
  EXPECT_EQ(p.l4_off, 40u + 8 + 8 + 8 + 8 + 16);
  EXPECT_EQ(p.frag_hdr_off, 64u);
  // An atomic fragment is still a fragment: Linux queues it for reassembly.
  EXPECT_TRUE(p.fragment);
  EXPECT_FALSE(p.more_fragments);
  EXPECT_EQ(p.frag_offset, 0u);
  EXPECT_FALSE(p.non_first_fragment());
  EXPECT_EQ(p.l4_len(), 8u + 3u);
}

TEST(IpParser, Ipv6FinalProtocols) {
  Packet p;
  // ESP is a final protocol: its payload is encrypted.
  ASSERT_EQ(parse(test::raw_ip(kA6.addr, kB6.addr, true, 50, Bytes(16, 0)), p), InvalidReason::None);
  EXPECT_EQ(p.proto, 50);
  EXPECT_EQ(p.l4_off, 40u);
  // No next header after a hop-by-hop header.
  const Bytes nn = with_ext(test::raw_ip(kA6.addr, kB6.addr, true, 59, {}), 0, Bytes(8, 0));
  ASSERT_EQ(parse(nn, p), InvalidReason::None);
  EXPECT_EQ(p.proto, 59);
  EXPECT_EQ(p.l4_off, 48u);
  EXPECT_EQ(p.l4_len(), 0u);
}

TEST(IpParser, Ipv6Fragments) {
  const Bytes base = test::udp(kA6, kB6, "0123456789abcdef");
  Packet p;
  const Bytes first = with_ext(base, 44, frag_hdr(0, true, 0xdeadbeef));
  ASSERT_EQ(parse(first, p), InvalidReason::None);
  EXPECT_TRUE(p.fragment);
  EXPECT_TRUE(p.more_fragments);
  EXPECT_EQ(p.frag_offset, 0);
  EXPECT_EQ(p.frag_id, 0xdeadbeefu);
  EXPECT_EQ(p.frag_hdr_off, 40u);
  EXPECT_EQ(p.proto, kProtoUDP);
  EXPECT_EQ(p.l4_off, 48u);
  EXPECT_FALSE(p.non_first_fragment());

  // A later fragment whose data happens to look like a hop-by-hop header:
  // the parser must stop at the fragment header.
  Bytes later = with_ext(test::raw_ip(kA6.addr, kB6.addr, true, 0, Bytes(16, 0xff)), 44, frag_hdr(185, false, 5));
  ASSERT_EQ(parse(later, p), InvalidReason::None);
  EXPECT_TRUE(p.fragment);
  EXPECT_FALSE(p.more_fragments);
  EXPECT_EQ(p.frag_offset, 185);
  EXPECT_TRUE(p.non_first_fragment());
  EXPECT_EQ(p.proto, 0);
  EXPECT_EQ(p.l4_off, 48u);
}

TEST(IpParser, Ipv6Errors) {
  Packet p;
  const Bytes good = test::udp(kA6, kB6, "x");
  EXPECT_EQ(parse(Bytes(good.begin(), good.begin() + 39), p), InvalidReason::L3Truncated);
  Bytes pl = good;
  pl[5] = static_cast<std::uint8_t>(pl[5] + 1);
  EXPECT_EQ(parse(pl, p), InvalidReason::L3BadTotalLength);

  // Extension header longer than the payload.
  Bytes hbh = with_ext(good, 0, Bytes(8, 0));
  hbh[41] = 3;  // claims 32 bytes
  EXPECT_EQ(parse(hbh, p), InvalidReason::L3BadExtHeader);
  Bytes ah = with_ext(good, 51, Bytes(8, 0));
  ah[41] = 7;  // claims 36 bytes
  EXPECT_EQ(parse(ah, p), InvalidReason::L3BadExtHeader);
  // Next header says hop-by-hop but the payload is empty or 1 byte long.
  EXPECT_EQ(parse(test::raw_ip(kA6.addr, kB6.addr, true, 0, {}), p), InvalidReason::L3BadExtHeader);
  EXPECT_EQ(parse(test::raw_ip(kA6.addr, kB6.addr, true, 60, {0}), p), InvalidReason::L3BadExtHeader);
  // Fragment header cut short.
  EXPECT_EQ(parse(test::raw_ip(kA6.addr, kB6.addr, true, 44, Bytes(7, 0)), p), InvalidReason::L3BadExtHeader);
}

// Every prefix of a valid packet must be rejected (its IP length no longer
// fits) without reading past the prefix. Each prefix is copied into its own
// allocation so that AddressSanitizer builds catch any over-read.
void expect_all_prefixes_rejected(const Bytes& full) {
  Packet p;
  ASSERT_EQ(parse(full, p), InvalidReason::None);
  for (std::size_t n = 0; n < full.size(); ++n) {
    const std::vector<std::uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_NE(parse_ip(std::span<const std::uint8_t>(prefix.data(), n), p), InvalidReason::None) << n;
  }
}

TEST(IpParser, TruncationAtEveryOffset) {
  test::TcpSpec s{.flags = static_cast<std::uint8_t>(test::SYN | test::ACK), .payload = "data"};
  s.opts = {.wscale = 7, .sack_perm = true, .mss = 1460, .timestamps = true};
  expect_all_prefixes_rejected(with_options(test::tcp(kA4, kB4, s), {1, 7, 7, 4, 0, 0, 0, 0, 1, 0, 0, 0}));
  Bytes v6 = test::tcp(kA6, kB6, s);
  Bytes ah(16, 0);
  ah[1] = 2;
  v6 = with_ext(v6, 51, ah);
  v6 = with_ext(v6, 44, frag_hdr(0, true, 9));
  v6 = with_ext(v6, 0, Bytes(8, 0));
  expect_all_prefixes_rejected(v6);
}

}  // namespace
}  // namespace ctrack

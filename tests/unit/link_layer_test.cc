// strip_link_layer for each supported link type, VLAN stacks, and
// truncated headers.
#include "parse/link_layer.h"

#include <gtest/gtest.h>

#include <vector>

#include "parse/packet.h"
#include "support/packet_builder.h"

namespace ctrack {
namespace {

using test::Bytes;

const Bytes kV4 = test::udp(test::ep4("10.0.0.1", 1), test::ep4("10.0.0.2", 2), "x");
const Bytes kV6 = test::udp(test::ep6("fe80::1", 1), test::ep6("fe80::2", 2), "x");

Bytes cat(Bytes head, const Bytes& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

const Bytes kMacs = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};

Bytes eth(std::initializer_list<std::uint16_t> types, const Bytes& l3) {
  Bytes f = kMacs;
  bool first = true;
  for (std::uint16_t t : types) {
    if (!first) f.insert(f.end(), {0x00, 0x64});  // TCI of the preceding tag: VLAN 100
    f.push_back(static_cast<std::uint8_t>(t >> 8));
    f.push_back(static_cast<std::uint8_t>(t));
    first = false;
  }
  return cat(f, l3);
}

LinkResult strip(int lt, const Bytes& f) { return strip_link_layer(lt, f); }

void expect_ok(int lt, const Bytes& f, std::uint32_t off) {
  const LinkResult r = strip(lt, f);
  ASSERT_EQ(r.reason, InvalidReason::None) << "linktype " << lt;
  EXPECT_EQ(r.l3_offset, off) << "linktype " << lt;
  // And the IP header really starts there.
  Packet p;
  EXPECT_EQ(parse_ip(std::span<const std::uint8_t>(f).subspan(r.l3_offset), p), InvalidReason::None);
}

TEST(LinkLayer, EthernetIpv4AndIpv6) {
  expect_ok(kLinkEthernet, test::ethernet(kV4), 14);
  expect_ok(kLinkEthernet, test::ethernet(kV6), 14);
  expect_ok(kLinkEthernet, eth({0x0800}, kV4), 14);
}

TEST(LinkLayer, EthernetOtherProtocolsAreUnsupported) {
  EXPECT_EQ(strip(kLinkEthernet, eth({0x0806}, Bytes(28, 0))).reason, InvalidReason::LinkUnsupported);  // ARP
  EXPECT_EQ(strip(kLinkEthernet, eth({0x88cc}, Bytes(30, 0))).reason, InvalidReason::LinkUnsupported);  // LLDP
  EXPECT_EQ(strip(kLinkEthernet, eth({0x0040}, Bytes(64, 0))).reason, InvalidReason::LinkUnsupported);  // 802.3
}

TEST(LinkLayer, VlanTagsAndStacks) {
  expect_ok(kLinkEthernet, eth({0x8100, 0x0800}, kV4), 18);
  expect_ok(kLinkEthernet, eth({0x88a8, 0x8100, 0x86dd}, kV6), 22);
  expect_ok(kLinkEthernet, eth({0x9100, 0x0800}, kV4), 18);
  expect_ok(kLinkEthernet, eth({0x9100, 0x8100, 0x8100, 0x0800}, kV4), 26);
  EXPECT_EQ(strip(kLinkEthernet, eth({0x8100, 0x0806}, Bytes(28, 0))).reason, InvalidReason::LinkUnsupported);
}

TEST(LinkLayer, EthernetTruncation) {
  const Bytes f = eth({0x88a8, 0x8100, 0x0800}, kV4);
  for (std::size_t n = 0; n < 22; ++n) {
    const Bytes cut(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(strip(kLinkEthernet, cut).reason, InvalidReason::LinkTruncated) << n;
  }
  EXPECT_EQ(strip(kLinkEthernet, Bytes(f.begin(), f.begin() + 22)).l3_offset, 22u);  // empty L3 is parse_ip's job
}

Bytes sll(std::uint16_t proto) {
  Bytes h = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};  // packet type, ARPHRD_ETHER, addr len, addr
  h.push_back(static_cast<std::uint8_t>(proto >> 8));
  h.push_back(static_cast<std::uint8_t>(proto));
  return h;
}

Bytes sll2(std::uint16_t proto) {
  Bytes h = {static_cast<std::uint8_t>(proto >> 8), static_cast<std::uint8_t>(proto), 0, 0, 0, 0, 0, 2, 0, 1, 0, 6};
  h.insert(h.end(), {2, 0, 0, 0, 0, 1, 0, 0});
  return h;
}

TEST(LinkLayer, LinuxCooked) {
  expect_ok(kLinkLinuxSll, cat(sll(0x0800), kV4), 16);
  expect_ok(kLinkLinuxSll, cat(sll(0x86dd), kV6), 16);
  EXPECT_EQ(strip(kLinkLinuxSll, cat(sll(0x0806), Bytes(28, 0))).reason, InvalidReason::LinkUnsupported);
  EXPECT_EQ(strip(kLinkLinuxSll, Bytes(15, 0)).reason, InvalidReason::LinkTruncated);

  expect_ok(kLinkLinuxSll2, cat(sll2(0x0800), kV4), 20);
  expect_ok(kLinkLinuxSll2, cat(sll2(0x86dd), kV6), 20);
  EXPECT_EQ(strip(kLinkLinuxSll2, cat(sll2(0x0806), Bytes(28, 0))).reason, InvalidReason::LinkUnsupported);
  EXPECT_EQ(strip(kLinkLinuxSll2, Bytes(19, 0)).reason, InvalidReason::LinkTruncated);
}

TEST(LinkLayer, BsdLoopback) {
  // DLT_NULL: AF in the capturing host's byte order; either order works.
  expect_ok(kLinkNull, cat({2, 0, 0, 0}, kV4), 4);
  expect_ok(kLinkNull, cat({0, 0, 0, 2}, kV4), 4);
  for (std::uint8_t af : {24, 28, 30}) {
    expect_ok(kLinkNull, cat({af, 0, 0, 0}, kV6), 4);
    expect_ok(kLinkNull, cat({0, 0, 0, af}, kV6), 4);
  }
  EXPECT_EQ(strip(kLinkNull, cat({7, 0, 0, 0}, kV4)).reason, InvalidReason::LinkUnsupported);
  EXPECT_EQ(strip(kLinkNull, Bytes{2, 0, 0}).reason, InvalidReason::LinkTruncated);

  // DLT_LOOP: network order only.
  expect_ok(kLinkLoop, cat({0, 0, 0, 2}, kV4), 4);
  expect_ok(kLinkLoop, cat({0, 0, 0, 24}, kV6), 4);
  EXPECT_EQ(strip(kLinkLoop, cat({2, 0, 0, 0}, kV4)).reason, InvalidReason::LinkUnsupported);
  EXPECT_EQ(strip(kLinkLoop, Bytes{}).reason, InvalidReason::LinkTruncated);
}

TEST(LinkLayer, Ppp) {
  expect_ok(kLinkPpp, cat({0xff, 0x03, 0x00, 0x21}, kV4), 4);
  expect_ok(kLinkPpp, cat({0xff, 0x03, 0x00, 0x57}, kV6), 4);
  expect_ok(kLinkPpp, cat({0x00, 0x21}, kV4), 2);        // no address/control
  expect_ok(kLinkPpp, cat({0xff, 0x03, 0x21}, kV4), 3);  // compressed protocol
  expect_ok(kLinkPpp, cat({0x57}, kV6), 1);
  EXPECT_EQ(strip(kLinkPpp, cat({0xff, 0x03, 0xc0, 0x21}, Bytes(8, 0))).reason, InvalidReason::LinkUnsupported);  // LCP
  EXPECT_EQ(strip(kLinkPpp, Bytes{0xff, 0x03}).reason, InvalidReason::LinkTruncated);
  EXPECT_EQ(strip(kLinkPpp, Bytes{0xff, 0x03, 0x00}).reason, InvalidReason::LinkTruncated);
  EXPECT_EQ(strip(kLinkPpp, Bytes{}).reason, InvalidReason::LinkTruncated);
}

TEST(LinkLayer, Mpls) {
  // One label, bottom of stack (as in the corpus's PPP traceroute).
  expect_ok(kLinkPpp, cat({0xff, 0x03, 0x02, 0x81, 0x18, 0x96, 0x01, 0x01}, kV4), 8);
  // Two labels over Ethernet, IPv6 payload.
  expect_ok(kLinkEthernet, eth({0x8847}, cat({0, 1, 0, 64, 0, 2, 1, 64}, kV6)), 22);
  // Payload that is not IP (pseudowire control word).
  EXPECT_EQ(strip(kLinkEthernet, eth({0x8847}, {0, 1, 1, 64, 0, 0, 0, 0})).reason, InvalidReason::LinkUnsupported);
  // Label stack without a bottom entry, or cut short.
  EXPECT_EQ(strip(kLinkEthernet, eth({0x8847}, {0, 1, 0, 64, 0, 2, 0, 64})).reason, InvalidReason::LinkTruncated);
  EXPECT_EQ(strip(kLinkPpp, Bytes{0x02, 0x81, 0, 1, 1}).reason, InvalidReason::LinkTruncated);
  EXPECT_EQ(strip(kLinkPpp, Bytes{0x02, 0x81, 0, 1, 1, 64}).reason, InvalidReason::LinkTruncated);
}

TEST(LinkLayer, RawIp) {
  for (int lt : {kLinkRaw, kLinkRawDlt12, kLinkRawDlt14, kLinkIPv4, kLinkIPv6}) {
    expect_ok(lt, kV4, 0);
    expect_ok(lt, kV6, 0);
    EXPECT_EQ(strip(lt, Bytes{}).reason, InvalidReason::LinkTruncated);
    EXPECT_EQ(strip(lt, Bytes{0x50, 0}).reason, InvalidReason::LinkUnsupported);
  }
}

TEST(LinkLayer, UnknownLinkTypes) {
  EXPECT_EQ(strip(147, kV4).reason, InvalidReason::LinkUnsupported);
  EXPECT_EQ(strip(105, kV4).reason, InvalidReason::LinkUnsupported);  // 802.11
  EXPECT_FALSE(link_type_supported(147));
  EXPECT_FALSE(link_type_supported(-1));
  for (int lt : {0, 1, 9, 12, 14, 101, 108, 113, 228, 229, 276}) EXPECT_TRUE(link_type_supported(lt)) << lt;
}

// No link type may read past a short frame, whatever its bytes.
TEST(LinkLayer, ShortFramesNeverOverread) {
  for (int lt : {0, 1, 9, 12, 14, 101, 108, 113, 228, 229, 276}) {
    for (std::size_t n = 0; n < 32; ++n) {
      for (std::uint8_t fill : {0x00, 0x81, 0xff, 0x21}) {
        const std::vector<std::uint8_t> f(n, fill);
        const LinkResult r = strip_link_layer(lt, f);
        if (r.reason == InvalidReason::None) {
          EXPECT_LE(r.l3_offset, n) << lt;
        }
      }
    }
  }
}

}  // namespace
}  // namespace ctrack

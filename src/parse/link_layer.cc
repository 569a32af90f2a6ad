// Link-layer stripping: per packet, so hand-written and allocation-free.
// Only the offset of the IP header is computed; nothing is copied.
#include "parse/link_layer.h"

namespace ctrack {
namespace {

constexpr std::uint16_t kEthIPv4 = 0x0800;
constexpr std::uint16_t kEthIPv6 = 0x86dd;

inline std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

constexpr bool is_vlan_tpid(std::uint16_t t) {
  // 802.1Q, 802.1ad (S-tag), and the pre-standard QinQ TPIDs 0x9100/0x9200.
  return t == 0x8100 || t == 0x88a8 || t == 0x9100 || t == 0x9200;
}

// An MPLS label stack starting at `off`: 4-byte entries up to the one with
// the bottom-of-stack bit; the payload's IP version nibble says what follows
// (MPLS carries no protocol field). The corpus's PPP traceroute needs this.
LinkResult after_mpls(std::span<const std::uint8_t> f, std::size_t off) {
  for (;;) {  // each entry is 4 bytes: bounded by the frame
    if (f.size() - off < 4) return {InvalidReason::LinkTruncated, 0};
    const bool bottom = (f[off + 2] & 1) != 0;
    off += 4;
    if (bottom) break;
  }
  if (f.size() == off) return {InvalidReason::LinkTruncated, 0};
  const int v = f[off] >> 4;
  if (v != 4 && v != 6) return {InvalidReason::LinkUnsupported, 0};
  return {InvalidReason::None, static_cast<std::uint32_t>(off)};
}

// `type` is the ethertype found at `off - 2`: skips any stack of VLAN tags
// and accepts IPv4/IPv6 (possibly under MPLS labels).
LinkResult after_ethertype(std::span<const std::uint8_t> f, std::uint16_t type, std::size_t off) {
  while (is_vlan_tpid(type)) {  // each tag is 4 bytes: bounded by the frame
    if (f.size() - off < 4) return {InvalidReason::LinkTruncated, 0};
    type = be16(f.data() + off + 2);
    off += 4;
  }
  if (type == 0x8847 || type == 0x8848) return after_mpls(f, off);  // unicast / multicast
  if (type != kEthIPv4 && type != kEthIPv6) return {InvalidReason::LinkUnsupported, 0};
  return {InvalidReason::None, static_cast<std::uint32_t>(off)};
}

// BSD address families that mean IPv4 or IPv6 (AF_INET6 differs per OS:
// 24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS).
constexpr bool is_ip_af(std::uint32_t af) { return af == 2 || af == 24 || af == 28 || af == 30; }

LinkResult loopback(std::span<const std::uint8_t> f, bool network_order) {
  if (f.size() < 4) return {InvalidReason::LinkTruncated, 0};
  const auto* p = f.data();
  const std::uint32_t be = std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
  const std::uint32_t le = std::uint32_t{p[3]} << 24 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[1]} << 8 | p[0];
  // DLT_NULL stores the AF in the capturing host's byte order, which the file
  // does not tell us; the values are small, so either order is unambiguous.
  const bool ok = network_order ? is_ip_af(be) : (is_ip_af(be) || is_ip_af(le));
  if (!ok) return {InvalidReason::LinkUnsupported, 0};
  return {InvalidReason::None, 4};
}

LinkResult ppp(std::span<const std::uint8_t> f) {
  std::size_t off = 0;
  // HDLC-like framing: address 0xff, control 0x03, both optional (ACFC).
  if (f.size() >= 2 && f[0] == 0xff && f[1] == 0x03) off = 2;
  if (f.size() <= off) return {InvalidReason::LinkTruncated, 0};
  std::uint16_t proto;
  if (f[off] & 1) {  // protocol-field compression: a 1-byte protocol is odd
    proto = f[off];
    off += 1;
  } else {
    if (f.size() - off < 2) return {InvalidReason::LinkTruncated, 0};
    proto = be16(f.data() + off);
    off += 2;
  }
  if (proto == 0x0281 || proto == 0x0283) return after_mpls(f, off);  // MPLS unicast / multicast
  if (proto != 0x0021 && proto != 0x0057) return {InvalidReason::LinkUnsupported, 0};
  return {InvalidReason::None, static_cast<std::uint32_t>(off)};
}

LinkResult raw(std::span<const std::uint8_t> f) {
  if (f.empty()) return {InvalidReason::LinkTruncated, 0};
  const int v = f[0] >> 4;
  if (v != 4 && v != 6) return {InvalidReason::LinkUnsupported, 0};
  return {InvalidReason::None, 0};
}

}  // namespace

LinkResult strip_link_layer(int linktype, std::span<const std::uint8_t> frame) {
  switch (linktype) {
    case kLinkEthernet:
      if (frame.size() < 14) return {InvalidReason::LinkTruncated, 0};
      return after_ethertype(frame, be16(frame.data() + 12), 14);
    case kLinkLinuxSll:  // 16 bytes; protocol (ethertype) at offset 14
      if (frame.size() < 16) return {InvalidReason::LinkTruncated, 0};
      return after_ethertype(frame, be16(frame.data() + 14), 16);
    case kLinkLinuxSll2:  // 20 bytes; protocol at offset 0
      if (frame.size() < 20) return {InvalidReason::LinkTruncated, 0};
      return after_ethertype(frame, be16(frame.data()), 20);
    case kLinkNull:
      return loopback(frame, false);
    case kLinkLoop:
      return loopback(frame, true);
    case kLinkPpp:
      return ppp(frame);
    case kLinkRaw:
    case kLinkRawDlt12:
    case kLinkRawDlt14:
    case kLinkIPv4:
    case kLinkIPv6:
      return raw(frame);
    default:
      return {InvalidReason::LinkUnsupported, 0};
  }
}

bool link_type_supported(int linktype) {
  switch (linktype) {
    case kLinkNull:
    case kLinkEthernet:
    case kLinkPpp:
    case kLinkRaw:
    case kLinkRawDlt12:
    case kLinkRawDlt14:
    case kLinkLoop:
    case kLinkLinuxSll:
    case kLinkIPv4:
    case kLinkIPv6:
    case kLinkLinuxSll2:
      return true;
    default:
      return false;
  }
}

}  // namespace ctrack

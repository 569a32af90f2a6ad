// The ICMP / ICMPv6 error path (linux-core.md §3.2-§3.4): classify the
// message, rebuild the tuple of the packet it quotes, and check that the error
// is addressed to the host that sent that packet.
#include "proto/icmp_error.h"

#include "core/l4_dispatch.h"
#include "parse/checksum.h"
#include "proto/icmp_types.h"

namespace ctrack {

namespace {

constexpr std::uint32_t kIpv4HeaderLen = 20;
constexpr std::uint32_t kIpv6HeaderLen = 40;

// IPv6 extension headers the kernel skips to find the transport header
// (ipv6_ext_hdr): hop-by-hop, routing, fragment, AH, no-next-header, dest opts.
enum : std::uint8_t {
  kExtHopByHop = 0,
  kExtRouting = 43,
  kExtFragment = 44,
  kExtAuth = 51,
  kExtNoNext = 59,
  kExtDestOpts = 60,
};

bool is_ipv6_ext(std::uint8_t nh) {
  return nh == kExtHopByHop || nh == kExtRouting || nh == kExtFragment || nh == kExtAuth ||
         nh == kExtNoNext || nh == kExtDestOpts;
}

// The quoted IPv4 header at `off`. Only the fixed header must be present and
// the quoted datagram must not be a non-first fragment; like the kernel, the
// quoted total length, version and checksum are not looked at.
bool parse_quoted_v4(const Packet& pkt, std::uint32_t off, Packet& q) {
  if (pkt.len < off || pkt.len - off < kIpv4HeaderLen) return false;
  const std::uint8_t* ip = pkt.data + off;
  if ((load_be16(ip + 6) & 0x1fff) != 0) return false;  // fragment offset
  const std::uint32_t l4_off = off + (ip[0] & 0x0fu) * 4u;
  if (l4_off > pkt.len) return false;
  q.l4_off = l4_off;
  q.proto = ip[9];
  q.src = Addr::from_bytes(ip + 12, false);
  q.dst = Addr::from_bytes(ip + 16, false);
  return true;
}

// The quoted IPv6 header at `off`, with its extension headers skipped.
bool parse_quoted_v6(const Packet& pkt, std::uint32_t off, Packet& q) {
  if (pkt.len < off || pkt.len - off < kIpv6HeaderLen) return false;
  const std::uint8_t* ip = pkt.data + off;
  std::uint8_t nh = ip[6];
  std::uint32_t at = off + kIpv6HeaderLen;
  while (is_ipv6_ext(nh)) {
    if (nh == kExtNoNext) return false;
    if (pkt.len < at || pkt.len - at < 2) return false;
    const std::uint8_t* h = pkt.data + at;
    std::uint32_t hdr_len;
    if (nh == kExtFragment) {
      if (pkt.len - at < 4) return false;
      // A non-first fragment quotes no transport header.
      if ((load_be16(h + 2) & 0xfff8) != 0) return false;
      hdr_len = 8;
    } else if (nh == kExtAuth) {
      hdr_len = (h[1] + 2u) * 4u;  // AH counts 32-bit words minus 2
    } else {
      hdr_len = (h[1] + 1u) * 8u;  // others count 8-byte units minus 1
    }
    nh = h[0];
    at += hdr_len;
  }
  if (at > pkt.len) return false;
  q.l4_off = at;
  q.proto = nh;
  q.src = Addr::from_bytes(ip + 8, true);
  q.dst = Addr::from_bytes(ip + 24, true);
  return true;
}

// The quoted packet is itself an ICMP error: errors about errors are never
// related to anything (they have no inverse tuple).
bool quotes_icmp_error(const Packet& q) {
  if ((q.proto != kProtoICMP && q.proto != kProtoICMPv6) || q.l4_len() < 1) return false;
  return icmp::table(q.proto == kProtoICMPv6)[q.l4()[0]].cls == IcmpClass::Error;
}

}  // namespace

IcmpClassification icmp_classify(const Packet& pkt, const L4Ctx& ctx) {
  const bool v6 = pkt.is_v6();
  // ICMPv6 over IPv4 (or ICMP over IPv6) skips the error handling altogether
  // and goes the normal way, where the tracker refuses it.
  if ((pkt.proto == kProtoICMPv6) != v6) return {IcmpClass::Query, InvalidReason::None, false};
  // Every refusal on this path counts as `error`, not `invalid`.
  if (pkt.l4_off > pkt.len || pkt.l4_len() < icmp::kHeaderLen) {
    return {IcmpClass::Invalid, InvalidReason::IcmpShortHeader, true};
  }
  if (ctx.verify_checksum()) {
    const std::uint32_t n = pkt.l4_len();
    // ICMPv4 has no pseudo-header; ICMPv6 has one, with protocol 58.
    const bool ok =
        v6 ? l4_checksum_ok(pkt, n, kProtoICMPv6, n) : l4_checksum_ok(pkt, n, 0, 0, false);
    if (!ok) {
      return {IcmpClass::Invalid,
              v6 ? InvalidReason::Icmpv6BadChecksum : InvalidReason::IcmpBadChecksum, true};
    }
  }
  const IcmpClass cls = icmp::table(v6)[pkt.l4()[0]].cls;
  if (cls == IcmpClass::Invalid) return {IcmpClass::Invalid, InvalidReason::IcmpBadType, true};
  return {cls, InvalidReason::None, false};
}

InvalidReason icmp_error_lookup_tuple(const Packet& pkt, Tuple& lookup) {
  // The quoted packet starts after the 8-byte ICMP header. It is read in
  // place: bounds are the outer packet's.
  Packet q;
  q.data = pkt.data;
  q.len = pkt.len;
  q.family = pkt.family;
  const std::uint32_t quote_off = pkt.l4_off + icmp::kHeaderLen;
  const bool parsed =
      pkt.is_v6() ? parse_quoted_v6(pkt, quote_off, q) : parse_quoted_v4(pkt, quote_off, q);
  if (!parsed) return InvalidReason::IcmpErrorBadInner;

  // The quoted packet's own tuple, built exactly as for a packet of its
  // protocol (4 bytes suffice for ports, 8 for ICMP).
  Tuple t;
  t.family = q.family;
  t.proto = q.proto;
  t.src = q.src;
  t.dst = q.dst;
  const bool have_tuple =
      with_tracker(q.family, q.proto, [&]<class T>() { return T::tuple(q, t); });
  if (!have_tuple) return InvalidReason::IcmpErrorBadInner;

  // It travelled the other way: the entry is found under its inverse.
  const bool inverted =
      with_tracker(q.family, q.proto, [&]<class T>() { return T::invert(t, lookup); });
  if (!inverted) {
    return quotes_icmp_error(q) ? InvalidReason::IcmpErrorNested : InvalidReason::IcmpNoInverse;
  }
  return InvalidReason::None;
}

InvalidReason icmp_error_validate(const Packet& pkt, const Conn& conn, Direction dir) {
  // The error must go to the destination of the matched tuple, i.e. the host
  // that sent the quoted packet; otherwise anyone could open a path to a
  // third host by quoting a known flow. The outer source is not checked
  // (any router on the way may send errors). Without NAT the reply tuple's
  // destination is the original source.
  const Addr& expected = dir == Direction::Original ? conn.orig.dst : conn.orig.src;
  if (!(pkt.dst == expected)) return InvalidReason::IcmpErrorOuterMismatch;
  return InvalidReason::None;
}

}  // namespace ctrack

// IPv4 / IPv6 header parser. Hand-written rather than built on a packet
// library because it runs once per packet on the hot path: no allocation,
// no copies, headers read in place. Every read is preceded by a bounds check
// against the bytes actually present, so no input can make it read past the
// end of `bytes` (the fuzz target tests/fuzz/parse_fuzz.cc exercises this).
#include <cstring>

#include "parse/checksum.h"
#include "parse/packet.h"

namespace ctrack {
namespace {

// IPv6 extension headers conntrack skips to find the transport protocol
// (the set ipv6_skip_exthdr() walks).
constexpr std::uint8_t kHopByHop = 0;
constexpr std::uint8_t kRouting = 43;
constexpr std::uint8_t kFragment = 44;
constexpr std::uint8_t kAuth = 51;
constexpr std::uint8_t kDestOpts = 60;

void copy_addr(Addr& a, const std::uint8_t* p, std::size_t n) {
  a.b = {};
  std::memcpy(a.b.data(), p, n);
}

// An IPv4 address as one 16-byte store (the address, then zeros). Zeroing
// the Addr and then writing its first 4 bytes are two overlapping stores,
// and the tuple copy that reads the Addr right after as one 16-byte load
// could be forwarded from neither: it waited for both to retire.
void store_addr4(Addr& a, const std::uint8_t* p) {
  using V = std::uint32_t __attribute__((vector_size(16)));
  std::uint32_t w;
  std::memcpy(&w, p, 4);
  const V v = {w, 0, 0, 0};
  static_assert(sizeof v == sizeof a.b);
  std::memcpy(a.b.data(), &v, sizeof v);
}

// Walks the IPv4 option list: every option but EOL/NOP must carry a length
// byte of at least 2 that stays inside the header.
bool ipv4_options_ok(const std::uint8_t* opt, std::uint32_t n) {
  std::uint32_t i = 0;
  while (i < n) {
    const std::uint8_t kind = opt[i];
    if (kind == 0) return true;  // end of option list; the rest is padding
    if (kind == 1) {             // no-operation
      ++i;
      continue;
    }
    if (i + 1 >= n) return false;
    const std::uint8_t olen = opt[i + 1];
    if (olen < 2 || olen > n - i) return false;
    i += olen;
  }
  return true;
}

InvalidReason parse_v4(const std::uint8_t* p, std::size_t avail, Packet& pkt) {
  if (avail < 20) return InvalidReason::L3Truncated;
  const std::uint32_t ihl = (p[0] & 0x0fu) * 4u;
  if (ihl < 20) return InvalidReason::L3BadHeaderLength;
  if (ihl > avail) return InvalidReason::L3Truncated;
  const std::uint32_t total = load_be16(p + 2);
  if (total > avail || total < ihl) return InvalidReason::L3BadTotalLength;
  if (ihl > 20 && !ipv4_options_ok(p + 20, ihl - 20)) return InvalidReason::L3BadIpv4Options;
  // The kernel's IP layer drops such packets before conntrack sees them; we
  // mark them INVALID instead so that they do not vanish without a trace.
  if (!ipv4_header_checksum_ok(p, ihl)) return InvalidReason::L3BadChecksum;

  const std::uint16_t frag = load_be16(p + 6);
  pkt.data = p;
  pkt.len = total;
  pkt.l4_off = ihl;
  pkt.family = kFamilyIPv4;
  pkt.proto = p[9];
  pkt.ttl = p[8];
  pkt.more_fragments = (frag & 0x2000u) != 0;
  pkt.frag_offset = static_cast<std::uint16_t>(frag & 0x1fffu);
  pkt.fragment = pkt.more_fragments || pkt.frag_offset != 0;
  pkt.frag_id = load_be16(p + 4);
  store_addr4(pkt.src, p + 12);
  store_addr4(pkt.dst, p + 16);
  return InvalidReason::None;
}

InvalidReason parse_v6(const std::uint8_t* p, std::size_t avail, Packet& pkt) {
  if (avail < 40) return InvalidReason::L3Truncated;
  const std::uint32_t len = 40u + load_be16(p + 4);
  if (len > avail) return InvalidReason::L3BadTotalLength;

  pkt.data = p;
  pkt.len = len;
  pkt.family = kFamilyIPv6;
  pkt.ttl = p[7];
  copy_addr(pkt.src, p + 8, 16);
  copy_addr(pkt.dst, p + 24, 16);

  std::uint8_t next = p[6];
  std::uint32_t off = 40;
  // Each step advances by at least 8 bytes and never beyond `len`, so the
  // loop is bounded by the packet length.
  for (;;) {
    if (next == kHopByHop || next == kRouting || next == kDestOpts || next == kAuth) {
      if (len - off < 2) return InvalidReason::L3BadExtHeader;
      const std::uint32_t hlen = next == kAuth ? (p[off + 1] + 2u) * 4u
                                               : (p[off + 1] + 1u) * 8u;  // AH counts 4-byte units
      if (hlen > len - off) return InvalidReason::L3BadExtHeader;
      next = p[off];
      off += hlen;
    } else if (next == kFragment) {
      if (len - off < 8) return InvalidReason::L3BadExtHeader;
      const std::uint16_t fo = load_be16(p + off + 2);
      pkt.frag_hdr_off = off;
      pkt.frag_offset = static_cast<std::uint16_t>(fo >> 3);
      pkt.more_fragments = (fo & 1u) != 0;
      // Any fragment header makes a fragment, an atomic one (offset 0, no
      // MF; RFC 6946) included: Linux's conntrack defragmenter still queues
      // it under its identification, so it completes at once when alone
      // and is discarded when it contradicts a pending datagram with the
      // same identification (checked against the kernel: kdiff.frag-atomic).
      pkt.fragment = true;
      pkt.frag_id = load_be32(p + off + 4);
      next = p[off];
      off += 8;
      // After a non-first fragment comes payload data, not headers.
      if (pkt.frag_offset != 0) break;
    } else {
      break;  // transport protocol, ESP (50), no-next-header (59), ...
    }
  }
  pkt.proto = next;
  pkt.l4_off = off;
  return InvalidReason::None;
}

}  // namespace

InvalidReason parse_ip(std::span<const std::uint8_t> bytes, Packet& pkt) {
  pkt = Packet{};
  if (bytes.empty()) return InvalidReason::L3Truncated;
  switch (bytes[0] >> 4) {
    case 4:
      return parse_v4(bytes.data(), bytes.size(), pkt);
    case 6:
      return parse_v6(bytes.data(), bytes.size(), pkt);
    default:
      return InvalidReason::L3BadVersion;
  }
}

}  // namespace ctrack

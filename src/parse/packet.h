// A parsed view of one L3 packet: where the headers are, nothing copied.
// Built once per packet by parse_ip(); every tracker reads from it.
#pragma once

#include <cstdint>
#include <span>

#include "ctrack/invalid_reason.h"
#include "ctrack/tuple.h"

namespace ctrack {

struct Packet {
  const std::uint8_t* data = nullptr;  // start of the IP header
  std::uint32_t len = 0;     // L3 length: IPv4 total length / IPv6 40 + payload length
  std::uint32_t l4_off = 0;  // offset of the transport header from `data`
  std::uint8_t family = 0;   // kFamilyIPv4 / kFamilyIPv6
  std::uint8_t proto = 0;    // final protocol (after IPv6 extension headers)
  std::uint8_t ttl = 0;      // TTL / hop limit
  // Fragmentation (IPv4 flags/offset, IPv6 fragment header).
  bool fragment = false;        // part of a fragmented datagram
  bool more_fragments = false;  // MF set
  std::uint16_t frag_offset = 0;  // in 8-byte units
  std::uint32_t frag_id = 0;      // IPv4 id or IPv6 fragment id
  std::uint32_t frag_hdr_off = 0; // IPv6: offset of the fragment header (0 = none)
  Addr src;
  Addr dst;

  std::uint32_t l4_len() const { return len - l4_off; }
  const std::uint8_t* l4() const { return data + l4_off; }
  bool is_v6() const { return family == kFamilyIPv6; }
  // A non-first fragment has no L4 header: conntrack cannot track it.
  bool non_first_fragment() const { return fragment && frag_offset != 0; }
};

// Parses an IPv4 or IPv6 header (IPv4 options, IPv6 extension headers) and
// fills `pkt`. Trailing bytes beyond the IP length (Ethernet padding) are
// ignored. Returns InvalidReason::None on success.
InvalidReason parse_ip(std::span<const std::uint8_t> bytes, Packet& pkt);

// Big-endian loads. The hot path reads headers in place; these compile to a
// single load + bswap.
inline std::uint16_t load_be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

}  // namespace ctrack

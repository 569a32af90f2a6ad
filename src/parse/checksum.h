// Internet checksums (RFC 1071) for L4 verification (nf_conntrack_checksum).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "parse/packet.h"

namespace ctrack {

// One's-complement sum of `len` bytes added to `sum` (not folded).
std::uint64_t csum_add(const std::uint8_t* p, std::size_t len, std::uint64_t sum = 0);
// Folds a running sum to 16 bits and complements it.
std::uint16_t csum_fold(std::uint64_t sum);

// Verifies the transport checksum of `pkt` over `covered` bytes of L4 data
// (the whole L4 payload for TCP/UDP/ICMPv6), with an IPv4/IPv6 pseudo-header
// built from `pseudo_proto` and `pseudo_len`. `with_pseudo` false gives the
// plain ICMPv4 checksum. True when the checksum is correct.
bool l4_checksum_ok(const Packet& pkt, std::uint32_t covered, std::uint8_t pseudo_proto,
                    std::uint32_t pseudo_len, bool with_pseudo = true);

// The header checksum of an IPv4 header of `ihl` bytes is correct. It runs
// on every packet: the usual 20-byte header is summed inline as five 32-bit
// words (a one's-complement sum does not depend on byte order, so native
// loads do), longer ones by csum_add.
inline bool ipv4_header_checksum_ok(const std::uint8_t* p, std::uint32_t ihl) {
  if (ihl != 20) return csum_fold(csum_add(p, ihl)) == 0;
  // Two 8-byte loads and one 4-byte load straight from the packet (copying
  // the header to a stack array first cost a store-forwarding stall).
  std::uint64_t a, b;
  std::uint32_t c;
  std::memcpy(&a, p, 8);
  std::memcpy(&b, p + 8, 8);
  std::memcpy(&c, p + 16, 4);
  std::uint64_t s = (a & 0xffffffffu) + (a >> 32) + (b & 0xffffffffu) + (b >> 32) + c;
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  return s == 0xffff;
}

}  // namespace ctrack

// Internet checksums (RFC 1071) for L4 verification (nf_conntrack_checksum).
#pragma once

#include <cstddef>
#include <cstdint>

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

}  // namespace ctrack

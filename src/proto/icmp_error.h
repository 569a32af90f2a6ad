// The ICMP / ICMPv6 error path (nf_conntrack_inet_error): an error message
// quotes the header of the packet that caused it; if that packet belongs to a
// tracked connection, the error is RELATED to it, otherwise INVALID.
#pragma once

#include <cstdint>

#include "ctrack/conn.h"
#include "ctrack/invalid_reason.h"
#include "ctrack/tuple.h"
#include "parse/packet.h"
#include "proto/l4proto.h"

namespace ctrack {

enum class IcmpClass : std::uint8_t {
  Query,      // request/reply type: tracked as a connection of its own
  Error,      // error message: look up the quoted connection
  Untracked,  // ICMPv6 ND/MLD: never tracked (UNTRACKED)
  Invalid,    // refused before lookup (bad checksum, type out of range...)
};

struct IcmpClassification {
  IcmpClass cls = IcmpClass::Query;
  InvalidReason reason = InvalidReason::None;
  // Which kernel counter an Invalid outcome bumps: `error` (error path) or
  // `invalid` (tuple/L4 failure).
  bool counts_as_error = false;
};

// Classifies an ICMP (pkt.family IPv4) or ICMPv6 (IPv6) packet: header
// length, checksum (when ctx.verify_checksum()), type ranges. A protocol in
// the wrong family (ICMPv6 over IPv4) is a Query: the kernel runs no error
// handling for it, and the tracker's error() refuses it.
IcmpClassification icmp_classify(const Packet& pkt, const L4Ctx& ctx);

// For an Error: parses the quoted packet and returns in `lookup` the tuple to
// search the table with (the inverse of the quoted packet's own tuple, as the
// kernel does). A malformed quote returns a reason.
InvalidReason icmp_error_lookup_tuple(const Packet& pkt, Tuple& lookup);

// After the quoted connection was found (matched in direction `dir`): the
// checks the kernel makes between the outer and the quoted header (the error
// must be addressed to the host that sent the quoted packet).
InvalidReason icmp_error_validate(const Packet& pkt, const Conn& conn, Direction dir);

}  // namespace ctrack

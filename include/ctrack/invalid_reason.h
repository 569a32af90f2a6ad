// Why a packet is INVALID: a stable code (never renumbered; append only) and
// the text the kernel would log for it (nf_conntrack_log_invalid), or our own
// wording where the kernel is silent.
#pragma once

#include <cstdint>
#include <string_view>

namespace ctrack {

// X(code, name, text).  Codes are stable identifiers for tools and JSON
// output; append new reasons at the end of their group's range.
#define CTRACK_INVALID_REASONS(X)                                                        \
  X(0, None, "")                                                                         \
  /* link layer and L3 (1..49) */                                                        \
  X(1, LinkTruncated, "truncated link-layer header")                                     \
  X(2, LinkUnsupported, "unsupported link-layer or network protocol")                    \
  X(3, L3Truncated, "truncated IP header")                                               \
  X(4, L3BadVersion, "bad IP version")                                                   \
  X(5, L3BadHeaderLength, "bad IP header length")                                        \
  X(6, L3BadTotalLength, "IP total length exceeds packet")                               \
  X(7, L3Fragment, "non-first fragment, cannot track")                                   \
  X(8, L3BadExtHeader, "malformed IPv6 extension header")                                \
  X(9, L3BadIpv4Options, "malformed IPv4 options")                                       \
  X(10, L3BadChecksum, "bad IPv4 header checksum")                                       \
  X(11, L4NoTuple, "L4 header too short to build a tuple")                               \
  /* TCP (50..99) */                                                                     \
  X(50, TcpShortHeader, "short packet")                                                  \
  X(51, TcpTruncated, "truncated packet")                                                \
  X(52, TcpBadChecksum, "bad checksum")                                                  \
  X(53, TcpBadFlags, "invalid tcp flag combination")                                     \
  X(54, TcpInvalidState, "invalid state")                                                \
  X(55, TcpNoLoosePickup, "invalid new: loose pickup disabled")                          \
  X(56, TcpSeqOverUpper, "SEQ is over upper bound (over the window of the receiver)")    \
  X(57, TcpSeqUnderLower, "SEQ is under lower bound (already ACKed data retransmitted)") \
  X(58, TcpAckOverUpper, "ACK is over upper bound (ACKed data not seen yet)")            \
  X(59, TcpAckUnderLower, "ACK is under lower bound (possible overly delayed ACK)")      \
  X(60, TcpInvalidRst, "invalid rst")                                                    \
  X(61, TcpInvalidSack, "invalid SACK block")                                            \
  X(62, TcpNewNotSyn, "invalid new")                                                     \
  /* UDP / UDP-Lite (100..119) */                                                        \
  X(100, UdpShortHeader, "short packet")                                                 \
  X(101, UdpTruncated, "truncated/malformed packet")                                     \
  X(102, UdpBadChecksum, "bad checksum")                                                 \
  X(103, UdpLiteBadCoverage, "invalid checksum coverage")                                \
  X(104, UdpLiteZeroChecksum, "checksum missing")                                        \
  /* ICMP / ICMPv6 (120..159) */                                                         \
  X(120, IcmpShortHeader, "short packet")                                                \
  X(121, IcmpBadChecksum, "bad hw icmp checksum")                                        \
  X(122, IcmpBadType, "invalid icmp type")                                               \
  X(123, IcmpNoInverse, "icmp type has no reply counterpart")                            \
  X(124, IcmpReplyWithoutRequest, "icmp reply without request")                          \
  X(125, IcmpErrorNoConn, "icmp error: no connection matches the quoted packet")         \
  X(126, IcmpErrorBadInner, "icmp error: malformed quoted packet")                       \
  X(127, IcmpErrorOuterMismatch, "outer daddr != inner saddr")                           \
  X(128, Icmpv6BadType, "invalid icmpv6 type")                                           \
  X(129, Icmpv6BadChecksum, "ICMPv6 checksum failed")                                    \
  X(130, IcmpErrorNested, "icmp error quotes another icmp error")                        \
  X(131, IcmpWrongFamily, "ICMP over IPv6 or ICMPv6 over IPv4")                          \
  /* core (160..199) */                                                                  \
  X(160, TableFull, "table full, dropping packet")                                       \
  X(161, Untrackable, "untrackable packet")                                              \
  X(162, HelperDrop, "dropped by helper")                                                \
  X(163, FragmentHeld, "fragment held for reassembly")                                   \
  /* defragmentation (200..219) */                                                       \
  X(200, FragDuplicate, "duplicate fragment")                                            \
  X(201, FragOverlap, "overlapping fragment, datagram discarded")                        \
  X(202, FragMemoryLimit, "fragment memory over high threshold")                         \
  X(203, FragBadLength, "fragment length or offset inconsistent")                        \
  X(204, FragOversize, "reassembled datagram too large")                                 \
  X(205, FragEcnMismatch, "Not-ECT fragment mixed with ECN-capable ones, datagram discarded")

enum class InvalidReason : std::uint16_t {
#define CTRACK_X(code, name, text) name = code,
  CTRACK_INVALID_REASONS(CTRACK_X)
#undef CTRACK_X
};

// The kernel's log text for the reason ("" for None).
std::string_view reason_text(InvalidReason r);
// A stable identifier, e.g. "TcpSeqOverUpper".
std::string_view reason_name(InvalidReason r);

}  // namespace ctrack

// The FTP helper's command parser, pure (no engine): what nf_conntrack_ftp
// recognises at the start of one TCP segment (linux-core.md §7.4).
//
//   client -> server (ORIGINAL): "PORT a,b,c,d,p1,p2\r"   "EPRT |1|a.b.c.d|port|"
//   server -> client (REPLY):    "227 ...a,b,c,d,p1,p2"   "229 ...(|||port|)"
//
// Patterns are matched case-insensitively at offset 0 only. A payload that
// starts with a pattern (or is a prefix of one) but does not parse is
// "partial": the kernel drops such a packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ctrack/tuple.h"
#include "ctrack/types.h"

namespace ctrack::ftp {

enum class Command : std::uint8_t { None, Port, Eprt, Pasv227, Epsv229 };

enum class Outcome : std::uint8_t {
  NoMatch,  // no pattern at offset 0: accept, nothing to expect
  Partial,  // a pattern started but did not parse: the kernel drops the packet
  Match,    // parsed: `addr`, `port` are set
};

struct Parsed {
  Outcome outcome = Outcome::NoMatch;
  Command command = Command::None;
  // The address the command names. Starts as `own_addr` (EPSV names none;
  // PORT/227/EPRT-v4 overwrite only its first 4 bytes, as the kernel does,
  // so on an IPv6 connection they keep the last 12 bytes of `own_addr`).
  Addr addr{};
  std::uint16_t port = 0;
  std::size_t match_off = 0;  // where the numbers start in the payload
  std::size_t match_len = 0;  // how many bytes they span
};

// Parses the payload of one segment travelling in `dir` on a control
// connection of `family` (kFamilyIPv4 / kFamilyIPv6). `own_addr` is the
// sender's address (the source of the entry's tuple in `dir`). Never reads
// outside `payload`.
Parsed parse(std::span<const std::uint8_t> payload, Direction dir, std::uint8_t family,
             const Addr& own_addr);

// IPv6 text address as the kernel's in6_pton reads it: hex groups, one "::",
// an optional trailing dotted IPv4 part, ended by `delim`. Returns the number
// of characters before the terminating delimiter, or 0 if malformed.
std::size_t parse_ipv6(std::span<const std::uint8_t> text, std::uint8_t delim, Addr& out);

}  // namespace ctrack::ftp

// The Amanda helper's reply parser, pure (no engine): what nf_conntrack_amanda
// finds in one datagram from the Amanda client daemon (UDP 10080) to the
// server (linux-core.md §7.7).
//
//   ...CONNECT DATA 50000 MESG 50001 INDEX 50002 STATE 50003\n...
//
// Searches are plain, case-sensitive substring searches, as the kernel's
// textsearch: "CONNECT " anywhere, then the first '\n' after it; each keyword
// ("DATA ", "MESG ", "INDEX ", "STATE ", in that order) is looked for
// independently between them and must end before the '\n'. After a keyword
// at most 5 bytes (never past the '\n') are read as a decimal number
// (simple_strtoul: digits only, no blanks), truncated to 16 bits. A keyword
// that is absent is skipped; a port that comes out 0 (no digit, "0", 65536)
// stops the processing of the remaining keywords.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ctrack::amanda {

enum class Keyword : std::uint8_t { Data, Mesg, Index, State };
inline constexpr std::size_t kKeywords = 4;

struct Port {
  Keyword keyword = Keyword::Data;
  std::uint16_t port = 0;
  std::size_t off = 0;  // first digit in the payload
  std::size_t len = 0;  // digits read (what a NAT helper would rewrite)
};

struct Parsed {
  bool connect = false;  // "CONNECT " and a '\n' after it were found
  std::size_t count = 0;
  Port ports[kKeywords];
};

// Never reads outside `payload`.
Parsed parse(std::span<const std::uint8_t> payload);

}  // namespace ctrack::amanda

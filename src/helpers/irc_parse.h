// The IRC helper's DCC parser, pure (no engine): what nf_conntrack_irc finds
// in one client -> server segment (linux-core.md §7.5).
//
//   [blanks] PRIVMSG <target> :\1DCC <type> <word> <ip> <port>...\n
//
// <type> is one of SEND, CHAT, MOVE, TSEND, SCHAT (case-sensitive; RESUME and
// ACCEPT name an already announced port and are not recognised). <ip> is an
// unsigned decimal in host order (167772418 = 10.0.1.2), <port> a decimal.
//
// The scan is the kernel's, quirks included, because they decide which
// payloads open a port:
//   - only the first 4095 bytes are searched;
//   - when more than 10 bytes follow the leading blanks they must start with
//     "PRIVMSG " (any case), else the segment is ignored;
//   - the first " :" must be followed by "\1DCC ", else the segment is
//     ignored; the first recognised type decides: if its arguments do not
//     parse or fail the address check, the segment is done (verified on
//     6.18); after an unrecognised type (RESUME...) the scan goes on to the
//     next " :", which must again be followed by "\1DCC " (verified);
//   - the first space after <type> must come at least 12 bytes before the end
//     of the searched window and a '\n' must follow it;
//   - numbers are read like simple_strtoul (digits only, wrapping), then
//     truncated to 32 (ip) and 16 (port) bits;
//   - the address must be the client's (original source or reply
//     destination) and the port non-zero ("Forged DCC command").
// At most one offer per segment is reported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ctrack/tuple.h"

namespace ctrack::irc {

inline constexpr std::size_t kMaxSearch = 4095;  // MAX_SEARCH_SIZE

enum class DccType : std::uint8_t { None, Send, Chat, Move, Tsend, Schat };

struct Parsed {
  bool found = false;
  DccType type = DccType::None;
  Addr addr{};             // the announced address (IPv4)
  std::uint16_t port = 0;  // the announced port, non-zero when found
  // "<ip> <port>" text in the payload (what a NAT helper would rewrite).
  std::size_t addr_off = 0;
  std::size_t addr_len = 0;
  // The offer parsed but named another address or port 0: the kernel logs
  // "Forged DCC command" and expects nothing.
  bool forged = false;
};

// Parses the payload of one client -> server segment. `client` is the
// original source address, `client_nat` the reply tuple's destination (the
// same without NAT). Never reads outside `payload`.
Parsed parse(std::span<const std::uint8_t> payload, const Addr& client, const Addr& client_nat);

}  // namespace ctrack::irc

// TCP option parsing for conntrack (linux-tcp.md §4.2): the window-scale and
// SACK-permitted options of SYN / SYN-ACK, and the highest SACK right edge of
// any segment. Both walkers stop at the first malformed option, as the
// kernel does, so a broken option area never reads past the header.
#pragma once

#include <cstdint>

#include "ctrack/conn.h"

namespace ctrack::tcp {

// The options of a TCP header: `opts` points just past the fixed 20 bytes,
// `len` = doff*4 - 20.
struct TcpOptionArea {
  const std::uint8_t* opts = nullptr;
  std::uint32_t len = 0;
};

// Resets td_scale and every flag except BE_LIBERAL, then records the
// window-scale shift (capped at 14) and SACK-permitted found in `area`.
void parse_syn_options(const TcpOptionArea& area, TcpDirState& state);

// Raises `sack` to the highest right edge (modulo 2^32) of the first
// well-formed SACK option. A timestamp-only option area is skipped quickly.
void scan_sack(const TcpOptionArea& area, std::uint32_t& sack);

}  // namespace ctrack::tcp

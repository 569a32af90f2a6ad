// What the per-packet text shows beyond the engine's Result, shared by the
// one-engine replay (replay_run.cc) and the sharded one (replay_sharded.cc),
// whose outputs must match byte for byte.
#pragma once

#include <span>

#include "ctrack/engine.h"
#include "parse/packet.h"

namespace ctrack::cli {

// The engine gives no tuple for some packets it did look at (an ICMP error
// is matched through the packet it quotes). For the text output, show the
// outer addresses, protocol and ICMP type/code instead of nothing.
inline void fill_display_tuple(std::span<const std::uint8_t> l3, Result& r) {
  Packet pkt;
  if (r.has_tuple || parse_ip(l3, pkt) != InvalidReason::None) return;
  r.has_tuple = true;
  r.tuple.src = pkt.src;
  r.tuple.dst = pkt.dst;
  r.tuple.family = pkt.family;
  r.tuple.proto = pkt.proto;
  if ((pkt.proto == kProtoICMP || pkt.proto == kProtoICMPv6) && !pkt.non_first_fragment() &&
      pkt.l4_len() >= 2) {
    r.tuple.dst_id = load_be16(pkt.l4());  // type << 8 | code
  }
}

}  // namespace ctrack::cli

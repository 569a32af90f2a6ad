// What the per-packet text shows beyond the engine's Result, shared by the
// one-engine replay (replay_run.cc) and the sharded one (replay_sharded.cc),
// whose outputs must match byte for byte.
#pragma once

#include <span>

#include "ctrack/engine.h"
#include "parse/packet.h"

namespace ctrack::cli {

// The internal TCP state of the entry this packet will hit, looked up before
// the engine processes it, so that the text output can show the transition.
// Only used when printing; the -q path never calls it.
inline TcpState tcp_state_before(const Engine& engine, std::span<const std::uint8_t> l3,
                                 Timestamp now) {
  Packet pkt;
  if (parse_ip(l3, pkt) != InvalidReason::None || pkt.proto != kProtoTCP ||
      pkt.non_first_fragment() || pkt.l4_len() < 4) {
    return TcpState::None;
  }
  Tuple t;
  t.src = pkt.src;
  t.dst = pkt.dst;
  t.family = pkt.family;
  t.proto = kProtoTCP;
  t.src_id = load_be16(pkt.l4());
  t.dst_id = load_be16(pkt.l4() + 2);
  const Conn* c = engine.find(t);
  // An entry whose timer ran out by now is gone for this packet.
  if (c == nullptr || c->expires <= now) return TcpState::None;
  return c->l4.tcp.state;
}

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

// TCP (nf_conntrack_proto_tcp.c): state table, window tracking, RST rules.
#pragma once

#include "proto/l4proto.h"

namespace ctrack {

struct TcpTracker {
  static constexpr std::uint8_t kProto = kProtoTCP;
  static constexpr std::uint8_t kFamily = 0;
  static bool tuple(const Packet& pkt, Tuple& t);
  static bool invert(const Tuple& in, Tuple& out);
  static InvalidReason error(const Packet& pkt, const L4Ctx& ctx);
  static InvalidReason on_new(Conn& c, const Packet& pkt, const L4Ctx& ctx);
  static L4Result packet(Conn& c, const Packet& pkt, Direction dir, const L4Ctx& ctx);
  static const char* state_name(const Conn& c);
  static bool gc_can_early_drop(const Conn& c);
};

}  // namespace ctrack

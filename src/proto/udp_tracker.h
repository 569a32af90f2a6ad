// UDP (nf_conntrack_proto_udp.c): unreplied/stream timeouts, the 2-second ASSURED rule.
#pragma once

#include "proto/l4proto.h"

namespace ctrack {

struct UdpTracker {
  static constexpr std::uint8_t kProto = kProtoUDP;
  static constexpr std::uint8_t kFamily = 0;
  static bool tuple(const Packet& pkt, Tuple& t);
  static bool invert(const Tuple& in, Tuple& out);
  static InvalidReason error(const Packet& pkt, const L4Ctx& ctx);
  static InvalidReason on_new(Conn& c, const Packet& pkt, const L4Ctx& ctx);
  static L4Result packet(Conn& c, const Packet& pkt, Direction dir, const L4Ctx& ctx);
  static const char* state_name(const Conn& c);
  static bool gc_can_early_drop(const Conn& c);
};

// The timeout/ASSURED rule without the 2-second wait, shared by UDP-Lite (all
// kernels) and UDP in the classic profile: the unreplied timeout until a reply
// has been seen, then the stream timeout and ASSURED on every packet.
L4Result udp_refresh_no_wait(Conn& c, const L4Ctx& ctx);

}  // namespace ctrack

// Generic tracker: any IP protocol without a tracker of its own. One entry per
// (address pair, protocol), no validation, never ASSURED.
#pragma once

#include "proto/l4proto.h"

namespace ctrack {

struct GenericTracker {
  static constexpr std::uint8_t kProto = 0;  // matches any protocol without a tracker
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

// ICMPv6 echo and node-information pairs: ICMP's logic with the ICMPv6 type
// table (icmp_types.h) and its own timeout. ND/MLD and errors never get here
// (icmp_classify sends them to UNTRACKED or the error path).
#include "proto/icmpv6_tracker.h"

#include "proto/icmp_tracker.h"

namespace ctrack {

bool Icmpv6Tracker::tuple(const Packet& pkt, Tuple& t) { return icmp_query_tuple(pkt, t); }

bool Icmpv6Tracker::invert(const Tuple& in, Tuple& out) { return icmp_query_invert(true, in, out); }

// Header checks were done by icmp_classify before lookup; protocol 58 inside
// IPv4 is refused here, as the kernel refuses it in its packet step.
InvalidReason Icmpv6Tracker::error(const Packet& pkt, const L4Ctx&) {
  return pkt.is_v6() ? InvalidReason::None : InvalidReason::IcmpWrongFamily;
}

InvalidReason Icmpv6Tracker::on_new(Conn& c, const Packet&, const L4Ctx&) {
  return icmp_query_on_new(true, c);
}

L4Result Icmpv6Tracker::packet(Conn& c, const Packet&, Direction dir, const L4Ctx& ctx) {
  return icmp_query_packet(c, dir, ctx, ctx.cfg.icmpv6_timeout);
}

const char* Icmpv6Tracker::state_name(const Conn&) { return nullptr; }

bool Icmpv6Tracker::gc_can_early_drop(const Conn& c) { return !c.has(kStatusAssured); }

}  // namespace ctrack

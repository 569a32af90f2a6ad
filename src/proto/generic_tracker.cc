// Generic tracker: protocols conntrack knows nothing about. No ids, no
// checks; one long timeout refreshed by every packet, never ASSURED (so
// always early-droppable). NEW/ESTABLISHED comes from SEEN_REPLY alone.
#include "proto/generic_tracker.h"

namespace ctrack {

bool GenericTracker::tuple(const Packet&, Tuple& t) {
  t.src_id = 0;
  t.dst_id = 0;
  return true;
}

bool GenericTracker::invert(const Tuple& in, Tuple& out) {
  out = in;
  out.src = in.dst;
  out.dst = in.src;
  return true;
}

InvalidReason GenericTracker::error(const Packet&, const L4Ctx&) { return InvalidReason::None; }

InvalidReason GenericTracker::on_new(Conn&, const Packet&, const L4Ctx&) {
  return InvalidReason::None;
}

L4Result GenericTracker::packet(Conn& c, const Packet&, Direction, const L4Ctx& ctx) {
  refresh(c, ctx, ctx.cfg.generic_timeout);
  return {};
}

const char* GenericTracker::state_name(const Conn&) { return nullptr; }

bool GenericTracker::gc_can_early_drop(const Conn& c) { return !c.has(kStatusAssured); }

}  // namespace ctrack

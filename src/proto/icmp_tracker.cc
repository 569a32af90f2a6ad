// ICMP query/reply pairs (echo, timestamp, information, address mask), and
// the parts of that logic ICMPv6 shares. Header checks and the error types
// are handled before lookup by icmp_classify (icmp_error.cc).
#include "proto/icmp_tracker.h"

#include "core/tuple_tail.h"
#include "proto/icmp_types.h"

namespace ctrack {

bool icmp_query_tuple(const Packet& pkt, Tuple& t) {
  if (pkt.l4_off > pkt.len || pkt.l4_len() < icmp::kHeaderLen) return false;
  const std::uint8_t* h = pkt.l4();
  // The identifier is read for every type, meaningful or not.
  t.src_id = load_be16(h + 4);
  t.dst_id = static_cast<std::uint16_t>(h[0] << 8 | h[1]);  // type << 8 | code
  return true;
}

bool icmp_query_invert(bool v6, const Tuple& in, Tuple& out) {
  const std::uint8_t inverse = icmp::table(v6)[in.icmp_type()].inverse;
  if (inverse == icmp::kNoInverse) return false;
  out.src = in.dst;
  out.dst = in.src;
  // Identifier and code are kept: an echo with code 5 expects a reply with code 5.
  set_tuple_tail(out, in.src_id, static_cast<std::uint16_t>(inverse << 8 | in.icmp_code()),
                 in.family, in.proto, in.zone);
  return true;
}

InvalidReason icmp_query_on_new(bool v6, const Conn& c) {
  // Replies are invertible, so they get this far, but only requests may
  // create an entry.
  if (!icmp::table(v6)[c.orig.icmp_type()].creates) return InvalidReason::IcmpReplyWithoutRequest;
  return InvalidReason::None;
}

L4Result icmp_query_packet(Conn& c, Direction dir, const L4Ctx& ctx, std::uint32_t timeout) {
  if (ctx.cfg.profile != Profile::Classic) {
    // Modern kernels keep the entry after the reply (duplicate replies stay
    // ESTABLISHED, and a sync daemon is not flooded with create/destroy).
    refresh(c, ctx, timeout);
    return {};
  }
  // Classic ip_conntrack: count outstanding requests; the reply that
  // balances them removes the entry. Replies do not refresh the timeout.
  if (dir == Direction::Original) {
    ++c.l4.icmp.outstanding;
    refresh(c, ctx, timeout);
    return {};
  }
  if (c.l4.icmp.outstanding > 0 && --c.l4.icmp.outstanding == 0) {
    return {L4Verdict::Destroy, InvalidReason::None};
  }
  return {};
}

bool IcmpTracker::tuple(const Packet& pkt, Tuple& t) { return icmp_query_tuple(pkt, t); }

bool IcmpTracker::invert(const Tuple& in, Tuple& out) { return icmp_query_invert(false, in, out); }

// Length, checksum and type range were checked by icmp_classify before the
// packet reached the normal path. Only the family is left: protocol 1 inside
// IPv6 gets a tuple but is refused, as the kernel refuses it in its packet step.
InvalidReason IcmpTracker::error(const Packet& pkt, const L4Ctx&) {
  return pkt.is_v6() ? InvalidReason::IcmpWrongFamily : InvalidReason::None;
}

InvalidReason IcmpTracker::on_new(Conn& c, const Packet&, const L4Ctx&) {
  return icmp_query_on_new(false, c);
}

L4Result IcmpTracker::packet(Conn& c, const Packet&, Direction dir, const L4Ctx& ctx) {
  return icmp_query_packet(c, dir, ctx, ctx.cfg.icmp_timeout);
}

const char* IcmpTracker::state_name(const Conn&) { return nullptr; }

// Never ASSURED, so always a candidate.
bool IcmpTracker::gc_can_early_drop(const Conn& c) { return !c.has(kStatusAssured); }

}  // namespace ctrack

// UDP (nf_conntrack_proto_udp.c): header/length/checksum checks and the
// unreplied / stream timeouts. Modern kernels only treat a flow as a stream
// (120 s, ASSURED) once it is still active more than 2 s after creation, so
// that DNS-style query/answer pairs stay early-droppable.
#include "proto/udp_tracker.h"

#include "parse/checksum.h"

namespace ctrack {

namespace {
constexpr std::uint32_t kUdpHeaderLen = 8;
// How long after creation a replied flow must stay active to count as a stream.
constexpr Timestamp kStreamDelay = seconds(2);
}  // namespace

bool UdpTracker::tuple(const Packet& pkt, Tuple& t) { return port_tuple(pkt, t); }

bool UdpTracker::invert(const Tuple& in, Tuple& out) { return port_invert(in, out); }

InvalidReason UdpTracker::error(const Packet& pkt, const L4Ctx& ctx) {
  const std::uint32_t avail = pkt.l4_len();
  if (avail < kUdpHeaderLen) return InvalidReason::UdpShortHeader;
  const std::uint8_t* h = pkt.l4();
  // A length field shorter than the data is fine (trailing bytes ignored);
  // one pointing past the data, or inside the header, is not.
  const std::uint16_t udp_len = load_be16(h + 4);
  if (udp_len > avail || udp_len < kUdpHeaderLen) return InvalidReason::UdpTruncated;
  // Checksum 0 means "not computed"; accepted for IPv6 too (the kernel does
  // not enforce RFC 8200's mandatory UDP checksum here).
  if (load_be16(h + 6) == 0) return InvalidReason::None;
  // The kernel sums everything after the IP header, not just udp_len bytes,
  // with the real remaining length in the pseudo-header.
  if (ctx.verify_checksum() && !l4_checksum_ok(pkt, avail, kProtoUDP, avail)) {
    return InvalidReason::UdpBadChecksum;
  }
  return InvalidReason::None;
}

InvalidReason UdpTracker::on_new(Conn&, const Packet&, const L4Ctx&) { return InvalidReason::None; }

L4Result udp_refresh_no_wait(Conn& c, const L4Ctx& ctx) {
  if (c.has(kStatusSeenReply)) {
    refresh(c, ctx, ctx.cfg.udp_timeout_stream);
    c.status |= kStatusAssured;
  } else {
    refresh(c, ctx, ctx.cfg.udp_timeout);
  }
  return {};
}

L4Result UdpTracker::packet(Conn& c, const Packet&, Direction, const L4Ctx& ctx) {
  if (ctx.cfg.profile == Profile::Classic) return udp_refresh_no_wait(c, ctx);

  if (!c.has(kStatusConfirmed)) c.l4.udp.stream_ts = ctx.now + kStreamDelay;
  // Before the first reply has been accepted (the first reply itself
  // included) and during the first 2 s: the short timeout, not ASSURED.
  if (c.has(kStatusSeenReply) && ctx.now > c.l4.udp.stream_ts) {
    refresh(c, ctx, ctx.cfg.udp_timeout_stream);
    c.status |= kStatusAssured;
  } else {
    refresh(c, ctx, ctx.cfg.udp_timeout);
  }
  return {};
}

const char* UdpTracker::state_name(const Conn&) { return nullptr; }

bool UdpTracker::gc_can_early_drop(const Conn& c) { return !c.has(kStatusAssured); }

}  // namespace ctrack

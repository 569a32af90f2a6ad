// UDP-Lite (RFC 3828, tracked by nf_conntrack_proto_udp.c): the UDP length
// field is a checksum coverage, the checksum is mandatory, and there is no
// 2-second rule: after a reply every packet gets the stream timeout.
#include "proto/udplite_tracker.h"

#include "parse/checksum.h"
#include "proto/udp_tracker.h"

namespace ctrack {

namespace {
constexpr std::uint32_t kHeaderLen = 8;
}  // namespace

bool UdpLiteTracker::tuple(const Packet& pkt, Tuple& t) { return port_tuple(pkt, t); }

bool UdpLiteTracker::invert(const Tuple& in, Tuple& out) { return port_invert(in, out); }

InvalidReason UdpLiteTracker::error(const Packet& pkt, const L4Ctx& ctx) {
  const std::uint32_t avail = pkt.l4_len();
  if (avail < kHeaderLen) return InvalidReason::UdpShortHeader;
  const std::uint8_t* h = pkt.l4();
  std::uint32_t coverage = load_be16(h + 4);  // 0 = the whole datagram
  if (coverage == 0) {
    coverage = avail;
  } else if (coverage < kHeaderLen || coverage > avail) {
    return InvalidReason::UdpLiteBadCoverage;
  }
  if (load_be16(h + 6) == 0) return InvalidReason::UdpLiteZeroChecksum;
  // Kernel quirk reproduced on purpose: the pseudo-header is built with
  // protocol 17 (UDP), not 136, so an RFC-correct checksum is judged bad.
  // The pseudo-header length is the whole remaining length, the sum covers
  // only `coverage` bytes.
  if (ctx.verify_checksum() && !l4_checksum_ok(pkt, coverage, kProtoUDP, avail)) {
    return InvalidReason::UdpBadChecksum;
  }
  return InvalidReason::None;
}

InvalidReason UdpLiteTracker::on_new(Conn&, const Packet&, const L4Ctx&) {
  return InvalidReason::None;
}

L4Result UdpLiteTracker::packet(Conn& c, const Packet&, Direction, const L4Ctx& ctx) {
  return udp_refresh_no_wait(c, ctx);
}

const char* UdpLiteTracker::state_name(const Conn&) { return nullptr; }

bool UdpLiteTracker::gc_can_early_drop(const Conn& c) { return !c.has(kStatusAssured); }

}  // namespace ctrack

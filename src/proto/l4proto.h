// The contract every protocol tracker fulfils (the kernel's struct
// nf_conntrack_l4proto, minus the function pointers): a tracker is a struct of
// static functions, and the engine dispatches to it with a switch generated
// from l4proto_list.h, so a packet never pays for an indirect call.
//
// A tracker `T` provides:
//   static constexpr std::uint8_t kProto;     // IP protocol number
//   static constexpr std::uint8_t kFamily;    // 0 = both, else kFamilyIPv4/6
//   static bool tuple(const Packet&, Tuple&);          // fill src_id/dst_id
//   static bool invert(const Tuple& in, Tuple& out);   // reply tuple
//   static InvalidReason error(const Packet&, const L4Ctx&);  // per-packet checks
//   static InvalidReason on_new(Conn&, const Packet&, const L4Ctx&);  // first packet
//   static L4Result packet(Conn&, const Packet&, Direction, const L4Ctx&);
//   static const char* state_name(const Conn&);        // nullptr if stateless
//   static bool gc_can_early_drop(const Conn&);        // GC pressure eviction
#pragma once

#include <cstdint>

#include "ctrack/config.h"
#include "ctrack/conn.h"
#include "ctrack/invalid_reason.h"
#include "ctrack/types.h"
#include "parse/packet.h"

namespace ctrack {

struct L4Ctx {
  const Config& cfg;
  Timestamp now;
  Hook hook;
  // Checksums are verified only for packets from the network when
  // nf_conntrack_checksum is on.
  bool verify_checksum() const { return cfg.checksum && hook == Hook::Network; }
};

enum class L4Verdict : std::uint8_t {
  Accept,   // packet belongs to the entry (timeouts etc. already updated)
  Invalid,  // packet gets no conntrack (INVALID); entry unchanged
  Destroy,  // packet keeps its state, but the entry is removed right away
  Repeat,   // remove the entry and look the packet up again (TCP re-open)
};

struct L4Result {
  L4Verdict verdict = L4Verdict::Accept;
  InvalidReason reason = InvalidReason::None;
};

// Sets the entry's timeout to now + `secs`, unless the timeout is fixed.
inline void refresh(Conn& c, const L4Ctx& ctx, std::uint32_t secs) {
  if (!c.has(kStatusFixedTimeout)) c.expires = ctx.now + seconds(secs);
}

// Helpers for port-based protocols (TCP, UDP, UDP-Lite, SCTP, DCCP).
bool port_tuple(const Packet& pkt, Tuple& t);
bool port_invert(const Tuple& in, Tuple& out);

}  // namespace ctrack

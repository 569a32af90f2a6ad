// ICMP (nf_conntrack_proto_icmp.c): request/reply pairs.
#pragma once

#include "proto/l4proto.h"

namespace ctrack {

struct IcmpTracker {
  static constexpr std::uint8_t kProto = kProtoICMP;
  // Both families: the kernel picks ICMP handling by protocol number alone
  // and only refuses the wrong family in the per-packet step (error()).
  static constexpr std::uint8_t kFamily = 0;
  static bool tuple(const Packet& pkt, Tuple& t);
  static bool invert(const Tuple& in, Tuple& out);
  static InvalidReason error(const Packet& pkt, const L4Ctx& ctx);
  static InvalidReason on_new(Conn& c, const Packet& pkt, const L4Ctx& ctx);
  static L4Result packet(Conn& c, const Packet& pkt, Direction dir, const L4Ctx& ctx);
  static const char* state_name(const Conn& c);
  static bool gc_can_early_drop(const Conn& c);
};

// Query/reply logic shared with ICMPv6, which differs only in its type table
// and timeout. `v6` selects the table.
bool icmp_query_tuple(const Packet& pkt, Tuple& t);
bool icmp_query_invert(bool v6, const Tuple& in, Tuple& out);
InvalidReason icmp_query_on_new(bool v6, const Conn& c);
L4Result icmp_query_packet(Conn& c, Direction dir, const L4Ctx& ctx, std::uint32_t timeout);

}  // namespace ctrack

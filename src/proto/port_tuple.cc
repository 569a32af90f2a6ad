// Tuples of port-based protocols (TCP, UDP, UDP-Lite): the first four bytes
// of the transport header are the source and destination ports, which is all
// the kernel reads to build the tuple (an ICMP error quoting only 4 bytes of
// such a header can therefore still be matched).
#include "core/tuple_tail.h"
#include "proto/l4proto.h"

namespace ctrack {

bool port_tuple(const Packet& pkt, Tuple& t) {
  if (pkt.l4_off > pkt.len || pkt.l4_len() < 4) return false;
  const std::uint8_t* h = pkt.l4();
  t.src_id = load_be16(h);
  t.dst_id = load_be16(h + 2);
  return true;
}

bool port_invert(const Tuple& in, Tuple& out) {
  out.src = in.dst;
  out.dst = in.src;
  set_tuple_tail(out, in.dst_id, in.src_id, in.family, in.proto, in.zone);
  return true;
}

}  // namespace ctrack

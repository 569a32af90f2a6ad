// Tuples of port-based protocols (TCP, UDP, UDP-Lite): the first four bytes
// of the transport header are the source and destination ports, which is all
// the kernel reads to build the tuple (an ICMP error quoting only 4 bytes of
// such a header can therefore still be matched).
#include <bit>
#include <cstddef>
#include <cstring>

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
  // The tail (src_id, dst_id, family, proto, zone) with the two ports
  // swapped: one rotation of the 32-bit half that holds them, instead of
  // taking the tail apart field by field and composing it again (a tenth of
  // the one-flow path's tuple work).
  std::uint64_t w;
  std::memcpy(&w, reinterpret_cast<const unsigned char*>(&in) + offsetof(Tuple, src_id), 8);
  if constexpr (std::endian::native == std::endian::little) {
    w = (w & ~std::uint64_t{0xffffffff}) | std::rotl(static_cast<std::uint32_t>(w), 16);
  } else {
    w = (w & std::uint64_t{0xffffffff}) |
        std::uint64_t{std::rotl(static_cast<std::uint32_t>(w >> 32), 16)} << 32;
  }
  std::memcpy(reinterpret_cast<unsigned char*>(&out) + offsetof(Tuple, src_id), &w, 8);
  return true;
}

}  // namespace ctrack

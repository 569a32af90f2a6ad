#include "shard/flow_steer.h"

#include <cstring>

#include "core/flow_hash.h"
#include "parse/packet.h"
#include "proto/icmp_error.h"

namespace ctrack {
namespace {

bool has_ports(std::uint8_t proto) {
  return proto == kProtoTCP || proto == kProtoUDP || proto == kProtoUDPLite;
}

bool is_icmp(std::uint8_t proto) { return proto == kProtoICMP || proto == kProtoICMPv6; }

// Error types whose body quotes the offending packet (the engine's error path
// decides the details; a misjudged type only costs the choice of shard for a
// packet whose verdict depends on no state).
bool icmp_error_type(std::uint8_t proto, std::uint8_t type) {
  if (proto == kProtoICMP) return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
  return type < 128;
}

// Keyed multiply-fold over the 40 bytes of a tuple (as flow_hash.h, with the
// steering key, so shard choice and table bucket are independent bits).
std::uint64_t mix_words(const std::uint64_t (&w)[5], std::uint64_t key) {
  std::uint64_t h = mum64(w[0] ^ key, w[1] ^ 0xe7037ed1a0b428dbull);
  h ^= mum64(w[2] ^ 0x8ebc6af09c88c6e3ull, w[3] ^ (key >> 7 | key << 57));
  h = mum64(h ^ w[4], key ^ 0xa0761d6478bd642full);
  return h == 0 ? 1 : h;  // 0 means "did not parse"
}

// Hash of the unordered endpoint pair {(a, pa), (b, pb)}. Only what the
// engine's tuple holds for the protocol goes in, never more: coarser than
// the tuple is always safe, finer would split a connection. IPv4 goes
// through steer_ipv4_pair, the function the in-place path uses.
std::uint64_t pair_hash(std::uint8_t family, std::uint8_t proto, const Addr& a, std::uint16_t pa,
                        const Addr& b, std::uint16_t pb, std::uint64_t key) {
  if (family == kFamilyIPv4) {
    return steer_ipv4_pair(load_be32(a.b.data()), pa, load_be32(b.b.data()), pb, proto, key);
  }
  const int c = std::memcmp(a.b.data(), b.b.data(), a.b.size());
  const bool swap = c > 0 || (c == 0 && pa > pb);
  Tuple t;
  t.src = swap ? b : a;
  t.dst = swap ? a : b;
  t.src_id = swap ? pb : pa;
  t.dst_id = swap ? pa : pb;
  t.family = family;
  t.proto = proto;
  std::uint64_t w[5];
  static_assert(sizeof(w) == sizeof(Tuple));
  std::memcpy(w, &t, sizeof w);
  return mix_words(w, key);
}

std::uint64_t tuple_steer(const Tuple& t, std::uint64_t key) {
  std::uint16_t sp = 0, dp = 0;
  if (has_ports(t.proto)) {
    sp = t.src_id;
    dp = t.dst_id;
  } else if (is_icmp(t.proto)) {
    sp = dp = t.src_id;  // the identifier; type/code differ by direction
  }
  return pair_hash(t.family, t.proto, t.src, sp, t.dst, dp, key);
}

}  // namespace

std::uint64_t steer_hash_parsed(std::span<const std::uint8_t> l3, std::uint64_t key) {
  Packet pkt;
  if (parse_ip(l3, pkt) != InvalidReason::None) return 0;
  Tuple t;
  t.src = pkt.src;
  t.dst = pkt.dst;
  t.family = pkt.family;
  t.proto = pkt.proto;
  // Every fragment of a datagram (the first too) by address pair and
  // protocol, so that the engine's defragmenter sees them all on one shard.
  if (pkt.fragment) return tuple_steer(t, key);
  const std::uint8_t* l4 = pkt.l4();
  const std::uint32_t n = pkt.l4_len();
  if (has_ports(pkt.proto) && n >= 4) {
    t.src_id = load_be16(l4);
    t.dst_id = load_be16(l4 + 2);
  } else if (is_icmp(pkt.proto) && n >= 8) {
    if (icmp_error_type(pkt.proto, l4[0])) {
      Tuple quoted;
      if (icmp_error_lookup_tuple(pkt, quoted) == InvalidReason::None) {
        return tuple_steer(quoted, key);
      }
      return 0;
    }
    t.src_id = load_be16(l4 + 4);
  }
  return tuple_steer(t, key);
}

}  // namespace ctrack

// Steering: which shard owns a packet's connection. A symmetric function of
// the packet, so both directions of a connection (and ICMP errors quoting it)
// land on the same shard. See include/ctrack/sharded_engine.h for the rules.
#pragma once

#include <cstdint>
#include <span>

#include "core/flow_hash.h"
#include "parse/packet.h"

namespace ctrack {

// Keyed, symmetric hash of an IPv4 endpoint pair {(a, pa), (b, pb)} of
// protocol `proto` (addresses in network order). Each endpoint is one word,
// address then port, so the lesser word is the lesser endpoint in the order
// the IPv6 path sorts by (address bytes, then port); one multiply-fold of the
// pair (wyhash's final mix) spreads it, which is enough to pick one of a few
// shards (the table's bucket hash, core/flow_hash.h, mixes more). Never 0
// (0 means "did not parse").
inline std::uint64_t steer_ipv4_pair(std::uint32_t a, std::uint16_t pa, std::uint32_t b,
                                     std::uint16_t pb, std::uint8_t proto, std::uint64_t key) {
  const std::uint64_t x = std::uint64_t{a} << 16 | pa;
  const std::uint64_t y = std::uint64_t{b} << 16 | pb;
  const std::uint64_t lo = x < y ? x : y;
  const std::uint64_t hi = (x < y ? y : x) | std::uint64_t{proto} << 48;
  const std::uint64_t h = mum64(lo ^ key, hi ^ 0xe7037ed1a0b428dbull);
  return h == 0 ? 1 : h;
}

// The common case read in place, without a full parse: an IPv4 header
// without options, not a fragment, in front of a TCP, UDP or UDP-Lite
// header. Returns 0 when the packet is not of that kind (the caller then
// takes steer_hash_parsed). Inline, and without the header checksum, because
// it runs for every packet of a sharded replay: ShardedEngine::steer now
// takes 74 instructions per packet where the out-of-line version with the
// checksum and three multiplies took 126 (callgrind, bench capture). A packet
// with a bad header checksum is INVALID before any state is read, whichever
// shard tracks it, so it may go where its flow goes.
inline std::uint64_t steer_ipv4_ports(std::span<const std::uint8_t> l3, std::uint64_t key) {
  if (l3.size() < 24 || l3[0] != 0x45) return 0;
  const std::uint8_t* p = l3.data();
  const std::uint32_t total = load_be16(p + 2);
  if (total > l3.size() || total < 24 || (load_be16(p + 6) & 0x3fffu) != 0) return 0;
  const std::uint8_t proto = p[9];
  if (proto != kProtoTCP && proto != kProtoUDP && proto != kProtoUDPLite) return 0;
  return steer_ipv4_pair(load_be32(p + 12), load_be16(p + 20), load_be32(p + 16), load_be16(p + 22),
                         proto, key);
}

// The same from a full parse only: the reference steer_ipv4_ports must agree
// with on every packet that parses (the unit tests and the parse fuzz target
// check). 0 for a packet that does not parse. Never inlined: the link-time
// optimiser used to pull it into its callers, whose fast path then paid its
// stack frame and register saves on every packet.
[[gnu::noinline]] std::uint64_t steer_hash_parsed(std::span<const std::uint8_t> l3,
                                                  std::uint64_t key);

// A 64-bit hash that is the same for both directions of the packet's flow;
// 0 for packets that do not parse (the caller sends them to a fixed shard),
// except that an IPv4 TCP/UDP header whose only fault is its checksum
// hashes as its flow (see steer_ipv4_ports).
inline std::uint64_t steer_hash(std::span<const std::uint8_t> l3, std::uint64_t key) {
  if (const std::uint64_t h = steer_ipv4_ports(l3, key); h != 0) return h;
  return steer_hash_parsed(l3, key);
}

// Shard of a hash among n shards (n >= 1).
inline unsigned steer_shard(std::uint64_t h, unsigned n) {
  return static_cast<unsigned>(((h >> 32) * n) >> 32);
}

}  // namespace ctrack

// Steering: which shard owns a packet's connection. A symmetric function of
// the packet, so both directions of a connection (and ICMP errors quoting it)
// land on the same shard. See include/ctrack/sharded_engine.h for the rules.
#pragma once

#include <cstdint>
#include <span>

namespace ctrack {

// A 64-bit hash that is the same for both directions of the packet's flow;
// 0 for packets that do not parse (the caller sends them to a fixed shard).
std::uint64_t steer_hash(std::span<const std::uint8_t> l3, std::uint64_t key);

// The same from a full parse only. steer_hash reads the common case (IPv4
// without options, TCP/UDP) in place; this is the reference it must agree
// with on every input (the unit tests and the parse fuzz target check).
std::uint64_t steer_hash_parsed(std::span<const std::uint8_t> l3, std::uint64_t key);

// Shard of a hash among n shards (n >= 1).
inline unsigned steer_shard(std::uint64_t h, unsigned n) {
  return static_cast<unsigned>(((h >> 32) * n) >> 32);
}

}  // namespace ctrack

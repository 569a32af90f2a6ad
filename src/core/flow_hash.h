// Keyed tuple hash. The kernel uses SipHash with a boot-time random key so
// that remote peers cannot aim packets at one bucket. SipHash costs ~20 ns
// per tuple, more than our whole per-packet budget, so we use a keyed
// multiply-fold hash (wyhash's "mum" construction): 64x64->128 multiplies
// over the tuple's words mixed with a random key (four for the 40 bytes of
// an IPv6 tuple, two for the 13 that an IPv4 tuple uses). It is
// not a cryptographic PRF, but without the key an attacker cannot predict
// bucket placement, which is what hash flooding needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ctrack/tuple.h"

namespace ctrack {

inline std::uint64_t mum64(std::uint64_t a, std::uint64_t b) {
  __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

struct HashKey {
  std::uint64_t k[4];
  static HashKey from_seed(std::uint64_t seed) {
    // splitmix64 expansion of the seed into independent lanes.
    HashKey h{};
    std::uint64_t x = seed;
    for (auto& k : h.k) {
      x += 0x9e3779b97f4a7c15ull;
      std::uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      k = z ^ (z >> 31);
    }
    return h;
  }
};

inline std::uint32_t tuple_hash(const Tuple& t, const HashKey& key) {
  std::uint64_t w[5];
  static_assert(sizeof(w) == sizeof(Tuple));
  std::memcpy(w, &t, sizeof w);
  std::uint64_t h = mum64(w[0] ^ key.k[0], w[1] ^ key.k[1]);
  h ^= mum64(w[2] ^ key.k[2], w[3] ^ key.k[3]);
  h = mum64(h ^ w[4], key.k[0] ^ 0xa0761d6478bd642full);
  h = mum64(h, key.k[1] ^ 0xe7037ed1a0b428dbull);
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

// Tuple equality as five word compares (the defaulted operator== compares
// the address arrays through memcmp calls).
inline bool tuple_eq(const Tuple& a, const Tuple& b) {
  std::uint64_t x[5], y[5];
  std::memcpy(x, &a, sizeof x);
  std::memcpy(y, &b, sizeof y);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

// The first 8 bytes of two tuples are equal: a cheap test that rules out
// most unequal pairs before tuple_eq.
inline bool first_word_eq(const Tuple& a, const Tuple& b) {
  std::uint64_t x, y;
  std::memcpy(&x, &a, sizeof x);
  std::memcpy(&y, &b, sizeof y);
  return x == y;
}

// A fixed total order on tuples (word-wise, native byte order): only used to
// pick one of an entry's two tuples as its hash key.
inline bool tuple_less(const Tuple& a, const Tuple& b) {
  std::uint64_t x[5], y[5];
  std::memcpy(x, &a, sizeof x);
  std::memcpy(y, &b, sizeof y);
  for (int i = 0; i < 5; ++i) {
    if (x[i] != y[i]) return x[i] < y[i];
  }
  return false;
}

// Direction-independent hash of a tuple `t` whose inverse is `inv` (nullptr
// if it has none): the keyed hash of the lesser of the two. An entry is then
// indexed once instead of once per direction (one chain link per entry, half
// the chain length), and a packet of either direction finds it in the same
// bucket. Inversion is an involution, so both directions pick the same key.
//
// IPv4 tuples hold 13 bytes of key in 40 (an IPv4 address leaves 12 bytes of
// each Addr zero), so for them the choice and the hash work on two words,
// (source, destination address) and the tail (ids, family, protocol, zone),
// with two multiply-folds instead of a five-word compare and four: this runs
// on every packet, and the words it skips are zero by construction.
inline std::uint32_t flow_hash(const Tuple& t, const Tuple* inv, const HashKey& key) {
  if (t.family == kFamilyIPv4) {
    // (source | destination address << 32, tail) of an IPv4 tuple.
    const auto words = [](const Tuple& x, std::uint64_t& addrs, std::uint64_t& tail) {
      std::uint32_t src, dst;
      std::memcpy(&src, x.src.b.data(), 4);
      std::memcpy(&dst, x.dst.b.data(), 4);
      addrs = std::uint64_t{src} | std::uint64_t{dst} << 32;
      std::memcpy(&tail, reinterpret_cast<const unsigned char*>(&x) + offsetof(Tuple, src_id), 8);
    };
    std::uint64_t addrs, tail;
    words(t, addrs, tail);
    if (inv != nullptr) {
      std::uint64_t inv_addrs, inv_tail;
      words(*inv, inv_addrs, inv_tail);
      if (inv_addrs < addrs || (inv_addrs == addrs && inv_tail < tail)) {
        addrs = inv_addrs;
        tail = inv_tail;
      }
    }
    const std::uint64_t h = mum64(mum64(addrs ^ key.k[0], tail ^ key.k[1]) ^ key.k[2],
                                  key.k[3] ^ 0xe7037ed1a0b428dbull);
    return static_cast<std::uint32_t>(h ^ (h >> 32));
  }
  return tuple_hash(inv != nullptr && tuple_less(*inv, t) ? *inv : t, key);
}

// Bucket of a 32-bit hash in a table of n buckets (any n, no modulo).
inline std::uint32_t bucket_of(std::uint32_t hash, std::uint32_t n) {
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(hash) * n) >> 32);
}

}  // namespace ctrack

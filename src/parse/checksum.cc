// Internet checksum (RFC 1071). Runs on every packet that reaches a tracker
// at PREROUTING, over the whole L4 payload, so it is written for speed:
// big-endian 32-bit words summed into a 64-bit accumulator (no carry
// handling in the loop; 2^32 words fit before the accumulator could
// overflow), folded once at the end. Since 2^16 == 1 mod 0xffff, a 32-bit
// big-endian word contributes exactly its two 16-bit halves.
#include "parse/checksum.h"

#include <bit>
#include <cstring>

namespace ctrack {
namespace {

inline std::uint32_t load_be32_fast(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);  // unaligned-safe; compiles to one load
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
  return v;
}

// Folds to 16 bits without complementing.
inline std::uint32_t fold16(std::uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<std::uint32_t>(sum);
}

}  // namespace

std::uint64_t csum_add(const std::uint8_t* p, std::size_t len, std::uint64_t sum) {
  // Keep the incoming sum small so that the loop below cannot overflow.
  sum = fold16(sum);
  std::uint64_t a = 0, b = 0;  // two accumulators: independent add chains
  while (len >= 8) {
    a += load_be32_fast(p);
    b += load_be32_fast(p + 4);
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    a += load_be32_fast(p);
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    a += static_cast<std::uint32_t>(p[0] << 8 | p[1]);
    p += 2;
    len -= 2;
  }
  if (len) a += static_cast<std::uint32_t>(p[0] << 8);  // odd byte: pad with zero
  return sum + fold16(a) + fold16(b);
}

std::uint16_t csum_fold(std::uint64_t sum) { return static_cast<std::uint16_t>(~fold16(sum) & 0xffffu); }

bool l4_checksum_ok(const Packet& pkt, std::uint32_t covered, std::uint8_t pseudo_proto,
                    std::uint32_t pseudo_len, bool with_pseudo) {
  if (pkt.data == nullptr || pkt.l4_off > pkt.len || covered > pkt.l4_len()) return false;
  std::uint64_t sum = 0;
  if (with_pseudo) {
    const std::size_t alen = pkt.is_v6() ? 16 : 4;
    sum = csum_add(pkt.src.b.data(), alen, sum);
    sum = csum_add(pkt.dst.b.data(), alen, sum);
    // IPv4: zero, proto, 16-bit length; IPv6: 32-bit length, 3 zero bytes,
    // next header. Both sum to the same value as long as the length fits.
    sum += pseudo_proto;
    sum += pseudo_len >> 16;
    sum += pseudo_len & 0xffffu;
  }
  sum = csum_add(pkt.l4(), covered, sum);
  return csum_fold(sum) == 0;
}

}  // namespace ctrack

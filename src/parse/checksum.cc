// Internet checksum (RFC 1071). Runs on every packet that reaches a tracker
// at PREROUTING, over the whole L4 payload, so it is written for speed, and
// for the short inputs it mostly sees (addresses, 20-300 byte segments):
//  - The sum is kept as a 64-bit one's complement value (end-around carry);
//    2^64 == 2^32 == 2^16 == 1 modulo 0xffff, so it folds to the same 16-bit
//    checksum, and nothing is folded until csum_fold().
//  - The data is summed in native byte order (RFC 1071 2(B)): each 64-bit
//    word split into its 32-bit halves into four accumulators (no carries in
//    the loop). A little-endian sum becomes the network-order sum by a
//    multiplication by 2^8 modulo 2^64 - 1, i.e. a rotation by 8 bits: no
//    byte swap per word, and no fold per call.
#include "parse/checksum.h"

#include <bit>
#include <cstring>

namespace ctrack {
namespace {

inline std::uint64_t load64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);  // unaligned-safe; compiles to one load
  return v;
}

inline std::uint32_t load32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// One's complement addition of 64-bit values (end-around carry).
inline std::uint64_t add_ones(std::uint64_t x, std::uint64_t y) {
  const std::uint64_t r = x + y;
  return r + (r < x ? 1 : 0);
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
  std::uint64_t a = 0, b = 0, c = 0, d = 0;  // four independent add chains
  while (len >= 32) {
    const std::uint64_t w0 = load64(p), w1 = load64(p + 8), w2 = load64(p + 16), w3 = load64(p + 24);
    a += (w0 & 0xffffffffu) + (w0 >> 32);
    b += (w1 & 0xffffffffu) + (w1 >> 32);
    c += (w2 & 0xffffffffu) + (w2 >> 32);
    d += (w3 & 0xffffffffu) + (w3 >> 32);
    p += 32;
    len -= 32;
  }
  while (len >= 8) {
    const std::uint64_t w = load64(p);
    a += (w & 0xffffffffu) + (w >> 32);
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    b += load32(p);
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    std::uint16_t h;
    std::memcpy(&h, p, 2);
    c += h;
    p += 2;
    len -= 2;
  }
  // An odd last byte is the high half of a zero-padded network-order word.
  if (len) d += std::endian::native == std::endian::little ? p[0] : std::uint32_t{p[0]} << 8;
  // Each accumulator is below 2^62 (for any input shorter than 2^32 bytes),
  // so their sum cannot overflow.
  std::uint64_t native = a + b + c + d;
  if constexpr (std::endian::native == std::endian::little) native = std::rotl(native, 8);
  return add_ones(sum, native);
}

std::uint16_t csum_fold(std::uint64_t sum) { return static_cast<std::uint16_t>(~fold16(sum) & 0xffffu); }

bool l4_checksum_ok(const Packet& pkt, std::uint32_t covered, std::uint8_t pseudo_proto,
                    std::uint32_t pseudo_len, bool with_pseudo) {
  if (pkt.data == nullptr || pkt.l4_off > pkt.len || covered > pkt.l4_len()) return false;
  std::uint64_t sum = 0;
  if (with_pseudo) {
    // The addresses are summed inline (native words, as csum_add does):
    // two calls for 8 or 32 bytes would cost more than the sum itself.
    std::uint64_t addrs;
    if (pkt.is_v6()) {
      addrs = 0;
      for (int i = 0; i < 16; i += 8) {
        const std::uint64_t s = load64(pkt.src.b.data() + i), d = load64(pkt.dst.b.data() + i);
        addrs += (s & 0xffffffffu) + (s >> 32) + (d & 0xffffffffu) + (d >> 32);
      }
    } else {
      addrs = std::uint64_t{load32(pkt.src.b.data())} + load32(pkt.dst.b.data());
    }
    if constexpr (std::endian::native == std::endian::little) addrs = std::rotl(addrs, 8);
    // IPv4: zero, proto, 16-bit length; IPv6: 32-bit length, 3 zero bytes,
    // next header. Both sum to the same value as long as the length fits.
    // (All small: the plain additions cannot overflow.)
    sum = addrs + pseudo_proto + (pseudo_len >> 16) + (pseudo_len & 0xffffu);
  }
  sum = csum_add(pkt.l4(), covered, sum);
  return csum_fold(sum) == 0;
}

}  // namespace ctrack

// Addresses and tuple inversion.
#include "ctrack/tuple.h"

#include <arpa/inet.h>

#include "core/l4_dispatch.h"
#include "ctrack/conn.h"

namespace ctrack {

Addr Addr::v4(std::uint32_t host_order) {
  Addr a;
  a.b[0] = static_cast<std::uint8_t>(host_order >> 24);
  a.b[1] = static_cast<std::uint8_t>(host_order >> 16);
  a.b[2] = static_cast<std::uint8_t>(host_order >> 8);
  a.b[3] = static_cast<std::uint8_t>(host_order);
  return a;
}

Addr Addr::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  Addr r;
  r.b[0] = a;
  r.b[1] = b;
  r.b[2] = c;
  r.b[3] = d;
  return r;
}

Addr Addr::from_bytes(const std::uint8_t* p, bool ipv6) {
  Addr a;
  std::memcpy(a.b.data(), p, ipv6 ? 16 : 4);
  return a;
}

bool invert(const Tuple& t, Tuple& out) { return invert_tuple(t, out); }

Tuple Conn::reply() const {
  Tuple r;
  invert_tuple(orig, r);
  return r;
}

std::string format_addr(const Addr& a, bool ipv6, bool compressed) {
  char buf[64];
  if (!ipv6) {
    inet_ntop(AF_INET, a.b.data(), buf, sizeof buf);
    return buf;
  }
  if (compressed) {
    inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
    return buf;
  }
  // The kernel's %pI6: eight groups of four hex digits, never compressed.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(39);
  for (int g = 0; g < 8; ++g) {
    if (g) s.push_back(':');
    for (int i = 0; i < 2; ++i) {
      std::uint8_t byte = a.b[static_cast<std::size_t>(2 * g + i)];
      s.push_back(kHex[byte >> 4]);
      s.push_back(kHex[byte & 0xf]);
    }
  }
  return s;
}

}  // namespace ctrack

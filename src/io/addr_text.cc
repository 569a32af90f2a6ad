#include "io/addr_text.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace ctrack::io {
namespace {

// By hand rather than inet_ntop: glibc formats an IPv4 address through
// sprintf, which was a quarter of the per-packet text output's time
// (`ctrack replay` prints two addresses per packet). The spelling is
// inet_ntop's: four decimal numbers without leading zeros. Each number is
// copied from a table of all 256 (four bytes stored whatever the length,
// then the cursor moves by the length): dividing by 100 and 10 per byte
// cost ~180 instructions per address.
struct OctetText {
  char text[4];  // the digits, then padding
  std::uint8_t len;
};

constexpr std::array<OctetText, 256> make_octet_table() {
  std::array<OctetText, 256> t{};
  for (unsigned v = 0; v < 256; ++v) {
    OctetText& o = t[v];
    if (v >= 100) o.text[o.len++] = static_cast<char>('0' + v / 100);
    if (v >= 10) o.text[o.len++] = static_cast<char>('0' + v / 10 % 10);
    o.text[o.len++] = static_cast<char>('0' + v % 10);
  }
  return t;
}
constexpr std::array<OctetText, 256> kOctets = make_octet_table();

// Writes up to 16 bytes at `p` (15 characters and one byte of scratch).
char* write_ipv4(char* p, const std::uint8_t* b) {
  for (int i = 0; i < 4; ++i) {
    const OctetText& o = kOctets[b[i]];
    std::memcpy(p, o.text, 4);
    p += o.len;
    *p = '.';
    p += i < 3;
  }
  return p;
}

}  // namespace

char* write_addr(char* p, const Addr& a, bool v6, V6Style style) {
  if (!v6) return write_ipv4(p, a.b.data());
  static constexpr char kHex[] = "0123456789abcdef";
  if (style == V6Style::Expanded) {
    for (int i = 0; i < 16; ++i) {
      if (i != 0 && i % 2 == 0) *p++ = ':';
      *p++ = kHex[a.b[i] >> 4];
      *p++ = kHex[a.b[i] & 0xf];
    }
    return p;
  }
  // conntrack-tools prints with inet_ntop; using the same routine gives the
  // same spelling for every corner case (IPv4-mapped, single zero group...).
  static_assert(kMaxAddrText >= INET6_ADDRSTRLEN);
  if (inet_ntop(AF_INET6, a.b.data(), p, INET6_ADDRSTRLEN) == nullptr) {
    *p++ = '?';
    return p;
  }
  return p + std::strlen(p);
}

void append_addr(std::string& out, const Addr& a, bool v6, V6Style style) {
  char buf[kMaxAddrText];
  out.append(buf, static_cast<std::size_t>(write_addr(buf, a, v6, style) - buf));
}

}  // namespace ctrack::io

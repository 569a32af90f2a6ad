#include "io/addr_text.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

namespace ctrack::io {
namespace {

// By hand rather than inet_ntop: glibc formats an IPv4 address through
// sprintf, which was a quarter of the per-packet text output's time
// (`ctrack replay` prints two addresses per packet). The spelling is
// inet_ntop's: four decimal numbers without leading zeros.
void append_ipv4(std::string& out, const std::uint8_t* b) {
  char buf[15];
  char* p = buf;
  for (int i = 0; i < 4; ++i) {
    if (i != 0) *p++ = '.';
    const unsigned v = b[i];
    if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
    *p++ = static_cast<char>('0' + v % 10);
  }
  out.append(buf, static_cast<std::size_t>(p - buf));
}

}  // namespace

void append_addr(std::string& out, const Addr& a, bool v6, V6Style style) {
  if (!v6) {
    append_ipv4(out, a.b.data());
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  if (style == V6Style::Expanded) {
    for (int i = 0; i < 16; ++i) {
      if (i != 0 && i % 2 == 0) out.push_back(':');
      out.push_back(kHex[a.b[i] >> 4]);
      out.push_back(kHex[a.b[i] & 0xf]);
    }
    return;
  }
  // conntrack-tools prints with inet_ntop; using the same routine gives the
  // same spelling for every corner case (IPv4-mapped, single zero group...).
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf) != nullptr) {
    out += buf;
  } else {
    out += '?';
  }
}

}  // namespace ctrack::io

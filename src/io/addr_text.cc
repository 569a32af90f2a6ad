#include "io/addr_text.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

namespace ctrack::io {

void append_addr(std::string& out, const Addr& a, bool v6, V6Style style) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (v6 && style == V6Style::Expanded) {
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
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, a.b.data(), buf, sizeof buf) != nullptr) {
    out += buf;
  } else {
    out += '?';
  }
}

}  // namespace ctrack::io

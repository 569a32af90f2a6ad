// io/addr_text.h: IPv4 addresses are formatted by hand (glibc's inet_ntop
// goes through sprintf), so they are checked against inet_ntop itself;
// IPv6 keeps inet_ntop (compressed) or the kernel's %pI6 (expanded).
#include "io/addr_text.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>

namespace ctrack::io {
namespace {

std::string ntop(const Addr& a, bool v6) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(v6 ? AF_INET6 : AF_INET, a.b.data(), buf, sizeof buf);
}

TEST(AddrText, Ipv4MatchesInetNtopForEveryOctetInEveryPosition) {
  std::size_t checked = 0;
  for (unsigned v = 0; v < 256; ++v) {
    for (int pos = 0; pos < 4; ++pos) {
      for (std::uint8_t fill : {0, 9, 10, 99, 100, 255}) {
        Addr a = Addr::v4(fill, fill, fill, fill);
        a.b[pos] = static_cast<std::uint8_t>(v);
        std::string out = "x";  // appends, never replaces
        append_addr(out, a, false);
        ASSERT_EQ(out, "x" + ntop(a, false)) << v << " at " << pos;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 256u * 4 * 6);
  std::string out;
  append_addr(out, Addr::v4(192, 0, 2, 1), false, V6Style::Expanded);  // style is for IPv6 only
  EXPECT_EQ(out, "192.0.2.1");
}

TEST(AddrText, Ipv6CompressedIsInetNtopAndExpandedIsPi6) {
  Addr a;
  a.b = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
  std::string out;
  append_addr(out, a, true);
  EXPECT_EQ(out, "2001:db8::1");
  EXPECT_EQ(out, ntop(a, true));
  out.clear();
  append_addr(out, a, true, V6Style::Expanded);
  EXPECT_EQ(out, "2001:0db8:0000:0000:0000:0000:0000:0001");
  Addr mapped;
  mapped.b = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7};
  out.clear();
  append_addr(out, mapped, true);
  EXPECT_EQ(out, ntop(mapped, true));  // "::ffff:198.51.100.7"
}

}  // namespace
}  // namespace ctrack::io

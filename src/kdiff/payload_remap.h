// Addresses written inside helper payloads, so kernel-diff can remap them
// like the IP headers: FTP `PORT` / `EPRT` commands and `227` replies, and
// IRC `DCC` offers. (`229` replies, TFTP and Amanda carry ports only.)
//
// A replacement must keep the payload length: a longer or shorter segment
// would shift every later TCP sequence number of the flow. The helpers parse
// numbers digit by digit, so a shorter replacement can be padded with leading
// zeros (`198,018,000,001`); a longer one cannot be written at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ctrack/tuple.h"

namespace ctrack::kdiff {

enum class PayloadAddrForm : std::uint8_t {
  Comma,    // FTP PORT / 227: `a,b,c,d`
  Dotted,   // FTP EPRT |1|: `a.b.c.d`
  V6Text,   // FTP EPRT |2|: IPv6 text
  Decimal,  // IRC DCC: the IPv4 address as one unsigned decimal number
};

struct PayloadAddr {
  std::size_t off = 0;  // span of the address text within the payload
  std::size_t len = 0;
  bool v6 = false;
  Addr addr;
  PayloadAddrForm form = PayloadAddrForm::Comma;
  const char* what = "";  // "FTP PORT", "IRC DCC"...
};

// Every address an FTP or IRC helper could read in `payload` (one TCP
// segment's data), found at each line start (FTP) or `\1DCC ` (IRC). Address
// fields the kernel would read oddly (an FTP number above 255) are skipped.
std::vector<PayloadAddr> find_payload_addrs(std::span<const std::uint8_t> payload);

// `a` written in `form` in exactly `len` characters (leading zeros added as
// needed), or "" when even its shortest text is longer than `len`.
std::string payload_addr_text(const Addr& a, bool v6, PayloadAddrForm form, std::size_t len);

// Length of the shortest text of `a` in `form`.
std::size_t payload_addr_min_len(const Addr& a, bool v6, PayloadAddrForm form);

}  // namespace ctrack::kdiff

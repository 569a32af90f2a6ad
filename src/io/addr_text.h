// Addresses as text, appended to a buffer without allocating: the output
// path formats two tuples per packet and must not pay a std::string each.
#pragma once

#include <cstddef>
#include <string>

#include "ctrack/tuple.h"

namespace ctrack::io {

enum class V6Style {
  Compressed,  // RFC 5952 via inet_ntop, as conntrack-tools prints (fd00:99::2)
  Expanded,    // eight 4-digit groups, as the kernel's %pI6 (/proc)
};

void append_addr(std::string& out, const Addr& a, bool v6, V6Style style = V6Style::Compressed);

// The longest text write_addr() produces (an expanded IPv6 address: 39).
inline constexpr std::size_t kMaxAddrText = 46;  // INET6_ADDRSTRLEN

// The same text written at `p` (room for kMaxAddrText characters); returns
// the end. For callers that build a line in a local buffer.
char* write_addr(char* p, const Addr& a, bool v6, V6Style style = V6Style::Compressed);

}  // namespace ctrack::io

// Addresses as text, appended to a buffer without allocating: the output
// path formats two tuples per packet and must not pay a std::string each.
#pragma once

#include <string>

#include "ctrack/tuple.h"

namespace ctrack::io {

enum class V6Style {
  Compressed,  // RFC 5952 via inet_ntop, as conntrack-tools prints (fd00:99::2)
  Expanded,    // eight 4-digit groups, as the kernel's %pI6 (/proc)
};

void append_addr(std::string& out, const Addr& a, bool v6, V6Style style = V6Style::Compressed);

}  // namespace ctrack::io

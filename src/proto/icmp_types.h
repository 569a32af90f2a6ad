// What conntrack does with each ICMP / ICMPv6 type, as two 256-entry tables
// (one lookup per packet instead of a chain of comparisons). Sources: the
// inversion maps and "valid new" lists of nf_conntrack_proto_icmp{,v6}.c, as
// summarised in linux-core.md §1 and §3.
#pragma once

#include <array>
#include <cstdint>

#include "proto/icmp_error.h"

namespace ctrack::icmp {

inline constexpr std::uint8_t kNoInverse = 0xff;  // never a real reply type here

struct TypeInfo {
  IcmpClass cls = IcmpClass::Invalid;
  std::uint8_t inverse = kNoInverse;  // reply type of a request and vice versa
  bool creates = false;               // may create a new entry (a request)
};

using TypeTable = std::array<TypeInfo, 256>;

namespace detail {
constexpr void pair(TypeTable& t, std::uint8_t request, std::uint8_t reply) {
  t[request].inverse = reply;
  t[request].creates = true;
  t[reply].inverse = request;
}
}  // namespace detail

// ICMPv4: types above 18 (NR_ICMP_TYPES) are refused outright; 3, 4, 5, 11,
// 12 are errors; the rest are queries, trackable only if they have an inverse.
inline constexpr TypeTable kIcmpV4 = [] {
  TypeTable t{};
  for (int i = 0; i <= 18; ++i) t[static_cast<std::size_t>(i)].cls = IcmpClass::Query;
  for (std::uint8_t e : {3, 4, 5, 11, 12}) t[e].cls = IcmpClass::Error;
  detail::pair(t, 8, 0);    // echo
  detail::pair(t, 13, 14);  // timestamp
  detail::pair(t, 15, 16);  // information
  detail::pair(t, 17, 18);  // address mask
  return t;
}();

// ICMPv6: every type below 128 is an error; neighbour discovery and MLD are
// never tracked; other informational types are queries (most without an
// inverse, so they end INVALID).
inline constexpr TypeTable kIcmpV6 = [] {
  TypeTable t{};
  for (int i = 0; i < 256; ++i) {
    t[static_cast<std::size_t>(i)].cls = i < 128 ? IcmpClass::Error : IcmpClass::Query;
  }
  for (std::uint8_t u : {130, 131, 132, 133, 134, 135, 136, 143}) t[u].cls = IcmpClass::Untracked;
  detail::pair(t, 128, 129);  // echo
  detail::pair(t, 139, 140);  // node information
  return t;
}();

inline const TypeTable& table(bool v6) { return v6 ? kIcmpV6 : kIcmpV4; }

// Both ICMP headers start with type, code, checksum, then (for queries) a
// 16-bit identifier; conntrack needs the first 8 bytes.
inline constexpr std::uint32_t kHeaderLen = 8;

}  // namespace ctrack::icmp

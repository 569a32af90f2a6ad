// Connection tuples, as the kernel's struct nf_conntrack_tuple.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

namespace ctrack {

inline constexpr std::uint8_t kFamilyIPv4 = 2;   // AF_INET, as /proc prints it
inline constexpr std::uint8_t kFamilyIPv6 = 10;  // AF_INET6

inline constexpr std::uint8_t kProtoICMP = 1;
inline constexpr std::uint8_t kProtoTCP = 6;
inline constexpr std::uint8_t kProtoUDP = 17;
inline constexpr std::uint8_t kProtoICMPv6 = 58;
inline constexpr std::uint8_t kProtoUDPLite = 136;

// An IPv4 address uses the first 4 bytes; the rest stay zero so that tuples
// compare and hash as plain bytes.
struct Addr {
  std::array<std::uint8_t, 16> b{};

  static Addr v4(std::uint32_t host_order);
  static Addr v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);
  static Addr from_bytes(const std::uint8_t* p, bool ipv6);
  bool operator==(const Addr&) const = default;
};

// `src_id` / `dst_id` hold the kernel's 16-bit `u` fields in host byte order:
//   TCP/UDP/UDP-Lite: source / destination port;
//   ICMP/ICMPv6:      src_id = echo identifier, dst_id = type << 8 | code;
//   generic:          both zero (one entry per address pair and protocol).
struct Tuple {
  Addr src;
  Addr dst;
  std::uint16_t src_id = 0;
  std::uint16_t dst_id = 0;
  std::uint8_t family = kFamilyIPv4;  // kFamilyIPv4 / kFamilyIPv6
  std::uint8_t proto = 0;             // IP protocol number
  // Conntrack zone (0 = default). Part of the key, as in the kernel: the same
  // addresses and ports in two zones are two independent entries. It also
  // fills what would otherwise be padding, so tuples hash and compare as
  // plain bytes.
  std::uint16_t zone = 0;

  bool operator==(const Tuple&) const = default;

  bool is_v6() const { return family == kFamilyIPv6; }
  std::uint8_t icmp_type() const { return static_cast<std::uint8_t>(dst_id >> 8); }
  std::uint8_t icmp_code() const { return static_cast<std::uint8_t>(dst_id & 0xff); }
};
static_assert(sizeof(Tuple) == 40);

// The reply tuple of an entry whose original tuple is `t`: addresses and ports
// swapped; ICMP keeps the id and maps the type (8 <-> 0, 13 <-> 14, ...).
// Returns false if the protocol cannot invert it (e.g. ICMP types with no
// reply counterpart).
bool invert(const Tuple& t, Tuple& out);

// Textual address: dotted quad, or IPv6 either compressed (RFC 5952, as
// `conntrack -L`) or as eight 4-digit groups (as /proc's %pI6).
std::string format_addr(const Addr& a, bool ipv6, bool compressed = true);

}  // namespace ctrack

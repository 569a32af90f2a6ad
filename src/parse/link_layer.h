// Link-layer framing of captured packets: finds where the IP header starts.
#pragma once

#include <cstdint>
#include <span>

#include "ctrack/invalid_reason.h"

namespace ctrack {

// pcap LINKTYPE_* values we understand.
enum LinkType : int {
  kLinkNull = 0,          // BSD loopback (4-byte AF in host order)
  kLinkEthernet = 1,      // Ethernet II, 802.1Q / QinQ tags
  kLinkPpp = 9,           // PPP (HDLC-like, protocol field)
  kLinkRaw = 101,         // raw IPv4/IPv6 (LINKTYPE_RAW)
  kLinkRawDlt12 = 12,     // DLT_RAW on some systems
  kLinkRawDlt14 = 14,
  kLinkLoop = 108,        // OpenBSD loopback (AF in network order)
  kLinkLinuxSll = 113,    // Linux cooked v1
  kLinkIPv4 = 228,
  kLinkIPv6 = 229,
  kLinkLinuxSll2 = 276,   // Linux cooked v2
};

struct LinkResult {
  InvalidReason reason = InvalidReason::None;
  std::uint32_t l3_offset = 0;  // where the IPv4/IPv6 header starts
};

// Skips the link-layer header of `frame` for link type `linktype`. A frame
// that carries something other than IPv4/IPv6 (ARP, LLDP...) gives
// LinkUnsupported; a cut header gives LinkTruncated.
LinkResult strip_link_layer(int linktype, std::span<const std::uint8_t> frame);

// True if strip_link_layer knows the link type.
bool link_type_supported(int linktype);

}  // namespace ctrack

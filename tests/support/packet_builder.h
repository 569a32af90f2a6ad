// Builds IPv4/IPv6 packets with TCP, UDP, UDP-Lite, ICMP, ICMPv6 or any
// other payload, with correct lengths and checksums unless told otherwise.
// Used by the unit tests, the sample generator and the kernel-diff scenarios.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctrack/tuple.h"

namespace ctrack::test {

using Bytes = std::vector<std::uint8_t>;

// TCP flag bits as in the header.
enum : std::uint8_t {
  FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40, CWR = 0x80
};

struct Endpoint {
  Addr addr;
  std::uint16_t port = 0;
  bool v6 = false;
};

Endpoint ep4(const char* dotted, std::uint16_t port = 0);
Endpoint ep6(const char* text, std::uint16_t port = 0);
Addr parse_addr(const char* text, bool* is_v6 = nullptr);

struct TcpOpts {
  int wscale = -1;           // -1: no window-scale option
  bool sack_perm = false;
  int mss = -1;              // -1: no MSS option
  std::vector<std::pair<std::uint32_t, std::uint32_t>> sack{};  // SACK blocks
  bool timestamps = false;
  std::uint32_t ts_val = 1;  // timestamp option values (when `timestamps`)
  std::uint32_t ts_ecr = 0;
};

struct TcpSpec {
  std::uint8_t flags = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint16_t win = 64240;
  TcpOpts opts{};
  std::string payload{};     // data bytes
  std::uint32_t payload_len = 0;  // if non-zero and payload empty: that many 'x'
  bool bad_checksum = false;
  int doff_override = -1;    // raw data-offset value to write
  int truncate_l4_to = -1;   // cut the packet after this many L4 bytes
  std::uint16_t urg_ptr = 0;
};

// IP-level knobs shared by every builder.
struct IpSpec {
  std::uint8_t ttl = 64;
  std::uint16_t ip_id = 1;
  bool df = true;
};

Bytes tcp(const Endpoint& s, const Endpoint& d, const TcpSpec& spec, const IpSpec& ip = {});
Bytes udp(const Endpoint& s, const Endpoint& d, std::string_view payload, bool bad_checksum = false,
          bool zero_checksum = false, const IpSpec& ip = {});
// UDP-Lite: `coverage` 0 = whole packet; checksum computed with pseudo
// protocol `pseudo_proto` (the kernel verifies with 17, RFC 3828 says 136).
Bytes udplite(const Endpoint& s, const Endpoint& d, std::string_view payload, std::uint16_t coverage,
              std::uint8_t pseudo_proto = 17, bool zero_checksum = false);
// ICMP / ICMPv6 (chosen by the endpoints' family). `body` follows the 4-byte
// type/code/checksum header: for echo use icmp_echo_body(id, seq).
Bytes icmp(const Addr& s, const Addr& d, bool v6, std::uint8_t type, std::uint8_t code,
           const Bytes& body, bool bad_checksum = false, const IpSpec& ip = {});
Bytes icmp_echo_body(std::uint16_t id, std::uint16_t seq, std::string_view data = "");
// An ICMP error quoting `quoted` (IPv4: header + 8 bytes by default, or
// `quote_len` bytes; IPv6: as much as fits in 1280 bytes).
Bytes icmp_error(const Addr& s, const Addr& d, bool v6, std::uint8_t type, std::uint8_t code,
                 const Bytes& quoted, int quote_len = -1, std::uint32_t rest_of_header = 0);
// Any other IP protocol with a raw payload.
Bytes raw_ip(const Addr& s, const Addr& d, bool v6, std::uint8_t proto, const Bytes& payload,
             const IpSpec& ip = {});

// Writes a pcap file (link type Ethernet, or raw IP with `raw` true) with
// one packet per (timestamp ns, bytes).
struct Frame {
  std::int64_t ts_ns;
  Bytes l3;
};
bool write_pcap(const std::string& path, const std::vector<Frame>& frames, bool ethernet = true);
// Prepends an Ethernet II header (IPv4 or IPv6 ethertype from the packet).
Bytes ethernet(const Bytes& l3);

// Writes a pcap file of link type `linktype` whose frames (`Frame::l3`) are
// stored exactly as given (already framed), for link-layer tests.
bool write_pcap_linktype(const std::string& path, int linktype, const std::vector<Frame>& frames);
// RFC 1071 checksum of `len` bytes (folded and complemented); independent of
// src/parse/checksum.cc so that tests can cross-check it.
std::uint16_t inet_checksum(const std::uint8_t* p, std::size_t len, std::uint32_t initial = 0);
// Recomputes the IPv4 header checksum in place (after a test edits a header).
void fix_ipv4_checksum(Bytes& l3);

}  // namespace ctrack::test

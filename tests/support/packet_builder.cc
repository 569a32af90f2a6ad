// Packet builder for tests and sample generation. Not on any hot path:
// clarity over speed, every length and checksum computed from the bytes.
#include "support/packet_builder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace ctrack::test {
namespace {

void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
void set16(Bytes& b, std::size_t off, std::uint16_t v) {
  b[off] = static_cast<std::uint8_t>(v >> 8);
  b[off + 1] = static_cast<std::uint8_t>(v);
}

// Unfolded one's-complement sum (big-endian 16-bit words).
std::uint32_t sum_bytes(const std::uint8_t* p, std::size_t len, std::uint32_t sum) {
  for (std::size_t i = 0; i + 1 < len; i += 2) sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += static_cast<std::uint32_t>(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

// Pseudo-header sum (RFC 793 / RFC 8200 section 8.1).
std::uint32_t pseudo_sum(const Addr& s, const Addr& d, bool v6, std::uint8_t proto, std::uint32_t len) {
  const std::size_t alen = v6 ? 16 : 4;
  std::uint32_t sum = sum_bytes(s.b.data(), alen, 0);
  sum = sum_bytes(d.b.data(), alen, sum);
  sum += proto;
  sum += len >> 16;
  sum += len & 0xffff;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

// Makes a checksum wrong while keeping it wrong in one's-complement terms too
// (flipping all bits of 0x0000 would give 0xffff, which still verifies).
std::uint16_t spoil(std::uint16_t c) { return static_cast<std::uint16_t>(c ^ 0x00ff); }

// Wraps an L4 payload in an IPv4 or IPv6 header.
Bytes ip_wrap(const Addr& s, const Addr& d, bool v6, std::uint8_t proto, const Bytes& l4, const IpSpec& ip) {
  Bytes b;
  if (!v6) {
    b.reserve(20 + l4.size());
    b.push_back(0x45);
    b.push_back(0);
    put16(b, static_cast<std::uint16_t>(20 + l4.size()));
    put16(b, ip.ip_id);
    put16(b, ip.df ? 0x4000 : 0);
    b.push_back(ip.ttl);
    b.push_back(proto);
    put16(b, 0);
    b.insert(b.end(), s.b.begin(), s.b.begin() + 4);
    b.insert(b.end(), d.b.begin(), d.b.begin() + 4);
    set16(b, 10, inet_checksum(b.data(), 20));
  } else {
    b.reserve(40 + l4.size());
    put32(b, 0x60000000u);
    put16(b, static_cast<std::uint16_t>(l4.size()));
    b.push_back(proto);
    b.push_back(ip.ttl);
    b.insert(b.end(), s.b.begin(), s.b.end());
    b.insert(b.end(), d.b.begin(), d.b.end());
  }
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

Bytes tcp_options(const TcpOpts& o) {
  Bytes b;
  if (o.mss >= 0) {
    b.insert(b.end(), {2, 4});
    put16(b, static_cast<std::uint16_t>(o.mss));
  }
  if (o.sack_perm && o.timestamps) {
    // Linux's SYN layout: SACK-permitted shares a word with the TS kind/len.
    b.insert(b.end(), {4, 2, 8, 10});
    put32(b, o.ts_val);
    put32(b, o.ts_ecr);
  } else {
    if (o.sack_perm) b.insert(b.end(), {1, 1, 4, 2});
    if (o.timestamps) {
      b.insert(b.end(), {1, 1, 8, 10});
      put32(b, o.ts_val);
      put32(b, o.ts_ecr);
    }
  }
  if (o.wscale >= 0) b.insert(b.end(), {1, 3, 3, static_cast<std::uint8_t>(o.wscale)});
  if (!o.sack.empty()) {
    b.insert(b.end(), {1, 1, 5, static_cast<std::uint8_t>(2 + 8 * o.sack.size())});
    for (const auto& [l, r] : o.sack) {
      put32(b, l);
      put32(b, r);
    }
  }
  while (b.size() % 4) b.push_back(0);  // end-of-option-list padding
  return b;
}

bool write_records(const std::string& path, int linktype, const std::vector<Frame>& frames, bool add_ethernet) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  Bytes out;
  auto le32 = [&out](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  auto le16 = [&out](std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
  };
  // Nanosecond-resolution magic so that ns timestamps survive the round trip.
  le32(0xa1b23c4du);
  le16(2);
  le16(4);
  le32(0);  // thiszone
  le32(0);  // sigfigs
  le32(262144);
  le32(static_cast<std::uint32_t>(linktype));
  for (const Frame& fr : frames) {
    const Bytes framed = add_ethernet ? ethernet(fr.l3) : fr.l3;
    std::int64_t sec = fr.ts_ns / 1'000'000'000;
    std::int64_t nsec = fr.ts_ns % 1'000'000'000;
    if (nsec < 0) {
      nsec += 1'000'000'000;
      --sec;
    }
    le32(static_cast<std::uint32_t>(sec));
    le32(static_cast<std::uint32_t>(nsec));
    le32(static_cast<std::uint32_t>(framed.size()));
    le32(static_cast<std::uint32_t>(framed.size()));
    out.insert(out.end(), framed.begin(), framed.end());
  }
  const bool ok = std::fwrite(out.data(), 1, out.size(), f) == out.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace

std::uint16_t inet_checksum(const std::uint8_t* p, std::size_t len, std::uint32_t initial) {
  return static_cast<std::uint16_t>(~sum_bytes(p, len, initial) & 0xffff);
}

void fix_ipv4_checksum(Bytes& l3) {
  if (l3.size() < 20) return;
  const std::size_t ihl = std::min<std::size_t>((l3[0] & 0xf) * 4u, l3.size());
  set16(l3, 10, 0);
  set16(l3, 10, inet_checksum(l3.data(), ihl));
}

Addr parse_addr(const char* text, bool* is_v6) {
  Addr a;
  if (inet_pton(AF_INET, text, a.b.data()) == 1) {
    if (is_v6) *is_v6 = false;
    return a;
  }
  if (inet_pton(AF_INET6, text, a.b.data()) == 1) {
    if (is_v6) *is_v6 = true;
    return a;
  }
  throw std::invalid_argument(std::string("packet_builder: bad address ") + text);
}

Endpoint ep4(const char* dotted, std::uint16_t port) {
  bool v6 = false;
  Endpoint e{parse_addr(dotted, &v6), port, false};
  if (v6) throw std::invalid_argument(std::string("ep4: not IPv4: ") + dotted);
  return e;
}

Endpoint ep6(const char* text, std::uint16_t port) {
  bool v6 = false;
  Endpoint e{parse_addr(text, &v6), port, true};
  if (!v6) throw std::invalid_argument(std::string("ep6: not IPv6: ") + text);
  return e;
}

Bytes tcp(const Endpoint& s, const Endpoint& d, const TcpSpec& spec, const IpSpec& ip) {
  const Bytes opts = tcp_options(spec.opts);
  Bytes l4;
  put16(l4, s.port);
  put16(l4, d.port);
  put32(l4, spec.seq);
  put32(l4, spec.ack);
  const std::size_t hlen = 20 + opts.size();
  const int doff = spec.doff_override >= 0 ? spec.doff_override : static_cast<int>(hlen / 4);
  l4.push_back(static_cast<std::uint8_t>((doff & 0xf) << 4));
  l4.push_back(spec.flags);
  put16(l4, spec.win);
  put16(l4, 0);  // checksum
  put16(l4, spec.urg_ptr);
  l4.insert(l4.end(), opts.begin(), opts.end());
  if (!spec.payload.empty())
    l4.insert(l4.end(), spec.payload.begin(), spec.payload.end());
  else
    l4.insert(l4.end(), spec.payload_len, static_cast<std::uint8_t>('x'));
  const auto len = static_cast<std::uint32_t>(l4.size());
  std::uint16_t c = inet_checksum(l4.data(), l4.size(), pseudo_sum(s.addr, d.addr, s.v6, kProtoTCP, len));
  if (spec.bad_checksum) c = spoil(c);
  set16(l4, 16, c);
  if (spec.truncate_l4_to >= 0 && static_cast<std::size_t>(spec.truncate_l4_to) < l4.size())
    l4.resize(static_cast<std::size_t>(spec.truncate_l4_to));
  return ip_wrap(s.addr, d.addr, s.v6, kProtoTCP, l4, ip);
}

Bytes udp(const Endpoint& s, const Endpoint& d, std::string_view payload, bool bad_checksum,
          bool zero_checksum, const IpSpec& ip) {
  Bytes l4;
  put16(l4, s.port);
  put16(l4, d.port);
  put16(l4, static_cast<std::uint16_t>(8 + payload.size()));
  put16(l4, 0);
  l4.insert(l4.end(), payload.begin(), payload.end());
  const auto len = static_cast<std::uint32_t>(l4.size());
  std::uint16_t c = inet_checksum(l4.data(), l4.size(), pseudo_sum(s.addr, d.addr, s.v6, kProtoUDP, len));
  if (c == 0) c = 0xffff;  // 0 means "no checksum" in UDP (RFC 768)
  if (bad_checksum) c = spoil(c);
  if (zero_checksum) c = 0;
  set16(l4, 6, c);
  return ip_wrap(s.addr, d.addr, s.v6, kProtoUDP, l4, ip);
}

Bytes udplite(const Endpoint& s, const Endpoint& d, std::string_view payload, std::uint16_t coverage,
              std::uint8_t pseudo_proto, bool zero_checksum) {
  Bytes l4;
  put16(l4, s.port);
  put16(l4, d.port);
  put16(l4, coverage);  // RFC 3828: the UDP length field holds the coverage
  put16(l4, 0);
  l4.insert(l4.end(), payload.begin(), payload.end());
  const auto len = static_cast<std::uint32_t>(l4.size());
  const std::size_t covered = coverage == 0 ? l4.size() : std::min<std::size_t>(coverage, l4.size());
  std::uint16_t c = inet_checksum(l4.data(), covered, pseudo_sum(s.addr, d.addr, s.v6, pseudo_proto, len));
  if (c == 0) c = 0xffff;
  if (zero_checksum) c = 0;
  set16(l4, 6, c);
  return ip_wrap(s.addr, d.addr, s.v6, kProtoUDPLite, l4, {});
}

Bytes icmp(const Addr& s, const Addr& d, bool v6, std::uint8_t type, std::uint8_t code, const Bytes& body,
           bool bad_checksum, const IpSpec& ip) {
  Bytes l4{type, code, 0, 0};
  l4.insert(l4.end(), body.begin(), body.end());
  const std::uint8_t proto = v6 ? kProtoICMPv6 : kProtoICMP;
  const std::uint32_t initial = v6 ? pseudo_sum(s, d, true, proto, static_cast<std::uint32_t>(l4.size())) : 0;
  std::uint16_t c = inet_checksum(l4.data(), l4.size(), initial);
  if (bad_checksum) c = spoil(c);
  set16(l4, 2, c);
  return ip_wrap(s, d, v6, proto, l4, ip);
}

Bytes icmp_echo_body(std::uint16_t id, std::uint16_t seq, std::string_view data) {
  Bytes b;
  put16(b, id);
  put16(b, seq);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Bytes icmp_error(const Addr& s, const Addr& d, bool v6, std::uint8_t type, std::uint8_t code,
                 const Bytes& quoted, int quote_len, std::uint32_t rest_of_header) {
  std::size_t n;
  if (quote_len >= 0) {
    n = static_cast<std::size_t>(quote_len);
  } else if (!v6) {
    const std::size_t ihl = quoted.empty() ? 0 : (quoted[0] & 0xf) * 4u;
    n = ihl + 8;  // RFC 792: IP header + first 64 bits of the datagram
  } else {
    n = 1280 - 40 - 8;  // RFC 4443: as much as fits in the minimum MTU
  }
  n = std::min(n, quoted.size());
  Bytes body;
  put32(body, rest_of_header);
  body.insert(body.end(), quoted.begin(), quoted.begin() + static_cast<std::ptrdiff_t>(n));
  return icmp(s, d, v6, type, code, body);
}

Bytes raw_ip(const Addr& s, const Addr& d, bool v6, std::uint8_t proto, const Bytes& payload, const IpSpec& ip) {
  return ip_wrap(s, d, v6, proto, payload, ip);
}

Bytes ethernet(const Bytes& l3) {
  Bytes b{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  const bool v6 = !l3.empty() && (l3[0] >> 4) == 6;
  put16(b, v6 ? 0x86dd : 0x0800);
  b.insert(b.end(), l3.begin(), l3.end());
  return b;
}

bool write_pcap(const std::string& path, const std::vector<Frame>& frames, bool ethernet_framing) {
  return write_records(path, ethernet_framing ? 1 : 101, frames, ethernet_framing);
}

bool write_pcap_linktype(const std::string& path, int linktype, const std::vector<Frame>& frames) {
  return write_records(path, linktype, frames, false);
}

}  // namespace ctrack::test

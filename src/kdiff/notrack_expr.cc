#include "kdiff/notrack_expr.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cstdlib>
#include <sstream>

#include "kdiff/address_map.h"
#include "parse/packet.h"

namespace ctrack::kdiff {
namespace {

constexpr const char* kSupported =
    "supported: ip|ip6 saddr|daddr ADDR[/LEN], meta l4proto|ip protocol NAME|NUMBER, "
    "tcp|udp|th sport|dport PORT[-PORT], meta nfproto ipv4|ipv6 (each value may start with !=)";

bool parse_l4(const std::string& v, std::uint8_t& out) {
  static const std::pair<const char*, std::uint8_t> kNames[] = {
      {"tcp", kProtoTCP},       {"udp", kProtoUDP},          {"icmp", kProtoICMP},
      {"icmpv6", kProtoICMPv6}, {"ipv6-icmp", kProtoICMPv6}, {"udplite", kProtoUDPLite}};
  for (const auto& [n, p] : kNames) {
    if (v == n) {
      out = p;
      return true;
    }
  }
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 0 || n > 255) return false;
  out = static_cast<std::uint8_t>(n);
  return true;
}

bool parse_port_range(const std::string& v, std::uint16_t& lo, std::uint16_t& hi) {
  char* end = nullptr;
  const long a = std::strtol(v.c_str(), &end, 10);
  long b = a;
  if (*end == '-') b = std::strtol(end + 1, &end, 10);
  if (v.empty() || *end != '\0' || a < 0 || b < a || b > 65535) return false;
  lo = static_cast<std::uint16_t>(a);
  hi = static_cast<std::uint16_t>(b);
  return true;
}

bool in_prefix(const Addr& a, const Addr& net, int prefix) {
  for (int bit = 0; bit < prefix; ++bit) {
    const auto byte = static_cast<std::size_t>(bit / 8);
    const int mask = 0x80 >> (bit % 8);
    if ((a.b[byte] & mask) != (net.b[byte] & mask)) return false;
  }
  return true;
}

}  // namespace

bool NotrackExpr::parse(const std::string& text, std::string* error) {
  std::istringstream in(text);
  std::vector<std::string> tok;
  for (std::string t; in >> t;) tok.push_back(t);
  terms_.clear();
  auto fail = [&](std::size_t i, const std::string& what) {
    *error = fmt::format("--notrack '{}': {} at word {} ('{}'); {}", text, what, i + 1,
                         i < tok.size() ? tok[i] : "end", kSupported);
    return false;
  };
  std::size_t i = 0;
  while (i < tok.size()) {
    if (i + 2 > tok.size()) return fail(i, "incomplete match");
    const std::string sel = tok[i] + " " + tok[i + 1];
    std::size_t v = i + 2;
    Term t;
    if (v < tok.size() && tok[v] == "!=") {
      t.negate = true;
      ++v;
    }
    if (v >= tok.size()) return fail(i, "missing value");
    const std::string& val = tok[v];
    if (sel == "ip saddr" || sel == "ip daddr" || sel == "ip6 saddr" || sel == "ip6 daddr") {
      t.kind = tok[i + 1] == "saddr" ? Kind::Saddr : Kind::Daddr;
      t.v6 = tok[i] == "ip6";
      const auto slash = val.find('/');
      t.prefix = t.v6 ? 128 : 32;
      if (slash != std::string::npos) {
        char* end = nullptr;
        const long l = std::strtol(val.c_str() + slash + 1, &end, 10);
        if (*end != '\0' || l < 0 || l > t.prefix) return fail(v, "bad prefix length");
        t.prefix = static_cast<int>(l);
      }
      if (inet_pton(t.v6 ? AF_INET6 : AF_INET, val.substr(0, slash).c_str(), t.addr.b.data()) !=
          1) {
        return fail(v, "bad address");
      }
    } else if (sel == "meta l4proto" || sel == "ip protocol") {
      t.kind = Kind::L4proto;
      if (!parse_l4(val, t.l4)) return fail(v, "bad protocol");
    } else if (tok[i] == "tcp" || tok[i] == "udp" || tok[i] == "th") {
      if (tok[i + 1] != "sport" && tok[i + 1] != "dport") return fail(i + 1, "unsupported field");
      t.kind = tok[i + 1] == "sport" ? Kind::Sport : Kind::Dport;
      t.l4 = tok[i] == "tcp" ? kProtoTCP : tok[i] == "udp" ? kProtoUDP : 0;
      if (!parse_port_range(val, t.lo, t.hi)) return fail(v, "bad port or range");
    } else if (sel == "meta nfproto") {
      t.kind = Kind::Nfproto;
      if (val != "ipv4" && val != "ipv6") return fail(v, "nfproto must be ipv4 or ipv6");
      t.v6 = val == "ipv6";
    } else {
      return fail(i, "unsupported match");
    }
    terms_.push_back(t);
    i = v + 1;
  }
  if (terms_.empty()) return fail(0, "empty expression");
  return true;
}

void NotrackExpr::remap(const AddressMap& map) {
  for (auto& t : terms_) {
    if ((t.kind == Kind::Saddr || t.kind == Kind::Daddr) && t.prefix == (t.v6 ? 128 : 32)) {
      t.addr = map.mapped(t.addr, t.v6);
    }
  }
}

std::string NotrackExpr::nft_text() const {
  std::string s;
  for (const auto& t : terms_) {
    if (!s.empty()) s += ' ';
    const char* neg = t.negate ? "!= " : "";
    switch (t.kind) {
      case Kind::Saddr:
      case Kind::Daddr:
        s += fmt::format("{} {} {}{}/{}", t.v6 ? "ip6" : "ip",
                         t.kind == Kind::Saddr ? "saddr" : "daddr", neg, format_addr(t.addr, t.v6),
                         t.prefix);
        break;
      case Kind::L4proto:
        s += fmt::format("meta l4proto {}{}", neg, t.l4);
        break;
      case Kind::Sport:
      case Kind::Dport:
        s += fmt::format("{} {} {}{}-{}",
                         t.l4 == kProtoTCP   ? "tcp"
                         : t.l4 == kProtoUDP ? "udp"
                                             : "th",
                         t.kind == Kind::Sport ? "sport" : "dport", neg, t.lo, t.hi);
        break;
      case Kind::Nfproto:
        s += fmt::format("meta nfproto {}{}", neg, t.v6 ? "ipv6" : "ipv4");
        break;
    }
  }
  return s;
}

bool NotrackExpr::matches(std::span<const std::uint8_t> l3) const {
  Packet p;
  if (parse_ip(l3, p) != InvalidReason::None) return false;
  const bool v6 = p.is_v6();
  // nft's transport-header matches need the L4 header of this packet.
  const bool has_ports = !p.non_first_fragment() && p.l4_len() >= 4 &&
                         (p.proto == kProtoTCP || p.proto == kProtoUDP ||
                          p.proto == kProtoUDPLite || p.proto == 33 || p.proto == 132);
  for (const auto& t : terms_) {
    bool m = false;
    switch (t.kind) {
      case Kind::Saddr:
      case Kind::Daddr:
        // A family mismatch is no match, negated or not (nft checks the family first).
        if (t.v6 != v6) return false;
        m = in_prefix(t.kind == Kind::Saddr ? p.src : p.dst, t.addr, t.prefix);
        break;
      case Kind::L4proto:
        m = p.proto == t.l4;
        break;
      case Kind::Sport:
      case Kind::Dport: {
        if (!has_ports || (t.l4 != 0 && p.proto != t.l4)) return false;
        const std::uint16_t port = load_be16(p.l4() + (t.kind == Kind::Sport ? 0 : 2));
        m = port >= t.lo && port <= t.hi;
        break;
      }
      case Kind::Nfproto:
        m = v6 == t.v6;
        break;
    }
    if (m == t.negate) return false;
  }
  return true;
}

}  // namespace ctrack::kdiff

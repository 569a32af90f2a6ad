// `kernel-diff --notrack EXPR`: a small subset of nftables match syntax that
// both sides can evaluate. The kernel side installs `EXPR notrack` in the
// router's raw-priority prerouting chain; ctrack evaluates the same matches
// on each packet and passes CtTemplate{.notrack = true} when they all hold.
//
// Supported (all ANDed, each value optionally preceded by `!=`):
//   ip saddr|daddr ADDR[/LEN]     ip6 saddr|daddr ADDR[/LEN]
//   meta l4proto|ip protocol tcp|udp|icmp|icmpv6|udplite|NUMBER
//   tcp|udp|th sport|dport PORT[-PORT]
//   meta nfproto ipv4|ipv6
// Addresses are the capture's; they are remapped like the packets.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ctrack/tuple.h"

namespace ctrack::kdiff {

class AddressMap;

class NotrackExpr {
 public:
  // Parses `text`; on error says what is wrong and what is supported.
  bool parse(const std::string& text, std::string* error);
  bool empty() const { return terms_.empty(); }
  // Rewrites addresses with the capture's address map (call once, after
  // the map is built, before nft_text() / matches()).
  void remap(const AddressMap& map);
  // The expression in nft syntax (remapped addresses).
  std::string nft_text() const;
  // Whether an IPv4/IPv6 packet matches all terms.
  bool matches(std::span<const std::uint8_t> l3) const;

 private:
  enum class Kind : std::uint8_t { Saddr, Daddr, L4proto, Sport, Dport, Nfproto };
  struct Term {
    Kind kind = Kind::Saddr;
    bool negate = false;
    bool v6 = false;  // address terms; Nfproto: ipv6
    Addr addr{};
    int prefix = 0;
    std::uint8_t l4 = 0;  // L4proto; Sport/Dport: 0 = any of tcp/udp (th)
    std::uint16_t lo = 0, hi = 0;
  };
  std::vector<Term> terms_;
};

}  // namespace ctrack::kdiff

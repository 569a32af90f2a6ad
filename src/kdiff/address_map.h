// Keeps injected traffic on documentation addresses: every address of a
// capture that is not in a documentation / benchmarking range is replaced,
// consistently, by a fresh one from 198.18.0.0/15 or 2001:db8:ffff::/48, in
// the IP header and in headers quoted inside ICMP errors. Checksums are
// updated incrementally (RFC 1624), so a wrong checksum stays exactly as
// wrong and a right one stays right.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "ctrack/tuple.h"

namespace ctrack::kdiff {

bool is_documentation_addr(const Addr& a, bool v6);

class AddressMap {
 public:
  // Learns every address of `packets` (L3 bytes) and assigns replacements.
  void build(const std::vector<std::vector<std::uint8_t>>& packets);
  // Rewrites one packet in place.
  void apply(std::vector<std::uint8_t>& packet) const;
  // The capture's original address for an injected one (identity if unmapped).
  Addr original(const Addr& a, bool v6) const;
  // The injected address for a capture's address (identity if unmapped).
  Addr mapped(const Addr& a, bool v6) const;
  std::size_t size() const { return fwd_.size(); }

 private:
  using Key = std::pair<bool, std::array<std::uint8_t, 16>>;
  void learn(const std::uint8_t* p, std::size_t n, int depth);
  std::map<Key, Addr> fwd_, back_;
  std::uint32_t next_v4_ = 1, next_v6_ = 1;
};

}  // namespace ctrack::kdiff

// Keeps injected traffic on documentation addresses: every address of a
// capture that is not in a documentation / benchmarking range is replaced,
// consistently, by a fresh one from 198.18.0.0/15 or 2001:db8:ffff::/48, in
// the IP header, in headers quoted inside ICMP errors and in the addresses
// FTP and IRC write in their payloads (see payload_remap.h). Checksums are
// updated incrementally (RFC 1624), so a wrong checksum stays exactly as
// wrong and a right one stays right.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ctrack/tuple.h"
#include "kdiff/payload_remap.h"

namespace ctrack::kdiff {

bool is_documentation_addr(const Addr& a, bool v6);

class AddressMap {
 public:
  // Learns every address of `packets` (L3 bytes) and assigns replacements.
  void build(const std::vector<std::vector<std::uint8_t>>& packets);
  // Rewrites one packet in place. Returns false (and says why in `problem`)
  // when an address in a helper payload cannot be written in the same number
  // of characters: that payload address is then left as it was.
  bool apply(std::vector<std::uint8_t>& packet, std::string* problem = nullptr) const;
  // The capture's original address for an injected one (identity if unmapped).
  Addr original(const Addr& a, bool v6) const;
  // The injected address for a capture's address (identity if unmapped).
  Addr mapped(const Addr& a, bool v6) const;
  std::size_t size() const { return fwd_.size(); }

 private:
  using Key = std::pair<bool, std::array<std::uint8_t, 16>>;
  void learn(const std::uint8_t* p, std::size_t n, int depth);
  Addr pick_for_payload(const Key& k, const std::set<Key>& taken) const;
  std::map<Key, Addr> fwd_, back_;
  // Addresses written in helper payloads: the forms and span lengths each
  // replacement must fit in.
  std::map<Key, std::vector<std::pair<PayloadAddrForm, std::size_t>>> payload_uses_;
  std::uint32_t next_v4_ = 1, next_v6_ = 1;
};

}  // namespace ctrack::kdiff

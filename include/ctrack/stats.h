// Engine counters, named as `conntrack -S` and /proc/net/stat/nf_conntrack.
#pragma once

#include <cstdint>

namespace ctrack {

struct Stats {
  std::uint64_t entries = 0;         // current number of entries
  std::uint64_t found = 0;           // kernel: NAT "tuple taken" only; stays 0
  std::uint64_t invalid = 0;         // packets left without conntrack (parse/tuple/L4)
  std::uint64_t insert = 0;          // kernel: ctnetlink inserts only; stays 0
  std::uint64_t insert_failed = 0;   // confirm failures
  std::uint64_t drop = 0;            // packets dropped by conntrack (table full, ...)
  std::uint64_t early_drop = 0;      // entries evicted to make room
  std::uint64_t error = 0;           // ICMP/ICMPv6 error-path rejections
  std::uint64_t search_restart = 0;  // stays 0: lookups never race here
  std::uint64_t clash_resolve = 0;
  std::uint64_t chaintoolong = 0;
  std::uint64_t expect_new = 0;
  std::uint64_t expect_create = 0;
  std::uint64_t expect_delete = 0;
  // ctrack's own counters (not in the kernel's set).
  std::uint64_t packets = 0;  // packets processed
  std::uint64_t created = 0;  // entries confirmed into the table
  std::uint64_t expired = 0;  // entries removed by timeout
};

}  // namespace ctrack

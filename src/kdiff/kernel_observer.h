// What the router's kernel decided: per-packet `ct state` / `ct direction`
// from nftables counters in the router's prerouting hook (after conntrack, so
// every packet is counted, INVALID ones included), and the router's
// conntrack table from /proc/net/nf_conntrack.
//
// The calling thread must be inside the router namespace when reading: both
// the nftables netlink socket and /proc/thread-self/net follow the thread's
// network namespace.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ctrack/tuple.h"
#include "ctrack/types.h"

namespace ctrack::kdiff {

class Topology;

struct CtCounters {
  std::uint64_t all = 0;
  std::uint64_t state[5] = {};  // indexed by CtState
  std::uint64_t dir[2] = {};    // indexed by Direction
};

// One line of /proc/net/nf_conntrack.
struct KernelEntry {
  Tuple orig;
  Tuple reply;
  std::string state;  // TCP/SCTP/DCCP state name, "" for stateless protocols
  bool unreplied = false;
  bool assured = false;
  std::int64_t timeout = 0;  // seconds left, rounded down
  std::string line;          // the raw line, for the report
};

// Parses one /proc/net/nf_conntrack line; nullopt if it is not one.
std::optional<KernelEntry> parse_proc_line(const std::string& line);

// The kernel's verdict for one packet, from counter deltas. `seen` is false
// when the packet never reached the prerouting hook (dropped before
// conntrack, e.g. a bad IPv4 header checksum).
struct KernelVerdict {
  bool seen = false;
  std::optional<CtState> state;
  std::optional<Direction> direction;
};
KernelVerdict verdict_from(const CtCounters& before, const CtCounters& after);

class KernelObserver {
 public:
  // Installs the counting rules in the router (which also switches
  // conntrack on there). Call from any namespace.
  static std::unique_ptr<KernelObserver> create(const Topology& topo, std::string* error);
  ~KernelObserver();

  bool read_counters(CtCounters& out, std::string* error);
  bool read_table(std::vector<KernelEntry>& out, std::string* error);

 private:
  KernelObserver() = default;
  struct Nft;
  std::unique_ptr<Nft> nft_;
  std::string router_ns_;
};

}  // namespace ctrack::kdiff

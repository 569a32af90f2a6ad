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
  std::uint64_t raw = 0;  // every packet, before defragmentation (priority -450)
  std::uint64_t fwd = 0;  // packets that passed the forward hook's filter chains
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

// One line of /proc/net/nf_conntrack_expect. Wildcarded tuple fields are 0,
// as the kernel prints them.
struct KernelExpect {
  Tuple tuple;
  std::string helper;
  std::string flags;         // "PERMANENT", "INACTIVE,USERSPACE"... or ""
  std::int64_t timeout = 0;  // seconds left (-1 for "-")
  std::string line;
};
std::optional<KernelExpect> parse_expect_line(const std::string& line);

// What the router is configured with besides conntrack itself.
struct RouterSetup {
  struct Helper {
    std::string name;   // kernel helper type: ftp, irc, tftp, amanda...
    std::string proto;  // tcp / udp
    std::uint16_t port = 0;
  };
  std::vector<Helper> helpers;   // nft `ct helper` objects + assignment rules
  std::string notrack_nft;       // nft match expression; `notrack` at raw priority
  std::string rules_v4, rules_v6;  // iptables-save files to restore
};

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
  static std::unique_ptr<KernelObserver> create(const Topology& topo, const RouterSetup& setup, std::string* error);
  ~KernelObserver();

  bool read_counters(CtCounters& out, std::string* error);
  bool read_table(std::vector<KernelEntry>& out, std::string* error);
  bool read_expectations(std::vector<KernelExpect>& out, std::string* error);

 private:
  KernelObserver() = default;
  struct Nft;
  std::unique_ptr<Nft> nft_;
  std::string router_ns_;
};

}  // namespace ctrack::kdiff

// Runs packets through a Ruleset the way the kernel's hooks do, with the
// connection tracker in its place between them (linux-core.md §0.1):
//
//   forwarded:          raw PREROUTING -> conntrack -> filter FORWARD -> confirm
//   to a local address: raw PREROUTING -> conntrack -> filter INPUT   -> confirm
//   from a local one:   raw OUTPUT     -> conntrack (Hook::Local) -> filter OUTPUT -> confirm
//                       (and, when the destination is local too, filter INPUT after it)
//
// The raw table's NOTRACK / CT --notrack / CT --helper fill the CtTemplate
// given to Engine::track(); the filter verdict decides between
// Engine::confirm() (accepted: the helper runs, a new entry enters the table)
// and Engine::discard() (dropped: a new entry is forgotten). As in the
// kernel, conntrack has already updated an existing entry (TCP state,
// SEEN_REPLY, timeout) before the filter table sees the packet, so a dropped
// packet of a known connection still moves its state.
//
// Per packet: one parse, integer compares over precompiled rules, no heap
// allocation, no virtual calls.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "ctrack/engine.h"
#include "rules/ruleset.h"

namespace ctrack::rules {

// The firewall host as the evaluator sees it: its own addresses (--local) and
// which interface faces which prefix (--iface NAME=PREFIX, longest prefix
// wins; a packet arrives on the interface facing its source and leaves by
// the one facing its destination).
struct NetModel {
  struct Local {
    Family family;
    std::array<std::uint32_t, 4> addr{};
  };
  struct Route {
    Family family;
    AddrMask prefix;
    std::uint8_t prefix_len = 0;
    std::uint8_t iface = 0;  // id: index into `interfaces` + 1
  };
  std::vector<Local> locals;
  std::vector<Route> routes;
  std::vector<std::string> interfaces;

  // "192.0.2.1" / "2001:db8::1"; false if not an address.
  bool add_local(const std::string& text);
  // "eth0=192.0.2.0/24" (several prefixes: repeat the option); false with
  // `error` set on bad input.
  bool add_iface(const std::string& spec, std::string& error);
};

enum class Verdict : std::uint8_t { Accept, Drop, Reject };

// Which hooks the packet went through.
enum class Path : std::uint8_t { Forward, Input, Output, OutputInput };

// What decided the verdict.
enum class DecidedBy : std::uint8_t {
  Rule,       // a rule's ACCEPT / DROP / REJECT
  Policy,     // the built-in chain's policy (end of chain or RETURN from it)
  NoRules,    // no table for this family / hook: accepted
  Conntrack,  // conntrack itself dropped it (table full), before any rule
  Helper,     // the helper dropped it at confirm time
  Malformed,  // the IP header does not parse: the stack drops it before netfilter
};

struct RuleRef {
  Family family = Family::V4;
  Table table = Table::Filter;
  std::int32_t chain = -1;  // index in TableRules::chains
  std::int32_t rule = -1;   // index in Chain::rules (-1: the policy)
};

inline constexpr int kMaxLogs = 8;

struct Decision {
  Verdict verdict = Verdict::Accept;
  DecidedBy by = DecidedBy::NoRules;
  Path path = Path::Forward;
  RuleRef where;  // valid for Rule and Policy
  // LOG rules the packet matched on its way (at most kMaxLogs; more are
  // counted in `logs_dropped`).
  std::uint8_t log_count = 0;
  std::uint8_t logs_dropped = 0;
  std::array<RuleRef, kMaxLogs> logs{};
  CtTemplate tmpl{};  // what the raw table attached
  Result ct;          // the engine's result for the packet
};

class RuleEvaluator {
 public:
  // `rs` must outlive the evaluator; its counters and -m limit state are
  // updated as packets go through. Interfaces of `net` are bound to rs.
  RuleEvaluator(Ruleset& rs, NetModel net);

  // Runs one packet (starting at its IP header) through the hooks and the
  // engine; the engine's two-phase track/confirm/discard is used here.
  Decision process(Engine& engine, std::span<const std::uint8_t> l3, Timestamp now);

  const Ruleset& ruleset() const { return rs_; }
  const NetModel& net() const { return net_; }

  // Resolves a reference (for output).
  const Chain& chain(const RuleRef& r) const;
  const Rule* rule(const RuleRef& r) const;

  // The packet as the matches see it (exposed for tests and benches).
  struct View {
    Family family = Family::V4;
    std::uint8_t proto = 0;
    bool fragment = false;  // non-first fragment: no L4 header
    bool ports = false;     // sport/dport valid
    bool tcp = false;       // full TCP header: flags valid
    bool icmp = false;      // ICMP header valid
    std::uint16_t sport = 0, dport = 0;
    std::uint8_t tcp_flags = 0;
    std::uint8_t icmp_type = 0, icmp_code = 0;
    std::uint8_t in_if = 0, out_if = 0;
    std::uint32_t len = 0;
    std::array<std::uint32_t, 4> src{}, dst{};
    Timestamp now = 0;
    // Conntrack as the hook sees it.
    std::uint16_t state = 1;  // StateBit
    const Conn* conn = nullptr;
    bool reply = false;
  };

 private:
  enum class WalkEnd : std::uint8_t { Accept, Drop, Reject };
  WalkEnd walk(Family f, Table t, Hook h, View& v, Decision& d);
  bool matches(Rule& r, const View& v) const;
  bool ct_matches(const CtMatch& m, const View& v) const;
  std::uint8_t route(Family f, const std::array<std::uint32_t, 4>& a) const;
  bool is_local(Family f, const std::array<std::uint32_t, 4>& a) const;

  Ruleset& rs_;
  NetModel net_;
  struct Frame {
    std::int32_t chain;
    std::int32_t next;
  };
  std::vector<Frame> stack_;  // sized once: deeper than any chain path
};

const char* verdict_name(Verdict v);  // "ACCEPT" / "DROP" / "REJECT"
const char* path_name(Path p);        // "FORWARD" / "INPUT" / "OUTPUT" / "OUTPUT+INPUT"

}  // namespace ctrack::rules

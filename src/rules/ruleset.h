// An iptables ruleset (tables raw and filter, IPv4 and IPv6) as parsed from
// iptables-save / ip6tables-save text, in the compiled form the evaluator
// walks: every match is plain data checked with integer compares, chains
// refer to each other by index, interfaces by id. Text (rule source, LOG
// prefixes, comments) is kept only for output and never touched per packet.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ctrack/tuple.h"

namespace ctrack::rules {

enum class Table : std::uint8_t { Raw = 0, Filter = 1 };
inline constexpr int kTableCount = 2;

// Built-in chains, numbered as the netfilter hooks.
enum class Hook : std::uint8_t {
  Prerouting = 0,
  Input = 1,
  Forward = 2,
  Output = 3,
  Postrouting = 4
};
inline constexpr int kHookCount = 5;

enum class Family : std::uint8_t { V4 = 0, V6 = 1 };
inline constexpr int kFamilyCount = 2;

// Conntrack state bits as xt_conntrack numbers them (-m state's UNTRACKED
// bit 64 is stored as 256 here so that both matches share one mask).
enum StateBit : std::uint16_t {
  kStInvalid = 1,
  kStEstablished = 2,
  kStRelated = 4,
  kStNew = 8,
  kStSnat = 64,
  kStDnat = 128,
  kStUntracked = 256,
};

// Which matches a rule carries (Rule::matches) and which are negated
// (Rule::inverted, same bits).
enum MatchBit : std::uint32_t {
  kMProto = 1u << 0,
  kMSrc = 1u << 1,
  kMDst = 1u << 2,
  kMInIf = 1u << 3,
  kMOutIf = 1u << 4,
  kMSport = 1u << 5,
  kMDport = 1u << 6,
  kMTcpFlags = 1u << 7,
  kMIcmp = 1u << 8,
  kMMultiport = 1u << 9,
  kMState = 1u << 10,
  kMConntrack = 1u << 11,
  kMLimit = 1u << 12,
  kMFragment = 1u << 13,  // -f: non-first fragments (IPv4)
};

// Options of -m conntrack (CtMatch::flags / CtMatch::inverted).
enum CtBit : std::uint16_t {
  kCtState = 1u << 0,
  kCtStatus = 1u << 1,
  kCtDir = 1u << 2,
  kCtProto = 1u << 3,
  kCtOrigSrc = 1u << 4,
  kCtOrigDst = 1u << 5,
  kCtReplSrc = 1u << 6,
  kCtReplDst = 1u << 7,
  kCtOrigSrcPort = 1u << 8,
  kCtOrigDstPort = 1u << 9,
  kCtReplSrcPort = 1u << 10,
  kCtReplDstPort = 1u << 11,
};

// Address and mask as four host-order 32-bit words (IPv4 uses word 0).
struct AddrMask {
  std::array<std::uint32_t, 4> addr{};
  std::array<std::uint32_t, 4> mask{};
};

struct PortRange {
  std::uint16_t lo = 0;
  std::uint16_t hi = 0xffff;
};

enum class MultiportKind : std::uint8_t { Src, Dst, Any };

struct Multiport {
  MultiportKind kind = MultiportKind::Any;
  std::uint8_t count = 0;
  std::array<PortRange, 15> ports{};
};

struct CtMatch {
  std::uint16_t flags = 0;     // CtBit
  std::uint16_t inverted = 0;  // CtBit
  std::uint16_t state = 0;     // StateBit mask
  std::uint16_t status = 0;    // ConnStatus bits (EXPECTED 1, SEEN_REPLY 2, ASSURED 4, CONFIRMED 8)
  std::uint8_t dir_reply = 0;  // --ctdir REPLY
  std::uint8_t proto = 0;
  AddrMask orig_src, orig_dst, repl_src, repl_dst;
  PortRange orig_sport, orig_dport, repl_sport, repl_dport;
};

// Token bucket of -m limit, in nanoseconds of packet time.
struct Limit {
  std::int64_t cost_ns = 0;  // one packet's worth of credit (1 / rate)
  std::int64_t cap_ns = 0;   // burst * cost
  std::uint32_t burst = 5;
  std::string rate_text;  // "3/min", for output
  // Mutable state, per rule.
  std::int64_t credit_ns = 0;
  std::int64_t last_ns = 0;
  bool started = false;
};

enum class TargetKind : std::uint8_t {
  None,  // no -j: the rule only counts
  Accept,
  Drop,
  Reject,
  Log,
  Return,
  Jump,
  Goto,
  Notrack,  // -j NOTRACK and -j CT --notrack
  Ct,       // -j CT --helper NAME and/or --zone N
};

struct Target {
  TargetKind kind = TargetKind::None;
  std::int32_t chain = -1;  // Jump/Goto: index into TableRules::chains
  std::uint8_t helper = 0;  // Ct: helper id (0 = none)
  std::string helper_name;  // Ct: as written after --helper
  bool zone_set = false;    // Ct: --zone given
  std::uint16_t zone = 0;   // Ct: --zone N
  std::string reject_with;  // Reject: the ICMP/TCP reply type (never sent)
  std::string log_prefix;   // Log
  std::string name;         // as written after -j/-g (for output)
};

struct Rule {
  std::uint32_t matches = 0;   // MatchBit
  std::uint32_t inverted = 0;  // MatchBit
  std::uint8_t proto = 0;
  AddrMask src, dst;
  std::uint64_t in_ifaces = 0;    // bit i: interface id i matches -i
  std::uint64_t out_ifaces = 0;   // bit i: interface id i matches -o
  std::string in_name, out_name;  // as written ("eth+")
  PortRange sport, dport;
  std::uint8_t tcp_mask = 0, tcp_cmp = 0;
  std::uint8_t icmp_type = 0xff;  // 0xff = any
  std::uint8_t icmp_code_lo = 0, icmp_code_hi = 0xff;
  Multiport multiport;
  std::uint16_t state = 0;  // -m state mask (StateBit)
  CtMatch ct;
  Limit limit;
  Target target;

  // Where it came from and how to print it.
  std::uint32_t file = 0;  // index into Ruleset::files
  std::uint32_t line = 0;
  std::string spec;     // the rule as written after "-A CHAIN " (counters stripped)
  std::string comment;  // -m comment --comment

  // What the replay did with it.
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

enum class Policy : std::uint8_t { None, Accept, Drop };  // None: user chain

struct Chain {
  std::string name;
  Policy policy = Policy::None;
  std::vector<Rule> rules;
  std::uint32_t line = 0;     // where it was declared
  std::uint64_t packets = 0;  // policy counters (built-in chains)
  std::uint64_t bytes = 0;
  std::uint32_t references = 0;
};

// One table of one family. Built-in chains exist even when the file does not
// declare them (policy ACCEPT), as in the kernel.
struct TableRules {
  bool present = false;  // the file had this *table
  std::vector<Chain> chains;
  std::array<std::int32_t, kHookCount> builtin{-1, -1, -1, -1, -1};  // chain index per hook
};

struct Ruleset {
  std::vector<std::string> files;
  // tables[family][table]
  std::array<std::array<TableRules, kTableCount>, kFamilyCount> tables{};
  std::array<bool, kFamilyCount> family_present{false, false};
  // Interface names known to the evaluator (id = index + 1; 0 = unknown).
  std::vector<std::string> interfaces;
  bool uses_conntrack = false;  // some rule needs conntrack state
};

const char* table_name(Table t);
const char* hook_name(Hook h);  // "PREROUTING", ...
const char* policy_name(Policy p);
// Which built-in chains a table has.
bool table_has_hook(Table t, Hook h);

}  // namespace ctrack::rules

// iptables-save text -> Ruleset. Errors are thrown internally as ParseError
// (the parser is not on any packet path) and returned at the top.
#include "rules/ruleset_parser.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>

#include "ctrack/expectation.h"
#include "ctrack/types.h"

namespace ctrack::rules {
namespace {

constexpr std::string_view kSupported =
    "supported: tables raw, filter; lines *TABLE, :CHAIN POLICY [p:b], -N CHAIN, -P CHAIN POLICY, "
    "-A CHAIN RULE, COMMIT, # comments; rule options [!] -p, [!] -s/-d ADDR[/MASK], [!] -i/-o "
    "IFACE[+], "
    "[!] -f, -c P B, -m tcp ([!] --sport/--dport P[:P], [!] --syn, [!] --tcp-flags MASK COMP), "
    "-m udp ([!] --sport/--dport), -m icmp [!] --icmp-type, -m icmp6 [!] --icmpv6-type, "
    "-m multiport [!] --sports/--dports/--ports, -m state [!] --state, -m conntrack ([!] "
    "--ctstate, "
    "--ctstatus, --ctdir, --ctproto, --ctorigsrc/--ctorigdst/--ctreplsrc/--ctrepldst, "
    "--ctorigsrcport/--ctorigdstport/--ctreplsrcport/--ctrepldstport), -m comment --comment, "
    "-m limit --limit/--limit-burst; targets ACCEPT, DROP, REJECT [--reject-with], LOG "
    "[--log-prefix "
    "--log-level --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid], RETURN, "
    "-j/-g USER_CHAIN, NOTRACK, CT --notrack, CT [--helper NAME] [--zone ID] (raw table)";

constexpr std::string_view kCtNeeds =
    "-j CT needs --notrack, --helper NAME or --zone ID (other CT options are not supported)";

struct Token {
  std::string text;
  std::uint32_t col = 0;
  bool quoted = false;
};

class Failure {
 public:
  Failure(std::uint32_t col, std::string msg) : col_(col), msg_(std::move(msg)) {}
  std::uint32_t col_;
  std::string msg_;
};

[[noreturn]] void fail(std::uint32_t col, std::string msg) { throw Failure(col, std::move(msg)); }

std::vector<Token> tokenize(std::string_view line) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    if (i >= line.size()) break;
    Token t;
    t.col = static_cast<std::uint32_t>(i + 1);
    if (line[i] == '"' || line[i] == '\'') {
      const char q = line[i++];
      t.quoted = true;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          t.text += line[i + 1];
          i += 2;
        } else if (line[i] == q) {
          ++i;
          closed = true;
          break;
        } else {
          t.text += line[i++];
        }
      }
      if (!closed) fail(t.col, "unterminated quoted string");
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
        t.text += line[i++];
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::optional<std::uint32_t> parse_uint(std::string_view s, std::uint32_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

std::string upper(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

struct ProtoName {
  const char* name;
  std::uint8_t num;
};
constexpr ProtoName kProtoNames[] = {
    {"all", 0},     {"tcp", 6},        {"udp", 17},   {"udplite", 136}, {"icmp", 1},
    {"icmpv6", 58}, {"ipv6-icmp", 58}, {"icmp6", 58}, {"sctp", 132},    {"dccp", 33},
    {"gre", 47},    {"esp", 50},       {"ah", 51},    {"mh", 135},      {"ipv6-mh", 135},
};

std::uint8_t parse_proto(const Token& t) {
  const std::string lower = [&] {
    std::string r = t.text;
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
  }();
  for (const ProtoName& p : kProtoNames) {
    if (lower == p.name) return p.num;
  }
  if (auto v = parse_uint(lower, 255)) return static_cast<std::uint8_t>(*v);
  fail(t.col, fmt::format("unknown protocol '{}' (use a number or tcp, udp, udplite, icmp, "
                          "ipv6-icmp, sctp, dccp, gre, esp, ah, all)",
                          t.text));
}

std::uint16_t parse_port(const Token& t, std::string_view s, std::uint8_t proto) {
  if (auto v = parse_uint(s, 65535)) return static_cast<std::uint16_t>(*v);
  const std::string name(s);
  const char* pname = proto == 17 ? "udp" : "tcp";
  if (const servent* se = ::getservbyname(name.c_str(), pname)) {
    return ntohs(static_cast<std::uint16_t>(se->s_port));
  }
  fail(t.col, fmt::format("bad port '{}'", name));
}

PortRange parse_port_range(const Token& t, std::string_view s, std::uint8_t proto) {
  PortRange r;
  const auto colon = s.find(':');
  if (colon == std::string_view::npos) {
    r.lo = r.hi = parse_port(t, s, proto);
    return r;
  }
  const std::string_view a = s.substr(0, colon);
  const std::string_view b = s.substr(colon + 1);
  r.lo = a.empty() ? 0 : parse_port(t, a, proto);
  r.hi = b.empty() ? 0xffff : parse_port(t, b, proto);
  if (r.lo > r.hi) fail(t.col, fmt::format("bad port range '{}': start after end", s));
  return r;
}

void set_prefix_mask(AddrMask& am, unsigned bits, bool v6) {
  const unsigned words = v6 ? 4 : 1;
  for (unsigned w = 0; w < 4; ++w) am.mask[w] = 0;
  for (unsigned w = 0; w < words; ++w) {
    const unsigned take = bits >= 32 ? 32 : bits;
    am.mask[w] = take == 0 ? 0 : take == 32 ? 0xffffffffu : ~((1u << (32 - take)) - 1);
    bits -= take;
  }
  for (unsigned w = 0; w < 4; ++w) am.addr[w] &= am.mask[w];
}

bool load_words(const std::string& text, bool v6, std::array<std::uint32_t, 4>& words) {
  std::uint8_t buf[16] = {};
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, text.c_str(), buf) != 1) return false;
  words = {};
  for (unsigned w = 0; w < (v6 ? 4u : 1u); ++w) {
    words[w] = (std::uint32_t{buf[4 * w]} << 24) | (std::uint32_t{buf[4 * w + 1]} << 16) |
               (std::uint32_t{buf[4 * w + 2]} << 8) | buf[4 * w + 3];
  }
  return true;
}

AddrMask parse_addr_mask(const Token& t, bool v6) {
  if (t.text.find(',') != std::string::npos) {
    fail(
        t.col,
        "address lists (a,b) are not supported: write one rule per address, as iptables-save does");
  }
  AddrMask am;
  const auto slash = t.text.find('/');
  const std::string addr = t.text.substr(0, slash);
  if (!load_words(addr, v6, am.addr)) {
    fail(t.col, fmt::format("bad {} address '{}' (host names are not resolved)",
                            v6 ? "IPv6" : "IPv4", addr));
  }
  const unsigned max_bits = v6 ? 128 : 32;
  if (slash == std::string::npos) {
    set_prefix_mask(am, max_bits, v6);
    return am;
  }
  const std::string m = t.text.substr(slash + 1);
  if (auto bits = parse_uint(m, max_bits)) {
    set_prefix_mask(am, *bits, v6);
    return am;
  }
  std::array<std::uint32_t, 4> mw{};
  if (!v6 && load_words(m, false, mw)) {
    am.mask = mw;
    for (unsigned w = 0; w < 4; ++w) am.addr[w] &= am.mask[w];
    return am;
  }
  fail(t.col + static_cast<std::uint32_t>(slash) + 1, fmt::format("bad mask '{}'", m));
}

struct NamedBits {
  const char* name;
  std::uint16_t bits;
};

std::uint16_t parse_bit_list(const Token& t, std::initializer_list<NamedBits> names,
                             const char* what) {
  std::uint16_t mask = 0;
  std::size_t start = 0;
  const std::string& s = t.text;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    const std::string item =
        upper(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    bool found = false;
    for (const NamedBits& n : names) {
      if (item == n.name) {
        mask |= n.bits;
        found = true;
        break;
      }
    }
    if (!found) {
      std::string list;
      for (const NamedBits& n : names)
        list += fmt::format("{}{}", list.empty() ? "" : ", ", n.name);
      fail(t.col + static_cast<std::uint32_t>(start),
           fmt::format("unknown {} '{}' (known: {})", what, item, list));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return mask;
}

std::uint8_t parse_tcp_flag_list(const Token& t) {
  if (upper(t.text) == "ALL") return 0x3f;
  if (upper(t.text) == "NONE") return 0;
  return static_cast<std::uint8_t>(parse_bit_list(t,
                                                  {{"FIN", 0x01},
                                                   {"SYN", 0x02},
                                                   {"RST", 0x04},
                                                   {"PSH", 0x08},
                                                   {"ACK", 0x10},
                                                   {"URG", 0x20},
                                                   {"ALL", 0x3f},
                                                   {"NONE", 0}},
                                                  "TCP flag"));
}

struct IcmpName {
  const char* name;
  std::uint8_t type;
  int code;  // -1 = any code
};

constexpr IcmpName kIcmpNames[] = {
    {"any", 0xff, -1},
    {"echo-reply", 0, -1},
    {"pong", 0, -1},
    {"destination-unreachable", 3, -1},
    {"network-unreachable", 3, 0},
    {"host-unreachable", 3, 1},
    {"protocol-unreachable", 3, 2},
    {"port-unreachable", 3, 3},
    {"fragmentation-needed", 3, 4},
    {"source-route-failed", 3, 5},
    {"network-unknown", 3, 6},
    {"host-unknown", 3, 7},
    {"network-prohibited", 3, 9},
    {"host-prohibited", 3, 10},
    {"TOS-network-unreachable", 3, 11},
    {"TOS-host-unreachable", 3, 12},
    {"communication-prohibited", 3, 13},
    {"host-precedence-violation", 3, 14},
    {"precedence-cutoff", 3, 15},
    {"source-quench", 4, -1},
    {"redirect", 5, -1},
    {"network-redirect", 5, 0},
    {"host-redirect", 5, 1},
    {"TOS-network-redirect", 5, 2},
    {"TOS-host-redirect", 5, 3},
    {"echo-request", 8, -1},
    {"ping", 8, -1},
    {"router-advertisement", 9, -1},
    {"router-solicitation", 10, -1},
    {"time-exceeded", 11, -1},
    {"ttl-exceeded", 11, -1},
    {"ttl-zero-during-transit", 11, 0},
    {"ttl-zero-during-reassembly", 11, 1},
    {"parameter-problem", 12, -1},
    {"ip-header-bad", 12, 0},
    {"required-option-missing", 12, 1},
    {"timestamp-request", 13, -1},
    {"timestamp-reply", 14, -1},
    {"address-mask-request", 17, -1},
    {"address-mask-reply", 18, -1},
};

constexpr IcmpName kIcmp6Names[] = {
    {"destination-unreachable", 1, -1},
    {"no-route", 1, 0},
    {"communication-prohibited", 1, 1},
    {"beyond-scope", 1, 2},
    {"address-unreachable", 1, 3},
    {"port-unreachable", 1, 4},
    {"failed-policy", 1, 5},
    {"reject-route", 1, 6},
    {"packet-too-big", 2, -1},
    {"time-exceeded", 3, -1},
    {"ttl-exceeded", 3, -1},
    {"ttl-zero-during-transit", 3, 0},
    {"ttl-zero-during-reassembly", 3, 1},
    {"parameter-problem", 4, -1},
    {"bad-header", 4, 0},
    {"unknown-header-type", 4, 1},
    {"unknown-option", 4, 2},
    {"echo-request", 128, -1},
    {"ping", 128, -1},
    {"echo-reply", 129, -1},
    {"pong", 129, -1},
    {"router-solicitation", 133, -1},
    {"router-advertisement", 134, -1},
    {"neighbour-solicitation", 135, -1},
    {"neighbor-solicitation", 135, -1},
    {"neighbour-advertisement", 136, -1},
    {"neighbor-advertisement", 136, -1},
    {"redirect", 137, -1},
};

void parse_icmp_type(const Token& t, bool v6, Rule& r) {
  const auto slash = t.text.find('/');
  if (slash == std::string::npos) {
    auto names =
        v6 ? std::span<const IcmpName>(kIcmp6Names) : std::span<const IcmpName>(kIcmpNames);
    for (const IcmpName& n : names) {
      if (t.text == n.name) {
        r.icmp_type = n.type;
        r.icmp_code_lo = n.code < 0 ? 0 : static_cast<std::uint8_t>(n.code);
        r.icmp_code_hi = n.code < 0 ? 0xff : static_cast<std::uint8_t>(n.code);
        return;
      }
    }
    if (v6 && t.text == "any")
      fail(t.col, "ip6tables has no --icmpv6-type any: leave the option out");
  }
  const auto type = parse_uint(t.text.substr(0, slash), 255);
  if (!type) fail(t.col, fmt::format("unknown ICMP{} type '{}'", v6 ? "v6" : "", t.text));
  r.icmp_type = static_cast<std::uint8_t>(*type);
  r.icmp_code_lo = 0;
  r.icmp_code_hi = 0xff;
  if (slash != std::string::npos) {
    const auto code = parse_uint(t.text.substr(slash + 1), 255);
    if (!code) fail(t.col, fmt::format("bad ICMP code in '{}'", t.text));
    r.icmp_code_lo = r.icmp_code_hi = static_cast<std::uint8_t>(*code);
  }
}

bool valid_reject_with(std::string_view s, bool v6) {
  static constexpr const char* v4[] = {"icmp-net-unreachable",
                                       "net-unreach",
                                       "icmp-host-unreachable",
                                       "host-unreach",
                                       "icmp-port-unreachable",
                                       "port-unreach",
                                       "icmp-proto-unreachable",
                                       "proto-unreach",
                                       "icmp-net-prohibited",
                                       "net-prohib",
                                       "icmp-host-prohibited",
                                       "host-prohib",
                                       "icmp-admin-prohibited",
                                       "admin-prohib",
                                       "tcp-reset",
                                       "tcp-rst"};
  static constexpr const char* v6n[] = {"icmp6-no-route",
                                        "no-route",
                                        "icmp6-adm-prohibited",
                                        "adm-prohibited",
                                        "icmp6-addr-unreachable",
                                        "addr-unreach",
                                        "icmp6-port-unreachable",
                                        "port-unreach",
                                        "icmp6-policy-fail",
                                        "policy-fail",
                                        "icmp6-reject-route",
                                        "reject-route",
                                        "tcp-reset",
                                        "tcp-rst"};
  if (v6) {
    for (const char* n : v6n)
      if (s == n) return true;
  } else {
    for (const char* n : v4)
      if (s == n) return true;
  }
  return false;
}

// A `*table` block being read.
struct Block {
  Family family = Family::V4;
  Table table = Table::Filter;
  TableRules* rules = nullptr;
  std::uint32_t start_line = 0;
  // -j/-g targets not yet resolved: (chain, rule index, column, name).
  struct Pending {
    std::size_t chain;
    std::size_t rule;
    std::uint32_t line;
    std::uint32_t col;
    std::string name;
  };
  std::vector<Pending> pending;
};

bool is_builtin_name(std::string_view n, Hook& h) {
  static constexpr const char* names[] = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT",
                                          "POSTROUTING"};
  for (int i = 0; i < kHookCount; ++i) {
    if (n == names[i]) {
      h = static_cast<Hook>(i);
      return true;
    }
  }
  return false;
}

class Parser {
 public:
  Parser(const std::string& file, std::uint32_t file_index, Ruleset& rs)
      : file_(file), file_index_(file_index), rs_(rs) {}

  void run(std::string_view text) {
    std::size_t pos = 0;
    std::uint32_t lineno = 0;
    std::vector<std::string_view> lines;
    while (pos <= text.size()) {
      const auto nl = text.find('\n', pos);
      const std::string_view line =
          text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      lines.push_back(line);
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
      lineno = static_cast<std::uint32_t>(i + 1);
      line_ = lineno;
      handle_line(lines, i);
    }
    if (block_) {
      line_ = block_->start_line;
      fail(1, fmt::format("table '{}' is not closed by COMMIT", table_name(block_->table)));
    }
  }

  std::uint32_t line() const { return line_; }

 private:
  void handle_line(const std::vector<std::string_view>& lines, std::size_t i) {
    std::string_view line = lines[i];
    std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return;
    line = line.substr(first);
    const std::uint32_t base_col = static_cast<std::uint32_t>(first);
    if (line[0] == '#') {
      if (line.find("ip6tables-save") != std::string_view::npos)
        header_family_ = Family::V6;
      else if (line.find("iptables-save") != std::string_view::npos)
        header_family_ = Family::V4;
      return;
    }
    std::vector<Token> toks = tokenize(line);
    for (Token& t : toks) t.col += base_col;
    if (line[0] == '*') {
      open_table(toks, lines, i);
      return;
    }
    if (!block_)
      fail(toks[0].col,
           fmt::format("'{}' outside a table: the file must start a table with *filter or *raw",
                       toks[0].text));
    if (toks[0].text == "COMMIT") {
      if (toks.size() > 1) fail(toks[1].col, "unexpected text after COMMIT");
      commit();
      return;
    }
    if (line[0] == ':') {
      declare_chain(toks);
      return;
    }
    std::size_t k = 0;
    if (toks[0].text.size() > 2 && toks[0].text.front() == '[' && toks[0].text.back() == ']')
      ++k;  // [p:b]
    if (k >= toks.size()) fail(toks[0].col, "counters without a command");
    const std::string& cmd = toks[k].text;
    if (cmd == "-A" || cmd == "--append") {
      append_rule(toks, k + 1, line);
    } else if (cmd == "-N" || cmd == "--new-chain") {
      if (k + 1 >= toks.size()) fail(toks[k].col, "-N needs a chain name");
      new_chain(toks[k + 1], Policy::None, true);
      if (k + 2 < toks.size()) fail(toks[k + 2].col, "unexpected text after -N CHAIN");
    } else if (cmd == "-P" || cmd == "--policy") {
      if (k + 2 >= toks.size()) fail(toks[k].col, "-P needs a chain and a policy");
      const std::int32_t c = find_chain(toks[k + 1].text);
      if (c < 0 || block_->rules->chains[c].policy == Policy::None) {
        fail(toks[k + 1].col, fmt::format("-P: '{}' is not a built-in chain of table {}",
                                          toks[k + 1].text, table_name(block_->table)));
      }
      block_->rules->chains[c].policy = parse_policy(toks[k + 2]);
      if (k + 3 < toks.size()) fail(toks[k + 3].col, "unexpected text after -P CHAIN POLICY");
    } else {
      fail(toks[k].col,
           fmt::format("unsupported command '{}' (supported: -A, -N, -P, :CHAIN, COMMIT)", cmd));
    }
  }

  Family sniff_family(const std::vector<std::string_view>& lines, std::size_t from) {
    for (std::size_t i = from + 1; i < lines.size(); ++i) {
      std::string_view l = lines[i];
      const auto f = l.find_first_not_of(" \t");
      if (f != std::string_view::npos && l.substr(f).starts_with("COMMIT")) break;
      if (l.find("ipv6-icmp") != std::string_view::npos ||
          l.find("icmpv6") != std::string_view::npos || l.find("icmp6") != std::string_view::npos) {
        return Family::V6;
      }
      std::vector<Token> toks;
      try {
        toks = tokenize(l);
      } catch (const Failure&) {
        continue;  // reported when the line itself is parsed
      }
      for (std::size_t k = 0; k + 1 < toks.size(); ++k) {
        const std::string& o = toks[k].text;
        if ((o == "-s" || o == "-d" || o == "--source" || o == "--destination" ||
             o.starts_with("--ctorig") || o.starts_with("--ctrepl")) &&
            !o.ends_with("port") && toks[k + 1].text.find(':') != std::string::npos) {
          return Family::V6;
        }
      }
    }
    return Family::V4;
  }

  void open_table(const std::vector<Token>& toks, const std::vector<std::string_view>& lines,
                  std::size_t i) {
    if (block_)
      fail(toks[0].col, fmt::format("*{}: previous table '{}' is not closed by COMMIT",
                                    toks[0].text.substr(1), table_name(block_->table)));
    if (toks.size() > 1) fail(toks[1].col, "unexpected text after the table name");
    const std::string name = toks[0].text.substr(1);
    Table t;
    if (name == "filter")
      t = Table::Filter;
    else if (name == "raw")
      t = Table::Raw;
    else
      fail(toks[0].col + 1, fmt::format("unsupported table '{}' (supported: raw, filter)", name));
    block_.emplace();
    block_->table = t;
    block_->family = header_family_ ? *header_family_ : sniff_family(lines, i);
    block_->start_line = line_;
    TableRules& tr = rs_.tables[static_cast<int>(block_->family)][static_cast<int>(t)];
    if (tr.present) {
      fail(toks[0].col, fmt::format("table {} for {} given twice", name,
                                    block_->family == Family::V6 ? "IPv6" : "IPv4"));
    }
    tr = TableRules{};
    tr.present = true;
    rs_.family_present[static_cast<int>(block_->family)] = true;
    block_->rules = &tr;
    for (int h = 0; h < kHookCount; ++h) {
      if (!table_has_hook(t, static_cast<Hook>(h))) continue;
      Chain c;
      c.name = hook_name(static_cast<Hook>(h));
      c.policy = Policy::Accept;
      c.line = line_;
      tr.builtin[h] = static_cast<std::int32_t>(tr.chains.size());
      tr.chains.push_back(std::move(c));
    }
  }

  Policy parse_policy(const Token& t) {
    if (t.text == "ACCEPT") return Policy::Accept;
    if (t.text == "DROP") return Policy::Drop;
    fail(t.col, fmt::format("bad policy '{}' (ACCEPT or DROP)", t.text));
  }

  std::int32_t find_chain(std::string_view name) const {
    const auto& chains = block_->rules->chains;
    for (std::size_t i = 0; i < chains.size(); ++i) {
      if (chains[i].name == name) return static_cast<std::int32_t>(i);
    }
    return -1;
  }

  void new_chain(const Token& t, Policy p, bool user) {
    Hook h;
    if (is_builtin_name(t.text, h)) {
      if (user) fail(t.col, fmt::format("'{}' is a built-in chain name", t.text));
      const std::int32_t c = block_->rules->builtin[static_cast<int>(h)];
      if (c < 0)
        fail(t.col, fmt::format("table {} has no chain {}", table_name(block_->table), t.text));
      if (p != Policy::None) block_->rules->chains[c].policy = p;
      block_->rules->chains[c].line = line_;
      return;
    }
    if (!user && p != Policy::None)
      fail(t.col, fmt::format("user chain '{}' cannot have a policy (use '-')", t.text));
    if (find_chain(t.text) >= 0) fail(t.col, fmt::format("chain '{}' already exists", t.text));
    if (t.text.empty() || t.text.size() > 28 || t.text[0] == '-' || t.text[0] == '!') {
      fail(t.col, fmt::format("bad chain name '{}'", t.text));
    }
    Chain c;
    c.name = t.text;
    c.line = line_;
    block_->rules->chains.push_back(std::move(c));
  }

  void declare_chain(const std::vector<Token>& toks) {
    Token name = toks[0];
    name.text = name.text.substr(1);
    name.col += 1;
    if (toks.size() < 2)
      fail(toks[0].col, "chain declaration needs a policy (':CHAIN POLICY [p:b]')");
    Policy p = Policy::None;
    if (toks[1].text != "-") p = parse_policy(toks[1]);
    Hook h;
    if (is_builtin_name(name.text, h) && p == Policy::None)
      fail(toks[1].col, "a built-in chain needs a policy");
    new_chain(name, p, false);
    if (toks.size() > 3) fail(toks[3].col, "unexpected text after the counters");
  }

  // ---- rules ----

  struct RuleCtx {
    Rule& r;
    bool v6;
    std::vector<std::string> modules;  // loaded -m modules, most recent last
    bool proto_inv = false;
  };

  void require_proto(RuleCtx& c, const Token& t, std::initializer_list<std::uint8_t> protos,
                     const char* what) {
    if ((c.r.matches & kMProto) != 0 && (c.r.inverted & kMProto) == 0) {
      for (std::uint8_t p : protos)
        if (c.r.proto == p) return;
    }
    fail(t.col, fmt::format("{} needs '-p {}' before it", t.text, what));
  }

  void append_rule(const std::vector<Token>& toks, std::size_t k, std::string_view line) {
    if (k >= toks.size()) fail(toks[k - 1].col, "-A needs a chain name");
    const std::int32_t ci = find_chain(toks[k].text);
    if (ci < 0)
      fail(toks[k].col, fmt::format("no chain '{}' in table {} (declare it with :{} - [0:0] or -N)",
                                    toks[k].text, table_name(block_->table), toks[k].text));
    Chain& chain = block_->rules->chains[ci];
    Hook hook{};
    const bool builtin = is_builtin_name(chain.name, hook);
    Rule r;
    r.file = file_index_;
    r.line = line_;
    if (k + 1 < toks.size())
      r.spec = std::string(line.substr(toks[k + 1].col - 1 - (toks[0].col - 1)));
    while (!r.spec.empty() && (r.spec.back() == ' ' || r.spec.back() == '\r')) r.spec.pop_back();
    RuleCtx c{r, block_->family == Family::V6, {}};
    bool neg = false;
    std::uint32_t neg_col = 0;
    bool have_target = false;
    auto arg = [&](std::size_t& i) -> const Token& {
      if (i + 1 >= toks.size())
        fail(toks[i].col, fmt::format("option {} needs a value", toks[i].text));
      const Token& v = toks[++i];
      if (v.text == "!" && !v.quoted)
        fail(v.col,
             fmt::format("write '! {}' instead of '{} !'", toks[i - 1].text, toks[i - 1].text));
      return v;
    };
    auto take_neg = [&](const Token& opt, bool allowed) {
      const bool n = neg;
      if (n && !allowed) fail(neg_col, fmt::format("{} cannot be negated", opt.text));
      neg = false;
      return n;
    };
    auto set_match = [&](std::uint32_t bit, bool inv, const Token& opt) {
      if (r.matches & bit) fail(opt.col, fmt::format("{} given twice", opt.text));
      r.matches |= bit;
      if (inv) r.inverted |= bit;
    };
    for (std::size_t i = k + 1; i < toks.size(); ++i) {
      const Token& t = toks[i];
      const std::string& o = t.text;
      if (o == "!" && !t.quoted) {
        if (neg) fail(t.col, "double negation");
        neg = true;
        neg_col = t.col;
        continue;
      }
      if (have_target && !is_target_option(o)) {
        fail(t.col,
             fmt::format(
                 "'{}' after the target: matches go before -j, and target {} has no such option", o,
                 r.target.name));
      }
      if (o == "-p" || o == "--protocol") {
        const bool inv = take_neg(t, true);
        set_match(kMProto, inv, t);
        r.proto = parse_proto(arg(i));
        if (r.proto == 0) {
          if (inv) fail(t.col, "'! -p all' matches nothing");
          r.matches &= ~kMProto;
        }
        if (!c.v6 && r.proto == 58) fail(toks[i].col, "ipv6-icmp in an IPv4 table");
        if (c.v6 && r.proto == 1) fail(toks[i].col, "-p icmp in an IPv6 table: use ipv6-icmp");
      } else if (o == "-s" || o == "--source" || o == "-d" || o == "--destination") {
        const bool src = o == "-s" || o == "--source";
        const bool inv = take_neg(t, true);
        set_match(src ? kMSrc : kMDst, inv, t);
        (src ? r.src : r.dst) = parse_addr_mask(arg(i), c.v6);
      } else if (o == "-i" || o == "--in-interface" || o == "-o" || o == "--out-interface") {
        const bool in = o == "-i" || o == "--in-interface";
        const bool inv = take_neg(t, true);
        if (builtin && in && (hook == Hook::Output || hook == Hook::Postrouting))
          fail(t.col, fmt::format("-i is not valid in chain {}", chain.name));
        if (builtin && !in && (hook == Hook::Prerouting || hook == Hook::Input))
          fail(t.col, fmt::format("-o is not valid in chain {}", chain.name));
        set_match(in ? kMInIf : kMOutIf, inv, t);
        const Token& v = arg(i);
        if (v.text.empty() || v.text.size() > 15)
          fail(v.col, fmt::format("bad interface name '{}'", v.text));
        (in ? r.in_name : r.out_name) = v.text;
      } else if (o == "-f" || o == "--fragment") {
        if (c.v6) fail(t.col, "-f is IPv4 only (ip6tables uses -m frag)");
        set_match(kMFragment, take_neg(t, true), t);
      } else if (o == "-c" || o == "--set-counters") {
        take_neg(t, false);
        arg(i);
        arg(i);
      } else if (o == "-m" || o == "--match") {
        take_neg(t, false);
        const Token& m = arg(i);
        load_module(c, m);
      } else if (o == "-j" || o == "--jump" || o == "-g" || o == "--goto") {
        take_neg(t, false);
        if (have_target) fail(t.col, "more than one target");
        have_target = true;
        parse_target(c, chain, builtin, hook, t, arg(i), o == "-g" || o == "--goto");
      } else if (have_target) {
        parse_target_option(c, toks, i, neg, neg_col);
        neg = false;
      } else {
        parse_match_option(c, toks, i, take_neg(t, true), t);
      }
    }
    if (neg) fail(neg_col, "'!' at the end of the rule");
    if (r.target.kind == TargetKind::Ct && r.target.helper_name.empty() && !r.target.zone_set &&
        !r.target.name.empty()) {
      fail(toks.back().col, std::string(kCtNeeds));
    }
    if ((r.matches & kMState) || (r.matches & kMConntrack)) rs_.uses_conntrack = true;
    chain.rules.push_back(std::move(r));
  }

  static bool is_target_option(std::string_view o) {
    return o == "--reject-with" || o.starts_with("--log-") || o == "--notrack" || o == "--helper" ||
           o == "!" || o.starts_with("--ct") || o == "--zone" || o == "--timeout" ||
           o.starts_with("--zone-") || o == "--expevents";
  }

  void load_module(RuleCtx& c, const Token& m) {
    static constexpr const char* known[] = {"tcp",   "udp",       "icmp",    "icmp6", "multiport",
                                            "state", "conntrack", "comment", "limit"};
    for (const char* k : known) {
      if (m.text == k) {
        if (m.text == "tcp") require_proto(c, m, {6}, "tcp");
        if (m.text == "udp") require_proto(c, m, {17}, "udp");
        if (m.text == "icmp") {
          if (c.v6) fail(m.col, "-m icmp in an IPv6 table: use -m icmp6");
          require_proto(c, m, {1}, "icmp");
        }
        if (m.text == "icmp6") {
          if (!c.v6) fail(m.col, "-m icmp6 in an IPv4 table: use -m icmp");
          require_proto(c, m, {58}, "ipv6-icmp");
        }
        if (m.text == "multiport")
          require_proto(c, m, {6, 17, 136, 132, 33}, "tcp|udp|udplite|sctp|dccp");
        c.modules.push_back(m.text);
        return;
      }
    }
    fail(m.col, fmt::format("unsupported match module '{}'; {}", m.text, kSupported));
  }

  bool module_loaded(const RuleCtx& c, std::string_view m) const {
    for (const std::string& s : c.modules)
      if (s == m) return true;
    return false;
  }

  // The module an option belongs to: explicitly loaded, or implied by -p as
  // iptables loads a match named like the protocol.
  bool has_module(RuleCtx& c, std::string_view m) const {
    if (module_loaded(c, m)) return true;
    if ((c.r.matches & kMProto) == 0 || (c.r.inverted & kMProto) != 0) return false;
    return (m == "tcp" && c.r.proto == 6) || (m == "udp" && c.r.proto == 17) ||
           (m == "icmp" && c.r.proto == 1 && !c.v6) || (m == "icmp6" && c.r.proto == 58 && c.v6);
  }

  void parse_match_option(RuleCtx& c, const std::vector<Token>& toks, std::size_t& i, bool inv,
                          const Token& t) {
    Rule& r = c.r;
    const std::string& o = t.text;
    auto arg = [&]() -> const Token& {
      if (i + 1 >= toks.size()) fail(t.col, fmt::format("option {} needs a value", o));
      const Token& v = toks[++i];
      if (v.text == "!" && !v.quoted)
        fail(v.col, fmt::format("write '! {}' instead of '{} !'", o, o));
      return v;
    };
    auto once = [&](std::uint32_t bit) {
      if (r.matches & bit)
        fail(t.col, fmt::format("{} given twice (or with another option for the same field)", o));
      r.matches |= bit;
      if (inv) r.inverted |= bit;
    };
    const bool l4ports = has_module(c, "tcp") || has_module(c, "udp");
    if (l4ports &&
        (o == "--sport" || o == "--source-port" || o == "--dport" || o == "--destination-port")) {
      const bool src = o == "--sport" || o == "--source-port";
      once(src ? kMSport : kMDport);
      const Token& v = arg();
      (src ? r.sport : r.dport) = parse_port_range(v, v.text, r.proto);
      return;
    }
    if (has_module(c, "tcp") && (o == "--syn" || o == "--tcp-flags")) {
      once(kMTcpFlags);
      if (o == "--syn") {
        r.tcp_mask = 0x17;  // SYN,RST,ACK,FIN
        r.tcp_cmp = 0x02;
      } else {
        r.tcp_mask = parse_tcp_flag_list(arg());
        r.tcp_cmp = parse_tcp_flag_list(arg());
      }
      return;
    }
    if (o == "--tcp-option") fail(t.col, "--tcp-option is not supported");
    if (has_module(c, "icmp") && o == "--icmp-type") {
      once(kMIcmp);
      parse_icmp_type(arg(), false, r);
      if (r.icmp_type == 0xff && inv) fail(t.col, "'! --icmp-type any' matches nothing");
      return;
    }
    if (has_module(c, "icmp6") && o == "--icmpv6-type") {
      once(kMIcmp);
      parse_icmp_type(arg(), true, r);
      return;
    }
    if (module_loaded(c, "multiport") &&
        (o == "--sports" || o == "--source-ports" || o == "--dports" ||
         o == "--destination-ports" || o == "--ports")) {
      once(kMMultiport);
      r.multiport.kind = o == "--ports"                               ? MultiportKind::Any
                         : (o == "--sports" || o == "--source-ports") ? MultiportKind::Src
                                                                      : MultiportKind::Dst;
      const Token& v = arg();
      std::size_t start = 0;
      unsigned slots = 0;
      while (true) {
        const auto comma = v.text.find(',', start);
        const std::string item =
            v.text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const PortRange pr = parse_port_range(v, item, r.proto);
        slots += pr.lo == pr.hi ? 1 : 2;
        if (slots > 15)
          fail(v.col, "too many ports in -m multiport (at most 15, a range counts as 2)");
        r.multiport.ports[r.multiport.count++] = pr;
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      return;
    }
    if (module_loaded(c, "state") && o == "--state") {
      once(kMState);
      r.state = parse_bit_list(arg(),
                               {{"INVALID", kStInvalid},
                                {"ESTABLISHED", kStEstablished},
                                {"NEW", kStNew},
                                {"RELATED", kStRelated},
                                {"UNTRACKED", kStUntracked}},
                               "state");
      return;
    }
    if (module_loaded(c, "conntrack") && o.starts_with("--ct")) {
      parse_conntrack_option(c, t, arg, inv);
      return;
    }
    if (module_loaded(c, "comment") && o == "--comment") {
      if (inv) fail(t.col, "--comment cannot be negated");
      const Token& v = arg();
      if (v.text.size() > 255) fail(v.col, "comment longer than 255 characters");
      r.comment = v.text;
      return;
    }
    if (module_loaded(c, "limit") && (o == "--limit" || o == "--limit-burst")) {
      if (inv) fail(t.col, fmt::format("{} cannot be negated", o));
      r.matches |= kMLimit;
      const Token& v = arg();
      if (o == "--limit-burst") {
        auto b = parse_uint(v.text, 10000);
        if (!b || *b == 0) fail(v.col, fmt::format("bad --limit-burst '{}'", v.text));
        r.limit.burst = *b;
      } else {
        parse_limit_rate(v, r.limit);
      }
      return;
    }
    std::string mods;
    for (const std::string& m : c.modules) mods += fmt::format("{}{}", mods.empty() ? "" : ", ", m);
    fail(t.col, fmt::format("unknown option '{}'{}; {}", o,
                            mods.empty()
                                ? std::string(" (no match module loaded: did you forget -p or -m?)")
                                : fmt::format(" for the loaded matches ({})", mods),
                            kSupported));
  }

  void parse_limit_rate(const Token& v, Limit& l) {
    const auto slash = v.text.find('/');
    const auto n = parse_uint(v.text.substr(0, slash), 1000000);
    if (!n || *n == 0)
      fail(v.col, fmt::format("bad --limit '{}' (N/second|minute|hour|day)", v.text));
    std::int64_t period = kNsPerSec;
    if (slash != std::string::npos) {
      const std::string unit = v.text.substr(slash + 1);
      if (unit.empty()) fail(v.col, "bad --limit unit");
      if (std::string_view("second").starts_with(unit))
        period = kNsPerSec;
      else if (std::string_view("minute").starts_with(unit))
        period = 60 * kNsPerSec;
      else if (std::string_view("hour").starts_with(unit))
        period = 3600 * kNsPerSec;
      else if (std::string_view("day").starts_with(unit))
        period = 86400 * kNsPerSec;
      else
        fail(v.col, fmt::format("bad --limit unit '{}'", unit));
    }
    l.cost_ns = period / static_cast<std::int64_t>(*n);
    l.rate_text = v.text;
  }

  template <class Arg>
  void parse_conntrack_option(RuleCtx& c, const Token& t, Arg&& arg, bool inv) {
    CtMatch& ct = c.r.ct;
    const std::string& o = t.text;
    auto once = [&](std::uint16_t bit) {
      if (ct.flags & bit) fail(t.col, fmt::format("{} given twice", o));
      ct.flags |= bit;
      if (inv) ct.inverted |= bit;
      c.r.matches |= kMConntrack;
    };
    if (o == "--ctstate") {
      once(kCtState);
      ct.state = parse_bit_list(arg(),
                                {{"INVALID", kStInvalid},
                                 {"ESTABLISHED", kStEstablished},
                                 {"NEW", kStNew},
                                 {"RELATED", kStRelated},
                                 {"SNAT", kStSnat},
                                 {"DNAT", kStDnat},
                                 {"UNTRACKED", kStUntracked}},
                                "conntrack state");
    } else if (o == "--ctstatus") {
      once(kCtStatus);
      ct.status = parse_bit_list(
          arg(),
          {{"NONE", 0}, {"EXPECTED", 1}, {"SEEN_REPLY", 2}, {"ASSURED", 4}, {"CONFIRMED", 8}},
          "conntrack status");
    } else if (o == "--ctdir") {
      if (inv) fail(t.col, "--ctdir cannot be negated: use the other direction");
      once(kCtDir);
      const Token& v = arg();
      const std::string d = upper(v.text);
      if (d == "ORIGINAL")
        ct.dir_reply = 0;
      else if (d == "REPLY")
        ct.dir_reply = 1;
      else
        fail(v.col, fmt::format("bad --ctdir '{}' (ORIGINAL or REPLY)", v.text));
    } else if (o == "--ctproto") {
      once(kCtProto);
      ct.proto = parse_proto(arg());
      if (ct.proto == 0) fail(t.col, "--ctproto needs a specific protocol");
    } else if (o == "--ctorigsrc" || o == "--ctorigdst" || o == "--ctreplsrc" ||
               o == "--ctrepldst") {
      const std::uint16_t bit = o == "--ctorigsrc"   ? kCtOrigSrc
                                : o == "--ctorigdst" ? kCtOrigDst
                                : o == "--ctreplsrc" ? kCtReplSrc
                                                     : kCtReplDst;
      once(bit);
      AddrMask& am = bit == kCtOrigSrc   ? ct.orig_src
                     : bit == kCtOrigDst ? ct.orig_dst
                     : bit == kCtReplSrc ? ct.repl_src
                                         : ct.repl_dst;
      am = parse_addr_mask(arg(), c.v6);
    } else if (o == "--ctorigsrcport" || o == "--ctorigdstport" || o == "--ctreplsrcport" ||
               o == "--ctrepldstport") {
      const std::uint16_t bit = o == "--ctorigsrcport"   ? kCtOrigSrcPort
                                : o == "--ctorigdstport" ? kCtOrigDstPort
                                : o == "--ctreplsrcport" ? kCtReplSrcPort
                                                         : kCtReplDstPort;
      once(bit);
      PortRange& pr = bit == kCtOrigSrcPort   ? ct.orig_sport
                      : bit == kCtOrigDstPort ? ct.orig_dport
                      : bit == kCtReplSrcPort ? ct.repl_sport
                                              : ct.repl_dport;
      const Token& v = arg();
      pr = parse_port_range(v, v.text, 6);
    } else if (o == "--ctexpire") {
      fail(t.col, "--ctexpire is not supported");
    } else {
      fail(t.col, fmt::format("unknown conntrack option '{}'; {}", o, kSupported));
    }
  }

  void parse_target(RuleCtx& c, const Chain& chain, bool builtin, Hook hook, const Token& opt,
                    const Token& v, bool go) {
    Target& tg = c.r.target;
    tg.name = v.text;
    const Table table = block_->table;
    auto table_only = [&](Table t) {
      if (table != t)
        fail(v.col, fmt::format("target {} is only valid in table {}", v.text, table_name(t)));
    };
    if (go) {
      const std::int32_t ci = find_chain(v.text);
      Hook h;
      if (is_builtin_name(v.text, h) ||
          (ci < 0 && std::isupper(static_cast<unsigned char>(v.text[0])) &&
           (v.text == "ACCEPT" || v.text == "DROP" || v.text == "RETURN"))) {
        fail(v.col, fmt::format("-g needs a user chain, not '{}'", v.text));
      }
      tg.kind = TargetKind::Goto;
      block_->pending.push_back({block_index(chain), chain.rules.size(), line_, v.col, v.text});
      return;
    }
    (void)opt;
    if (v.text == "ACCEPT")
      tg.kind = TargetKind::Accept;
    else if (v.text == "DROP")
      tg.kind = TargetKind::Drop;
    else if (v.text == "RETURN")
      tg.kind = TargetKind::Return;
    else if (v.text == "REJECT") {
      table_only(Table::Filter);
      tg.kind = TargetKind::Reject;
      tg.reject_with = c.v6 ? "icmp6-port-unreachable" : "icmp-port-unreachable";
    } else if (v.text == "LOG") {
      tg.kind = TargetKind::Log;
    } else if (v.text == "NOTRACK") {
      table_only(Table::Raw);
      tg.kind = TargetKind::Notrack;
    } else if (v.text == "CT") {
      table_only(Table::Raw);
      tg.kind = TargetKind::Ct;  // refined by --notrack / --helper / --zone
    } else {
      Hook h;
      if (is_builtin_name(v.text, h))
        fail(v.col, fmt::format("cannot jump to built-in chain {}", v.text));
      const std::int32_t ci = find_chain(v.text);
      if (ci < 0 &&
          std::all_of(v.text.begin(), v.text.end(),
                      [](char ch) {
                        return std::isupper(static_cast<unsigned char>(ch)) ||
                               std::isdigit(static_cast<unsigned char>(ch)) || ch == '_';
                      }) &&
          std::isupper(static_cast<unsigned char>(v.text[0]))) {
        // Upper-case names that are not chains are almost always targets we
        // do not implement (MARK, MASQUERADE, TCPMSS...).
        fail(v.col,
             fmt::format("unsupported target '{}' (and no chain of that name in table {}); {}",
                         v.text, table_name(table), kSupported));
      }
      tg.kind = TargetKind::Jump;
      block_->pending.push_back({block_index(chain), chain.rules.size(), line_, v.col, v.text});
    }
    (void)builtin;
    (void)hook;
  }

  std::size_t block_index(const Chain& chain) const {
    return static_cast<std::size_t>(&chain - block_->rules->chains.data());
  }

  void parse_target_option(RuleCtx& c, const std::vector<Token>& toks, std::size_t& i, bool neg,
                           std::uint32_t neg_col) {
    Target& tg = c.r.target;
    const Token& t = toks[i];
    const std::string& o = t.text;
    if (neg) fail(neg_col, "target options cannot be negated");
    auto arg = [&]() -> const Token& {
      if (i + 1 >= toks.size()) fail(t.col, fmt::format("option {} needs a value", o));
      return toks[++i];
    };
    if (tg.kind == TargetKind::Reject && o == "--reject-with") {
      const Token& v = arg();
      if (!valid_reject_with(v.text, c.v6))
        fail(v.col, fmt::format("unknown --reject-with type '{}'", v.text));
      if ((v.text == "tcp-reset" || v.text == "tcp-rst") &&
          ((c.r.matches & kMProto) == 0 || c.r.proto != 6 || (c.r.inverted & kMProto))) {
        fail(v.col, "--reject-with tcp-reset needs -p tcp");
      }
      tg.reject_with = v.text;
      return;
    }
    if (tg.kind == TargetKind::Log) {
      if (o == "--log-prefix") {
        const Token& v = arg();
        if (v.text.size() > 29) fail(v.col, "--log-prefix longer than 29 characters");
        tg.log_prefix = v.text;
        return;
      }
      if (o == "--log-level") {
        arg();
        return;
      }
      if (o == "--log-tcp-sequence" || o == "--log-tcp-options" || o == "--log-ip-options" ||
          o == "--log-uid" || o == "--log-macdecode") {
        return;
      }
    }
    if (tg.kind == TargetKind::Ct && tg.name == "CT") {
      if (o == "--notrack") {
        if (!tg.helper_name.empty()) fail(t.col, "CT --notrack with --helper");
        tg.kind = TargetKind::Notrack;
        return;
      }
      if (o == "--helper") {
        const Token& v = arg();
        if ((c.r.matches & kMProto) == 0 || (c.r.inverted & kMProto)) {
          fail(t.col,
               "CT --helper needs -p tcp or -p udp (the kernel looks helpers up by protocol)");
        }
        tg.helper_name = v.text;
        tg.helper = helper_id(v.text);
        if (tg.helper == 0) {
          fail(v.col,
               fmt::format("unknown helper '{}' (this build has: {})", v.text, known_helpers()));
        }
        if (helper_proto(tg.helper) != c.r.proto) {
          fail(v.col, fmt::format("helper '{}' works on {}, not on -p {}", v.text,
                                  helper_proto(tg.helper) == 6 ? "tcp" : "udp", c.r.proto));
        }
        return;
      }
      if (o == "--zone") {
        const Token& v = arg();
        unsigned long n = 0;
        const bool numeric = !v.text.empty() && v.text.size() <= 5 &&
                             v.text.find_first_not_of("0123456789") == std::string::npos;
        if (numeric) n = std::stoul(v.text);
        if (!numeric || n > 0xffff) {
          fail(v.col, fmt::format("CT --zone wants a zone id 0-65535, not '{}' (zones taken from "
                                  "the mark are not supported)",
                                  v.text));
        }
        tg.zone_set = true;
        tg.zone = static_cast<std::uint16_t>(n);
        return;
      }
      if (o == "--zone-orig" || o == "--zone-reply") {
        fail(t.col, fmt::format("unsupported option '{}': direction-specific zones are not "
                                "supported, only CT --zone N for both directions",
                                o));
      }
    }
    if (tg.kind == TargetKind::Notrack && tg.name == "CT" && o == "--helper")
      fail(t.col, "CT --notrack with --helper");
    fail(t.col, fmt::format("unsupported option '{}' for target {}; {}", o, tg.name, kSupported));
  }

  static std::string known_helpers() {
    std::string s;
    for (std::uint8_t id = 1; helper_name(id) != nullptr; ++id)
      s += fmt::format("{}{}", s.empty() ? "" : ", ", helper_name(id));
    return s.empty() ? "none" : s;
  }

  void commit() {
    TableRules& tr = *block_->rules;
    for (const Block::Pending& p : block_->pending) {
      const std::int32_t ci = find_chain(p.name);
      if (ci < 0) {
        line_ = p.line;
        fail(p.col, fmt::format("no chain '{}' in table {} for this jump", p.name,
                                table_name(block_->table)));
      }
      if (tr.chains[ci].policy != Policy::None) {
        line_ = p.line;
        fail(p.col, fmt::format("cannot jump to built-in chain {}", p.name));
      }
      tr.chains[p.chain].rules[p.rule].target.chain = ci;
      ++tr.chains[ci].references;
    }
    // A chain reachable from itself: iptables-restore refuses it (ELOOP).
    std::vector<int> mark(tr.chains.size(), 0);
    for (std::size_t ci = 0; ci < tr.chains.size(); ++ci) check_loop(tr, ci, mark);
    for (Chain& ch : tr.chains) {
      for (Rule& r : ch.rules) {
        if (r.target.kind == TargetKind::Ct && r.target.helper == 0 && !r.target.zone_set) {
          line_ = r.line;
          fail(0, std::string(kCtNeeds));
        }
      }
    }
    block_.reset();
    header_family_.reset();
  }

  void check_loop(const TableRules& tr, std::size_t ci, std::vector<int>& mark) {
    if (mark[ci] == 2) return;
    if (mark[ci] == 1) {
      line_ = tr.chains[ci].line;
      fail(0, fmt::format("chain '{}' can reach itself through jumps (loop)", tr.chains[ci].name));
    }
    mark[ci] = 1;
    for (const Rule& r : tr.chains[ci].rules) {
      if (r.target.chain >= 0) check_loop(tr, static_cast<std::size_t>(r.target.chain), mark);
    }
    mark[ci] = 2;
  }

  const std::string& file_;
  std::uint32_t file_index_;
  Ruleset& rs_;
  std::optional<Block> block_;
  std::optional<Family> header_family_;
  std::uint32_t line_ = 0;
};

}  // namespace

std::string ParseError::text() const {
  if (column == 0) return fmt::format("{}:{}: {}", file, line, message);
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

bool parse_ruleset(std::string_view text, const std::string& file, Ruleset& rs, ParseError& err) {
  rs.files.push_back(file);
  Parser p(file, static_cast<std::uint32_t>(rs.files.size() - 1), rs);
  try {
    p.run(text);
  } catch (const Failure& f) {
    err.file = file;
    err.line = p.line();
    err.column = f.col_;
    err.message = f.msg_;
    return false;
  }
  return true;
}

bool load_ruleset_file(const std::string& path, Ruleset& rs, ParseError& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err.file = path;
    err.message = "cannot open the ruleset file";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_ruleset(ss.str(), path, rs, err);
}

void bind_interfaces(Ruleset& rs, const std::vector<std::string>& names) {
  rs.interfaces = names;
  auto mask_for = [&](const std::string& pattern) {
    std::uint64_t m = 0;
    const bool wild = !pattern.empty() && pattern.back() == '+';
    const std::string_view stem =
        wild ? std::string_view(pattern).substr(0, pattern.size() - 1) : pattern;
    for (std::size_t i = 0; i < names.size() && i < 63; ++i) {
      if (wild ? std::string_view(names[i]).starts_with(stem) : names[i] == pattern)
        m |= 1ull << (i + 1);
    }
    return m;
  };
  for (auto& fam : rs.tables) {
    for (TableRules& tr : fam) {
      for (Chain& ch : tr.chains) {
        for (Rule& r : ch.rules) {
          if (r.matches & kMInIf) r.in_ifaces = mask_for(r.in_name);
          if (r.matches & kMOutIf) r.out_ifaces = mask_for(r.out_name);
        }
      }
    }
  }
}

std::string_view supported_syntax() { return kSupported; }

}  // namespace ctrack::rules

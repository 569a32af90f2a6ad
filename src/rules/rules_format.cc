// Ruleset output. Only called when printing; never on the -q path.
#include "rules/rules_format.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <bit>
#include <iterator>

#include "io/json_writer.h"

namespace ctrack::rules {
namespace {

const char* by_name(DecidedBy b) {
  switch (b) {
    case DecidedBy::Rule:
      return "rule";
    case DecidedBy::Policy:
      return "policy";
    case DecidedBy::NoRules:
      return "no-rules";
    case DecidedBy::Conntrack:
      return "conntrack";
    case DecidedBy::Helper:
      return "helper";
    case DecidedBy::Malformed:
      return "malformed";
  }
  return "?";
}

const char* lower_verdict(Verdict v) {
  switch (v) {
    case Verdict::Accept:
      return "accept";
    case Verdict::Drop:
      return "drop";
    case Verdict::Reject:
      return "reject";
  }
  return "?";
}

std::string addr_text(const AddrMask& am, bool v6) {
  std::uint8_t buf[16] = {};
  for (unsigned w = 0; w < 4; ++w) {
    buf[4 * w] = static_cast<std::uint8_t>(am.addr[w] >> 24);
    buf[4 * w + 1] = static_cast<std::uint8_t>(am.addr[w] >> 16);
    buf[4 * w + 2] = static_cast<std::uint8_t>(am.addr[w] >> 8);
    buf[4 * w + 3] = static_cast<std::uint8_t>(am.addr[w]);
  }
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(v6 ? AF_INET6 : AF_INET, buf, text, sizeof text);
  int bits = 0;
  for (unsigned w = 0; w < (v6 ? 4u : 1u); ++w) bits += std::popcount(am.mask[w]);
  return fmt::format("{}/{}", text, bits);
}

// iptables 1.8 with -n prints protocol numbers ("0" for all).
std::string proto_text(std::uint8_t p) { return std::to_string(p); }

std::string target_text(const Rule& r) {
  return r.target.kind == TargetKind::None ? std::string() : r.target.name;
}

// The rule text minus what the listing has columns for.
std::string extra_text(const Rule& r) {
  std::string out;
  const std::string& s = r.spec;
  std::size_t i = 0;
  bool skip_next = false;
  bool pending_neg = false;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    std::size_t j = i;
    if (s[j] == '"') {
      ++j;
      while (j < s.size() && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
      ++j;
    } else {
      while (j < s.size() && s[j] != ' ') ++j;
    }
    j = std::min(j, s.size());
    const std::string tok = s.substr(i, j - i);
    i = j;
    if (skip_next) {
      skip_next = false;
      continue;
    }
    if (tok == "!") {
      pending_neg = true;
      continue;
    }
    if (tok == "-p" || tok == "-s" || tok == "-d" || tok == "-i" || tok == "-o" || tok == "-j" ||
        tok == "-g" || tok == "--protocol" || tok == "--source" || tok == "--destination" ||
        tok == "--in-interface" || tok == "--out-interface" || tok == "--jump" || tok == "--goto" ||
        tok == "-f" || tok == "--fragment") {
      skip_next = tok != "-f" && tok != "--fragment";
      pending_neg = false;
      continue;
    }
    if (!out.empty()) out += ' ';
    if (pending_neg) out += "! ";
    pending_neg = false;
    out += tok;
  }
  return out;
}

void list_chain(std::string& out, const Chain& ch, bool v6) {
  if (ch.policy != Policy::None) {
    fmt::format_to(std::back_inserter(out), "Chain {} (policy {} {} packets, {} bytes)\n", ch.name,
                   policy_name(ch.policy), ch.packets, ch.bytes);
  } else {
    fmt::format_to(std::back_inserter(out), "Chain {} ({} references)\n", ch.name, ch.references);
  }
  fmt::format_to(std::back_inserter(out),
                 "{:<4} {:>8} {:>10} {:<10} {:<4} {:<3} {:<6} {:<6} {:<20} {:<20}\n", "num", "pkts",
                 "bytes", "target", "prot", "opt", "in", "out", "source", "destination");
  const char* any = v6 ? "::/0" : "0.0.0.0/0";
  int num = 0;
  for (const Rule& r : ch.rules) {
    ++num;
    auto neg = [&](std::uint32_t bit) { return (r.inverted & bit) ? "!" : ""; };
    const std::string prot =
        (r.matches & kMProto) ? fmt::format("{}{}", neg(kMProto), proto_text(r.proto)) : "0";
    const std::string opt =
        (r.matches & kMFragment) ? ((r.inverted & kMFragment) ? "!f" : "-f") : "--";
    const std::string in = (r.matches & kMInIf) ? fmt::format("{}{}", neg(kMInIf), r.in_name) : "*";
    const std::string o =
        (r.matches & kMOutIf) ? fmt::format("{}{}", neg(kMOutIf), r.out_name) : "*";
    const std::string src =
        (r.matches & kMSrc) ? fmt::format("{}{}", neg(kMSrc), addr_text(r.src, v6)) : any;
    const std::string dst =
        (r.matches & kMDst) ? fmt::format("{}{}", neg(kMDst), addr_text(r.dst, v6)) : any;
    fmt::format_to(std::back_inserter(out),
                   "{:<4} {:>8} {:>10} {:<10} {:<4} {:<3} {:<6} {:<6} {:<20} {:<20} {}\n", num,
                   r.packets, r.bytes, target_text(r), prot, opt, in, o, src, dst, extra_text(r));
  }
  out += '\n';
}

}  // namespace

void append_decision_text(std::string& out, const RuleEvaluator& ev, const Decision& d) {
  fmt::format_to(std::back_inserter(out), " {}", verdict_name(d.verdict));
  const Ruleset& rs = ev.ruleset();
  if (d.by == DecidedBy::Rule || d.by == DecidedBy::Policy) {
    const Chain& ch = ev.chain(d.where);
    if (d.by == DecidedBy::Rule) {
      const Rule& r = *ev.rule(d.where);
      fmt::format_to(std::back_inserter(out), " {}/{}#{} ({}:{})", table_name(d.where.table),
                     ch.name, d.where.rule + 1, rs.files[r.file], r.line);
      if (d.verdict == Verdict::Reject)
        fmt::format_to(std::back_inserter(out), " with {}", r.target.reject_with);
    } else {
      fmt::format_to(std::back_inserter(out), " {}/{} policy", table_name(d.where.table), ch.name);
    }
  } else {
    fmt::format_to(std::back_inserter(out), " ({})", by_name(d.by));
  }
  for (std::uint8_t i = 0; i < d.log_count; ++i) {
    const Rule* r = ev.rule(d.logs[i]);
    out += " log=\"";
    out += r->target.log_prefix;
    out += '"';
  }
  if (d.logs_dropped != 0)
    fmt::format_to(std::back_inserter(out), " (+{} more LOG)", d.logs_dropped);
}

void append_decision_json(std::string& out, const RuleEvaluator& ev, const Decision& d) {
  io::append_json_key(out, "verdict");
  io::append_json_string(out, lower_verdict(d.verdict));
  out += ", ";
  io::append_json_key(out, "rule");
  if (d.by != DecidedBy::Rule && d.by != DecidedBy::Policy) {
    out += "null, ";
  } else {
    const Chain& ch = ev.chain(d.where);
    out += '{';
    io::append_json_key(out, "table");
    io::append_json_string(out, table_name(d.where.table));
    out += ", ";
    io::append_json_key(out, "chain");
    io::append_json_string(out, ch.name);
    out += ", ";
    if (d.by == DecidedBy::Rule) {
      const Rule& r = *ev.rule(d.where);
      fmt::format_to(std::back_inserter(out), "\"num\": {}, ", d.where.rule + 1);
      io::append_json_key(out, "file");
      io::append_json_string(out, ev.ruleset().files[r.file]);
      fmt::format_to(std::back_inserter(out), ", \"line\": {}, ", r.line);
      io::append_json_key(out, "target");
      io::append_json_string(out, r.target.name);
      if (d.verdict == Verdict::Reject) {
        out += ", ";
        io::append_json_key(out, "reject_with");
        io::append_json_string(out, r.target.reject_with);
      }
    } else {
      out += "\"num\": null, ";
      io::append_json_key(out, "policy");
      io::append_json_string(out, policy_name(ch.policy));
    }
    out += "}, ";
  }
  io::append_json_key(out, "decided_by");
  io::append_json_string(out, by_name(d.by));
  out += ", ";
  io::append_json_key(out, "hooks");
  io::append_json_string(out, path_name(d.path));
  out += ", ";
  io::append_json_key(out, "log");
  out += '[';
  for (std::uint8_t i = 0; i < d.log_count; ++i) {
    if (i != 0) out += ", ";
    io::append_json_string(out, ev.rule(d.logs[i])->target.log_prefix);
  }
  out += ']';
}

void append_rule_listing(std::string& out, const RuleEvaluator& ev) {
  const Ruleset& rs = ev.ruleset();
  for (int f = 0; f < kFamilyCount; ++f) {
    for (int t = 0; t < kTableCount; ++t) {
      const TableRules& tr = rs.tables[f][t];
      if (!tr.present) continue;
      fmt::format_to(std::back_inserter(out), "# {} -t {} -L -v -n -x --line-numbers\n",
                     f == 1 ? "ip6tables" : "iptables", table_name(static_cast<Table>(t)));
      for (const Chain& ch : tr.chains) list_chain(out, ch, f == 1);
    }
  }
}

void append_rule_save(std::string& out, const RuleEvaluator& ev) {
  const Ruleset& rs = ev.ruleset();
  for (int f = 0; f < kFamilyCount; ++f) {
    if (!rs.family_present[f]) continue;
    fmt::format_to(std::back_inserter(out), "# Generated by ctrack replay ({}-save -c format)\n",
                   f == 1 ? "ip6tables" : "iptables");
    for (int t = 0; t < kTableCount; ++t) {
      const TableRules& tr = rs.tables[f][t];
      if (!tr.present) continue;
      fmt::format_to(std::back_inserter(out), "*{}\n", table_name(static_cast<Table>(t)));
      for (const Chain& ch : tr.chains) {
        if (ch.policy != Policy::None) {
          fmt::format_to(std::back_inserter(out), ":{} {} [{}:{}]\n", ch.name,
                         policy_name(ch.policy), ch.packets, ch.bytes);
        } else {
          fmt::format_to(std::back_inserter(out), ":{} - [0:0]\n", ch.name);
        }
      }
      for (const Chain& ch : tr.chains) {
        for (const Rule& r : ch.rules) {
          fmt::format_to(std::back_inserter(out), "[{}:{}] -A {}{}{}\n", r.packets, r.bytes,
                         ch.name, r.spec.empty() ? "" : " ", r.spec);
        }
      }
      out += "COMMIT\n";
    }
  }
}

}  // namespace ctrack::rules

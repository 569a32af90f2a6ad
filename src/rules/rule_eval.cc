// The hook walk and the matches. See rule_eval.h for the model.
#include "rules/rule_eval.h"

#include <arpa/inet.h>

#include <algorithm>

#include "parse/packet.h"
#include "rules/ruleset_parser.h"

namespace ctrack::rules {
namespace {

std::array<std::uint32_t, 4> words_of(const Addr& a, bool v6) {
  std::array<std::uint32_t, 4> w{};
  w[0] = load_be32(a.b.data());
  if (v6) {
    w[1] = load_be32(a.b.data() + 4);
    w[2] = load_be32(a.b.data() + 8);
    w[3] = load_be32(a.b.data() + 12);
  }
  return w;
}

inline bool addr_in(const AddrMask& m, const std::array<std::uint32_t, 4>& a) {
  return ((a[0] & m.mask[0]) == m.addr[0]) & ((a[1] & m.mask[1]) == m.addr[1]) &
         ((a[2] & m.mask[2]) == m.addr[2]) & ((a[3] & m.mask[3]) == m.addr[3]);
}

inline bool in_range(const PortRange& r, std::uint16_t p) { return p >= r.lo && p <= r.hi; }

std::uint16_t state_bit(const Result& r) {
  switch (r.state) {
    case CtState::New:
      return kStNew;
    case CtState::Established:
      return kStEstablished;
    case CtState::Related:
      return kStRelated;
    case CtState::Untracked:
      return kStUntracked;
    case CtState::Invalid:
      break;
  }
  return kStInvalid;
}

bool parse_words(const std::string& text, Family& f, std::array<std::uint32_t, 4>& w) {
  std::uint8_t buf[16] = {};
  if (::inet_pton(AF_INET, text.c_str(), buf) == 1) {
    f = Family::V4;
  } else if (::inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    f = Family::V6;
  } else {
    return false;
  }
  w = words_of(Addr::from_bytes(buf, f == Family::V6), f == Family::V6);
  return true;
}

}  // namespace

bool NetModel::add_local(const std::string& text) {
  Local l;
  if (!parse_words(text, l.family, l.addr)) return false;
  locals.push_back(l);
  return true;
}

bool NetModel::add_iface(const std::string& spec, std::string& error) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq > 15) {
    error = "--iface " + spec + ": expected NAME=PREFIX (e.g. eth0=192.0.2.0/24)";
    return false;
  }
  const std::string name = spec.substr(0, eq);
  std::string pfx = spec.substr(eq + 1);
  const auto slash = pfx.find('/');
  Route r;
  if (!parse_words(pfx.substr(0, slash), r.family, r.prefix.addr)) {
    error = "--iface " + spec + ": bad address";
    return false;
  }
  const unsigned max = r.family == Family::V6 ? 128 : 32;
  unsigned bits = max;
  if (slash != std::string::npos) {
    const std::string b = pfx.substr(slash + 1);
    if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string::npos ||
        (bits = static_cast<unsigned>(std::stoul(b))) > max) {
      error = "--iface " + spec + ": bad prefix length";
      return false;
    }
  }
  r.prefix_len = static_cast<std::uint8_t>(bits);
  unsigned left = bits;
  for (unsigned w = 0; w < (r.family == Family::V6 ? 4u : 1u); ++w) {
    const unsigned take = left >= 32 ? 32 : left;
    r.prefix.mask[w] = take == 0 ? 0 : take == 32 ? 0xffffffffu : ~((1u << (32 - take)) - 1);
    r.prefix.addr[w] &= r.prefix.mask[w];
    left -= take;
  }
  auto it = std::find(interfaces.begin(), interfaces.end(), name);
  if (it == interfaces.end()) {
    if (interfaces.size() >= 63) {
      error = "--iface: at most 63 interfaces";
      return false;
    }
    interfaces.push_back(name);
    it = interfaces.end() - 1;
  }
  r.iface = static_cast<std::uint8_t>(it - interfaces.begin() + 1);
  routes.push_back(r);
  // Longest prefix first: the first hit is the route.
  std::stable_sort(routes.begin(), routes.end(),
                   [](const Route& a, const Route& b) { return a.prefix_len > b.prefix_len; });
  return true;
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Accept:
      return "ACCEPT";
    case Verdict::Drop:
      return "DROP";
    case Verdict::Reject:
      return "REJECT";
  }
  return "?";
}

const char* path_name(Path p) {
  switch (p) {
    case Path::Forward:
      return "FORWARD";
    case Path::Input:
      return "INPUT";
    case Path::Output:
      return "OUTPUT";
    case Path::OutputInput:
      return "OUTPUT+INPUT";
  }
  return "?";
}

RuleEvaluator::RuleEvaluator(Ruleset& rs, NetModel net) : rs_(rs), net_(std::move(net)) {
  bind_interfaces(rs_, net_.interfaces);
  std::size_t depth = 1;
  for (const auto& fam : rs_.tables) {
    for (const TableRules& tr : fam) depth = std::max(depth, tr.chains.size() + 1);
  }
  stack_.resize(depth);
}

const Chain& RuleEvaluator::chain(const RuleRef& r) const {
  return rs_.tables[static_cast<int>(r.family)][static_cast<int>(r.table)].chains[r.chain];
}

const Rule* RuleEvaluator::rule(const RuleRef& r) const {
  if (r.chain < 0 || r.rule < 0) return nullptr;
  return &chain(r).rules[r.rule];
}

std::uint8_t RuleEvaluator::route(Family f, const std::array<std::uint32_t, 4>& a) const {
  for (const NetModel::Route& r : net_.routes) {
    if (r.family == f && addr_in(r.prefix, a)) return r.iface;
  }
  return 0;
}

bool RuleEvaluator::is_local(Family f, const std::array<std::uint32_t, 4>& a) const {
  for (const NetModel::Local& l : net_.locals) {
    if (l.family == f && l.addr == a) return true;
  }
  return false;
}

// xt_conntrack's order: state; without a conntrack only --ctstate decides;
// then direction, addresses, protocol and ports, status.
bool RuleEvaluator::ct_matches(const CtMatch& m, const View& v) const {
  if (m.flags & kCtState) {
    const bool hit = (m.state & v.state) != 0;  // no NAT: SNAT/DNAT bits never set
    if (hit == ((m.inverted & kCtState) != 0)) return false;
  }
  if (v.conn == nullptr) return (m.flags & kCtState) != 0;
  const Conn& c = *v.conn;
  if ((m.flags & kCtDir) && (v.reply != (m.dir_reply != 0))) return false;
  const std::uint16_t addr_flags = kCtOrigSrc | kCtOrigDst | kCtReplSrc | kCtReplDst |
                                   kCtOrigSrcPort | kCtOrigDstPort | kCtReplSrcPort |
                                   kCtReplDstPort;
  if (m.flags & addr_flags) {
    const bool v6 = c.orig.is_v6();
    const Tuple repl = c.reply();
    auto check_addr = [&](std::uint16_t bit, const AddrMask& am, const Addr& a) {
      if ((m.flags & bit) == 0) return true;
      return addr_in(am, words_of(a, v6)) != ((m.inverted & bit) != 0);
    };
    auto check_port = [&](std::uint16_t bit, const PortRange& pr, std::uint16_t p) {
      if ((m.flags & bit) == 0) return true;
      return in_range(pr, p) != ((m.inverted & bit) != 0);
    };
    if (!check_addr(kCtOrigSrc, m.orig_src, c.orig.src) ||
        !check_addr(kCtOrigDst, m.orig_dst, c.orig.dst) ||
        !check_addr(kCtReplSrc, m.repl_src, repl.src) ||
        !check_addr(kCtReplDst, m.repl_dst, repl.dst)) {
      return false;
    }
    if ((m.flags & kCtProto) && ((c.orig.proto == m.proto) == ((m.inverted & kCtProto) != 0)))
      return false;
    if (!check_port(kCtOrigSrcPort, m.orig_sport, c.orig.src_id) ||
        !check_port(kCtOrigDstPort, m.orig_dport, c.orig.dst_id) ||
        !check_port(kCtReplSrcPort, m.repl_sport, repl.src_id) ||
        !check_port(kCtReplDstPort, m.repl_dport, repl.dst_id)) {
      return false;
    }
  } else if ((m.flags & kCtProto) &&
             ((c.orig.proto == m.proto) == ((m.inverted & kCtProto) != 0))) {
    return false;
  }
  if ((m.flags & kCtStatus) && (((m.status & c.status) != 0) == ((m.inverted & kCtStatus) != 0)))
    return false;
  return true;
}

bool RuleEvaluator::matches(Rule& r, const View& v) const {
  const std::uint32_t m = r.matches;
  const std::uint32_t inv = r.inverted;
  auto neg = [&](std::uint32_t bit, bool hit) { return hit != ((inv & bit) != 0); };
  if ((m & kMProto) && !neg(kMProto, v.proto == r.proto)) return false;
  if ((m & kMSrc) && !neg(kMSrc, addr_in(r.src, v.src))) return false;
  if ((m & kMDst) && !neg(kMDst, addr_in(r.dst, v.dst))) return false;
  if (m & ~(kMProto | kMSrc | kMDst)) {
    if ((m & kMInIf) && !neg(kMInIf, ((r.in_ifaces >> v.in_if) & 1) != 0)) return false;
    if ((m & kMOutIf) && !neg(kMOutIf, ((r.out_ifaces >> v.out_if) & 1) != 0)) return false;
    if ((m & kMFragment) && !neg(kMFragment, v.fragment)) return false;
    // tcp/udp/icmp/multiport never match a fragment without its header,
    // negated or not (the kernel's matches return false on fragoff != 0).
    if (m & (kMSport | kMDport | kMMultiport)) {
      if (!v.ports) return false;
      if ((m & kMSport) && !neg(kMSport, in_range(r.sport, v.sport))) return false;
      if ((m & kMDport) && !neg(kMDport, in_range(r.dport, v.dport))) return false;
      if (m & kMMultiport) {
        bool hit = false;
        const Multiport& mp = r.multiport;
        for (std::uint8_t i = 0; i < mp.count && !hit; ++i) {
          hit = (mp.kind != MultiportKind::Dst && in_range(mp.ports[i], v.sport)) ||
                (mp.kind != MultiportKind::Src && in_range(mp.ports[i], v.dport));
        }
        if (!neg(kMMultiport, hit)) return false;
      }
    }
    if (m & kMTcpFlags) {
      if (!v.tcp || !neg(kMTcpFlags, (v.tcp_flags & r.tcp_mask) == r.tcp_cmp)) return false;
    }
    if (m & kMIcmp) {
      if (!v.icmp) return false;
      const bool hit =
          r.icmp_type == 0xff || (v.icmp_type == r.icmp_type && v.icmp_code >= r.icmp_code_lo &&
                                  v.icmp_code <= r.icmp_code_hi);
      if (!neg(kMIcmp, hit)) return false;
    }
    if ((m & kMState) && !neg(kMState, (r.state & v.state) != 0)) return false;
    if ((m & kMConntrack) && !ct_matches(r.ct, v)) return false;
    if (m & kMLimit) {
      // Token bucket in packet time: `cap` of credit, one packet costs `cost`.
      Limit& l = r.limit;
      const std::int64_t cap = l.cost_ns * l.burst;
      if (!l.started) {
        l.started = true;
        l.credit_ns = cap;
        l.last_ns = v.now;
      }
      if (v.now > l.last_ns) {
        l.credit_ns = std::min(cap, l.credit_ns + (v.now - l.last_ns));
        l.last_ns = v.now;
      }
      if (l.credit_ns < l.cost_ns) return false;
      l.credit_ns -= l.cost_ns;
    }
  }
  return true;
}

RuleEvaluator::WalkEnd RuleEvaluator::walk(Family f, Table t, Hook h, View& v, Decision& d) {
  TableRules& tr = rs_.tables[static_cast<int>(f)][static_cast<int>(t)];
  const std::int32_t base = tr.builtin[static_cast<int>(h)];
  auto policy = [&]() {
    Chain& bc = tr.chains[base];
    ++bc.packets;
    bc.bytes += v.len;
    d.by = DecidedBy::Policy;
    d.where = RuleRef{f, t, base, -1};
    return bc.policy == Policy::Drop ? WalkEnd::Drop : WalkEnd::Accept;
  };
  if (!tr.present || base < 0) {
    d.by = DecidedBy::NoRules;
    return WalkEnd::Accept;
  }
  std::size_t depth = 0;
  std::int32_t cur = base;
  std::int32_t i = 0;
  bool tmpl_set = false;
  for (;;) {
    std::vector<Rule>& rules = tr.chains[cur].rules;
    if (i >= static_cast<std::int32_t>(rules.size())) {
      if (depth == 0) return policy();
      --depth;
      cur = stack_[depth].chain;
      i = stack_[depth].next;
      continue;
    }
    Rule& r = rules[i];
    if (!matches(r, v)) {
      ++i;
      continue;
    }
    ++r.packets;
    r.bytes += v.len;
    const RuleRef here{f, t, cur, i};
    switch (r.target.kind) {
      case TargetKind::None:
        ++i;
        break;
      case TargetKind::Accept:
      case TargetKind::Drop:
      case TargetKind::Reject:
        d.by = DecidedBy::Rule;
        d.where = here;
        return r.target.kind == TargetKind::Accept ? WalkEnd::Accept
               : r.target.kind == TargetKind::Drop ? WalkEnd::Drop
                                                   : WalkEnd::Reject;
      case TargetKind::Log:
        if (d.log_count < kMaxLogs) {
          d.logs[d.log_count++] = here;
        } else if (d.logs_dropped < 255) {
          ++d.logs_dropped;
        }
        ++i;
        break;
      case TargetKind::Return:
        if (depth == 0) return policy();
        --depth;
        cur = stack_[depth].chain;
        i = stack_[depth].next;
        break;
      case TargetKind::Jump:
        stack_[depth++] = Frame{cur, i + 1};
        cur = r.target.chain;
        i = 0;
        break;
      case TargetKind::Goto:
        cur = r.target.chain;
        i = 0;
        break;
      case TargetKind::Notrack:
      case TargetKind::Ct:
        // xt_CT: only the first CT/NOTRACK a packet meets attaches anything;
        // the walk continues either way (XT_CONTINUE).
        if (!tmpl_set) {
          tmpl_set = true;
          if (r.target.kind == TargetKind::Notrack)
            d.tmpl.notrack = true;
          else {
            d.tmpl.helper = r.target.helper;
            d.tmpl.zone = r.target.zone;
          }
        }
        ++i;
        break;
    }
  }
}

Decision RuleEvaluator::process(Engine& engine, std::span<const std::uint8_t> l3, Timestamp now) {
  Decision d;
  Packet pkt;
  if (parse_ip(l3, pkt) != InvalidReason::None) {
    d.ct = engine.track(l3, now, ctrack::Hook::Network);
    engine.discard();
    d.verdict = Verdict::Drop;
    d.by = DecidedBy::Malformed;
    return d;
  }
  View v;
  v.family = pkt.is_v6() ? Family::V6 : Family::V4;
  v.proto = pkt.proto;
  v.len = pkt.len;
  v.now = now;
  v.src = words_of(pkt.src, pkt.is_v6());
  v.dst = words_of(pkt.dst, pkt.is_v6());
  v.fragment = pkt.non_first_fragment();
  if (!v.fragment) {
    const std::uint32_t n = pkt.l4_len();
    const std::uint8_t* l4 = pkt.l4();
    switch (pkt.proto) {
      case kProtoTCP:
        v.tcp = v.ports = n >= 20;
        break;
      case kProtoUDP:
        v.ports = n >= 8;
        break;
      case kProtoUDPLite:
      case 132:  // SCTP
      case 33:   // DCCP
        v.ports = n >= 4;
        break;
      case kProtoICMP:
      case kProtoICMPv6:
        v.icmp = n >= 4;
        break;
      default:
        break;
    }
    if (v.ports) {
      v.sport = load_be16(l4);
      v.dport = load_be16(l4 + 2);
    }
    if (v.tcp) v.tcp_flags = l4[13] & 0x3f;
    if (v.icmp) {
      v.icmp_type = l4[0];
      v.icmp_code = l4[1];
    }
  }
  const Family f = v.family;
  const bool fam = rs_.family_present[static_cast<int>(f)];
  const bool from_local = is_local(f, v.src);
  const bool to_local = is_local(f, v.dst);
  d.path = from_local ? (to_local ? Path::OutputInput : Path::Output)
           : to_local ? Path::Input
                      : Path::Forward;
  const Hook raw_hook = from_local ? Hook::Output : Hook::Prerouting;
  const Hook filter_hook = from_local ? Hook::Output : to_local ? Hook::Input : Hook::Forward;
  v.in_if = from_local ? 0 : route(f, v.src);
  v.out_if = to_local && !from_local ? 0 : route(f, v.dst);

  // raw: before conntrack, the packet has no conntrack (INVALID to -m state).
  if (fam) {
    v.state = kStInvalid;
    const WalkEnd e = walk(f, Table::Raw, raw_hook, v, d);
    if (e != WalkEnd::Accept) {
      d.ct = engine.track(l3, now, from_local ? ctrack::Hook::Local : ctrack::Hook::Network,
                          CtTemplate{true, 0});
      engine.discard();
      d.verdict = e == WalkEnd::Drop ? Verdict::Drop : Verdict::Reject;
      return d;
    }
  }
  d.ct = engine.track(l3, now, from_local ? ctrack::Hook::Local : ctrack::Hook::Network, d.tmpl);
  if (d.ct.dropped) {
    engine.discard();
    d.verdict = Verdict::Drop;
    d.by = DecidedBy::Conntrack;
    return d;
  }
  v.state = state_bit(d.ct);
  v.conn = d.ct.conn;
  v.reply = d.ct.direction == Direction::Reply;
  const RuleRef raw_where = d.where;
  const DecidedBy raw_by = d.by;
  d.by = DecidedBy::NoRules;
  d.where = RuleRef{};
  WalkEnd e = fam ? walk(f, Table::Filter, filter_hook, v, d) : WalkEnd::Accept;
  if (e != WalkEnd::Accept) {
    engine.discard();
    d.verdict = e == WalkEnd::Drop ? Verdict::Drop : Verdict::Reject;
    return d;
  }
  if (!engine.confirm()) {
    d.verdict = Verdict::Drop;
    d.by = DecidedBy::Helper;
    return d;
  }
  if (d.path == Path::OutputInput && fam) {
    // Looped back to ourselves: the confirmed entry rides along into INPUT.
    v.in_if = route(f, v.src);
    v.out_if = 0;
    e = walk(f, Table::Filter, Hook::Input, v, d);
    if (e != WalkEnd::Accept) {
      d.verdict = e == WalkEnd::Drop ? Verdict::Drop : Verdict::Reject;
      return d;
    }
  }
  if (d.by == DecidedBy::NoRules && raw_by != DecidedBy::NoRules &&
      !rs_.tables[static_cast<int>(f)][1].present) {
    d.by = raw_by;
    d.where = raw_where;
  }
  d.verdict = Verdict::Accept;
  return d;
}

}  // namespace ctrack::rules

#include "kdiff/session.h"

#include <arpa/inet.h>
#include <time.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "ctrack/engine.h"
#include "io/pcap_source.h"
#include "kdiff/injector.h"
#include "kdiff/kernel_observer.h"
#include "parse/link_layer.h"
#include "parse/packet.h"
#include "rules/rule_eval.h"
#include "rules/ruleset_parser.h"

namespace ctrack::kdiff {
namespace {

struct Cidr {
  Addr addr;
  bool v6 = false;
  int len = 0;
};

bool parse_cidr(const std::string& text, Cidr& out) {
  auto slash = text.find('/');
  std::string a = text.substr(0, slash);
  out.v6 = a.find(':') != std::string::npos;
  if (inet_pton(out.v6 ? AF_INET6 : AF_INET, a.c_str(), out.addr.b.data()) != 1) return false;
  out.len = out.v6 ? 128 : 32;
  if (slash != std::string::npos) {
    int l = std::atoi(text.c_str() + slash + 1);
    if (l < 0 || l > out.len) return false;
    out.len = l;
  }
  return true;
}

bool in_cidr(const Addr& a, bool v6, const Cidr& c) {
  if (v6 != c.v6) return false;
  for (int bit = 0; bit < c.len; ++bit) {
    const int byte = bit / 8, mask = 0x80 >> (bit % 8);
    if ((a.b[static_cast<std::size_t>(byte)] & mask) != (c.addr.b[static_cast<std::size_t>(byte)] & mask)) return false;
  }
  return true;
}

// "tcp 192.0.2.1:40000 > 198.51.100.2:80 [S] seq=1000 ack=0 len=0", in the
// capture's own addresses.
std::string summarize(const std::vector<std::uint8_t>& l3) {
  Packet p;
  if (parse_ip(l3, p) != InvalidReason::None) return fmt::format("unparsable IP packet ({} bytes)", l3.size());
  const bool v6 = p.is_v6();
  const std::string s = format_addr(p.src, v6), d = format_addr(p.dst, v6);
  const std::uint8_t* l4 = p.l4();
  const std::uint32_t n = p.l4_len();
  if (p.non_first_fragment()) return fmt::format("fragment {} > {} proto {}", s, d, p.proto);
  if (p.proto == kProtoTCP && n >= 20) {
    static const char kLetters[] = "FSRPAUEC";
    std::string f;
    for (int i = 0; i < 8; ++i) {
      if (l4[13] & (1 << i)) f += kLetters[i];
    }
    const std::uint32_t doff = (l4[12] >> 4) * 4u;
    return fmt::format("tcp {}:{} > {}:{} [{}] seq={} ack={} win={} len={}", s, load_be16(l4), d, load_be16(l4 + 2),
                       f, load_be32(l4 + 4), load_be32(l4 + 8), load_be16(l4 + 14), n > doff ? n - doff : 0);
  }
  if ((p.proto == kProtoUDP || p.proto == kProtoUDPLite) && n >= 8) {
    return fmt::format("{} {}:{} > {}:{} len={}", p.proto == kProtoUDP ? "udp" : "udplite", s, load_be16(l4), d,
                       load_be16(l4 + 2), n - 8);
  }
  if ((p.proto == kProtoICMP || p.proto == kProtoICMPv6) && n >= 4) {
    return fmt::format("{} {} > {} type={} code={}", p.proto == kProtoICMP ? "icmp" : "icmpv6", s, d, l4[0], l4[1]);
  }
  return fmt::format("proto {} {} > {} len={}", p.proto, s, d, n);
}

// A capture taken at the sending host may hold packets with TTL 1 (e.g.
// traceroute probes). Our router would expire them before POSTROUTING, so
// their entries would never be confirmed: an artifact of the harness, not
// conntrack behaviour. Both sides get the raised TTL; conntrack ignores it.
void raise_ttl(std::vector<std::uint8_t>& p) {
  const int ver = p.empty() ? 0 : p[0] >> 4;
  if (ver == 6 && p.size() >= 40 && p[7] < 2) {
    p[7] = 64;
  } else if (ver == 4 && p.size() >= 20 && p[8] < 2) {
    // RFC 1624 incremental update of the header checksum (TTL is the high
    // byte of word 4), so a wrong checksum stays wrong.
    const std::uint16_t old_w = static_cast<std::uint16_t>(p[8] << 8 | p[9]);
    p[8] = 64;
    const std::uint16_t new_w = static_cast<std::uint16_t>(p[8] << 8 | p[9]);
    std::uint32_t s = static_cast<std::uint16_t>(~(p[10] << 8 | p[11])) + std::uint32_t{static_cast<std::uint16_t>(~old_w)} + new_w;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    const std::uint16_t ck = static_cast<std::uint16_t>(~s);
    p[10] = static_cast<std::uint8_t>(ck >> 8);
    p[11] = static_cast<std::uint8_t>(ck & 0xff);
  }
}

// Both directions of a flow map to the same key: protocol plus the sorted
// address:port pairs ("" for packets without a usable header).
std::string flow_key(const std::vector<std::uint8_t>& l3, std::string* label) {
  Packet p;
  if (parse_ip(l3, p) != InvalidReason::None) return "";
  const bool v6 = p.is_v6();
  std::uint16_t sp = 0, dp = 0;
  if (!p.non_first_fragment() && p.l4_len() >= 4 && (p.proto == kProtoTCP || p.proto == kProtoUDP)) {
    sp = load_be16(p.l4());
    dp = load_be16(p.l4() + 2);
  }
  std::string a = fmt::format("{}:{}", format_addr(p.src, v6), sp);
  std::string b = fmt::format("{}:{}", format_addr(p.dst, v6), dp);
  if (label != nullptr) *label = fmt::format("proto {} {} <-> {}", p.proto, a, b);
  if (b < a) std::swap(a, b);
  return fmt::format("{} {} {}", p.proto, a, b);
}

void sleep_until(Timestamp t) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(t / kNsPerSec);
  ts.tv_nsec = static_cast<long>(t % kNsPerSec);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) != 0) {
  }
}

}  // namespace

bool parse_helper_option(const std::string& text, RouterSetup::Helper& out, std::string* error) {
  struct Default {
    const char* name;
    const char* proto;
    std::uint16_t port;
  };
  static const Default kDefaults[] = {{"ftp", "tcp", 21}, {"irc", "tcp", 6667}, {"tftp", "udp", 69},
                                      {"amanda", "udp", 10080}, {"sane", "tcp", 6566}, {"sip", "udp", 5060},
                                      {"pptp", "tcp", 1723}, {"snmp", "udp", 161}, {"netbios-ns", "udp", 137}};
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    auto c = text.find(':', start);
    parts.push_back(text.substr(start, c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  const Default* d = nullptr;
  for (const auto& k : kDefaults) {
    if (parts[0] == k.name) d = &k;
  }
  if (parts.size() > 3 || parts[0].empty() || (d == nullptr && parts.size() != 3)) {
    *error = "--helper expects NAME[:PROTO:PORT] (NAME:PROTO:PORT for helpers other than ftp, irc, tftp, amanda), got '" +
             text + "'";
    return false;
  }
  out.name = parts[0];
  out.proto = parts.size() > 1 ? parts[1] : d->proto;
  long port = parts.size() > 2 ? std::strtol(parts[2].c_str(), nullptr, 10) : d->port;
  if ((out.proto != "tcp" && out.proto != "udp") || port <= 0 || port > 65535) {
    *error = "--helper '" + text + "': PROTO must be tcp or udp and PORT 1-65535";
    return false;
  }
  out.port = static_cast<std::uint16_t>(port);
  return true;
}

bool load_capture(const SessionOptions& opt, CaptureData& data, std::string* error) {
  std::vector<Cidr> clients;
  for (const auto& c : opt.client_cidrs) {
    Cidr x;
    if (!parse_cidr(c, x)) {
      *error = "bad --client value: " + c;
      return false;
    }
    clients.push_back(x);
  }
  auto src = PcapSource::open(opt.capture, error);
  if (!src) return false;
  CapturedFrame f;
  std::vector<std::vector<std::uint8_t>> original;
  for (;;) {
    auto r = src->next(f);
    if (r == PcapSource::Next::End) break;
    if (r == PcapSource::Next::Error) {
      *error = src->error();
      return false;
    }
    LinkResult lr = strip_link_layer(src->linktype(), f.data);
    if (lr.reason != InvalidReason::None || lr.l3_offset >= f.data.size()) {
      ++data.skipped;  // ARP, LLDP...: not for conntrack, not injected
      continue;
    }
    const auto l3 = f.data.subspan(lr.l3_offset);
    const int ver = l3[0] >> 4;
    if (ver != 4 && ver != 6) {
      ++data.skipped;
      continue;
    }
    PacketRecord rec;
    rec.index = f.index;
    rec.capture_ts = f.ts;
    rec.summary = summarize(std::vector<std::uint8_t>(l3.begin(), l3.end()));
    {
      Packet pk;
      rec.fragment = parse_ip(std::vector<std::uint8_t>(l3.begin(), l3.end()), pk) == InvalidReason::None && pk.fragment;
    }
    rec.rules = !opt.router.rules_v4.empty() || !opt.router.rules_v6.empty();
    data.recs.push_back(rec);
    original.emplace_back(l3.begin(), l3.end());
  }
  if (original.empty()) {
    *error = opt.capture + ": no IPv4/IPv6 packets";
    return false;
  }
  // Sides, decided on the capture's own addresses. Without --client the host
  // that sent the first packet is the client.
  if (clients.empty()) {
    Cidr c;
    c.v6 = (original[0][0] >> 4) == 6;
    c.len = c.v6 ? 128 : 32;
    c.addr = Addr::from_bytes(original[0].data() + (c.v6 ? 8 : 12), c.v6);
    clients.push_back(c);
  }
  for (std::size_t i = 0; i < original.size(); ++i) {
    const bool v6 = (original[i][0] >> 4) == 6;
    if (original[i].size() < (v6 ? 40u : 20u)) continue;
    Addr s = Addr::from_bytes(original[i].data() + (v6 ? 8 : 12), v6);
    bool client = false;
    for (const auto& c : clients) client = client || in_cidr(s, v6, c);
    data.recs[i].side = client ? Side::Client : Side::Server;
  }
  data.map.build(original);
  data.l3 = original;
  std::set<std::string> bad_flows;
  for (std::size_t i = 0; i < data.l3.size(); ++i) {
    std::string problem;
    if (!data.map.apply(data.l3[i], &problem)) {
      std::string label;
      const std::string key = flow_key(original[i], &label);
      if (bad_flows.insert(key).second) {
        data.unremappable.push_back(fmt::format("flow {} (packet #{}): {}", label, data.recs[i].index, problem));
      }
    }
    raise_ttl(data.l3[i]);
  }
  // Rather than inject a payload that says something else than the capture,
  // the whole flow is left out, on both sides.
  if (!bad_flows.empty()) {
    std::vector<PacketRecord> recs;
    std::vector<std::vector<std::uint8_t>> l3;
    for (std::size_t i = 0; i < data.l3.size(); ++i) {
      if (bad_flows.count(flow_key(original[i], nullptr))) {
        ++data.excluded;
        continue;
      }
      recs.push_back(std::move(data.recs[i]));
      l3.push_back(std::move(data.l3[i]));
    }
    data.recs = std::move(recs);
    data.l3 = std::move(l3);
    if (data.l3.empty()) {
      *error = opt.capture + ": no packet left to inject: " + data.unremappable.front();
      return false;
    }
  }
  if (!opt.notrack_expr.empty()) {
    if (!data.notrack.parse(opt.notrack_expr, error)) return false;
    data.notrack.remap(data.map);
  }
  return true;
}

bool run_kernel(const SessionOptions& opt, Injector& inj, KernelObserver& obs, CaptureData& data,
                std::string* error) {
  CtCounters before, after;
  if (!obs.read_counters(before, error)) return false;
  const Timestamp start = monotonic_now();
  Timestamp schedule = 0;  // planned offset of the current packet from `start`
  for (std::size_t i = 0; i < data.l3.size(); ++i) {
    PacketRecord& rec = data.recs[i];
    if (i > 0) {
      Timestamp gap = rec.capture_ts - data.recs[i - 1].capture_ts;
      schedule += std::clamp<Timestamp>(gap, 0, opt.max_gap);
      sleep_until(start + schedule);
    }
    // Last line of defence for the safety rule: nothing but documentation
    // addresses ever leaves an injector.
    {
      const auto& p = data.l3[i];
      const bool v6 = !p.empty() && (p[0] >> 4) == 6;
      if (p.size() < (v6 ? 40u : 20u) || !is_documentation_addr(Addr::from_bytes(p.data() + (v6 ? 8 : 12), v6), v6) ||
          !is_documentation_addr(Addr::from_bytes(p.data() + (v6 ? 24 : 16), v6), v6)) {
        *error = fmt::format("packet #{}: refusing to inject a packet with non-documentation addresses", rec.index);
        return false;
      }
    }
    const Side other = rec.side == Side::Client ? Side::Server : Side::Client;
    inj.drain(other);
    Timestamp sent = 0;
    if (!inj.send(rec.side, data.l3[i], &sent, error)) {
      *error = fmt::format("packet #{}: {}", rec.index, *error);
      return false;
    }
    rec.sent_at = sent - start;
    // Poll the router's counters until the packet has been counted; a packet
    // the kernel drops before conntrack never is, and times out. A fragment
    // is counted before defragmentation; conntrack sees it only if it
    // completed its datagram, which happens in the same pass through the
    // stack, so a short grace period after the first count settles it.
    const Timestamp deadline = sent + Timestamp{opt.packet_timeout_ms} * 1'000'000;
    Timestamp grace_end = 0;
    for (;;) {
      if (!obs.read_counters(after, error)) return false;
      const Timestamp now = monotonic_now();
      if (after.all > before.all || now > deadline) break;
      if (rec.fragment && after.raw > before.raw) {
        if (grace_end == 0) grace_end = now + 20'000'000;
        if (now > grace_end) break;
      }
      timespec pause{0, 100'000};
      nanosleep(&pause, nullptr);
    }
    KernelVerdict v = verdict_from(before, after);
    // The entry is confirmed at POSTROUTING, after our counters: seeing the
    // packet leave the router on the other side guarantees the table is final.
    // A packet the ruleset drops never arrives; the wait bounds that case.
    bool arrived = false;
    if (v.seen) {
      arrived = inj.wait_arrival(other, 20);
      if (rec.rules) {
        if (!obs.read_counters(after, error)) return false;
        // Passed every filter chain but not (yet) out: only a helper's drop
        // at confirm (after all chains) or a slow machine does that. The
        // arrival, not the counter, is the verdict.
        if (!arrived && after.fwd > before.fwd) arrived = inj.wait_arrival(other, 300);
      }
    }
    rec.kernel.seen = v.seen;
    rec.kernel.held = rec.fragment && !v.seen && after.raw > before.raw;
    rec.kernel.state = v.state;
    rec.kernel.direction = v.direction;
    if (rec.rules) rec.kernel.forwarded = arrived;
    if (!obs.read_table(rec.kernel.table, error)) return false;
    if (!obs.read_expectations(rec.kernel.expects, error)) return false;
    before = after;
  }
  return true;
}

bool run_ctrack(const SessionOptions& opt, CaptureData& data, std::string* error) {
  Config cfg = Config::for_profile(Profile::Linux);
  for (const auto& [k, v] : opt.sysctls) {
    if (!cfg.set(k, v, error)) return false;
  }
  for (const auto& [k, v] : opt.ctrack_only_sysctls) {
    if (!cfg.set(k, v, error)) return false;
  }
  // The same attachments as the router's `ct helper set` rules. A helper
  // ctrack does not have yet is left out on this side only, so the run shows
  // what it misses instead of failing.
  for (const auto& h : opt.router.helpers) {
    if (helper_id(h.name) == 0) {
      const std::string note = "ctrack has no '" + h.name + "' helper: attached on the kernel side only";
      if (std::find(data.notes.begin(), data.notes.end(), note) == data.notes.end()) data.notes.push_back(note);
      continue;
    }
    cfg.helpers.push_back({h.name, h.proto == "tcp" ? kProtoTCP : kProtoUDP, h.port});
  }
  Engine engine(cfg);
  // The ruleset the router got, evaluated by ctrack's rules engine around
  // the same engine. Interfaces as in the router: r0 faces the client side,
  // r1 the server side (every address the capture shows on the client side
  // is routed to r0, everything else to r1).
  rules::Ruleset ruleset;
  std::unique_ptr<rules::RuleEvaluator> evaluator;
  if (!opt.router.rules_v4.empty() || !opt.router.rules_v6.empty()) {
    for (const std::string* f : {&opt.router.rules_v4, &opt.router.rules_v6}) {
      if (f->empty()) continue;
      std::ifstream in(*f);
      std::stringstream text;
      text << in.rdbuf();
      if (!in) {
        *error = "cannot read " + *f;
        return false;
      }
      // ip6tables-restore's input: say so, as ip6tables-save's header would,
      // or a ruleset without IPv6 syntax would be taken for IPv4.
      std::string body = text.str();
      const bool add_header = f == &opt.router.rules_v6 && body.find("ip6tables-save") == std::string::npos;
      if (add_header) body = "# Generated by ip6tables-save\n" + body;
      rules::ParseError perr;
      if (!rules::parse_ruleset(body, *f, ruleset, perr)) {
        if (add_header && perr.line > 0) --perr.line;
        *error = perr.text();
        return false;
      }
    }
    rules::NetModel net;
    net.interfaces = {"r0", "r1"};
    std::set<std::string> routed;
    std::string rerr;
    for (std::size_t i = 0; i < data.l3.size(); ++i) {
      Packet p;
      if (data.recs[i].side != Side::Client || parse_ip(data.l3[i], p) != InvalidReason::None) continue;
      const std::string spec = fmt::format("r0={}/{}", format_addr(p.src, p.is_v6()), p.is_v6() ? 128 : 32);
      if (routed.insert(spec).second && !net.add_iface(spec, rerr)) {
        *error = rerr;
        return false;
      }
    }
    if (!net.add_iface("r1=0.0.0.0/0", rerr) || !net.add_iface("r1=::/0", rerr)) {
      *error = rerr;
      return false;
    }
    evaluator = std::make_unique<rules::RuleEvaluator>(ruleset, std::move(net));
  }
  // Engine time = injection time, shifted so it starts well above zero.
  const Timestamp base = seconds(1000);
  for (std::size_t i = 0; i < data.l3.size(); ++i) {
    PacketRecord& rec = data.recs[i];
    Result r;
    if (evaluator) {
      // A --notrack expression would need a raw-table rule here; the
      // session refuses that combination.
      rules::Decision d = evaluator->process(engine, data.l3[i], base + rec.sent_at);
      r = d.ct;
      rec.ctrack.forwarded = d.verdict == rules::Verdict::Accept;
    } else {
      CtTemplate tmpl;
      tmpl.notrack = !data.notrack.empty() && data.notrack.matches(data.l3[i]);
      r = engine.process(data.l3[i], base + rec.sent_at, Hook::Network, tmpl);
    }
    // Held (or discarded) fragments never reach conntrack, as in the kernel
    // where they are counted before defragmentation only.
    rec.ctrack.held = r.frag == FragStatus::Held || r.frag == FragStatus::Dropped;
    // A helper's drop happens at confirm, after the kernel's state counters:
    // the packet still had its state (and is simply not forwarded).
    rec.ctrack.state = r.dropped && !r.helper_drop ? CtState::Invalid : r.state;
    rec.ctrack.direction = r.direction;
    rec.ctrack.reason = r.reason;
    rec.ctrack.table.clear();
    for (const Conn* c : engine.entries()) {
      KernelEntry e;
      e.orig = c->orig;
      e.reply = c->reply();
      const char* st = engine.state_name(*c);
      e.state = st ? st : "";
      e.unreplied = !c->has(kStatusSeenReply);
      e.assured = c->has(kStatusAssured);
      e.timeout = engine.timeout_left(*c);
      rec.ctrack.table.push_back(e);
    }
    rec.ctrack.expects.clear();
    for (const Expectation& x : engine.expectations()) {
      KernelExpect e;
      e.tuple = x.tuple;
      const char* hn = helper_name(x.helper);
      e.helper = hn ? hn : "";
      for (const auto& [on, name] : {std::pair{x.permanent(), "PERMANENT"}, std::pair{x.inactive(), "INACTIVE"},
                                     std::pair{x.userspace(), "USERSPACE"}}) {
        if (on) e.flags += (e.flags.empty() ? "" : ",") + std::string(name);
      }
      e.timeout = engine.timeout_left(x);
      rec.ctrack.expects.push_back(e);
    }
  }
  return true;
}

}  // namespace ctrack::kdiff

#include "kdiff/diff_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace ctrack::kdiff {
namespace {

std::string proto_name(std::uint8_t p) {
  switch (p) {
    case kProtoTCP:
      return "tcp";
    case kProtoUDP:
      return "udp";
    case kProtoICMP:
      return "icmp";
    case kProtoICMPv6:
      return "icmpv6";
    case kProtoUDPLite:
      return "udplite";
    default:
      return fmt::format("proto-{}", p);
  }
}

std::string tuple_text(const Tuple& t, const AddressMap& map) {
  const bool v6 = t.is_v6();
  std::string s = fmt::format("src={} dst={}", format_addr(map.original(t.src, v6), v6),
                              format_addr(map.original(t.dst, v6), v6));
  if (t.proto == kProtoICMP || t.proto == kProtoICMPv6) {
    s += fmt::format(" type={} code={} id={}", t.icmp_type(), t.icmp_code(), t.src_id);
  } else if (t.proto == kProtoTCP || t.proto == kProtoUDP || t.proto == kProtoUDPLite ||
             t.proto == 33 || t.proto == 132) {
    s += fmt::format(" sport={} dport={}", t.src_id, t.dst_id);
  }
  return s;
}

// Packets the kernel drops in ip_rcv()/ipv6_rcv() never reach conntrack;
// ctrack reports those as INVALID with an L3 reason (codes 1..49).
bool l3_reject(InvalidReason r) {
  const auto c = static_cast<unsigned>(r);
  return c >= 1 && c < 50;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      o += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      o += c;
    }
  }
  return o;
}

std::string json_side(const SideRecord& r, bool kernel, const AddressMap& map) {
  std::string s = "{";
  if (kernel) s += fmt::format("\"seen\":{},", r.seen ? "true" : "false");
  if (r.held) s += "\"held\":true,";
  if (r.forwarded) s += fmt::format("\"verdict\":\"{}\",", *r.forwarded ? "forwarded" : "dropped");
  s += fmt::format("\"state\":{},", r.state ? fmt::format("\"{}\"", to_string(*r.state)) : "null");
  s += fmt::format("\"direction\":{},",
                   r.direction ? fmt::format("\"{}\"", to_string(*r.direction)) : "null");
  if (!kernel && r.reason != InvalidReason::None) {
    s += fmt::format("\"reason\":\"{}\",", reason_name(r.reason));
  }
  s += "\"entries\":[";
  for (std::size_t i = 0; i < r.table.size(); ++i) {
    const auto& e = r.table[i];
    s += fmt::format(
        "{}{{\"proto\":\"{}\",\"state\":\"{}\",\"orig\":\"{}\",\"reply\":\"{}\",\"unreplied\":{},"
        "\"assured\":{},"
        "\"zone\":{},\"timeout\":{}}}",
        i ? "," : "", proto_name(e.orig.proto), e.state, json_escape(tuple_text(e.orig, map)),
        json_escape(tuple_text(e.reply, map)), e.unreplied ? "true" : "false",
        e.assured ? "true" : "false", e.orig.zone, e.timeout);
  }
  s += "],\"expectations\":[";
  for (std::size_t i = 0; i < r.expects.size(); ++i) {
    const auto& e = r.expects[i];
    s += fmt::format(
        "{}{{\"proto\":\"{}\",\"tuple\":\"{}\",\"helper\":\"{}\",\"flags\":\"{}\",\"timeout\":{}}}",
        i ? "," : "", proto_name(e.tuple.proto), json_escape(tuple_text(e.tuple, map)),
        json_escape(e.helper), json_escape(e.flags), e.timeout);
  }
  return s + "]}";
}

}  // namespace

std::string entry_text(const KernelEntry& e, const AddressMap& map) {
  // Built with fmt rather than `" " + str`: GCC 12 at -O3 raises a false -Wrestrict on the latter.
  std::string s = fmt::format("{}{}{} {}", proto_name(e.orig.proto), e.state.empty() ? "" : " ",
                              e.state, tuple_text(e.orig, map));
  if (e.unreplied) s += " [UNREPLIED]";
  if (e.assured) s += " [ASSURED]";
  if (e.orig.zone != 0) s += fmt::format(" zone={}", e.orig.zone);
  s += fmt::format(" timeout={}", e.timeout);
  return s;
}

std::string expect_text(const KernelExpect& e, const AddressMap& map) {
  std::string s = fmt::format("{} {}", proto_name(e.tuple.proto), tuple_text(e.tuple, map));
  if (!e.flags.empty()) s += " " + e.flags;
  if (!e.helper.empty()) s += " helper=" + e.helper;
  s += fmt::format(" timeout={}", e.timeout);
  return s;
}

std::string verdict_text(const SideRecord& r, bool kernel) {
  if (r.held) return "fragment held for reassembly (not seen by conntrack yet)";
  if (kernel && !r.seen) return "not seen by conntrack (dropped before PREROUTING)";
  std::string s = r.state ? std::string(to_string(*r.state)) : "?";
  if (r.direction && r.state != CtState::Invalid && r.state != CtState::Untracked) {
    s += fmt::format(" {}", to_string(*r.direction));
  }
  if (!kernel && r.state == CtState::Invalid && r.reason != InvalidReason::None) {
    s += fmt::format(" ({})", reason_text(r.reason));
  }
  return s;
}

std::vector<Divergence> compare(const PacketRecord& rec, const AddressMap& map) {
  std::vector<Divergence> out;
  auto add = [&](const char* field, std::string k_text, std::string c_text) {
    Divergence d;
    d.index = rec.index;
    d.field = field;
    d.kernel = std::move(k_text);
    d.ctrack = std::move(c_text);
    out.push_back(std::move(d));
  };
  const SideRecord& k = rec.kernel;
  const SideRecord& c = rec.ctrack;
  bool state_ok;
  if (k.held || c.held) {
    // Held fragments have no state; whether each side held it is the check.
    state_ok = true;
    if (k.held != c.held) add("fragment", verdict_text(k, true), verdict_text(c, false));
  } else if (!k.seen) {
    state_ok = c.state == CtState::Invalid && l3_reject(c.reason);
  } else {
    state_ok = k.state == c.state;
  }
  if (!state_ok) add("state", verdict_text(k, true), verdict_text(c, false));
  // Direction only means something for packets attached to an entry.
  if (state_ok && k.seen && !k.held && k.state && *k.state != CtState::Invalid &&
      *k.state != CtState::Untracked && k.direction != c.direction) {
    add("direction", verdict_text(k, true), verdict_text(c, false));
  }
  if (rec.rules && !(k.held && c.held) && k.forwarded != c.forwarded) {
    auto text = [](const std::optional<bool>& f) -> std::string {
      return f ? (*f ? "forwarded" : "dropped") : "no verdict (no rules engine on this side)";
    };
    add("verdict", text(k.forwarded), text(c.forwarded));
  }
  {
    std::vector<bool> eused(c.expects.size(), false);
    for (const auto& ke : k.expects) {
      auto it = std::find_if(c.expects.begin(), c.expects.end(),
                             [&](const KernelExpect& ce) { return ce.tuple == ke.tuple; });
      if (it == c.expects.end()) {
        add("missing-expect", expect_text(ke, map), "(none)");
        continue;
      }
      eused[static_cast<std::size_t>(it - c.expects.begin())] = true;
      if (it->helper != ke.helper || it->flags != ke.flags ||
          std::abs(it->timeout - ke.timeout) > kTimeoutSlack) {
        add("expect", expect_text(ke, map), expect_text(*it, map));
      }
    }
    for (std::size_t i = 0; i < c.expects.size(); ++i) {
      if (!eused[i]) add("extra-expect", "(none)", expect_text(c.expects[i], map));
    }
  }
  std::vector<bool> used(c.table.size(), false);
  for (const auto& ke : k.table) {
    auto it = std::find_if(c.table.begin(), c.table.end(),
                           [&](const KernelEntry& ce) { return ce.orig == ke.orig; });
    if (it == c.table.end()) {
      if (ke.timeout > kPresenceSlack) add("missing-entry", entry_text(ke, map), "(none)");
      continue;
    }
    used[static_cast<std::size_t>(it - c.table.begin())] = true;
    const bool same = it->state == ke.state && it->unreplied == ke.unreplied &&
                      it->assured == ke.assured && it->reply == ke.reply &&
                      std::abs(it->timeout - ke.timeout) <= kTimeoutSlack;
    if (!same) add("entry", entry_text(ke, map), entry_text(*it, map));
  }
  for (std::size_t i = 0; i < c.table.size(); ++i) {
    if (!used[i] && c.table[i].timeout > kPresenceSlack) {
      add("extra-entry", "(none)", entry_text(c.table[i], map));
    }
  }
  return out;
}

bool load_known_divergences(const std::string& path, std::vector<KnownDivergence>& out,
                            std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path;
    return false;
  }
  std::string line;
  int no = 0;
  while (std::getline(in, line)) {
    ++no;
    KnownDivergence k;
    auto hash = line.find('#');
    if (hash != std::string::npos) {
      k.reason = line.substr(hash + 1);
      line = line.substr(0, hash);
    }
    std::istringstream ls(line);
    if (!(ls >> k.capture)) continue;  // blank or comment-only
    if (!(ls >> k.packet >> k.field)) {
      *error = fmt::format("{}:{}: expected `CAPTURE PACKET FIELD  # reason`", path, no);
      return false;
    }
    out.push_back(k);
  }
  return true;
}

void mark_known(std::vector<Divergence>& divs, const std::string& capture_name,
                const std::vector<KnownDivergence>& known) {
  for (auto& d : divs) {
    for (const auto& k : known) {
      if (k.capture != capture_name && k.capture != "*") continue;
      if (k.packet != "*" && k.packet != std::to_string(d.index)) continue;
      if (k.field != "*" && k.field != d.field) continue;
      d.known = true;
      d.known_reason = k.reason;
      break;
    }
  }
}

void print_report(std::FILE* out, const std::vector<PacketRecord>& recs,
                  const std::vector<Divergence>& divs, const AddressMap& map, std::size_t max_shown,
                  bool verbose) {
  std::map<std::uint64_t, const PacketRecord*> by_index;
  for (const auto& r : recs) by_index[r.index] = &r;
  if (verbose) {
    for (const auto& r : recs) {
      fmt::print(out, "#{:<4} {:>8.3f}s {} {}\n      kernel: {}\n      ctrack: {}\n", r.index,
                 static_cast<double>(r.sent_at) / 1e9, r.side == Side::Client ? "C>" : "<S",
                 r.summary, verdict_text(r.kernel, true), verdict_text(r.ctrack, false));
      for (const auto& e : r.kernel.table)
        fmt::print(out, "      kernel entry: {}\n", entry_text(e, map));
      for (const auto& e : r.ctrack.table)
        fmt::print(out, "      ctrack entry: {}\n", entry_text(e, map));
      for (const auto& e : r.kernel.expects)
        fmt::print(out, "      kernel expect: {}\n", expect_text(e, map));
      for (const auto& e : r.ctrack.expects)
        fmt::print(out, "      ctrack expect: {}\n", expect_text(e, map));
      if (r.rules) {
        auto v = [](const std::optional<bool>& f) {
          return f ? (*f ? "forwarded" : "dropped") : "-";
        };
        fmt::print(out, "      verdict: kernel {} / ctrack {}\n", v(r.kernel.forwarded),
                   v(r.ctrack.forwarded));
      }
    }
  }
  std::size_t shown = 0;
  std::uint64_t last_index = 0;
  for (const auto& d : divs) {
    if (d.known) continue;
    if (shown++ == max_shown) {
      fmt::print(out, "... (more divergences not shown; use --json for all)\n");
      break;
    }
    if (d.index != last_index) {
      const PacketRecord* r = by_index[d.index];
      fmt::print(out, "packet #{} ({} side, t={:.3f}s): {}\n", d.index,
                 r->side == Side::Client ? "client" : "server",
                 static_cast<double>(r->sent_at) / 1e9, r->summary);
      last_index = d.index;
    }
    fmt::print(out, "  {} differs:\n    kernel: {}\n    ctrack: {}\n", d.field, d.kernel, d.ctrack);
  }
  for (const auto& d : divs) {
    if (d.known) {
      fmt::print(out, "packet #{}: known divergence in {} ({})\n", d.index, d.field,
                 d.known_reason);
    }
  }
}

bool write_json(const std::string& path, const std::string& capture,
                const std::vector<PacketRecord>& recs, const std::vector<Divergence>& divs,
                const AddressMap& map, std::string* error) {
  std::ofstream o(path);
  if (!o) {
    *error = "cannot write " + path;
    return false;
  }
  o << "{\"capture\":\"" << json_escape(capture) << "\",\"packets\":[\n";
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const auto& r = recs[i];
    o << fmt::format(
        "{{\"index\":{},\"capture_ts_ns\":{},\"sent_ns\":{},\"side\":\"{}\",\"summary\":\"{}\","
        "\"kernel\":{},\"ctrack\":{}}}{}\n",
        r.index, r.capture_ts, r.sent_at, r.side == Side::Client ? "client" : "server",
        json_escape(r.summary), json_side(r.kernel, true, map), json_side(r.ctrack, false, map),
        i + 1 < recs.size() ? "," : "");
  }
  o << "],\"divergences\":[\n";
  for (std::size_t i = 0; i < divs.size(); ++i) {
    const auto& d = divs[i];
    o << fmt::format(
        "{{\"index\":{},\"field\":\"{}\",\"kernel\":\"{}\",\"ctrack\":\"{}\",\"known\":{}}}{}\n",
        d.index, d.field, json_escape(d.kernel), json_escape(d.ctrack), d.known ? "true" : "false",
        i + 1 < divs.size() ? "," : "");
  }
  o << "]}\n";
  return static_cast<bool>(o);
}

}  // namespace ctrack::kdiff

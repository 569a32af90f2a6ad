#include "io/packet_format.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <iterator>

#include "io/addr_text.h"
#include "io/entry_format.h"
#include "io/json_writer.h"

namespace ctrack::io {
namespace {

constexpr std::size_t kTupleWidth = 46;  // fits any two IPv4 endpoints with ports
constexpr std::size_t kFlagsWidth = 6;
constexpr std::size_t kStateWidth = 11;  // "ESTABLISHED"
constexpr std::size_t kDirWidth = 8;     // "original"

void pad_to(std::string& out, std::size_t start, std::size_t width) {
  const std::size_t used = out.size() - start;
  out.append(used < width ? width - used : 1, ' ');
}

bool has_ports(std::uint8_t proto) {
  return proto == kProtoTCP || proto == kProtoUDP || proto == kProtoUDPLite || proto == 33 ||
         proto == 132;
}

void append_endpoint(std::string& out, const Addr& a, bool v6, std::uint16_t port, bool ports) {
  if (ports && v6) out += '[';
  append_addr(out, a, v6);
  if (ports) {
    if (v6) out += ']';
    out += ':';
    const fmt::format_int digits(port);
    out.append(digits.data(), digits.size());
  }
}

void append_packet_tuple(std::string& out, const Tuple& t) {
  const bool ports = has_ports(t.proto);
  append_endpoint(out, t.src, t.is_v6(), t.src_id, ports);
  out += " -> ";
  append_endpoint(out, t.dst, t.is_v6(), t.dst_id, ports);
  if (t.proto == kProtoICMP || t.proto == kProtoICMPv6) {
    fmt::format_to(std::back_inserter(out), FMT_COMPILE(" type={} code={} id={}"), t.icmp_type(),
                   t.icmp_code(), t.src_id);
  }
}

const char* proto_label(std::uint8_t proto) {
  switch (proto) {
    case kProtoTCP: return "tcp";
    case kProtoUDP: return "udp";
    case kProtoICMP: return "icmp";
    case kProtoICMPv6: return "icmpv6";
    case kProtoUDPLite: return "udplite";
    default: return nullptr;
  }
}

}  // namespace

void append_tcp_flags(std::string& out, std::uint8_t flags) {
  static constexpr char kLetters[] = "FSRPAUEC";
  char buf[10];
  std::size_t n = 0;
  buf[n++] = '[';
  for (int bit = 0; bit < 8; ++bit) {
    if (flags & (1u << bit)) buf[n++] = kLetters[bit];
  }
  buf[n++] = ']';
  out.append(buf, n);
}

static void append_fragment_frames(std::string& out, const PacketEvent& ev) {
  for (std::size_t i = 0; i < ev.fragments.size(); ++i) {
    fmt::format_to(std::back_inserter(out), FMT_COMPILE("{}{}"), i == 0 ? "" : ",",
                   ev.fragments[i]);
  }
}

// Held and dropped fragments never reached conntrack: no state to show.
static bool stolen_fragment(const Result& r) {
  return r.frag == FragStatus::Held || r.frag == FragStatus::Dropped;
}

void append_packet_text(std::string& out, const Engine& engine, const PacketEvent& ev, Timestamp t0) {
  const Result& r = *ev.result;
  auto it = std::back_inserter(out);
  const Timestamp rel = ev.ts - t0;
  const Timestamp rel_abs = rel < 0 ? -rel : rel;
  // A compiled format into a local buffer, appended once: this runs for
  // every packet, and parsing the format at run time, then padding through
  // the string's back inserter, was a fifth of the text output's cost.
  char head[64];  // at most 20 + 1 + 1 + 19 + 1 + 6 + 1 characters
  const char* end = fmt::format_to(head, FMT_COMPILE("{:>5} {}{}.{:06} "), ev.index,
                                   rel < 0 ? "-" : "", rel_abs / kNsPerSec,
                                   (rel_abs % kNsPerSec) / 1000);
  out.append(head, static_cast<std::size_t>(end - head));

  // Protocol column, then the tuple column padded for alignment.
  std::size_t start = out.size();
  if (r.has_tuple) {
    if (const char* label = proto_label(r.tuple.proto)) {
      out += label;
    } else {
      fmt::format_to(it, FMT_COMPILE("proto{}"), r.tuple.proto);
    }
  } else {
    out += '-';
  }
  pad_to(out, start, 8);
  start = out.size();
  if (r.has_tuple) {
    append_packet_tuple(out, r.tuple);
  } else {
    out += "(no tuple)";
  }
  pad_to(out, start, kTupleWidth);

  start = out.size();
  if (r.has_tuple && r.tuple.proto == kProtoTCP) append_tcp_flags(out, r.tcp_flags);
  pad_to(out, start, kFlagsWidth);

  start = out.size();
  if (stolen_fragment(r)) {
    out += r.frag == FragStatus::Held ? "HELD" : "DROPPED";
    pad_to(out, start, kStateWidth + 1);
    out += '-';
    pad_to(out, start + kStateWidth + 1, kDirWidth + 1);
    if (r.frag == FragStatus::Held) {
      fmt::format_to(it, FMT_COMPILE("fragment of datagram #{}"), r.datagram);
    } else if (r.datagram != 0) {
      fmt::format_to(it, FMT_COMPILE("fragment: {} (datagram #{})"), reason_text(r.reason),
                     r.datagram);
    } else {
      fmt::format_to(it, FMT_COMPILE("fragment: {}"), reason_text(r.reason));
    }
    out += '\n';
    return;
  }
  out += to_string(r.state);
  pad_to(out, start, kStateWidth + 1);

  const bool has_dir = r.state != CtState::Invalid && r.state != CtState::Untracked;
  start = out.size();
  out += has_dir ? to_string(r.direction) : "-";
  pad_to(out, start, kDirWidth + 1);

  // Not for an ICMP error RELATED to a TCP entry; a RELATED TCP child is TCP.
  const bool icmp_about_tcp = r.state == CtState::Related && r.has_tuple && r.tuple.proto != kProtoTCP;
  if (r.conn != nullptr && r.conn->proto() == kProtoTCP && !icmp_about_tcp) {
    // "BEFORE->AFTER" when the packet moved the state, else just the state.
    const TcpState after = r.conn->l4.tcp.state;
    if (after != r.tcp_before) {
      out += tcp_state_name(r.tcp_before);
      out += "->";
    }
    out += tcp_state_name(after);
  }
  if (r.state == CtState::Invalid) out += reason_text(r.reason);
  if (r.dropped) {
    out += " DROPPED: ";
    if (r.helper_drop && r.conn != nullptr && helper_name(r.conn->helper) != nullptr) {
      fmt::format_to(it, FMT_COMPILE("by helper {}"), helper_name(r.conn->helper));
    } else {
      out += reason_text(r.reason);
    }
  }
  if (r.destroyed) out += " (entry destroyed)";
  if (r.frag == FragStatus::Reassembled) {
    while (!out.empty() && out.back() == ' ') out.pop_back();
    fmt::format_to(it, FMT_COMPILE(" [datagram #{}"), r.datagram);
    if (!ev.fragments.empty()) {
      out += ": frames ";
      append_fragment_frames(out, ev);
    }
    out += ']';
  }
  (void)engine;
  // No trailing blanks from the padding when the last columns are empty.
  while (!out.empty() && out.back() == ' ') out.pop_back();
  out += '\n';
}

void append_packet_json(std::string& out, const Engine& engine, const PacketEvent& ev) {
  const Result& r = *ev.result;
  out += '{';
  fmt::format_to(std::back_inserter(out), FMT_COMPILE("\"index\": {}, "), ev.index);
  append_json_key(out, "ts");
  append_json_seconds(out, ev.ts);
  out += ", ";
  append_json_key(out, "ct_state");
  if (stolen_fragment(r)) {
    out += "null";
  } else {
    append_json_string(out, to_lower(r.state));
  }
  out += ", ";
  append_json_key(out, "ct_direction");
  if (r.state == CtState::Invalid || r.state == CtState::Untracked) {
    out += "null";
  } else {
    append_json_string(out, to_string(r.direction));
  }
  out += ", ";
  append_json_key(out, "reason");
  if (r.reason != InvalidReason::None && r.frag != FragStatus::Held) {
    append_json_string(out, reason_text(r.reason));
  } else {
    out += "null";
  }
  out += ", ";
  append_json_key(out, "entry");
  if (r.conn != nullptr) {
    const EntryInfo info = entry_info(engine, *r.conn);
    append_entry_json(out, info, /*links=*/false);
    // "helper" for helper-bearing entries, "master" for RELATED ones.
    append_entry_links_json(out, info);
  } else {
    out += "null";
  }
  if (r.helper_drop) out += ", \"helper_drop\": true";
  if (r.frag != FragStatus::None) {
    static constexpr const char* kFrag[] = {"none", "held", "reassembled", "dropped"};
    fmt::format_to(std::back_inserter(out), FMT_COMPILE(", \"frag\": \"{}\", \"datagram\": {}"),
                   kFrag[static_cast<int>(r.frag)], r.datagram);
    if (r.frag == FragStatus::Reassembled) {
      out += ", \"fragments\": [";
      for (std::size_t i = 0; i < ev.fragments.size(); ++i) {
        fmt::format_to(std::back_inserter(out), FMT_COMPILE("{}{}"), i == 0 ? "" : ", ",
                       ev.fragments[i]);
      }
      out += ']';
    }
  }
  out += "}\n";
}

}  // namespace ctrack::io

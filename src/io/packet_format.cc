#include "io/packet_format.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <cstring>
#include <iterator>
#include <string_view>

#include "io/addr_text.h"
#include "io/entry_format.h"
#include "io/json_writer.h"

namespace ctrack::io {
namespace {

constexpr std::size_t kTupleWidth = 46;  // fits any two IPv4 endpoints with ports
constexpr std::size_t kFlagsWidth = 6;
constexpr std::size_t kStateWidth = 11;  // "ESTABLISHED"
constexpr std::size_t kDirWidth = 8;     // "original"

bool has_ports(std::uint8_t proto) {
  return proto == kProtoTCP || proto == kProtoUDP || proto == kProtoUDPLite || proto == 33 ||
         proto == 132;
}

// "[SA]": at most 10 characters.
char* write_tcp_flags(char* p, std::uint8_t flags) {
  static constexpr char kLetters[] = "FSRPAUEC";
  *p++ = '[';
  for (int bit = 0; bit < 8; ++bit) {
    if (flags & (1u << bit)) *p++ = kLetters[bit];
  }
  *p++ = ']';
  return p;
}

// The fixed columns of a text line (number, time, protocol, tuple, flags,
// state, direction), written into a local buffer with a cursor and appended
// to the output once. Why by hand: they were some twenty std::string
// appends per packet (each a call, a capacity check and a memmove), with a
// strlen for every C string and a fill call for every padding, together
// about a third of the text replay's time. Their length is bounded (at most
// ~230 characters: two bracketed IPv6 endpoints with ports, or an ICMP
// tuple, and the padded columns), so the buffer needs no checks.
class LineHead {
 public:
  void put(char c) { *p_++ = c; }
  void put(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  template <class Uint>
  void put_uint(Uint v) {
    const fmt::format_int digits(v);
    put(std::string_view(digits.data(), digits.size()));
  }
  void put_addr(const Addr& a, bool v6) { p_ = write_addr(p_, a, v6); }
  void put_tcp_flags(std::uint8_t flags) { p_ = write_tcp_flags(p_, flags); }
  // Pads the column that started at `start` to `width` (at most kMaxPad),
  // with one blank at least. Always stores kMaxPad blanks, a fixed-size
  // copy the compiler inlines, rather than calling memset for a few bytes.
  void pad(std::size_t start, std::size_t width) {
    static constexpr char kBlanks[kMaxPad + 1] = "                                                ";
    static_assert(sizeof kBlanks == kMaxPad + 1 && kBlanks[kMaxPad - 1] == ' ');
    const std::size_t used = size() - start;
    std::memcpy(p_, kBlanks, kMaxPad);
    p_ += used < width ? width - used : 1;
  }
  // `v` right-aligned in `width` (at most kMaxPad) columns.
  void put_uint_right(std::uint64_t v, std::size_t width) {
    const fmt::format_int digits(v);
    const std::size_t start = size();
    if (digits.size() < width) pad(start, width - digits.size());
    put(std::string_view(digits.data(), digits.size()));
  }
  // `v` (< 10^6) as six digits with leading zeros.
  void put_micros(std::uint32_t v) {
    for (int i = 5; i >= 0; --i) {
      p_[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p_ += 6;
  }
  std::size_t size() const { return static_cast<std::size_t>(p_ - buf_); }
  void append_to(std::string& out) const { out.append(buf_, size()); }

  static constexpr std::size_t kMaxPad = 48;

 private:
  char buf_[320 + kMaxPad];
  char* p_ = buf_;
};

static_assert(kTupleWidth + 1 <= LineHead::kMaxPad && kStateWidth + 1 <= LineHead::kMaxPad);

void put_endpoint(LineHead& line, const Addr& a, bool v6, std::uint16_t port, bool ports) {
  if (ports && v6) line.put('[');
  line.put_addr(a, v6);
  if (ports) {
    if (v6) line.put(']');
    line.put(':');
    line.put_uint(port);
  }
}

void put_packet_tuple(LineHead& line, const Tuple& t) {
  const bool ports = has_ports(t.proto);
  put_endpoint(line, t.src, t.is_v6(), t.src_id, ports);
  line.put(" -> ");
  put_endpoint(line, t.dst, t.is_v6(), t.dst_id, ports);
  if (t.proto == kProtoICMP || t.proto == kProtoICMPv6) {
    line.put(" type=");
    line.put_uint(t.icmp_type());
    line.put(" code=");
    line.put_uint(t.icmp_code());
    line.put(" id=");
    line.put_uint(t.src_id);
  }
}

std::string_view proto_label(std::uint8_t proto) {
  switch (proto) {
    case kProtoTCP: return "tcp";
    case kProtoUDP: return "udp";
    case kProtoICMP: return "icmp";
    case kProtoICMPv6: return "icmpv6";
    case kProtoUDPLite: return "udplite";
    default:
      return {};
  }
}

}  // namespace

void append_tcp_flags(std::string& out, std::uint8_t flags) {
  char buf[10];
  out.append(buf, static_cast<std::size_t>(write_tcp_flags(buf, flags) - buf));
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
  LineHead line;
  line.put_uint_right(ev.index, 5);
  line.put(' ');
  if (rel < 0) line.put('-');
  line.put_uint(static_cast<std::uint64_t>(rel_abs / kNsPerSec));
  line.put('.');
  line.put_micros(static_cast<std::uint32_t>((rel_abs % kNsPerSec) / 1000));
  line.put(' ');

  // Protocol column, then the tuple column padded for alignment.
  std::size_t start = line.size();
  if (r.has_tuple) {
    if (const std::string_view label = proto_label(r.tuple.proto); !label.empty()) {
      line.put(label);
    } else {
      line.put("proto");
      line.put_uint(r.tuple.proto);
    }
  } else {
    line.put('-');
  }
  line.pad(start, 8);
  start = line.size();
  if (r.has_tuple) {
    put_packet_tuple(line, r.tuple);
  } else {
    line.put("(no tuple)");
  }
  line.pad(start, kTupleWidth);

  start = line.size();
  if (r.has_tuple && r.tuple.proto == kProtoTCP) line.put_tcp_flags(r.tcp_flags);
  line.pad(start, kFlagsWidth);

  start = line.size();
  if (stolen_fragment(r)) {
    line.put(r.frag == FragStatus::Held ? "HELD" : "DROPPED");
    line.pad(start, kStateWidth + 1);
    line.put('-');
    line.pad(start + kStateWidth + 1, kDirWidth + 1);
    line.append_to(out);
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
  line.put(to_string(r.state));
  line.pad(start, kStateWidth + 1);

  const bool has_dir = r.state != CtState::Invalid && r.state != CtState::Untracked;
  start = line.size();
  line.put(has_dir ? to_string(r.direction) : "-");
  line.pad(start, kDirWidth + 1);
  line.append_to(out);

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
  append_raw(out, "{\"index\": ");
  append_json_uint(out, ev.index);
  append_raw(out, ", \"ts\": ");
  append_json_seconds(out, ev.ts);
  append_raw(out, ", \"ct_state\": ");
  if (stolen_fragment(r)) {
    append_raw(out, "null");
  } else {
    append_json_string(out, to_lower(r.state));
  }
  append_raw(out, ", \"ct_direction\": ");
  if (r.state == CtState::Invalid || r.state == CtState::Untracked) {
    append_raw(out, "null");
  } else {
    append_json_string(out, to_string(r.direction));
  }
  append_raw(out, ", \"reason\": ");
  if (r.reason != InvalidReason::None && r.frag != FragStatus::Held) {
    append_json_string(out, reason_text(r.reason));
  } else {
    append_raw(out, "null");
  }
  append_raw(out, ", \"entry\": ");
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

#include "io/entry_format.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <iterator>

#include "io/addr_text.h"
#include "io/json_writer.h"
#include "proto/l4proto_list.h"

namespace ctrack::io {
namespace {

// True when ctrack has a dedicated tracker for `proto` (otherwise the
// generic tracker handles it and the tuple has no L4 part).
bool has_tracker(std::uint8_t proto) {
#define CTRACK_X(T) \
  if (T::kProto == proto) return true;
  CTRACK_L4PROTOS(CTRACK_X)
#undef CTRACK_X
  return false;
}

enum class L4Kind { Ports, Icmp, None };

L4Kind l4_kind(std::uint8_t proto) {
  if (!has_tracker(proto)) return L4Kind::None;
  switch (proto) {
    case kProtoICMP:
    case kProtoICMPv6:
      return L4Kind::Icmp;
    case kProtoTCP:
    case kProtoUDP:
    case kProtoUDPLite:
    case 33:   // DCCP
    case 132:  // SCTP
      return L4Kind::Ports;
    default:
      return L4Kind::None;
  }
}

// "src=A dst=B sport=P dport=Q " (note the trailing space, as the kernel's
// print_tuple leaves one after every field).
void append_tuple(std::string& out, const Tuple& t, V6Style style) {
  auto it = std::back_inserter(out);
  out += "src=";
  append_addr(out, t.src, t.is_v6(), style);
  out += " dst=";
  append_addr(out, t.dst, t.is_v6(), style);
  out += ' ';
  switch (l4_kind(t.proto)) {
    case L4Kind::Ports:
      fmt::format_to(it, FMT_COMPILE("sport={} dport={} "), t.src_id, t.dst_id);
      break;
    case L4Kind::Icmp:
      fmt::format_to(it, FMT_COMPILE("type={} code={} id={} "), t.icmp_type(), t.icmp_code(),
                     t.src_id);
      break;
    case L4Kind::None:
      break;
  }
}

void append_json_tuple(std::string& out, const Tuple& t) {
  append_raw(out, "{\"src\": \"");
  append_addr(out, t.src, t.is_v6());  // addresses need no escaping
  append_raw(out, "\", \"dst\": \"");
  append_addr(out, t.dst, t.is_v6());
  out += '"';
  switch (l4_kind(t.proto)) {
    case L4Kind::Ports:
      append_raw(out, ", \"sport\": ");
      append_json_uint(out, t.src_id);
      append_raw(out, ", \"dport\": ");
      append_json_uint(out, t.dst_id);
      break;
    case L4Kind::Icmp:
      append_raw(out, ", \"type\": ");
      append_json_uint(out, t.icmp_type());
      append_raw(out, ", \"code\": ");
      append_json_uint(out, t.icmp_code());
      append_raw(out, ", \"id\": ");
      append_json_uint(out, t.src_id);
      break;
    case L4Kind::None:
      break;
  }
  out += '}';
}

}  // namespace

std::optional<TableFormat> parse_table_format(std::string_view name) {
  if (name == "proc") return TableFormat::Proc;
  if (name == "classic") return TableFormat::Classic;
  if (name == "conntrack") return TableFormat::Conntrack;
  if (name == "json") return TableFormat::Json;
  return std::nullopt;
}

EntryInfo entry_info(const Engine& engine, const Conn& c) {
  EntryInfo e{&c, engine.timeout_left(c), engine.state_name(c)};
  if (c.master != kNoConn) e.master = engine.find_id(c.master);
  return e;
}

const char* l4proto_name(std::uint8_t proto) {
  if (!has_tracker(proto)) return "unknown";
  switch (proto) {
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
    case 33:
      return "dccp";
    case 47:
      return "gre";
    case 132:
      return "sctp";
    default:
      return "unknown";
  }
}

void append_entry(std::string& out, TableFormat format, const EntryInfo& e) {
  if (format == TableFormat::Json) {
    append_entry_json(out, e);
    out += '\n';
    return;
  }
  const Conn& c = *e.conn;
  const Tuple& orig = c.orig;
  const Tuple reply = c.reply();
  auto it = std::back_inserter(out);
  const bool v6 = orig.is_v6();
  // /proc prints %pI6 (expanded); conntrack-tools uses inet_ntop; the old
  // ip_conntrack had no IPv6 at all, and its nf_conntrack_ipv6 sibling of
  // the time printed expanded groups, so classic follows /proc.
  const V6Style style = format == TableFormat::Conntrack ? V6Style::Compressed : V6Style::Expanded;

  if (format == TableFormat::Proc) {
    fmt::format_to(it, FMT_COMPILE("{:<8} {} "), v6 ? "ipv6" : "ipv4", orig.family);
  }
  fmt::format_to(it, FMT_COMPILE("{:<8} {} {} "), l4proto_name(orig.proto), orig.proto, e.timeout);
  if (e.state != nullptr) {
    out += e.state;
    out += ' ';
  }
  append_tuple(out, orig, style);
  if (!c.has(kStatusSeenReply)) out += "[UNREPLIED] ";
  append_tuple(out, reply, style);
  if (c.has(kStatusAssured)) out += "[ASSURED] ";
  switch (format) {
    case TableFormat::Proc:
      // use=2: the reader's own reference is counted (§10.1); each live
      // RELATED child holds one more on its master.
      fmt::format_to(it, FMT_COMPILE("mark=0 zone={} use={}\n"), orig.zone, 2 + e.children);
      break;
    case TableFormat::Conntrack:
      // zone= only when non-zero (checked against conntrack v1.4.7). The
      // helper is shown here, never in /proc (§7.3).
      out += "mark=0 ";
      if (orig.zone != 0) fmt::format_to(it, FMT_COMPILE("zone={} "), orig.zone);
      if (const char* h = helper_name(c.helper); h != nullptr) {
        out += "helper=";
        out += h;
        out += ' ';
      }
      fmt::format_to(it, FMT_COMPILE("use={}\n"), 1 + e.children);
      break;
    case TableFormat::Classic:
      // ip_conntrack's "use=%u " leaves a space before the newline.
      out += "use=1 \n";
      break;
    case TableFormat::Json:
      break;
  }
}

void append_entry_links_json(std::string& out, const EntryInfo& e) {
  const Conn& c = *e.conn;
  if (const char* h = helper_name(c.helper); h != nullptr) {
    append_raw(out, ", \"helper\": ");
    append_json_string(out, h);
  }
  if (c.master != kNoConn) {
    append_raw(out, ", \"master\": {\"id\": ");
    append_json_uint(out, c.master);
    if (e.master != nullptr) {
      append_raw(out, ", \"orig\": ");
      append_json_tuple(out, e.master->orig);
    }
    out += '}';
  }
}

void append_entry_json(std::string& out, const EntryInfo& e, bool links) {
  const Conn& c = *e.conn;
  append_raw(out, "{\"proto\": ");
  append_json_string(out, l4proto_name(c.proto()));
  append_raw(out, ", \"protonum\": ");
  append_json_uint(out, c.proto());
  append_raw(out, ", \"state\": ");
  if (e.state != nullptr) {
    append_json_string(out, e.state);
  } else {
    append_raw(out, "null");
  }
  append_raw(out, ", \"timeout\": ");
  append_json_int(out, e.timeout);
  append_raw(out, ", \"orig\": ");
  append_json_tuple(out, c.orig);
  append_raw(out, ", \"reply\": ");
  append_json_tuple(out, c.reply());
  append_raw(out, ", \"unreplied\": ");
  append_json_bool(out, !c.has(kStatusSeenReply));
  append_raw(out, ", \"assured\": ");
  append_json_bool(out, c.has(kStatusAssured));
  append_raw(out, ", \"zone\": ");
  append_json_uint(out, c.orig.zone);
  if (links) append_entry_links_json(out, e);
  out += '}';
}

std::string conntrack_summary_line(std::size_t entries) {
  return fmt::format("conntrack v1.4.7 (conntrack-tools): {} flow entries have been shown.\n",
                     entries);
}

}  // namespace ctrack::io

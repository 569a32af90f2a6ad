#include "io/expect_format.h"

#include <fmt/format.h>

#include <iterator>

#include "io/addr_text.h"
#include "io/entry_format.h"
#include "io/json_writer.h"

namespace ctrack::io {
namespace {

bool has_ports(std::uint8_t proto) {
  return proto == kProtoTCP || proto == kProtoUDP || proto == kProtoUDPLite || proto == 33 ||
         proto == 132;
}

// "src=A dst=B sport=P dport=Q " with the trailing space of the kernel's
// print_tuple.
void append_tuple(std::string& out, const Tuple& t, V6Style style) {
  out += "src=";
  append_addr(out, t.src, t.is_v6(), style);
  out += " dst=";
  append_addr(out, t.dst, t.is_v6(), style);
  out += ' ';
  if (has_ports(t.proto))
    fmt::format_to(std::back_inserter(out), "sport={} dport={} ", t.src_id, t.dst_id);
}

// "PERMANENT", "PERMANENT,INACTIVE", ... (empty when no flag is set).
std::string flag_text(std::uint8_t flags) {
  std::string s;
  const char* names[] = {"PERMANENT", "INACTIVE", "USERSPACE"};
  for (int i = 0; i < 3; ++i) {
    if ((flags & (1u << i)) == 0) continue;
    if (!s.empty()) s += ',';
    s += names[i];
  }
  return s;
}

void append_json_tuple(std::string& out, const Tuple& t) {
  out += '{';
  append_json_key(out, "src");
  out += '"';
  append_addr(out, t.src, t.is_v6());
  out += "\", ";
  append_json_key(out, "dst");
  out += '"';
  append_addr(out, t.dst, t.is_v6());
  out += '"';
  if (has_ports(t.proto)) {
    fmt::format_to(std::back_inserter(out), ", \"sport\": {}, \"dport\": {}", t.src_id, t.dst_id);
  }
  out += '}';
}

}  // namespace

std::optional<ExpectFormat> parse_expect_format(std::string_view name) {
  if (name == "proc") return ExpectFormat::Proc;
  if (name == "conntrack") return ExpectFormat::Conntrack;
  if (name == "json") return ExpectFormat::Json;
  return std::nullopt;
}

void append_expectation(std::string& out, ExpectFormat format, const Expectation& e,
                        std::int64_t timeout) {
  auto it = std::back_inserter(out);
  const char* helper = helper_name(e.helper);
  const std::string flags = flag_text(e.flags);
  switch (format) {
    case ExpectFormat::Proc: {
      // exp_seq_show: "<secs> l3proto = <n> proto=<n> <tuple>[FLAGS][ ]<helper>"
      fmt::format_to(it, "{} l3proto = {} proto={} ", timeout, e.tuple.family, e.tuple.proto);
      append_tuple(out, e.tuple, V6Style::Expanded);
      out += flags;
      if (helper != nullptr) {
        if (e.flags != 0) out += ' ';
        out += helper;
      }
      out += '\n';
      return;
    }
    case ExpectFormat::Conntrack: {
      fmt::format_to(it, "{} proto={} ", timeout, e.tuple.proto);
      append_tuple(out, e.tuple, V6Style::Compressed);
      // The mask as a tuple: source as registered, destination always exact.
      out += "mask-src=";
      append_addr(out, e.mask_src, e.tuple.is_v6(), V6Style::Compressed);
      Addr all;
      for (std::size_t i = 0; i < (e.tuple.is_v6() ? 16u : 4u); ++i) all.b[i] = 0xff;
      out += " mask-dst=";
      append_addr(out, all, e.tuple.is_v6(), V6Style::Compressed);
      out += ' ';
      if (has_ports(e.tuple.proto)) fmt::format_to(it, "sport={} dport=65535 ", e.mask_sport);
      out += "master-src=";
      append_addr(out, e.master.src, e.master.is_v6(), V6Style::Compressed);
      out += " master-dst=";
      append_addr(out, e.master.dst, e.master.is_v6(), V6Style::Compressed);
      out += ' ';
      if (has_ports(e.master.proto))
        fmt::format_to(it, "sport={} dport={} ", e.master.src_id, e.master.dst_id);
      if (!flags.empty()) {
        out += flags;
        out += ' ';
      }
      fmt::format_to(it, "class={}", e.cls);
      if (helper != nullptr) {
        out += " helper=";
        out += helper;
      }
      out += '\n';
      return;
    }
    case ExpectFormat::Json: {
      fmt::format_to(it, "{{\"id\": {}, \"timeout\": {}, ", e.id, timeout);
      append_json_key(out, "proto");
      append_json_string(out, l4proto_name(e.tuple.proto));
      fmt::format_to(it, ", \"protonum\": {}, \"family\": {}, ", e.tuple.proto,
                     e.tuple.is_v6() ? "\"ipv6\"" : "\"ipv4\"");
      append_json_key(out, "tuple");
      append_json_tuple(out, e.tuple);
      fmt::format_to(it, ", \"src_any\": {}, \"sport_any\": {}, ", e.src_any(), e.sport_any());
      append_json_key(out, "master");
      fmt::format_to(it, "{{\"id\": {}, \"orig\": ", e.master_id);
      append_json_tuple(out, e.master);
      out += "}, ";
      append_json_key(out, "helper");
      if (helper != nullptr) {
        append_json_string(out, helper);
      } else {
        out += "null";
      }
      fmt::format_to(it, ", \"class\": {}, \"flags\": [", e.cls);
      bool first = true;
      const char* names[] = {"PERMANENT", "INACTIVE", "USERSPACE"};
      for (int i = 0; i < 3; ++i) {
        if ((e.flags & (1u << i)) == 0) continue;
        if (!first) out += ", ";
        append_json_string(out, names[i]);
        first = false;
      }
      out += "]}\n";
      return;
    }
  }
}

std::string conntrack_expect_summary_line(std::size_t count) {
  return fmt::format("conntrack v1.4.7 (conntrack-tools): {} expectations have been shown.\n",
                     count);
}

}  // namespace ctrack::io

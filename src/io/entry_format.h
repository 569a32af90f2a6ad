// Connection-table entries as text, in the exact formats of the ecosystem:
//   Proc      /proc/net/nf_conntrack   (linux-tcp.md §9.1, linux-core.md §10.1)
//   Classic   /proc/net/ip_conntrack   (2.4-era ip_conntrack; §9.2, §10.2)
//   Conntrack `conntrack -L`            (conntrack-tools 1.4.7; §9.3)
//   Json      one JSON object per entry (ctrack's own, see README)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ctrack/conn.h"
#include "ctrack/engine.h"

namespace ctrack::io {

enum class TableFormat { Proc, Classic, Conntrack, Json };

std::optional<TableFormat> parse_table_format(std::string_view name);

// What a line shows beyond the entry itself: the values the engine computes
// against its clock. Kept separate so that formatting needs no engine.
struct EntryInfo {
  const Conn* conn = nullptr;
  std::int64_t timeout = 0;       // seconds left, rounded down
  const char* state = nullptr;    // protocol state name, nullptr if stateless
  // Live RELATED children holding a reference (a master with one prints
  // use=3 in /proc, use=2 in conntrack -L).
  std::uint32_t children = 0;
  // The master of a RELATED entry, when it is still in the table.
  const Conn* master = nullptr;
};

EntryInfo entry_info(const Engine& engine, const Conn& c);

// The kernel's name of an L4 protocol as /proc prints it: the tracker's name
// when ctrack has a tracker for it, else "unknown" (the generic tracker).
const char* l4proto_name(std::uint8_t proto);

// Appends one line (with its trailing '\n') in a text format. For Json the
// object is followed by '\n' too (JSON Lines).
void append_entry(std::string& out, TableFormat format, const EntryInfo& e);

// Appends the JSON object of an entry (no newline); shared with the
// per-packet JSON output. With `links`, a helper-bearing entry gets
// "helper": NAME and a RELATED one "master": {"id": N, "orig": {...}}.
void append_entry_json(std::string& out, const EntryInfo& e, bool links = true);
// Appends `, "helper": ..., "master": ...` (only the keys that apply).
void append_entry_links_json(std::string& out, const EntryInfo& e);

// The line `conntrack -L` writes on stderr after the entries.
std::string conntrack_summary_line(std::size_t entries);

}  // namespace ctrack::io

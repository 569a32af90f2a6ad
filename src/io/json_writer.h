// Minimal JSON output helpers: string escaping (RFC 8259) and the few value
// kinds our JSON Lines output needs. Appends to a caller-owned buffer so that
// the per-packet path reuses one allocation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ctrack::io {

// Appends `s` as a quoted JSON string: `"`, `\` and control characters are
// escaped; other bytes (UTF-8 included) are copied as they are.
void append_json_string(std::string& out, std::string_view s);

// Appends `"key": ` (the key is escaped too).
void append_json_key(std::string& out, std::string_view key);

// Appends text that is JSON already, such as a constant key with its quotes
// and separators (`, "ts": `): no escape check. The per-packet JSON line has
// some twenty keys; checking each constant for escapes, then copying it
// through a local buffer, was a seventh of the JSON replay's instructions.
inline void append_raw(std::string& out, std::string_view json) { out.append(json); }

// Appends an integer in decimal.
void append_json_uint(std::string& out, std::uint64_t v);
void append_json_int(std::string& out, std::int64_t v);

// Appends `true` or `false`.
inline void append_json_bool(std::string& out, bool b) { out.append(b ? "true" : "false"); }

// Appends a timestamp in nanoseconds as seconds with 6 decimals (9 when the
// sub-microsecond part is non-zero), computed exactly with integers.
void append_json_seconds(std::string& out, std::int64_t ns);

}  // namespace ctrack::io

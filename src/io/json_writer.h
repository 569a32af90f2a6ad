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

// Appends a timestamp in nanoseconds as seconds with 6 decimals (9 when the
// sub-microsecond part is non-zero), computed exactly with integers.
void append_json_seconds(std::string& out, std::int64_t ns);

}  // namespace ctrack::io

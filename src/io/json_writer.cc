#include "io/json_writer.h"

#include <fmt/format.h>

#include <iterator>

namespace ctrack::io {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          // RFC 8259 requires escaping U+0000..U+001F; DEL is escaped too so
          // that the output stays printable.
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void append_json_key(std::string& out, std::string_view key) {
  append_json_string(out, key);
  out += ": ";
}

void append_json_seconds(std::string& out, std::int64_t ns) {
  const bool negative = ns < 0;
  const std::uint64_t mag = negative ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  const std::uint64_t secs = mag / 1'000'000'000u;
  const std::uint64_t frac = mag % 1'000'000'000u;
  auto it = std::back_inserter(out);
  if (negative) out.push_back('-');
  if (frac % 1000 == 0) {
    fmt::format_to(it, "{}.{:06}", secs, frac / 1000);
  } else {
    fmt::format_to(it, "{}.{:09}", secs, frac);
  }
}

}  // namespace ctrack::io

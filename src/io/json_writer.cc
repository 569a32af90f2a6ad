#include "io/json_writer.h"

#include <fmt/format.h>

#include <cstring>

namespace ctrack::io {
namespace {

// RFC 8259 requires escaping '"', '\\' and U+0000..U+001F; DEL is escaped
// too so that the output stays printable.
bool must_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\' || c == 0x7f; }

bool needs_escape(std::string_view s) {
  for (char ch : s) {
    if (must_escape(static_cast<unsigned char>(ch))) return true;
  }
  return false;
}

// The two-character escapes; every other escaped byte is \u00XX.
constexpr struct {
  char c;
  const char* text;
} kShortEscapes[] = {{'"', "\\\""}, {'\\', "\\\\"}, {'\b', "\\b"}, {'\f', "\\f"},
                     {'\n', "\\n"}, {'\r', "\\r"},  {'\t', "\\t"}};

void append_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  // Runs that need no escape are appended whole.
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!must_escape(c)) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    const char* text = nullptr;
    for (const auto& e : kShortEscapes) {
      if (e.c == s[i]) text = e.text;
    }
    if (text != nullptr) {
      out += text;
    } else {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

// Why the fast path: a JSON line has about twenty-five short strings (keys,
// states, names), none needing an escape; quoting them in a local buffer
// and appending once, instead of character by character, took a sixth off
// the per-packet JSON output's instructions (callgrind).
constexpr std::size_t kShort = 60;

// `"s"` followed by `suffix` (at most 2 characters).
void append_quoted(std::string& out, std::string_view s, std::string_view suffix) {
  if (s.size() <= kShort && !needs_escape(s)) {
    char buf[kShort + 4];
    std::size_t n = 0;
    buf[n++] = '"';
    std::memcpy(buf + n, s.data(), s.size());
    n += s.size();
    buf[n++] = '"';
    for (char c : suffix) buf[n++] = c;
    out.append(buf, n);
    return;
  }
  append_escaped(out, s);
  out.append(suffix);
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) { append_quoted(out, s, {}); }

void append_json_key(std::string& out, std::string_view key) { append_quoted(out, key, ": "); }

void append_json_uint(std::string& out, std::uint64_t v) {
  const fmt::format_int digits(v);
  out.append(digits.data(), digits.size());
}

void append_json_int(std::string& out, std::int64_t v) {
  const fmt::format_int digits(v);
  out.append(digits.data(), digits.size());
}

void append_json_seconds(std::string& out, std::int64_t ns) {
  const bool negative = ns < 0;
  const std::uint64_t mag =
      negative ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  const std::uint64_t secs = mag / 1'000'000'000u;
  const std::uint64_t frac = mag % 1'000'000'000u;
  if (negative) out.push_back('-');
  append_json_uint(out, secs);
  // The fraction by hand, digit by digit (fixed width, leading zeros).
  const int width = frac % 1000 == 0 ? 6 : 9;
  std::uint64_t v = width == 6 ? frac / 1000 : frac;
  char text[10];
  text[0] = '.';
  for (int i = width; i >= 1; --i) {
    text[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(text, static_cast<std::size_t>(width) + 1);
}

}  // namespace ctrack::io

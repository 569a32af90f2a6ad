#include "helpers/amanda_parse.h"

#include <algorithm>
#include <string_view>

namespace ctrack::amanda {
namespace {

// First occurrence of `pat` lying entirely inside [from, to), or `to`.
std::size_t find(std::span<const std::uint8_t> p, std::size_t from, std::size_t to,
                 std::string_view pat) {
  if (to > p.size() || from > to || to - from < pat.size()) return to;
  const auto* first = p.data() + from;
  const auto* last = p.data() + to;
  const auto* hit = std::search(first, last, pat.begin(), pat.end(), [](std::uint8_t a, char b) {
    return a == static_cast<std::uint8_t>(b);
  });
  return hit == last ? to : static_cast<std::size_t>(hit - p.data());
}

constexpr struct {
  std::string_view text;
  Keyword keyword;
} kKeys[kKeywords] = {
    {"DATA ", Keyword::Data},
    {"MESG ", Keyword::Mesg},
    {"INDEX ", Keyword::Index},
    {"STATE ", Keyword::State},
};

constexpr std::size_t kMaxDigits = 5;  // sizeof("65535") - 1

}  // namespace

Parsed parse(std::span<const std::uint8_t> payload) {
  Parsed r;
  const std::size_t n = payload.size();
  const std::size_t connect = find(payload, 0, n, "CONNECT ");
  if (connect == n) return r;
  const std::size_t start = connect + 8;
  const std::size_t stop = find(payload, start, n, "\n");
  if (stop == n) return r;
  r.connect = true;
  for (const auto& k : kKeys) {
    const std::size_t at = find(payload, start, stop, k.text);
    if (at == stop) continue;
    const std::size_t off = at + k.text.size();
    const std::size_t end = off + std::min(kMaxDigits, stop - off);
    std::uint32_t v = 0;
    std::size_t i = off;
    while (i < end && payload[i] >= '0' && payload[i] <= '9') {
      v = v * 10 + static_cast<std::uint32_t>(payload[i] - '0');
      ++i;
    }
    const auto port = static_cast<std::uint16_t>(v);
    if (port == 0) break;
    r.ports[r.count++] = Port{k.keyword, port, off, i - off};
  }
  return r;
}

}  // namespace ctrack::amanda

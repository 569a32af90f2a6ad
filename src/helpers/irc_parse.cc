// DCC scanning with the kernel's bounds, expressed as signed indexes into the
// searched window so that "len - 26" stays meaningful for short payloads.
#include "helpers/irc_parse.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace ctrack::irc {
namespace {

using Index = std::ptrdiff_t;

struct Window {
  const std::uint8_t* b;
  Index len;

  bool has(Index at, std::string_view s) const {
    if (at < 0 || at + static_cast<Index>(s.size()) > len) return false;
    return std::memcmp(b + at, s.data(), s.size()) == 0;
  }
  bool has_nocase(Index at, std::string_view s) const {
    if (at < 0 || at + static_cast<Index>(s.size()) > len) return false;
    for (std::size_t k = 0; k < s.size(); ++k) {
      std::uint8_t c = b[at + static_cast<Index>(k)];
      if (c >= 'a' && c <= 'z') c = static_cast<std::uint8_t>(c - 'a' + 'A');
      if (c != static_cast<std::uint8_t>(s[k])) return false;
    }
    return true;
  }
  // simple_strtoul(.., 10): digits only (no sign, no blanks), modulo 2^64.
  std::uint64_t decimal(Index& i) const {
    std::uint64_t v = 0;
    while (i < len && b[i] >= '0' && b[i] <= '9') {
      v = v * 10 + static_cast<std::uint64_t>(b[i] - '0');
      ++i;
    }
    return v;
  }
};

struct Dcc {
  std::uint32_t ip = 0;
  std::uint16_t port = 0;
  Index addr_off = 0;
  Index addr_len = 0;
};

// The arguments after the DCC type, starting at `i`: one word, then
// "<ip> <port>". False when the kernel's parse_dcc() fails.
bool parse_args(const Window& w, Index i, Dcc& out) {
  // The word must end (with a space) early enough to leave room for
  // "AAAAAAAA P\1\n" in the window.
  for (;;) {
    if (i >= w.len) return false;
    const std::uint8_t c = w.b[i++];
    if (c == ' ') break;
    if (i > w.len - 12) return false;
  }
  // A newline must follow, since the kernel's number reader has no bound.
  // (The kernel also looks at the byte just past the window, which is not
  // payload unless the segment was cut to 4095 bytes; it is never taken as a
  // newline here.)
  if (std::find(w.b + i, w.b + w.len, '\n') == w.b + w.len) return false;
  out.addr_off = i;
  out.ip = static_cast<std::uint32_t>(w.decimal(i));
  while (i < w.len && w.b[i] == ' ') ++i;
  out.port = static_cast<std::uint16_t>(w.decimal(i));
  out.addr_len = i - out.addr_off;
  return true;
}

constexpr struct {
  std::string_view text;
  DccType type;
} kTypes[] = {
    {"SEND ", DccType::Send},   {"CHAT ", DccType::Chat},   {"MOVE ", DccType::Move},
    {"TSEND ", DccType::Tsend}, {"SCHAT ", DccType::Schat},
};

}  // namespace

Parsed parse(std::span<const std::uint8_t> payload, const Addr& client, const Addr& client_nat) {
  Parsed r;
  const Window w{payload.data(), static_cast<Index>(std::min(payload.size(), kMaxSearch))};
  Index i = 0;
  while (i < w.len - 10 && (w.b[i] == ' ' || w.b[i] == '\r' || w.b[i] == '\n')) ++i;
  // strlen("PRIVMSG x ") = 10: anything shorter is too short for a DCC anyway.
  if (i < w.len - 10) {
    if (!w.has_nocase(i, "PRIVMSG ")) return r;
    i += 8;
  }
  // 26 = strlen(" :\1DCC SENT t AAAAAAAA P\1\n"), the shortest DCC message.
  while (i < w.len - 26) {
    if (!w.has(i, " :")) {
      ++i;
      continue;
    }
    i += 2;
    if (!w.has(i, "\1DCC ")) return r;
    i += 5;
    for (const auto& t : kTypes) {
      if (!w.has(i, t.text)) continue;
      // The first type that matches decides for the whole segment: an offer
      // that does not parse or fails the check ends the scan (6.18; older
      // kernels went on looking).
      Dcc d;
      if (!parse_args(w, i + static_cast<Index>(t.text.size()), d)) return r;
      const Addr a = Addr::v4(d.ip);
      if ((a != client && a != client_nat) || d.port == 0) {
        r.forged = true;
        return r;
      }
      r.found = true;
      r.type = t.type;
      r.addr = a;
      r.port = d.port;
      r.addr_off = static_cast<std::size_t>(d.addr_off);
      r.addr_len = static_cast<std::size_t>(d.addr_len);
      return r;
    }
  }
  return r;
}

}  // namespace ctrack::irc

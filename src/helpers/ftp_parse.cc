// Written from the behaviour described in linux-core.md §7.4 (and checked
// against the kernel in a namespace); no kernel code is reused.
#include "helpers/ftp_parse.h"

#include <algorithm>

namespace ctrack::ftp {
namespace {

using Bytes = std::span<const std::uint8_t>;

bool is_digit(int c) { return c >= '0' && c <= '9'; }

int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::uint8_t lower(std::uint8_t c) {
  return c >= 'A' && c <= 'Z' ? static_cast<std::uint8_t>(c + ('a' - 'A')) : c;
}

// Case-insensitive comparison of the first `n` bytes (n <= both lengths).
bool prefix_equal(Bytes data, const char* pattern, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (lower(data[i]) != lower(static_cast<std::uint8_t>(pattern[i]))) return false;
  }
  return true;
}

// `count` unsigned numbers separated by `sep`, ended by `term` (or, when
// `term` is 0, by any other character) right after the last number. Numbers
// wrap at 32 bits: the kernel has no range check. Returns the index of the
// terminator (> 0), or 0 on failure, including running out of bytes.
std::size_t read_numbers(Bytes d, std::uint32_t* out, int count, std::uint8_t sep,
                         std::uint8_t term) {
  std::fill(out, out + count, 0u);
  int idx = 0;
  for (std::size_t pos = 0; pos < d.size() && idx < count; ++pos) {
    const std::uint8_t c = d[pos];
    if (is_digit(c)) {
      out[idx] = out[idx] * 10u + static_cast<std::uint32_t>(c - '0');
    } else if (c == sep) {
      ++idx;
    } else {
      return (term == 0 || c == term) && idx == count - 1 ? pos : 0;
    }
  }
  return 0;
}

void set_v4(Addr& a, const std::uint32_t* n) {
  // Bitwise OR of shifted values, so out-of-range numbers bleed into their
  // neighbours exactly as in the kernel (PORT 10,0,1,258,... -> 10.0.1.2).
  const std::uint32_t v = (n[0] << 24) | (n[1] << 16) | (n[2] << 8) | n[3];
  a.b[0] = static_cast<std::uint8_t>(v >> 24);
  a.b[1] = static_cast<std::uint8_t>(v >> 16);
  a.b[2] = static_cast<std::uint8_t>(v >> 8);
  a.b[3] = static_cast<std::uint8_t>(v);
}

// "a,b,c,d,p1,p2" then `term`.
std::size_t numbers_rfc959(Bytes d, std::uint8_t term, Parsed& p) {
  std::uint32_t n[6];
  const std::size_t len = read_numbers(d, n, 6, ',', term);
  if (len == 0) return 0;
  set_v4(p.addr, n);
  p.port = static_cast<std::uint16_t>((n[4] << 8) | n[5]);
  return len;
}

// The 227 reply: numbers start at the first digit anywhere (RFC 1123 4.1.2.6).
std::size_t numbers_227(Bytes d, Parsed& p) {
  std::size_t i = 0;
  while (i < d.size() && !is_digit(d[i])) ++i;
  if (i == d.size()) return 0;
  p.match_off += i;
  return numbers_rfc959(d.subspan(i), 0, p);
}

// Decimal port from `start` up to `delim`, 16-bit wrapping; 0 is refused.
// Returns the index after the delimiter, or 0.
std::size_t read_port(Bytes d, std::size_t start, std::uint8_t delim, std::uint16_t& port) {
  std::uint16_t v = 0;
  for (std::size_t i = start; i < d.size(); ++i) {
    const std::uint8_t c = d[i];
    if (c == delim) {
      if (v == 0) return 0;
      port = v;
      return i + 1;
    }
    if (!is_digit(c)) return 0;
    v = static_cast<std::uint16_t>(v * 10 + (c - '0'));
  }
  return 0;
}

bool valid_delim(std::uint8_t c) { return c >= 33 && c <= 126 && !is_digit(c); }

// EPRT argument: <d>1<d>a.b.c.d<d>port<d> or <d>2<d>ipv6<d>port<d>.
std::size_t numbers_eprt(Bytes d, std::uint8_t family, Parsed& p) {
  if (d.size() <= 3) return 0;
  const std::uint8_t delim = d[0];
  if (!valid_delim(delim) || d[2] != delim) return 0;
  if (d[1] != (family == kFamilyIPv6 ? '2' : '1')) return 0;
  std::size_t len = 0;
  if (d[1] == '1') {
    std::uint32_t n[4];
    len = read_numbers(d.subspan(3), n, 4, '.', delim);
    if (len != 0) set_v4(p.addr, n);
  } else {
    Addr a;
    len = parse_ipv6(d.subspan(3), delim, a);
    if (len != 0) p.addr = a;
  }
  if (len == 0) return 0;
  return read_port(d, 3 + len + 1, delim, p.port);
}

// 229 reply argument after '(': <d><d><d>port<d>.
std::size_t numbers_229(Bytes d, Parsed& p) {
  if (d.size() <= 3) return 0;
  const std::uint8_t delim = d[0];
  if (!valid_delim(delim) || d[1] != delim || d[2] != delim) return 0;
  return read_port(d, 3, delim, p.port);
}

struct Pattern {
  const char* text;
  std::size_t len;
  std::uint8_t skip;  // skip up to and past this character first (0: no skip)
  Command command;
};

constexpr Pattern kOriginal[] = {{"PORT", 4, ' ', Command::Port}, {"EPRT", 4, ' ', Command::Eprt}};
constexpr Pattern kReply[] = {{"227 ", 4, 0, Command::Pasv227}, {"229 ", 4, '(', Command::Epsv229}};

Outcome try_pattern(Bytes d, const Pattern& pat, std::uint8_t family, Parsed& p) {
  if (d.size() <= pat.len) {
    // A segment that is only a prefix of the pattern may be a command cut in
    // two: the kernel refuses to let it through unparsed.
    return prefix_equal(d, pat.text, d.size()) ? Outcome::Partial : Outcome::NoMatch;
  }
  if (!prefix_equal(d, pat.text, pat.len)) return Outcome::NoMatch;
  std::size_t i = pat.len;
  if (pat.skip != 0) {
    while (d[i] != pat.skip) {
      if (i == d.size() - 1) return Outcome::Partial;
      ++i;
    }
    ++i;
  }
  p.command = pat.command;
  p.match_off = i;
  const Bytes rest = d.subspan(i);
  std::size_t len = 0;
  switch (pat.command) {
    case Command::Port:
      len = numbers_rfc959(rest, '\r', p);
      break;
    case Command::Eprt:
      len = numbers_eprt(rest, family, p);
      break;
    case Command::Pasv227:
      len = numbers_227(rest, p);
      break;
    case Command::Epsv229:
      len = numbers_229(rest, p);
      break;
    case Command::None:
      break;
  }
  if (len == 0) return Outcome::Partial;
  p.match_len = len;
  return Outcome::Match;
}

}  // namespace

Parsed parse(std::span<const std::uint8_t> payload, Direction dir, std::uint8_t family,
             const Addr& own_addr) {
  const auto& patterns = dir == Direction::Original ? kOriginal : kReply;
  for (const Pattern& pat : patterns) {
    Parsed p;
    p.addr = own_addr;
    p.outcome = try_pattern(payload, pat, family, p);
    if (p.outcome != Outcome::NoMatch) {
      p.command = pat.command;
      return p;
    }
  }
  return Parsed{};
}

std::size_t parse_ipv6(std::span<const std::uint8_t> text, std::uint8_t delim, Addr& out) {
  const std::size_t n = std::min<std::size_t>(text.size(), 0xffff);
  auto at = [&](std::size_t i) -> int { return i < n ? text[i] : -1; };
  std::uint16_t groups[8] = {};
  int ngroups = 0;
  int gap = -1;  // number of groups before "::"
  std::size_t i = 0;
  std::size_t end = 0;

  if (at(0) == ':') {
    if (at(1) != ':') return 0;
    gap = 0;
    i = 2;
  }
  for (;;) {
    if (gap == ngroups && at(i) == delim && i > 0 && at(i - 1) == ':') {
      end = i;  // address ends with "::"
      break;
    }
    const std::size_t token = i;
    std::uint32_t v = 0;
    int digits = 0;
    for (int h; (h = hex_value(at(i))) >= 0; ++i) {
      // Leading zeros may run on; a fifth significant digit may not.
      if (digits > 0 && v >= 0x1000) return 0;
      v = v * 16 + static_cast<std::uint32_t>(h);
      ++digits;
    }
    if (at(i) == '.') {
      // Trailing dotted IPv4: only where exactly the last 4 bytes remain, or
      // after "::" where they still fit next to at least one zero group.
      const int used = ngroups * 2 + (gap >= 0 ? 2 : 0);
      if (gap >= 0 ? used + 4 > 16 : used + 4 != 16) return 0;
      std::size_t j = token;
      std::uint8_t q[4];
      for (int part = 0; part < 4; ++part) {
        std::uint32_t x = 0;
        int nd = 0;
        while (is_digit(at(j))) {
          x = x * 10 + static_cast<std::uint32_t>(at(j) - '0');
          if (x > 255) return 0;
          ++nd;
          ++j;
        }
        if (nd == 0) return 0;
        q[part] = static_cast<std::uint8_t>(x);
        if (part < 3) {
          if (at(j) != '.') return 0;
          ++j;
        } else if (at(j) != delim && at(j) != ':') {
          return 0;
        }
      }
      groups[ngroups++] = static_cast<std::uint16_t>(q[0] << 8 | q[1]);
      groups[ngroups++] = static_cast<std::uint16_t>(q[2] << 8 | q[3]);
      end = j;
      break;
    }
    // "::" stands for at least one zero group: 7 explicit groups at most.
    if (digits == 0 || ngroups == (gap >= 0 ? 7 : 8)) return 0;
    groups[ngroups++] = static_cast<std::uint16_t>(v);
    if (at(i) == delim) {
      if (gap < 0 && ngroups != 8) return 0;
      end = i;
      break;
    }
    if (at(i) != ':' || ngroups == 8) return 0;
    ++i;
    if (at(i) == ':') {
      if (gap >= 0) return 0;
      gap = ngroups;
      ++i;
    }
  }
  if (end == 0) return 0;
  std::uint16_t full[8] = {};
  if (gap < 0) {
    std::copy(groups, groups + 8, full);
  } else {
    std::copy(groups, groups + gap, full);
    const int tail = ngroups - gap;
    std::copy(groups + gap, groups + ngroups, full + (8 - tail));
  }
  for (int g = 0; g < 8; ++g) {
    out.b[2 * g] = static_cast<std::uint8_t>(full[g] >> 8);
    out.b[2 * g + 1] = static_cast<std::uint8_t>(full[g]);
  }
  return end;
}

}  // namespace ctrack::ftp

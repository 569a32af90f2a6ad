#include "kdiff/payload_remap.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>

namespace ctrack::kdiff {
namespace {

bool starts_with_nocase(std::span<const std::uint8_t> p, std::size_t at, const char* pat) {
  const std::size_t n = std::strlen(pat);
  if (at + n > p.size()) return false;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::toupper(p[at + i]) != std::toupper(static_cast<unsigned char>(pat[i]))) return false;
  }
  return true;
}

bool is_digit(std::uint8_t c) { return c >= '0' && c <= '9'; }

// Reads `a,b,c,d,` at `at`: four numbers 0..255 separated by commas and
// followed by a comma (the port follows). Fills the span of the four.
bool read_comma_addr(std::span<const std::uint8_t> p, std::size_t at, PayloadAddr& out) {
  std::uint8_t v[4];
  std::size_t i = at;
  for (int k = 0; k < 4; ++k) {
    if (i >= p.size() || !is_digit(p[i])) return false;
    unsigned n = 0;
    while (i < p.size() && is_digit(p[i])) {
      n = n * 10 + (p[i] - '0');
      if (n > 255) return false;  // the kernel ORs oversized numbers: leave those alone
      ++i;
    }
    v[k] = static_cast<std::uint8_t>(n);
    if (k < 3 && (i >= p.size() || p[i] != ',')) return false;
    if (k == 3) break;
    ++i;
  }
  if (i >= p.size() || p[i] != ',') return false;
  out.off = at;
  out.len = i - at;
  out.v6 = false;
  out.addr = Addr::v4(v[0], v[1], v[2], v[3]);
  out.form = PayloadAddrForm::Comma;
  return true;
}

void scan_ftp_line(std::span<const std::uint8_t> p, std::size_t at, std::size_t end,
                   std::vector<PayloadAddr>& out) {
  PayloadAddr a;
  if (starts_with_nocase(p, at, "PORT")) {
    std::size_t i = at + 4;
    while (i < end && p[i] != ' ') ++i;
    if (i < end && read_comma_addr(p.first(end), i + 1, a)) {
      a.what = "FTP PORT";
      out.push_back(a);
    }
  } else if (starts_with_nocase(p, at, "227 ")) {
    std::size_t i = at + 4;
    while (i < end && !is_digit(p[i])) ++i;
    if (i < end && read_comma_addr(p.first(end), i, a)) {
      a.what = "FTP 227";
      out.push_back(a);
    }
  } else if (starts_with_nocase(p, at, "EPRT")) {
    std::size_t i = at + 4;
    while (i < end && p[i] != ' ') ++i;
    // ` <d><proto><d><addr><d>`
    if (i + 4 >= end) return;
    const std::uint8_t d = p[i + 1];
    const std::uint8_t proto = p[i + 2];
    if (p[i + 3] != d || (proto != '1' && proto != '2')) return;
    const std::size_t s = i + 4;
    std::size_t e = s;
    while (e < end && p[e] != d) ++e;
    if (e >= end || e == s || e - s > 45) return;
    const std::string text(p.begin() + static_cast<std::ptrdiff_t>(s),
                           p.begin() + static_cast<std::ptrdiff_t>(e));
    a.v6 = proto == '2';
    if (inet_pton(a.v6 ? AF_INET6 : AF_INET, text.c_str(), a.addr.b.data()) != 1) return;
    a.off = s;
    a.len = e - s;
    a.form = a.v6 ? PayloadAddrForm::V6Text : PayloadAddrForm::Dotted;
    a.what = "FTP EPRT";
    out.push_back(a);
  }
}

void scan_dcc(std::span<const std::uint8_t> p, std::vector<PayloadAddr>& out) {
  static const char kDcc[] = "\1DCC ";
  for (std::size_t at = 0; at + 5 <= p.size(); ++at) {
    if (std::memcmp(p.data() + at, kDcc, 5) != 0) continue;
    std::size_t i = at + 5;
    bool known = false;
    for (const char* t : {"SEND ", "CHAT ", "MOVE ", "TSEND ", "SCHAT "}) {
      const std::size_t n = std::strlen(t);
      if (i + n <= p.size() && std::memcmp(p.data() + i, t, n) == 0) {
        i += n;
        known = true;
        break;
      }
    }
    if (!known) continue;                     // RESUME / ACCEPT carry no address
    while (i < p.size() && p[i] != ' ') ++i;  // the file name / "chat"
    while (i < p.size() && p[i] == ' ') ++i;
    const std::size_t s = i;
    std::uint64_t v = 0;
    while (i < p.size() && is_digit(p[i]) && i - s < 11) v = v * 10 + (p[i++] - '0');
    if (i == s || i - s > 10 || v > 0xffffffffULL || i >= p.size() || p[i] != ' ') continue;
    PayloadAddr a;
    a.off = s;
    a.len = i - s;
    a.addr = Addr::v4(static_cast<std::uint32_t>(v));
    a.form = PayloadAddrForm::Decimal;
    a.what = "IRC DCC";
    out.push_back(a);
  }
}

std::string pad_left(std::string s, std::size_t len) {
  if (s.size() > len) return "";
  return std::string(len - s.size(), '0') + s;
}

// IPv6 text of exactly `len` characters: picks which zero run (if any) is
// written as `::`, then widens groups with leading zeros.
std::string v6_text(const Addr& a, std::size_t len) {
  std::uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<std::uint16_t>(a.b[2 * i] << 8 | a.b[2 * i + 1]);
  auto digits = [](std::uint16_t v) -> std::size_t {
    return v >= 0x1000 ? 4 : v >= 0x100 ? 3 : v >= 0x10 ? 2 : 1;
  };
  // Candidate runs [rs, re): re == rs means no compression.
  for (int rs = 0; rs <= 8; ++rs) {
    for (int re = rs; re <= 8; ++re) {
      if (re > rs) {
        bool zero = true;
        for (int k = rs; k < re; ++k) zero = zero && g[k] == 0;
        if (!zero) break;
      } else if (rs > 0) {
        continue;  // "no compression" is tried once
      }
      const bool comp = re > rs;
      std::size_t base = 0, cap = 0, shown_left = 0, shown_right = 0;
      for (int k = 0; k < 8; ++k) {
        if (comp && k >= rs && k < re) continue;
        base += digits(g[k]);
        cap += 4 - digits(g[k]);
        (k < rs || !comp ? shown_left : shown_right)++;
      }
      if (comp) {
        base += 2 + (shown_left ? shown_left - 1 : 0) + (shown_right ? shown_right - 1 : 0);
      } else {
        base += 7;
      }
      if (len < base || len > base + cap) continue;
      std::size_t extra = len - base;
      std::string out;
      char buf[8];
      for (int k = 0; k < 8; ++k) {
        if (comp && k == rs) {
          out += "::";
          k = re - 1;
          continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        std::snprintf(buf, sizeof buf, "%x", g[k]);
        std::size_t w = std::strlen(buf);
        const std::size_t add = std::min<std::size_t>(4 - w, extra);
        extra -= add;
        out += std::string(add, '0') + buf;
      }
      if (out.size() == len) return out;
    }
  }
  return "";
}

std::string natural_text(const Addr& a, bool v6, PayloadAddrForm form) {
  char buf[64];
  switch (form) {
    case PayloadAddrForm::Comma:
      std::snprintf(buf, sizeof buf, "%u,%u,%u,%u", a.b[0], a.b[1], a.b[2], a.b[3]);
      return buf;
    case PayloadAddrForm::Dotted:
      std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a.b[0], a.b[1], a.b[2], a.b[3]);
      return buf;
    case PayloadAddrForm::Decimal:
      std::snprintf(buf, sizeof buf, "%u",
                    static_cast<unsigned>(a.b[0]) << 24 | static_cast<unsigned>(a.b[1]) << 16 |
                        static_cast<unsigned>(a.b[2]) << 8 | a.b[3]);
      return buf;
    case PayloadAddrForm::V6Text:
      return v6 ? format_addr(a, true) : "";
  }
  return "";
}

}  // namespace

std::vector<PayloadAddr> find_payload_addrs(std::span<const std::uint8_t> payload) {
  std::vector<PayloadAddr> out;
  if (payload.empty()) return out;
  for (std::size_t at = 0; at < payload.size();) {
    std::size_t end = at;
    while (end < payload.size() && payload[end] != '\n') ++end;
    scan_ftp_line(payload, at, end, out);
    at = end + 1;
  }
  scan_dcc(payload, out);
  return out;
}

std::size_t payload_addr_min_len(const Addr& a, bool v6, PayloadAddrForm form) {
  return natural_text(a, v6, form).size();
}

std::string payload_addr_text(const Addr& a, bool v6, PayloadAddrForm form, std::size_t len) {
  switch (form) {
    case PayloadAddrForm::Decimal:
      return pad_left(natural_text(a, v6, form), len);
    case PayloadAddrForm::Comma:
    case PayloadAddrForm::Dotted: {
      // Pad octets left to right, at most to three digits each.
      const char sep = form == PayloadAddrForm::Comma ? ',' : '.';
      std::string parts[4];
      std::size_t total = 3;
      for (int k = 0; k < 4; ++k) {
        parts[k] = std::to_string(a.b[static_cast<std::size_t>(k)]);
        total += parts[k].size();
      }
      if (total > len) return "";
      std::size_t extra = len - total;
      std::string out;
      for (int k = 0; k < 4; ++k) {
        const std::size_t add = std::min<std::size_t>(3 - parts[k].size(), extra);
        extra -= add;
        if (k) out += sep;
        out += std::string(add, '0') + parts[k];
      }
      return extra == 0 ? out : "";
    }
    case PayloadAddrForm::V6Text:
      return v6 ? v6_text(a, len) : "";
  }
  return "";
}

}  // namespace ctrack::kdiff

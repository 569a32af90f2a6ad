// Profiles, table sizing rules and the sysctl-name interface of Config.
#include "ctrack/config.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace ctrack {
namespace {

std::uint64_t physical_memory() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 1ull << 30;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}

constexpr std::uint64_t kGiB = 1ull << 30;

// Linux >= 5.15 (nf_conntrack_init_start): RAM / 16 KiB / sizeof(hlist_head),
// 262144 above 4 GiB, 65536 above 1 GiB, at least 1024, rounded up to a page
// of list heads (512); nf_conntrack_max = buckets.
std::uint32_t linux_buckets(std::uint64_t ram) {
  std::uint64_t b = ram / 16384 / 8;
  if (ram > 4 * kGiB) {
    b = 262144;
  } else if (ram > kGiB) {
    b = 65536;
  }
  b = std::max<std::uint64_t>(b, 1024);
  b = (b + 511) / 512 * 512;
  return static_cast<std::uint32_t>(b);
}

// 2.4 ip_conntrack: RAM / 16 KiB / sizeof(struct list_head) (8 on i386),
// 8192 above 1 GiB, at least 16; ip_conntrack_max = 8 * buckets
// (128 MB -> 1024 buckets / 8192 entries).
std::uint32_t classic_buckets(std::uint64_t ram) {
  std::uint64_t b = ram / 16384 / 8;
  if (ram > kGiB) b = 8192;
  b = std::max<std::uint64_t>(b, 16);
  return static_cast<std::uint32_t>(b);
}

enum class Kind { U32, Bool };

struct Tunable {
  const char* modern;   // without "net.netfilter."
  const char* classic;  // without "net.ipv4.netfilter.", or nullptr
  Kind kind;
  std::uint32_t Config::*u32;
  bool Config::*flag;
};

// Nested members (tcp timeouts) are reached through accessors below.
struct TcpTimeoutTunable {
  const char* modern;
  const char* classic;
  std::uint32_t TcpTimeouts::*field;
};

constexpr Tunable kTunables[] = {
    {"nf_conntrack_checksum", nullptr, Kind::Bool, nullptr, &Config::checksum},
    {"nf_conntrack_tcp_loose", "ip_conntrack_tcp_loose", Kind::Bool, nullptr, &Config::tcp_loose},
    {"nf_conntrack_tcp_be_liberal", "ip_conntrack_tcp_be_liberal", Kind::Bool, nullptr,
     &Config::tcp_be_liberal},
    {"nf_conntrack_tcp_ignore_invalid_rst", nullptr, Kind::Bool, nullptr,
     &Config::tcp_ignore_invalid_rst},
    {"nf_conntrack_tcp_max_retrans", "ip_conntrack_tcp_max_retrans", Kind::U32,
     &Config::tcp_max_retrans, nullptr},
    {"nf_conntrack_udp_timeout", "ip_conntrack_udp_timeout", Kind::U32, &Config::udp_timeout,
     nullptr},
    {"nf_conntrack_udp_timeout_stream", "ip_conntrack_udp_timeout_stream", Kind::U32,
     &Config::udp_timeout_stream, nullptr},
    {"nf_conntrack_icmp_timeout", "ip_conntrack_icmp_timeout", Kind::U32, &Config::icmp_timeout,
     nullptr},
    {"nf_conntrack_icmpv6_timeout", nullptr, Kind::U32, &Config::icmpv6_timeout, nullptr},
    {"nf_conntrack_generic_timeout", "ip_conntrack_generic_timeout", Kind::U32,
     &Config::generic_timeout, nullptr},
    {"nf_conntrack_max", "ip_conntrack_max", Kind::U32, &Config::max, nullptr},
    {"nf_conntrack_buckets", "ip_conntrack_buckets", Kind::U32, &Config::buckets, nullptr},
    {"nf_conntrack_expect_max", nullptr, Kind::U32, &Config::expect_max, nullptr},
    // Defragmentation; the ipfrag_* ones live under net.ipv4 (see names()).
    {"ipfrag_time", nullptr, Kind::U32, &Config::ipfrag_time, nullptr},
    {"ipfrag_high_thresh", nullptr, Kind::U32, &Config::ipfrag_high_thresh, nullptr},
    {"ipfrag_low_thresh", nullptr, Kind::U32, &Config::ipfrag_low_thresh, nullptr},
    {"nf_conntrack_frag6_timeout", nullptr, Kind::U32, &Config::frag6_timeout, nullptr},
    {"nf_conntrack_frag6_high_thresh", nullptr, Kind::U32, &Config::frag6_high_thresh, nullptr},
    {"nf_conntrack_frag6_low_thresh", nullptr, Kind::U32, &Config::frag6_low_thresh, nullptr},
    // Helper module parameters (names with a '.': MODULE.PARAM, as on the
    // kernel command line for built-in helpers; see is_module_parameter()).
    {"nf_conntrack_ftp.loose", "ip_conntrack_ftp.loose", Kind::Bool, nullptr, &Config::ftp_loose},
    {"nf_conntrack_irc.max_dcc_channels", "ip_conntrack_irc.max_dcc_channels", Kind::U32,
     &Config::irc_max_dcc_channels, nullptr},
    {"nf_conntrack_irc.dcc_timeout", "ip_conntrack_irc.dcc_timeout", Kind::U32,
     &Config::irc_dcc_timeout, nullptr},
    {"nf_conntrack_amanda.master_timeout", "ip_conntrack_amanda.master_timeout", Kind::U32,
     &Config::amanda_master_timeout, nullptr},
};

constexpr TcpTimeoutTunable kTcpTimeouts[] = {
    {"nf_conntrack_tcp_timeout_syn_sent", "ip_conntrack_tcp_timeout_syn_sent",
     &TcpTimeouts::syn_sent},
    {"nf_conntrack_tcp_timeout_syn_recv", "ip_conntrack_tcp_timeout_syn_recv",
     &TcpTimeouts::syn_recv},
    {"nf_conntrack_tcp_timeout_established", "ip_conntrack_tcp_timeout_established",
     &TcpTimeouts::established},
    {"nf_conntrack_tcp_timeout_fin_wait", "ip_conntrack_tcp_timeout_fin_wait",
     &TcpTimeouts::fin_wait},
    {"nf_conntrack_tcp_timeout_close_wait", "ip_conntrack_tcp_timeout_close_wait",
     &TcpTimeouts::close_wait},
    {"nf_conntrack_tcp_timeout_last_ack", "ip_conntrack_tcp_timeout_last_ack",
     &TcpTimeouts::last_ack},
    {"nf_conntrack_tcp_timeout_time_wait", "ip_conntrack_tcp_timeout_time_wait",
     &TcpTimeouts::time_wait},
    {"nf_conntrack_tcp_timeout_close", "ip_conntrack_tcp_timeout_close", &TcpTimeouts::close},
    // Not a kernel sysctl (the kernel sets it only through a cttimeout
    // policy); exposed under the name the pattern suggests.
    {"nf_conntrack_tcp_timeout_syn_sent2", nullptr, &TcpTimeouts::syn_sent2},
    {"nf_conntrack_tcp_timeout_max_retrans", "ip_conntrack_tcp_timeout_max_retrans",
     &TcpTimeouts::max_retrans},
    {"nf_conntrack_tcp_timeout_unacknowledged", nullptr, &TcpTimeouts::unacknowledged},
};

// Strips the known prefixes and normalises '/' to '.'.
std::string normalise(std::string_view name) {
  std::string n(name);
  std::replace(n.begin(), n.end(), '/', '.');
  for (std::string_view prefix : {".proc.sys.", "proc.sys."}) {
    if (n.rfind(prefix, 0) == 0) n.erase(0, prefix.size());
  }
  // /sys/module/MODULE/parameters/PARAM -> MODULE.PARAM
  for (std::string_view prefix : {".sys.module.", "sys.module."}) {
    if (n.rfind(prefix, 0) == 0) {
      n.erase(0, prefix.size());
      if (auto p = n.find(".parameters."); p != std::string::npos) n.erase(p, 11);
      return n;
    }
  }
  for (std::string_view prefix :
       {"net.netfilter.", "net.ipv4.netfilter.", "net.ipv6.netfilter.", "net.ipv4."}) {
    if (n.rfind(prefix, 0) == 0) {
      n.erase(0, prefix.size());
      break;
    }
  }
  return n;
}

bool parse_u32(std::string_view v, std::uint32_t& out) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r'))
    v.remove_suffix(1);
  if (v.empty()) return false;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size();
}

bool matches(const char* modern, const char* classic, const std::string& n) {
  return n == modern || (classic != nullptr && n == classic);
}

}  // namespace

Config Config::for_profile_with_memory(Profile p, std::uint64_t ram,
                                       std::optional<std::uint32_t> hashsize) {
  Config c;
  c.profile = p;
  if (p == Profile::Classic) {
    // The iptables tutorial's "Internal states" table (2.4 ip_conntrack).
    c.tcp.syn_sent = 120;
    c.tcp.syn_recv = 60;
    c.tcp.established = 432000;
    c.tcp.fin_wait = 120;
    c.tcp.close_wait = 12 * 3600;
    c.tcp.last_ack = 30;
    c.tcp.time_wait = 120;
    c.tcp.close = 10;
    c.tcp.syn_sent2 = 120;
    c.udp_timeout = 30;
    c.udp_timeout_stream = 180;
    c.icmp_timeout = 30;
    c.icmpv6_timeout = 30;
    c.generic_timeout = 600;
    c.buckets = classic_buckets(ram);
    c.max = 8 * c.buckets;
    c.auto_helpers = true;  // ip_conntrack_ftp & co. attached by port when loaded
    // 2.4's IP reassembly limits (net/ipv4/ip_fragment.c): 256 KiB / 192 KiB.
    c.ipfrag_high_thresh = 262144;
    c.ipfrag_low_thresh = 196608;
  } else {
    c.buckets = linux_buckets(ram);
    c.max = c.buckets;
  }
  if (hashsize) {
    c.buckets = std::max<std::uint32_t>(*hashsize, 1);
    c.max = 8 * c.buckets;
  }
  return c;
}

Config Config::for_profile(Profile p, std::optional<std::uint32_t> hashsize) {
  return for_profile_with_memory(p, physical_memory(), hashsize);
}

bool Config::set(std::string_view name, std::string_view value, std::string* error) {
  const std::string n = normalise(name);
  std::uint32_t v = 0;
  auto bad_value = [&] {
    if (error) *error = "invalid value '" + std::string(value) + "' for " + std::string(name);
    return false;
  };
  for (const auto& t : kTunables) {
    if (!matches(t.modern, t.classic, n)) continue;
    if (!parse_u32(value, v)) return bad_value();
    if (t.kind == Kind::Bool) {
      this->*(t.flag) = v != 0;
    } else {
      if (t.u32 == &Config::buckets && v == 0) return bad_value();
      // nf_conntrack_irc refuses to load outside 1..NF_CT_EXPECT_MAX_CNT.
      if (t.u32 == &Config::irc_max_dcc_channels && (v < 1 || v > 255)) {
        if (error) *error = std::string(name) + " must be 1..255, not '" + std::string(value) + "'";
        return false;
      }
      this->*(t.u32) = v;
    }
    return true;
  }
  for (const auto& t : kTcpTimeouts) {
    if (!matches(t.modern, t.classic, n)) continue;
    if (!parse_u32(value, v)) return bad_value();
    tcp.*(t.field) = v;
    return true;
  }
  if (error) *error = "unknown sysctl '" + std::string(name) + "' (see `ctrack replay --help`)";
  return false;
}

std::optional<std::string> Config::get(std::string_view name) const {
  const std::string n = normalise(name);
  for (const auto& t : kTunables) {
    if (!matches(t.modern, t.classic, n)) continue;
    if (t.kind == Kind::Bool) return std::to_string(this->*(t.flag) ? 1 : 0);
    return std::to_string(this->*(t.u32));
  }
  for (const auto& t : kTcpTimeouts) {
    if (matches(t.modern, t.classic, n)) return std::to_string(tcp.*(t.field));
  }
  return std::nullopt;
}

bool Config::is_module_parameter(std::string_view name) {
  return normalise(name).find('.') != std::string::npos;
}

std::vector<std::string> Config::names() {
  std::vector<std::string> out;
  for (const auto& t : kTunables) {
    const bool ipv4 = std::string_view(t.modern).rfind("ipfrag_", 0) == 0;
    if (is_module_parameter(t.modern)) {
      out.push_back(t.modern);
    } else {
      out.push_back(std::string(ipv4 ? "net.ipv4." : "net.netfilter.") + t.modern);
    }
  }
  for (const auto& t : kTcpTimeouts) out.push_back(std::string("net.netfilter.") + t.modern);
  return out;
}

bool Config::load_sysctl_text(std::string_view text, const std::string& origin,
                              std::string* error) {
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    // sysctl.conf: a leading '-' means "ignore errors for this key".
    bool ignore_errors = false;
    if (!line.empty() && line.front() == '-') {
      ignore_errors = true;
      line.remove_prefix(1);
    }
    if (line.empty() || line.front() == '#' || line.front() == ';' || line == "\r") continue;
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      if (error) *error = origin + ":" + std::to_string(line_no) + ": expected 'name = value'";
      return false;
    }
    std::string_view key = line.substr(0, eq);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
    std::string msg;
    if (!set(key, line.substr(eq + 1), &msg) && !ignore_errors) {
      if (error) *error = origin + ":" + std::to_string(line_no) + ": " + msg;
      return false;
    }
  }
  return true;
}

bool Config::load_sysctl_file(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    if (error) *error = path + ": cannot open";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_sysctl_text(ss.str(), path, error);
}

}  // namespace ctrack

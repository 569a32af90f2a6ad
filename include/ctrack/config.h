// Engine configuration: the behaviour profile plus every tunable, each
// reachable under its kernel sysctl name (modern `net.netfilter.nf_conntrack_*`
// and classic `net.ipv4.netfilter.ip_conntrack_*`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctrack/types.h"

namespace ctrack {

// TCP timeouts in seconds, one per timeout slot of the kernel's array.
struct TcpTimeouts {
  std::uint32_t syn_sent = 120;
  std::uint32_t syn_recv = 60;
  std::uint32_t established = 432000;
  std::uint32_t fin_wait = 120;
  std::uint32_t close_wait = 60;
  std::uint32_t last_ack = 30;
  std::uint32_t time_wait = 120;
  std::uint32_t close = 10;
  std::uint32_t syn_sent2 = 120;  // no sysctl in the kernel; settable here
  std::uint32_t max_retrans = 300;
  std::uint32_t unacknowledged = 300;
};

// A helper attached to new connections by protocol and ORIGINAL destination
// port, as `iptables -t raw -p PROTO --dport PORT -j CT --helper NAME` (or nft
// `ct helper set` with a port match) would. An expectation match wins.
struct HelperAttachment {
  std::string name;        // kernel helper name: "ftp", "irc", "tftp", "amanda"
  std::uint8_t proto = 0;  // kProtoTCP / kProtoUDP
  std::uint16_t port = 0;  // original destination port
};

struct Config {
  Profile profile = Profile::Linux;

  // Generic switches (net.netfilter.nf_conntrack_*).
  bool checksum = true;                 // nf_conntrack_checksum
  bool tcp_loose = true;                // nf_conntrack_tcp_loose
  bool tcp_be_liberal = false;          // nf_conntrack_tcp_be_liberal
  bool tcp_ignore_invalid_rst = false;  // nf_conntrack_tcp_ignore_invalid_rst
  std::uint32_t tcp_max_retrans = 3;    // nf_conntrack_tcp_max_retrans

  // Timeouts, seconds.
  TcpTimeouts tcp;
  std::uint32_t udp_timeout = 30;          // nf_conntrack_udp_timeout
  std::uint32_t udp_timeout_stream = 120;  // nf_conntrack_udp_timeout_stream
  std::uint32_t icmp_timeout = 30;         // nf_conntrack_icmp_timeout
  std::uint32_t icmpv6_timeout = 30;       // nf_conntrack_icmpv6_timeout
  std::uint32_t generic_timeout = 600;     // nf_conntrack_generic_timeout

  // Table size. `buckets` is the hash size (nf_conntrack_buckets, the module
  // parameter `hashsize`); `max` is nf_conntrack_max (0 = unlimited).
  std::uint32_t buckets = 1024;
  std::uint32_t max = 1024;
  std::uint32_t expect_max = 4096;  // nf_conntrack_expect_max

  // Defragmentation before tracking (linux-core.md §9). IPv4 uses the IP
  // layer's own limits (net.ipv4.ipfrag_*), IPv6 conntrack's separate ones
  // (net.netfilter.nf_conntrack_frag6_*). Thresholds are bytes of fragment
  // memory as the kernel accounts it (queue + skb truesize); above the high
  // one every fragment is dropped until queues expire. Since 4.17 the low
  // thresholds are kept for the sysctl interface only.
  std::uint32_t ipfrag_time = 30;  // seconds
  std::uint32_t ipfrag_high_thresh = 4194304;
  std::uint32_t ipfrag_low_thresh = 3145728;
  std::uint32_t frag6_timeout = 60;           // nf_conntrack_frag6_timeout
  std::uint32_t frag6_high_thresh = 4194304;  // nf_conntrack_frag6_high_thresh
  std::uint32_t frag6_low_thresh = 3145728;   // nf_conntrack_frag6_low_thresh

  // Helpers (linux-core.md §7.3). `helpers`: explicit attachments, the only
  // way on today's kernel. `auto_helpers`: attach every helper on its
  // well-known port (ftp 21, irc 6667, tftp 69, amanda 10080) as kernels
  // <= 4.6 did; on by default in the classic profile only.
  std::vector<HelperAttachment> helpers;
  bool auto_helpers = false;
  bool ftp_loose = false;  // nf_conntrack_ftp module parameter `loose`
  // nf_conntrack_irc module parameters: expectations per IRC connection
  // (1..255, oldest evicted) and their timeout in seconds.
  std::uint32_t irc_max_dcc_channels = 8;
  std::uint32_t irc_dcc_timeout = 300;
  // nf_conntrack_amanda `master_timeout`: what every reply from the Amanda
  // client refreshes the UDP master's timeout to, seconds.
  std::uint32_t amanda_master_timeout = 300;

  // Hash key. 0 = pick a random key when the engine is built (the kernel's
  // boot-time random key); tests may fix it for reproducible bucket layout.
  std::uint64_t hash_seed = 0;

  // Engine::process_batch's look-ahead (hash, then prefetch buckets and
  // entries a few packets before tracking them). Auto: only once the live
  // entries outgrow the private caches (below that, lookups hit the caches
  // and the extra work only costs). Always / Never: regardless of the table
  // (verdicts are the same either way; tests use Always to exercise it on
  // small tables).
  enum class BatchLookAhead : std::uint8_t { Auto, Always, Never };
  BatchLookAhead batch_look_ahead = BatchLookAhead::Auto;

  // Defaults of a profile, with the table sized from this machine's memory
  // by that profile's kernel rule (or from `hashsize` when given, which also
  // makes max = 8 * hashsize, as the kernel does).
  static Config for_profile(Profile p, std::optional<std::uint32_t> hashsize = std::nullopt);
  // The same rule with an explicit memory size, for tests.
  static Config for_profile_with_memory(Profile p, std::uint64_t ram_bytes,
                                        std::optional<std::uint32_t> hashsize = std::nullopt);

  // Sets a tunable by sysctl name. Accepted spellings: the full name
  // ("net.netfilter.nf_conntrack_udp_timeout"), without the prefix
  // ("nf_conntrack_udp_timeout"), the classic name
  // ("net.ipv4.netfilter.ip_conntrack_udp_timeout" or
  // "ip_conntrack_udp_timeout"), and '/' instead of '.' as in /proc/sys paths.
  // The helpers' module parameters go by their kernel command-line names
  // ("nf_conntrack_irc.max_dcc_channels", "nf_conntrack_irc.dcc_timeout",
  // "nf_conntrack_ftp.loose", "nf_conntrack_amanda.master_timeout"; also as
  // /sys/module/NAME/parameters/PARAM paths).
  // Returns false with a message in `error` for an unknown name or bad value.
  bool set(std::string_view name, std::string_view value, std::string* error = nullptr);
  std::optional<std::string> get(std::string_view name) const;
  // Modern names of every tunable, in a stable order.
  static std::vector<std::string> names();
  // Whether `name` is a helper module parameter rather than a sysctl: global
  // to the host, not per network namespace.
  static bool is_module_parameter(std::string_view name);

  // Applies a sysctl.conf-style file ("name = value", '#'/';' comments).
  // Errors name the file and line.
  bool load_sysctl_file(const std::string& path, std::string* error = nullptr);
  bool load_sysctl_text(std::string_view text, const std::string& origin, std::string* error);
};

}  // namespace ctrack

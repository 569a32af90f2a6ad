// `ctrack replay`: option parsing and validation. The replay itself is in
// replay_run.cc.
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/replay_options.h"
#include "ctrack/expectation.h"

namespace ctrack::cli {
namespace {

// Raw option values; CLI11 writes into these, run() turns them into
// ReplayOptions (a plain function pointer cannot carry state).
struct RawReplayArgs {
  std::vector<std::string> files;
  std::string filter;
  std::string notrack;  // --notrack EXPR
  std::string profile = "linux";
  std::vector<std::string> sets;
  std::string sysctl_file;
  std::uint32_t hashsize = 0;
  std::string format = "text";
  bool quiet = false;
  std::string table;
  bool stats = false;
  std::vector<std::string> helpers;  // --helper NAME[:PROTO:PORT]
  bool no_helpers = false;
  bool ftp_loose = false;
  std::string expectations;
  unsigned threads = 1;
  std::uint32_t front_chunk = 0;
  std::uint64_t hash_seed = 0;
  std::vector<std::string> rules;   // --rules FILE
  std::vector<std::string> locals;  // --local ADDR
  std::vector<std::string> ifaces;  // --iface NAME=PREFIX
  bool only_dropped = false;
};

RawReplayArgs& raw() {
  static RawReplayArgs args;
  return args;
}

int usage_error(const std::string& message) {
  fmt::print(stderr, "ctrack: {}\nRun with --help for more information.\n", message);
  return 1;
}

// "ftp" (its default protocol and port) or "ftp:tcp:2121".
bool parse_helper_arg(const std::string& arg, HelperAttachment& out, std::string& error) {
  const auto c1 = arg.find(':');
  const std::string name = arg.substr(0, c1);
  const std::uint8_t id = helper_id(name);
  if (id == 0) {
    error = fmt::format("--helper {}: unknown helper '{}'", arg, name);
    return false;
  }
  out.name = name;
  out.proto = helper_proto(id);
  out.port = helper_default_port(id);
  if (c1 == std::string::npos) return true;
  const auto c2 = arg.find(':', c1 + 1);
  if (c2 == std::string::npos) {
    error = fmt::format("--helper {}: expected NAME or NAME:PROTO:PORT", arg);
    return false;
  }
  const std::string proto = arg.substr(c1 + 1, c2 - c1 - 1);
  const std::string port = arg.substr(c2 + 1);
  const std::uint8_t p = proto == "tcp" ? kProtoTCP : proto == "udp" ? kProtoUDP : 0;
  if (p == 0 || p != helper_proto(id)) {
    error = fmt::format("--helper {}: helper '{}' works on {}", arg, name,
                        helper_proto(id) == kProtoTCP ? "tcp" : "udp");
    return false;
  }
  unsigned long v = 0;
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || (v = std::stoul(port)) == 0 ||
      v > 65535) {
    error = fmt::format("--helper {}: bad port '{}'", arg, port);
    return false;
  }
  out.proto = p;
  out.port = static_cast<std::uint16_t>(v);
  return true;
}

int run() {
  const RawReplayArgs& a = raw();
  ReplayOptions opts;
  opts.files = a.files;
  opts.filter = a.filter;
  opts.notrack = a.notrack;
  opts.quiet = a.quiet;
  opts.stats = a.stats;
  opts.packet_format = a.format == "json" ? PacketFormat::Json : PacketFormat::Text;
  if (!a.table.empty()) opts.table = io::parse_table_format(a.table);
  if (!a.expectations.empty()) opts.expectations = io::parse_expect_format(a.expectations);

  const Profile profile = a.profile == "classic" ? Profile::Classic : Profile::Linux;
  opts.config =
      a.hashsize != 0 ? Config::for_profile(profile, a.hashsize) : Config::for_profile(profile);
  // The file first, so that --set on the command line overrides it.
  std::string error;
  if (!a.sysctl_file.empty() && !opts.config.load_sysctl_file(a.sysctl_file, &error)) {
    return usage_error(error);
  }
  for (const std::string& s : a.sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      return usage_error(fmt::format("--set {}: expected NAME=VALUE", s));
    }
    if (!opts.config.set(std::string_view(s).substr(0, eq), std::string_view(s).substr(eq + 1),
                         &error)) {
      return usage_error(fmt::format("--set {}: {}", s, error));
    }
  }
  if (a.no_helpers) opts.config.auto_helpers = false;
  if (a.ftp_loose) opts.config.ftp_loose = true;
  opts.threads = a.threads;
  opts.front_chunk = a.front_chunk;
  opts.rules = a.rules;
  opts.locals = a.locals;
  opts.ifaces = a.ifaces;
  opts.only_dropped = a.only_dropped;
  if (opts.rules.empty() && (!a.locals.empty() || !a.ifaces.empty() || a.only_dropped)) {
    return usage_error("--local, --iface and --only-dropped need --rules");
  }
  if (a.hash_seed != 0) opts.config.hash_seed = a.hash_seed;
  for (const std::string& h : a.helpers) {
    HelperAttachment at;
    if (!parse_helper_arg(h, at, error)) return usage_error(error);
    opts.config.helpers.push_back(at);
  }
  return run_replay(opts);
}

}  // namespace

Command register_replay_command(CLI::App& app) {
  RawReplayArgs& a = raw();
  CLI::App* sub = app.add_subcommand(
      "replay",
      "Replay pcap/pcapng captures through the connection tracker and show what it decides "
      "for every packet (conntrack state, direction, TCP state, INVALID reason).");
  sub->add_option("FILE", a.files,
                  "Capture files (pcap or pcapng), replayed in order through one table")
      ->required();
  sub->add_option("--filter", a.filter,
                  "Only replay packets matching this BPF expression (tcpdump syntax)")
      ->type_name("EXPR");
  sub->add_option("--notrack", a.notrack,
                  "Mark packets matching this BPF expression untracked before conntrack, as "
                  "`-t raw -j NOTRACK` would (UNTRACKED, no entry, no helper; defragmentation "
                  "still runs first)")
      ->type_name("EXPR");
  sub->add_option("--profile", a.profile,
                  "Behaviour: 'linux' (today's kernel) or 'classic' (2.4-era ip_conntrack)")
      ->check(CLI::IsMember({"linux", "classic"}))
      ->capture_default_str();
  sub->add_option("--set", a.sets,
                  "Set a tunable by sysctl name, e.g. nf_conntrack_udp_timeout=60 "
                  "(the net.netfilter. prefix is optional; repeatable), or a helper module "
                  "parameter, e.g. nf_conntrack_irc.max_dcc_channels=2")
      ->type_name("NAME=VALUE");
  sub->add_option("--sysctl-file", a.sysctl_file, "Apply a sysctl.conf-style file before --set")
      ->type_name("FILE");
  sub->add_option(
         "--hashsize", a.hashsize,
         "Hash table size (as the nf_conntrack module parameter; also sets nf_conntrack_max to 8x)")
      ->check(CLI::Range(1u, 1u << 26))
      ->type_name("N");
  sub->add_option("--format", a.format, "Per-packet output: 'text' or 'json' (JSON Lines)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  sub->add_flag("-q,--quiet", a.quiet, "No per-packet output");
  // A flag with a default value: bare --table means conntrack, and only the
  // --table=FORMAT spelling takes a value, so `--table FILE` keeps FILE.
  sub->add_flag("--table{conntrack}", a.table,
                "Print the table at the end: proc (/proc/net/nf_conntrack), classic "
                "(/proc/net/ip_conntrack), conntrack (conntrack -L, the default) or json")
      ->check(CLI::IsMember({"proc", "classic", "conntrack", "json"}))
      ->type_name("[=FORMAT]");
  sub->add_flag("--stats", a.stats, "Print the statistics at the end (conntrack -S style)");
  sub->add_option("--helper", a.helpers,
                  "Attach a helper (ftp, ...) to new connections to its default port, or to "
                  "PROTO/PORT as NAME:PROTO:PORT (e.g. ftp:tcp:2121), as `-j CT --helper` would; "
                  "repeatable")
      ->type_name("NAME[:PROTO:PORT]");
  sub->add_flag("--no-helpers", a.no_helpers,
                "classic profile: do not attach helpers automatically by well-known port");
  sub->add_flag(
      "--ftp-loose", a.ftp_loose,
      "FTP helper: accept PORT/227 addresses other than the sender's (module parameter loose=1)");
  sub->add_flag("--expectations{conntrack}", a.expectations,
                "Print the expectation table at the end: proc (/proc/net/nf_conntrack_expect), "
                "conntrack (conntrack -L expect, the default) or json")
      ->check(CLI::IsMember({"proc", "conntrack", "json"}))
      ->type_name("[=FORMAT]");
  sub->add_option("--threads", a.threads,
                  "Track on N shards, one worker thread each (output identical to one thread; "
                  "with helpers everything stays on one shard; not with --rules)")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str()
      ->type_name("N");
  // For tests: chunks of a few records make every hand-over of the split
  // front (src/cli/split_front.h) happen on small captures.
  sub->add_option("--front-chunk", a.front_chunk, "records per chunk of the split front")
      ->check(CLI::Range(1u, 1u << 20))
      ->group("");
  sub->add_option(
         "--hash-seed", a.hash_seed,
         "Fix the table's hash key (0 = random, as the kernel): bucket layout decides "
         "when the GC reclaims expired entries, so --stats is reproducible only with a fixed key")
      ->type_name("N");
  sub->add_option("--rules", a.rules,
                  "Run every packet through this firewall ruleset (iptables-save / ip6tables-save "
                  "format, tables raw and filter) and show its verdict and deciding rule; per-rule "
                  "counters at the end (repeatable: IPv4 and IPv6 files)")
      ->allow_extra_args(false)
      ->type_name("FILE");
  sub->add_option(
         "--local", a.locals,
         "With --rules: an address of the firewall itself; packets to it go through INPUT, "
         "packets from it through OUTPUT (others: FORWARD); repeatable")
      ->allow_extra_args(false)
      ->type_name("ADDR");
  sub->add_option(
         "--iface", a.ifaces,
         "With --rules: interface NAME faces PREFIX, for -i/-o (a packet arrives on the "
         "interface facing its source, leaves by the one facing its destination); repeatable")
      ->allow_extra_args(false)
      ->type_name("NAME=PREFIX");
  sub->add_flag("--only-dropped", a.only_dropped,
                "With --rules: print only packets dropped or rejected");
  sub->footer(
      "Exit status: 0 on success, 1 on a usage error, 2 when an input could not be read "
      "completely (everything before the damage is still reported).");
  return Command{sub, &run};
}

}  // namespace ctrack::cli

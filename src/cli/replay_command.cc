// `ctrack replay`: option parsing and validation. The replay itself is in
// replay_run.cc.
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/replay_options.h"

namespace ctrack::cli {
namespace {

// Raw option values; CLI11 writes into these, run() turns them into
// ReplayOptions (a plain function pointer cannot carry state).
struct RawReplayArgs {
  std::vector<std::string> files;
  std::string filter;
  std::string profile = "linux";
  std::vector<std::string> sets;
  std::string sysctl_file;
  std::uint32_t hashsize = 0;
  std::string format = "text";
  bool quiet = false;
  std::string table;
  bool stats = false;
};

RawReplayArgs& raw() {
  static RawReplayArgs args;
  return args;
}

int usage_error(const std::string& message) {
  fmt::print(stderr, "ctrack: {}\nRun with --help for more information.\n", message);
  return 1;
}

int run() {
  const RawReplayArgs& a = raw();
  ReplayOptions opts;
  opts.files = a.files;
  opts.filter = a.filter;
  opts.quiet = a.quiet;
  opts.stats = a.stats;
  opts.packet_format = a.format == "json" ? PacketFormat::Json : PacketFormat::Text;
  if (!a.table.empty()) opts.table = io::parse_table_format(a.table);

  const Profile profile = a.profile == "classic" ? Profile::Classic : Profile::Linux;
  opts.config = a.hashsize != 0 ? Config::for_profile(profile, a.hashsize)
                                : Config::for_profile(profile);
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
  return run_replay(opts);
}

}  // namespace

Command register_replay_command(CLI::App& app) {
  RawReplayArgs& a = raw();
  CLI::App* sub = app.add_subcommand(
      "replay",
      "Replay pcap/pcapng captures through the connection tracker and show what it decides "
      "for every packet (conntrack state, direction, TCP state, INVALID reason).");
  sub->add_option("FILE", a.files, "Capture files (pcap or pcapng), replayed in order through one table")
      ->required();
  sub->add_option("--filter", a.filter, "Only replay packets matching this BPF expression (tcpdump syntax)")
      ->type_name("EXPR");
  sub->add_option("--profile", a.profile, "Behaviour: 'linux' (today's kernel) or 'classic' (2.4-era ip_conntrack)")
      ->check(CLI::IsMember({"linux", "classic"}))
      ->capture_default_str();
  sub->add_option("--set", a.sets,
                  "Set a tunable by sysctl name, e.g. nf_conntrack_udp_timeout=60 "
                  "(the net.netfilter. prefix is optional; repeatable)")
      ->type_name("NAME=VALUE");
  sub->add_option("--sysctl-file", a.sysctl_file, "Apply a sysctl.conf-style file before --set")
      ->type_name("FILE");
  sub->add_option("--hashsize", a.hashsize, "Hash table size (as the nf_conntrack module parameter; also sets nf_conntrack_max to 8x)")
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
  sub->footer(
      "Exit status: 0 on success, 1 on a usage error, 2 when an input could not be read "
      "completely (everything before the damage is still reported).");
  return Command{sub, &run};
}

}  // namespace ctrack::cli

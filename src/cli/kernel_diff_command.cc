// `ctrack kernel-diff`: differential testing against the running kernel.
// The capture is played through a real router namespace and through
// libctrack; every per-packet verdict and table difference is reported.
// Exit status: 0 no divergence, 1 divergence, 2 input/setup error,
// 77 no root or no namespace support (ctest's SKIP code).
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "kdiff/diff_report.h"
#include "kdiff/injector.h"
#include "kdiff/kernel_observer.h"
#include "kdiff/netns.h"
#include "kdiff/session.h"

namespace ctrack::cli {
namespace {

constexpr int kExitSkip = 77;

struct KdiffArgs {
  std::string capture;
  std::vector<std::string> clients;
  std::vector<std::string> sets;
  std::vector<std::string> ctrack_sets;
  std::vector<std::string> helpers;
  std::string notrack;
  std::string rules, rules6;
  std::string json;
  std::string known;
  bool cleanup = false;
  bool verbose = false;
  double max_gap = 3.0;
  std::size_t max_shown = 10;
};
KdiffArgs g_args;

std::string basename_of(const std::string& p) {
  auto s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

int run() {
  using namespace ctrack::kdiff;
  const KdiffArgs& a = g_args;
  if (a.cleanup) {
    std::string log;
    int n = cleanup_leftovers(&log);
    fmt::print(stderr, "{}kernel-diff: removed {} leftover namespace(s)\n", log, n);
    if (a.capture.empty()) return 0;
  }
  if (a.capture.empty()) {
    fmt::print(stderr, "kernel-diff: a CAPTURE is required\n");
    return 1;
  }
  SessionOptions opt;
  opt.capture = a.capture;
  opt.client_cidrs = a.clients;
  opt.max_gap = static_cast<Timestamp>(a.max_gap * 1e9);
  for (const auto& s : a.sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos) {
      fmt::print(stderr, "kernel-diff: --set expects NAME=VALUE, got '{}'\n", s);
      return 1;
    }
    if (Config::is_module_parameter(s.substr(0, eq))) {
      // /sys/module parameters are global to the host, not per namespace.
      fmt::print(stderr,
                 "kernel-diff: '{}' is a helper module parameter, global to the host; kernel-diff "
                 "never changes the host. Use --ctrack-set to change ctrack's side only.\n",
                 s.substr(0, eq));
      return 1;
    }
    opt.sysctls.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  for (const auto& s : a.ctrack_sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos) {
      fmt::print(stderr, "kernel-diff: --ctrack-set expects NAME=VALUE, got '{}'\n", s);
      return 1;
    }
    opt.ctrack_only_sysctls.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  std::string error;
  for (const auto& h : a.helpers) {
    RouterSetup::Helper hs;
    if (!parse_helper_option(h, hs, &error)) {
      fmt::print(stderr, "kernel-diff: {}\n", error);
      return 1;
    }
    opt.router.helpers.push_back(hs);
  }
  opt.notrack_expr = a.notrack;
  if (!a.notrack.empty() && (!a.rules.empty() || !a.rules6.empty())) {
    fmt::print(stderr,
               "kernel-diff: --notrack cannot be combined with --rules; put a `-t raw ... -j "
               "NOTRACK` rule "
               "in the ruleset instead\n");
    return 1;
  }
  opt.router.rules_v4 = a.rules;
  opt.router.rules_v6 = a.rules6;
  std::vector<KnownDivergence> known;
  if (!a.known.empty() && !load_known_divergences(a.known, known, &error)) {
    fmt::print(stderr, "kernel-diff: {}\n", error);
    return 2;
  }
  CaptureData data;
  if (!load_capture(opt, data, &error)) {
    fmt::print(stderr, "kernel-diff: {}\n", error);
    return 2;
  }
  if (!data.notrack.empty()) opt.router.notrack_nft = data.notrack.nft_text();
  for (const auto& u : data.unremappable) fmt::print("not injected: {}\n", u);
  // The ctrack side first checks the --set names, before any namespace work.
  {
    CaptureData probe;
    probe.l3.clear();
    if (!run_ctrack(opt, probe, &error)) {
      fmt::print(stderr, "kernel-diff: {}\n", error);
      return 1;
    }
  }
  {
    bool unsupported = false;
    auto topo = Topology::create(&error, &unsupported);
    if (!topo) {
      if (unsupported) {
        fmt::print(stderr, "kernel-diff: SKIPPED: {} (needs root and network namespaces)\n", error);
        return kExitSkip;
      }
      fmt::print(stderr, "kernel-diff: {}\n", error);
      return 2;
    }
    for (const auto& [k, v] : opt.sysctls) {
      if (!topo->router_sysctl(k, v, &error)) {
        fmt::print(stderr, "kernel-diff: {}\n", error);
        return 2;
      }
    }
    auto obs = KernelObserver::create(*topo, opt.router, &error);
    Injector inj;
    if (!obs || !inj.open(*topo, &error) || !topo->enter_router(&error) ||
        !run_kernel(opt, inj, *obs, data, &error)) {
      fmt::print(stderr, "kernel-diff: {}\n", error);
      return 2;
    }
    // Leaving scope deletes the namespaces (the observer's netlink socket and
    // the injector's sockets close first, in reverse order of creation).
  }
  if (!run_ctrack(opt, data, &error)) {
    fmt::print(stderr, "kernel-diff: {}\n", error);
    return 2;
  }
  for (const auto& n : data.notes) fmt::print("note: {}\n", n);
  std::vector<Divergence> divs;
  for (const auto& rec : data.recs) {
    auto d = compare(rec, data.map);
    divs.insert(divs.end(), d.begin(), d.end());
  }
  mark_known(divs, basename_of(a.capture), known);
  print_report(stdout, data.recs, divs, data.map, a.max_shown, a.verbose);
  if (!a.json.empty() && !write_json(a.json, a.capture, data.recs, divs, data.map, &error)) {
    fmt::print(stderr, "kernel-diff: {}\n", error);
    return 2;
  }
  std::size_t real = 0, known_n = 0;
  for (const auto& d : divs) (d.known ? known_n : real)++;
  fmt::print("kernel-diff: {} packets, {} divergences", data.recs.size(), real);
  if (known_n) fmt::print(" ({} known, ignored)", known_n);
  if (data.map.size()) fmt::print(" ({} addresses remapped)", data.map.size());
  if (data.skipped) fmt::print(" ({} non-IP frames skipped)", data.skipped);
  if (data.excluded) {
    fmt::print(" ({} packets of {} flows not remappable, not injected)", data.excluded,
               data.unremappable.size());
  }
  fmt::print("\n");
  std::fflush(stdout);
  return real == 0 ? 0 : 1;
}

}  // namespace

Command register_kernel_diff_command(CLI::App& app) {
  CLI::App* sub =
      app.add_subcommand("kernel-diff",
                         "Play a capture through a real kernel router (network namespaces) and "
                         "through ctrack, and report every "
                         "difference in ct state, direction and conntrack table. Needs root.");
  KdiffArgs& a = g_args;
  sub->add_option("CAPTURE", a.capture, "pcap/pcapng capture to play");
  sub->add_option("--client", a.clients,
                  "CIDR of client-side addresses (repeatable); default: the first packet's source")
      ->expected(1)
      ->allow_extra_args(false);
  sub->add_option("--set", a.sets,
                  "conntrack sysctl NAME=VALUE for the router and for ctrack (repeatable)")
      ->expected(1)
      ->allow_extra_args(false);
  sub->add_option("--ctrack-set", a.ctrack_sets,
                  "sysctl NAME=VALUE for ctrack only (what-if runs; the harness self-test uses it)")
      ->expected(1)
      ->allow_extra_args(false);
  sub->add_option(
         "--helper", a.helpers,
         "attach conntrack helper NAME[:PROTO:PORT] to new connections to PORT (repeatable; "
         "router: nft ct helper)")
      ->expected(1)
      ->allow_extra_args(false);
  sub->add_option(
      "--notrack", a.notrack,
      "mark packets matching this nft expression untracked (router: `EXPR notrack` at raw "
      "priority; e.g. 'udp dport 53')");
  sub->add_option("--rules", a.rules,
                  "iptables-save file restored in the router; verdicts are compared");
  sub->add_option("--rules6", a.rules6,
                  "ip6tables-save file restored in the router; verdicts are compared");
  sub->add_option("--json", a.json, "write the full per-packet record of both sides to FILE");
  sub->add_option("--known-divergences", a.known,
                  "file of divergences to ignore (CAPTURE PACKET FIELD # reason)");
  sub->add_option("--max-gap", a.max_gap,
                  "shorten capture gaps longer than this many seconds (default 3)");
  sub->add_option("--max-shown", a.max_shown, "divergences to print (default 10)");
  sub->add_flag("--cleanup", a.cleanup, "remove namespaces left by dead kernel-diff runs");
  sub->add_flag("-v,--verbose", a.verbose, "print every packet with both verdicts and tables");
  return {sub, &run};
}

}  // namespace ctrack::cli

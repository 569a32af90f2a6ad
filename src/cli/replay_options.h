// Everything `ctrack replay` was asked to do, as parsed from the command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ctrack/config.h"
#include "io/entry_format.h"
#include "io/expect_format.h"

namespace ctrack::cli {

enum class PacketFormat { Text, Json };

struct ReplayOptions {
  std::vector<std::string> files;
  std::string filter;   // BPF expression; empty = none
  std::string notrack;  // --notrack EXPR (BPF): matching packets UNTRACKED
  Config config;        // profile, hashsize, sysctls applied
  PacketFormat packet_format = PacketFormat::Text;
  bool quiet = false;                            // -q: no per-packet output at all
  std::optional<io::TableFormat> table;          // --table[=FORMAT]
  bool stats = false;                            // --stats
  std::optional<io::ExpectFormat> expectations;  // --expectations[=FORMAT]
  unsigned threads = 1;                          // --threads: shards of a ShardedEngine when > 1
  std::uint32_t front_chunk = 0;  // hidden --front-chunk: records per chunk of the split
                                  // front (0 = its default; small values test hand-overs)
  // Firewall ruleset (issue #5): iptables-save files, the host's own
  // addresses and interface prefixes; replayed by run_replay_rules.
  std::vector<std::string> rules;   // --rules FILE (repeatable)
  std::vector<std::string> locals;  // --local ADDR (repeatable)
  std::vector<std::string> ifaces;  // --iface NAME=PREFIX (repeatable)
  bool only_dropped = false;        // --only-dropped
};

// Runs the replay and prints what was asked; returns the exit status
// (0, or 2 when an input could not be read completely).
int run_replay(const ReplayOptions& opts);
// The same on a ShardedEngine with opts.threads worker threads
// (replay_sharded.cc); output is byte for byte that of run_replay.
int run_replay_sharded(const ReplayOptions& opts);
// The replay through a firewall ruleset (replay_rules.cc): each packet gets
// its verdict and deciding rule; per-rule counters at the end.
int run_replay_rules(const ReplayOptions& opts);

}  // namespace ctrack::cli

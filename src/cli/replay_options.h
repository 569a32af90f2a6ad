// Everything `ctrack replay` was asked to do, as parsed from the command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ctrack/config.h"
#include "io/entry_format.h"

namespace ctrack::cli {

enum class PacketFormat { Text, Json };

struct ReplayOptions {
  std::vector<std::string> files;
  std::string filter;                     // BPF expression; empty = none
  Config config;                          // profile, hashsize, sysctls applied
  PacketFormat packet_format = PacketFormat::Text;
  bool quiet = false;                     // -q: no per-packet output at all
  std::optional<io::TableFormat> table;   // --table[=FORMAT]
  bool stats = false;                     // --stats
};

// Runs the replay and prints what was asked; returns the exit status
// (0, or 2 when an input could not be read completely).
int run_replay(const ReplayOptions& opts);

}  // namespace ctrack::cli

// Opening one capture for `ctrack replay`: the file with --filter applied and
// --notrack compiled for its link type. Shared by the one-engine
// (replay_run.cc), sharded (replay_sharded.cc) and ruleset (replay_rules.cc)
// replays, so that they refuse the same inputs with the same messages.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "cli/replay_options.h"
#include "io/bpf_match.h"
#include "io/pcap_source.h"

namespace ctrack::cli {

struct ReplaySource {
  std::unique_ptr<PcapSource> pcap;       // null when the file could not be opened
  std::unique_ptr<io::BpfMatch> notrack;  // null without --notrack
};

// On failure `pcap` is null and `error` names the file or the expression.
// `mapping`: see PcapSource::open (threads reading one capture).
inline ReplaySource open_replay_source(const ReplayOptions& opts, const std::string& path,
                                       std::string* error,
                                       std::shared_ptr<const PcapMapping> mapping = nullptr) {
  ReplaySource s;
  s.pcap = PcapSource::open(path, error, std::move(mapping));
  if (!s.pcap) return s;
  if (!opts.filter.empty() && !s.pcap->set_filter(opts.filter, error)) {
    s.pcap.reset();
    return s;
  }
  if (!opts.notrack.empty()) {
    s.notrack = io::BpfMatch::compile(opts.notrack, s.pcap->linktype(), error);
    if (!s.notrack) s.pcap.reset();
  }
  return s;
}

}  // namespace ctrack::cli

// Internals shared by the two `ctrack replay --threads N` pipelines:
// replay_sharded.cc (a front thread feeding shard workers, every output mode)
// and replay_replicated.cc (-q without helpers: no front thread; the front's
// work is split between the workers, or replicated on each).
#pragma once

#include <cstdint>

#include "cli/replay_options.h"
#include "ctrack/sharded_engine.h"

namespace ctrack::cli {

// What the front saw that no shard counts.
struct SummaryCounts {
  std::uint64_t front_fragments = 0;  // fragments held or dropped before conntrack
  std::uint64_t link_errors = 0;      // frames whose link layer did not parse
};

// --table, --expectations and --stats of a finished sharded replay, as
// run_replay prints them for one engine. Quiescent only.
void print_sharded_summary(const ReplayOptions& opts, ShardedEngine& se,
                           const SummaryCounts& counts);

// The pipeline without a front thread (replay_replicated.cc) applies: nothing is printed per
// packet, no helper can create expectations (ShardedEngine::Mode::Flow), and there are no more
// workers than cores.
bool replicated_front_applies(const ReplayOptions& opts);
int run_replay_replicated(const ReplayOptions& opts);

}  // namespace ctrack::cli

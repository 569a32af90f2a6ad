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

// The configuration of a front's defragmenting engine (both pipelines): it
// only ever runs Engine::reassemble, which uses the defragmenter's limits
// and the clock but never the connection table, so it gets a one-bucket
// table instead of the replay's (a 262144-bucket table is a 1 MiB array
// per worker, and a periodic GC sweep over empty buckets, paid on the
// fragments that move its clock).
inline Config defrag_only_config(const Config& replay) {
  Config c = replay;
  c.buckets = 1;
  return c;
}

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

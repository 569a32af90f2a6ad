// The sharded engine's way into its shards' cores (Engine befriends this):
// it drives their clocks, GC sweeps and entry numbering, which the public
// Engine API deliberately does not offer.
#pragma once

#include "core/engine_core.h"
#include "ctrack/engine.h"

namespace ctrack {

struct ShardAccess {
  static EngineCore& core(Engine& e) { return *e.core_; }
  static const EngineCore& core(const Engine& e) { return *e.core_; }
};

}  // namespace ctrack

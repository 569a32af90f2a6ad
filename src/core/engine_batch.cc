// Engine::process_batch: the batch pipeline of core/engine_batch.h, with
// nothing to do between packets or with the caller's visitor after each.
#include "core/engine_batch.h"

namespace ctrack {

void EngineCore::process_batch(std::span<const BatchPacket> pkts, std::span<Result> out,
                               Hook hook) {
  process_batch_with(
      pkts, out, hook, [](std::size_t) {}, [](std::size_t) {});
}

void Engine::process_batch(std::span<const BatchPacket> pkts, std::span<Result> out, Hook hook) {
  core_->process_batch(pkts, out, hook);
}

void Engine::process_batch(std::span<const BatchPacket> pkts, std::span<Result> out, Hook hook,
                           ResultVisitor each) {
  core_->process_batch_with(
      pkts, out, hook, [](std::size_t) {}, [&](std::size_t i) { each(i, out[i]); });
}

}  // namespace ctrack

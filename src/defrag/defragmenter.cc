#include "defrag/defragmenter.h"

namespace ctrack::defrag {

Reassembly Defragmenter::gather(const Packet& pkt, Timestamp now, Hook hook, const Config& cfg) {
  expire(now);
  return pkt.is_v6() ? gather_v6(pkt, now, hook, cfg) : gather_v4(pkt, now, hook, cfg);
}

void Defragmenter::expire(Timestamp now) {
  timeouts_ += store_.expire(v4_, now);
  timeouts_ += store_.expire(v6_, now);
}

std::uint32_t Defragmenter::find_or_create(const FragKey& key, Timestamp now, Timestamp timeout,
                                           std::uint64_t high_thresh, FragDir& dir) {
  if (high_thresh == 0 || dir.mem > high_thresh) return kNone;
  const std::uint32_t q = store_.find(key);
  if (q != kNone) return q;
  // The timer starts with the queue and is never pushed back by later
  // fragments.
  return store_.create(key, now + timeout, next_datagram_++, dir);
}

}  // namespace ctrack::defrag

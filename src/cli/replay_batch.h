// The replay feeds the engine in batches (Engine::process_batch) so that
// the table lookups of consecutive packets overlap their cache misses;
// verdicts are those of one call per packet. The quiet replay prints none of
// them; the per-packet output writes each line from the batch's visitor,
// right after its packet. Frames read from a mapped capture
// (PcapSource::frames_stable) are passed as they are; others are copied,
// because libpcap reuses its buffer on every read. The copy buffer keeps its
// capacity, so nothing is allocated per packet once it has grown to a batch
// of the largest frames.
//
// The sink tracks a batch: `sink(pkts, out, tags)`, where each packet's tag
// is whatever the caller added it with (a sharded replay's ticket, the frame
// number and time a printed line needs).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "ctrack/engine.h"

namespace ctrack::cli {

struct NoTag {};

// A plain Engine as the sink.
struct EngineSink {
  Engine* engine;
  void operator()(std::span<const BatchPacket> pkts, std::span<Result> out,
                  std::span<const NoTag>) const {
    engine->process_batch(pkts, out);
  }
};

template <class Sink, class Tag = NoTag>
class FrameBatcher {
 public:
  explicit FrameBatcher(Sink sink) : sink_(std::move(sink)) {}

  // `stable`: `l3` stays valid until flush() (no copy needed).
  void add(std::span<const std::uint8_t> l3, Timestamp ts, bool stable, CtTemplate tmpl = {},
           const Tag& tag = {}) {
    // Fields are written one by one straight into the batch: building a
    // BatchPacket in a temporary and copying it made the copy's wide loads
    // wait for the temporary's narrow stores (a store-forwarding stall that
    // perf put at a twentieth of the quiet replay).
    BatchPacket& bp = pkts_[n_];
    if (stable) {
      bp.l3 = l3;
    } else {
      // data_ may still move; the span is made at flush().
      bp.l3 = {};
      where_[n_] = {data_.size(), l3.size()};
      data_.insert(data_.end(), l3.begin(), l3.end());
      copied_ |= std::uint32_t{1} << n_;
    }
    bp.now = ts;
    bp.tmpl = tmpl;
    tags_[n_] = tag;
    if (++n_ == kBatch) flush();
  }

  // Tracks what is pending; call before anything reads the engine.
  void flush() {
    if (n_ == 0) return;
    for (std::uint32_t m = copied_; m != 0; m &= m - 1) {
      const auto i = static_cast<std::size_t>(std::countr_zero(m));
      pkts_[i].l3 = {data_.data() + where_[i].first, where_[i].second};
    }
    sink_(std::span<const BatchPacket>(pkts_, n_), std::span<Result>(out_, n_),
          std::span<const Tag>(tags_, n_));
    n_ = 0;
    copied_ = 0;
    data_.clear();
  }

 private:
  static constexpr std::size_t kBatch = 32;  // one bit each in copied_
  Sink sink_;
  std::vector<std::uint8_t> data_;
  std::pair<std::size_t, std::size_t> where_[kBatch];  // copied: offset, length in data_
  Tag tags_[kBatch] = {};
  BatchPacket pkts_[kBatch];
  Result out_[kBatch];
  std::size_t n_ = 0;
  std::uint32_t copied_ = 0;  // bit i: pending frame i lives in data_
};

}  // namespace ctrack::cli

#include "cli/split_front.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <utility>

#include "parse/link_layer.h"
#include "parse/packet.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ctrack::cli {
namespace {

constexpr unsigned kMaxWorkers = 64;  // --threads' limit
// Chunks a worker tries to keep indexed ahead of its own tracking. Without a
// lead, a worker indexed only when it had nothing left to track, and then
// both waited for the one chunk being indexed; with "index whenever
// possible", one worker ended up doing nearly all the front's work while
// the other waited (measured: one worker idle 35-95 ms of a ~150 ms run).
constexpr std::uint32_t kLead = 4;

// Busy-wait a little (a hand-over is usually a few microseconds away), then
// sleep. With 4096 pauses and then sched_yield() (which returns at once when
// nothing else is runnable) the worker being waited for indexed at a third
// of the speed it does next to a sleeping one (75-93 against 31-33 ms for
// the bench capture, a few runs each): on this 2-vCPU guest a spinning
// vCPU is not free for its neighbour.
void wait_a_little(unsigned& idle) {
  if (++idle < 64) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
    return;
  }
  std::this_thread::sleep_for(std::chrono::microseconds(20));
}

}  // namespace

bool may_be_fragment(std::span<const std::uint8_t> l3) {
  if (l3.size() < 40) return true;
  switch (l3[0] >> 4) {
    case 4:
      return (load_be16(l3.data() + 6) & 0x3fffu) != 0;  // MF or an offset
    case 6: {
      const std::uint8_t next = l3[6];  // no extension header, so no fragment header
      return next != kProtoTCP && next != kProtoUDP && next != kProtoICMPv6;
    }
    default:
      return true;
  }
}

SplitFront::SplitFront(std::unique_ptr<PcapSource> source, const ShardedEngine& se,
                       std::uint32_t chunk_records)
    : source_(std::move(source)),
      se_(se),
      workers_(se.size()),
      chunk_records_(std::min<std::uint32_t>(chunk_records == 0 ? kDefaultChunk : chunk_records,
                                             kFrontIndexMask)),
      linktype_(source_->linktype()),
      file_size_(source_->file_size()),
      slots_(kSlotsPerWorker * workers_) {
  // steer() counts per shard in a fixed array.
  if (workers_ > kMaxWorkers) std::abort();
}

SplitFront::~SplitFront() = default;

bool SplitFront::index(FrontChunk& ch) {
  if (ch.capacity == 0) {
    // First use of the slot: from here on nothing grows (no allocation per
    // packet); the lists are sized for the worst case, one shard taking all.
    ch.capacity = chunk_records_;
    ch.records.reserve(chunk_records_);
    ch.op_store.resize(std::size_t{workers_} * chunk_records_);
    ch.op_count.resize(workers_);
  }
  ch.records.clear();
  ch.frames = 0;
  ch.link_errors = 0;
  ch.failed = false;
  ch.error.clear();
  bool more = true;
  CapturedFrame f;
  while (ch.frames < chunk_records_) {
    const PcapSource::Next n = source_->next(f);
    if (n == PcapSource::Next::End) {
      more = false;
      break;
    }
    if (n == PcapSource::Next::Error) {
      ch.failed = true;
      ch.error = source_->error();
      more = false;
      break;
    }
    ++ch.frames;
    const LinkResult link = strip_link_layer(linktype_, f.data);
    if (link.reason != InvalidReason::None) {
      // Never admitted: one Engine's replay does not move its clock either.
      ++ch.link_errors;
      continue;
    }
    FrontRecord& r = ch.records.emplace_back();
    r.frame = f.data.data();
    r.caplen = static_cast<std::uint32_t>(f.data.size());
    r.orig_len = f.orig_len;
    r.l3_offset = static_cast<std::uint32_t>(link.l3_offset);
    r.may_fragment = may_be_fragment(r.l3());
    r.ticket = clock_.admit(f.ts);
  }
  ch.bytes_read = source_->bytes_read();
  return more;
}

void SplitFront::steer(FrontChunk& ch) const {
  // Counts in a local array and plain stores: appending through the
  // vectors made every append reload and store their end pointers.
  std::uint32_t count[kMaxWorkers] = {};
  std::uint32_t* const store = ch.op_store.data();
  const std::uint32_t cap = ch.capacity;
  const auto put = [&](unsigned shard, std::uint32_t op) {
    store[std::size_t{shard} * cap + count[shard]++] = op;
  };
  const auto n = static_cast<std::uint32_t>(ch.records.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    const FrontRecord& r = ch.records[i];
    if (r.may_fragment) {
      for (unsigned k = 0; k < workers_; ++k) put(k, make_front_op(FrontOp::Fragment, i));
      continue;
    }
    const unsigned s = se_.steer(r.l3());
    put(s, make_front_op(FrontOp::Track, i));
    if (r.ticket.gc == 0) continue;
    for (unsigned k = 0; k < workers_; ++k) {
      if (k != s) put(k, make_front_op(FrontOp::Sweep, i));
    }
  }
  for (unsigned k = 0; k < workers_; ++k) ch.op_count[k] = count[k];
}

bool SplitFront::try_index(const ShardedEngine::Clock& clock) {
  if (indexing_.load(std::memory_order_relaxed) ||
      indexing_.exchange(true, std::memory_order_acquire)) {
    return false;
  }
  const std::uint32_t c = turn_;
  Slot& s = slot(c);
  if (c >= end_.load(std::memory_order_relaxed) ||
      (c >= slots_.size() && s.released.load(std::memory_order_acquire) != workers_)) {
    indexing_.store(false, std::memory_order_release);
    return false;
  }
  // The slot is this indexer's from here until `ready`: claimed under the
  // flag, not after steering. (Reset after steering, as it first was, a
  // worker that the host descheduled while steering chunk c left the slot
  // looking free; the other worker, blocked on chunk c, indexed the rest
  // of the ring and then chunk c + slots into that very slot, under the
  // steering's feet: wrong lists, then a hang. Seen once in a benchmark
  // run; tests/unit/split_front_test.cc forces it.)
  s.released.store(0, std::memory_order_relaxed);
  if (c == 0) clock_ = clock;  // every worker's copy is current
  const bool more = index(s.chunk);
  if (!more) {
    source_.reset();  // read to the end: close it now rather than with the last worker
    end_.store(c + 1, std::memory_order_release);
  }
  turn_ = c + 1;
  indexed_.store(c + 1, std::memory_order_relaxed);
  indexing_.store(false, std::memory_order_release);
  if (steer_hook_) steer_hook_(c);
  steer(s.chunk);
  s.ready.store(c, std::memory_order_release);
  return true;
}

void SplitFront::run(ShardedEngine::Clock& clock,
                     const std::function<void(const FrontChunk&)>& track) {
  std::uint32_t next = 0;  // the next chunk this worker tracks
  unsigned idle = 0;
  for (;;) {
    if (next >= end_.load(std::memory_order_acquire)) break;
    Slot& t = slot(next);
    const bool ready = t.ready.load(std::memory_order_acquire) == next;
    // Index when this worker has few chunks indexed ahead of its tracking,
    // or nothing else to do: the front's work then goes to whoever has
    // time, and a worker the host takes off its CPU for a while holds the
    // others up only once the ring is full.
    if ((!ready || indexed_.load(std::memory_order_relaxed) - next < kLead) && try_index(clock)) {
      idle = 0;
      continue;
    }
    if (ready) {
      track(t.chunk);
      t.released.fetch_add(1, std::memory_order_acq_rel);
      ++next;
      idle = 0;
      continue;
    }
    wait_a_little(idle);
  }
  // The last chunk was indexed before it became ready: the clock is final.
  clock = clock_;
  if (finished_.fetch_add(1, std::memory_order_acq_rel) + 1 == workers_) {
    // Everyone is done with the file: give its buffers back before the next.
    for (Slot& s : slots_) s.chunk = FrontChunk{};
    released_.store(true, std::memory_order_release);
    return;
  }
  // Wait for the others before the next file: without this a worker could
  // run through many small files ahead of a descheduled one, each file
  // holding its buffers meanwhile. It costs at most the others' last few
  // chunks (they are never more than the ring behind).
  while (!released_.load(std::memory_order_acquire)) wait_a_little(idle);
}

}  // namespace ctrack::cli

// `ctrack replay -q --threads N` when no helper can run: no front thread.
//
// Why not the front thread of replay_sharded.cc: with nothing printed per
// packet there is nothing to put back in order, and that front (read, strip,
// defragment, steer, copy into epochs) was one more busy thread next to the N
// shard workers; on a 2-CPU machine the sharded replay of the benchmark
// capture ran slower than one thread (0.36 s against 0.27 s).
//
// A capture read from a mapping (classic pcap of a link type the engine
// decodes) has its front split between the workers: each chunk of records is
// read and steered once, by whichever worker has time, and every worker runs
// its shard's part of every chunk in order (split_front.h). Other inputs
// (pcapng, files libpcap must rewrite) get a replicated front: each of the N
// workers reads the whole input itself and does the front's work for every
// packet — link layer, fragment check, steering, and the clock and GC
// schedule (its own copy of ShardedEngine::Clock).
//
// Either way a worker tracks only the packets steered to its shard; for the
// others it sweeps when their ticket carries GC work. Every frame whose link
// layer parses is admitted once, in capture order, on a clock that all
// workers agree on, so each shard sees exactly the packets, clock and sweeps
// a single front would give it: the output is that of one thread. Fragments
// go through each worker's own defragmenting engine (all see the same
// fragments, so all agree on every datagram).
//
// Worker 0 also keeps the front's books: progress, error messages (every
// worker meets the same damaged record at the same packet) and the counters
// that no shard holds.
#include <fmt/format.h>
#include <sys/stat.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/replay_batch.h"
#include "cli/replay_sharded.h"
#include "cli/replay_source.h"
#include "cli/split_front.h"
#include "io/progress.h"
#include "parse/link_layer.h"
#include "parse/packet.h"

namespace ctrack::cli {
namespace {

constexpr std::uint64_t kProgressEvery = 1 << 14;

// A worker of the split front tracks frames that were indexed long before
// (up to a ring of chunks earlier), often by the other worker, on another
// core: the frame is no longer in this core's caches, and the engine's own
// look-ahead reaches only 8 packets into a batch of 32. So the frame of the
// operation this many places ahead is fetched early, its first three lines
// (the bench capture's frames average 166 bytes, all of which the TCP
// checksum reads). Measured with per-worker cycle counters (20 runs each):
// tracking a chunk indexed by the other worker 0.33 -> 0.27 Mcycles, the
// whole file ~364 -> ~330 Mcycles per worker; 1 line gained half as much,
// 2 to 4 lines alike; distances 16-48 alike.
constexpr std::size_t kFramePrefetchOps = 32;

void prefetch_frame(const FrontRecord& r) {
  const char* p = reinterpret_cast<const char*>(r.frame);
  __builtin_prefetch(p);
  __builtin_prefetch(p + 64);
  __builtin_prefetch(p + 128);
  // Keeps the prefetches: GCC may otherwise delete a pure-looking call
  // (see ConnTable::prefetch_first).
  asm volatile("" : : "r"(p));
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// A file's split front, shared by the workers.
struct SharedSplit {
  std::once_flag once;
  std::unique_ptr<SplitFront> front;
};

// A shard as the sink of a FrameBatcher: its packets with their tickets.
struct ShardSink {
  ShardedEngine* se;
  unsigned shard;
  void operator()(std::span<const BatchPacket> pkts, std::span<Result> out,
                  std::span<const ShardedEngine::Ticket> tickets) const {
    se->process_batch(shard, pkts, tickets, out);
  }
};

struct WorkerResult {
  int status = 0;
  SummaryCounts counts;
  ShardedEngine::Clock clock;
};

class Worker {
 public:
  Worker(const ReplayOptions& opts, ShardedEngine& se, unsigned shard, io::Progress* progress)
      : opts_(opts), se_(se), shard_(shard), progress_(progress), batch_(ShardSink{&se, shard}) {
    result_.clock = se.clock();
  }

  // `maps[i]`: the shared mapping of opts.files[i] (or null); `split[i]`:
  // that file's split front, made by the first worker to get there.
  WorkerResult run(const std::vector<std::shared_ptr<const PcapMapping>>& maps,
                   std::vector<SharedSplit>& split) {
    for (std::size_t i = 0; i < opts_.files.size(); ++i) {
      SharedSplit& sp = split[i];
      if (maps[i]) std::call_once(sp.once, [&] { sp.front = open_split(opts_.files[i], maps[i]); });
      const bool ok = sp.front ? replay_split(*sp.front) : replay_file(opts_.files[i], maps[i]);
      if (!ok) result_.status = 2;
    }
    return result_;
  }

 private:
  bool books() const { return shard_ == 0; }

  bool replay_file(const std::string& path, std::shared_ptr<const PcapMapping> mapping) {
    std::string error;
    ReplaySource opened = open_replay_source(opts_, path, &error, std::move(mapping));
    if (!opened.pcap) {
      report_error(error);
      return false;
    }
    PcapSource& src = *opened.pcap;
    stable_ = src.frames_stable();
    notrack_ = std::move(opened.notrack);
    const int linktype = src.linktype();
    CapturedFrame frame;
    for (;;) {
      const PcapSource::Next n = src.next(frame);
      if (n == PcapSource::Next::End) break;
      if (n == PcapSource::Next::Error) {
        batch_.flush();
        report_error(src.error());
        return false;
      }
      const LinkResult link = strip_link_layer(linktype, frame.data);
      if (link.reason != InvalidReason::None) {
        // Never admitted: one Engine's replay does not move its clock either.
        if (books()) ++result_.counts.link_errors;
      } else {
        const std::span<const std::uint8_t> l3 = frame.data.subspan(link.l3_offset);
        front(frame.data, frame.orig_len, link.l3_offset, may_be_fragment(l3),
              result_.clock.admit(frame.ts));
      }
      if (progress_ != nullptr && (++packets_ % kProgressEvery) == 0) {
        progress_->update(packets_, bytes_before_ + src.bytes_read());
      }
    }
    batch_.flush();  // before the source (and its frames) goes
    bytes_before_ += src.file_size();
    return true;
  }

  // The split front of a mapped file, or null: a file that does not open
  // (or whose filter does not compile) is left to replay_file, where every
  // worker meets the same error and worker 0 reports it.
  std::unique_ptr<SplitFront> open_split(const std::string& path,
                                         std::shared_ptr<const PcapMapping> mapping) const {
    std::string error;
    ReplaySource rs = open_replay_source(opts_, path, &error, std::move(mapping));
    if (!rs.pcap || !rs.pcap->frames_stable()) return nullptr;
    return std::make_unique<SplitFront>(std::move(rs.pcap), se_, opts_.front_chunk);
  }

  // A file whose front is split between the workers (split_front.h): this
  // worker indexes and steers its chunks, and runs its shard's operations of
  // every chunk.
  bool replay_split(SplitFront& sf) {
    if (!opts_.notrack.empty()) {
      // It compiled when the file was opened for the split front.
      std::string error;
      notrack_ = io::BpfMatch::compile(opts_.notrack, sf.linktype(), &error);
    }
    stable_ = true;
    bool ok = true;
    sf.run(result_.clock, [&](const FrontChunk& ch) {
      const std::span<const std::uint32_t> ops = ch.ops(shard_);
      for (std::size_t i = 0; i < ops.size(); ++i) {
        if (i + kFramePrefetchOps < ops.size()) {
          prefetch_frame(ch.records[ops[i + kFramePrefetchOps] & kFrontIndexMask]);
        }
        const std::uint32_t op = ops[i];
        const FrontRecord& r = ch.records[op & kFrontIndexMask];
        switch (front_op(op)) {
          case FrontOp::Track:
            own(r.l3(), r.data(), r.orig_len, nullptr, r.ticket);
            break;
          case FrontOp::Sweep:
            sweep(r.ticket);
            break;
          case FrontOp::Fragment:
            front(r.data(), r.orig_len, r.l3_offset, true, r.ticket);
            break;
        }
      }
      if (books()) {
        result_.counts.link_errors += ch.link_errors;
        packets_ += ch.frames;
        if (progress_ != nullptr) progress_->update(packets_, bytes_before_ + ch.bytes_read);
      }
      if (ch.failed) {
        batch_.flush();
        report_error(ch.error);
        ok = false;
      }
    });
    batch_.flush();
    bytes_before_ += sf.file_size();
    return ok;
  }

  // replay_sharded.cc's defragment_and_dispatch, without the display; `t`
  // is the frame's ticket (every frame whose link layer parses is admitted
  // once, fragment or not).
  void front(std::span<const std::uint8_t> frame, std::uint32_t orig_len, std::size_t l3_off,
             bool may_fragment, const ShardedEngine::Ticket& t) {
    const std::span<const std::uint8_t> l3 = frame.subspan(l3_off);
    if (!may_fragment) {
      dispatch(l3, frame, orig_len, nullptr, t);
      return;
    }
    // t.now is the running maximum of the capture's timestamps, as the
    // front's own clock would be.
    if (!front_) front_.emplace(defrag_only_config(opts_.config));
    const Reassembly ra = front_->reassemble(l3, t.now);
    switch (ra.status) {
      case FragStatus::None:
        dispatch(l3, frame, orig_len, nullptr, t);
        return;
      case FragStatus::Held:
      case FragStatus::Dropped:
        // Still a packet: it moved the clock (and may carry GC work).
        sweep(t);
        if (books()) ++result_.counts.front_fragments;
        return;
      case FragStatus::Reassembled:
        dispatch(ra.l3, frame, orig_len, &l3_off, t);
        return;
    }
  }

  // `reassembled_l3_off` is set when `l3` is a datagram the front rebuilt:
  // --notrack then looks at it behind the frame's link header.
  void dispatch(std::span<const std::uint8_t> l3, std::span<const std::uint8_t> frame,
                std::uint32_t orig_len, const std::size_t* reassembled_l3_off,
                const ShardedEngine::Ticket& t) {
    if (se_.steer(l3) != shard_) {
      sweep(t);
      return;
    }
    own(l3, frame, orig_len, reassembled_l3_off, t);
  }

  // A packet of this shard.
  void own(std::span<const std::uint8_t> l3, std::span<const std::uint8_t> frame,
           std::uint32_t orig_len, const std::size_t* reassembled_l3_off,
           const ShardedEngine::Ticket& t) {
    CtTemplate tmpl;
    if (notrack_) {
      if (reassembled_l3_off == nullptr) {
        tmpl.notrack = notrack_->matches(frame, orig_len);
      } else {
        scratch_.assign(frame.begin(),
                        frame.begin() + static_cast<std::ptrdiff_t>(*reassembled_l3_off));
        scratch_.insert(scratch_.end(), l3.begin(), l3.end());
        tmpl.notrack = notrack_->matches(scratch_, static_cast<std::uint32_t>(scratch_.size()));
      }
    }
    // A reassembled datagram lives only until the next one is complete.
    batch_.add(l3, t.now, stable_ && reassembled_l3_off == nullptr, tmpl, t);
  }

  // Another shard's packet: this shard only sweeps, if the packet's ticket
  // says so, and in order with its own pending packets.
  void sweep(const ShardedEngine::Ticket& t) {
    if (t.gc == 0) return;
    batch_.flush();
    se_.sweep(shard_, t);
  }

  void report_error(const std::string& message) {
    if (books()) fmt::print(stderr, "ctrack: {}\n", message);
  }

  const ReplayOptions& opts_;
  ShardedEngine& se_;
  const unsigned shard_;
  io::Progress* progress_;  // worker 0 only
  // Defragmentation only; made at the first packet that may be a fragment
  // (a table of its own is a fixed cost most captures never need).
  std::optional<Engine> front_;
  std::unique_ptr<io::BpfMatch> notrack_;
  std::vector<std::uint8_t> scratch_;
  FrameBatcher<ShardSink, ShardedEngine::Ticket> batch_;  // this shard's packets
  bool stable_ = false;  // the current source's frames outlive the batch
  std::uint64_t packets_ = 0;
  std::uint64_t bytes_before_ = 0;
  WorkerResult result_;
};

}  // namespace

bool replicated_front_applies(const ReplayOptions& opts) {
  // More workers than cores would repeat the front's per-packet work on
  // every one of them, on the same cores: there the front thread of
  // replay_sharded.cc does less in total.
  const unsigned cores = std::thread::hardware_concurrency();
  return opts.quiet && opts.config.helpers.empty() && !opts.config.auto_helpers &&
         (cores == 0 || opts.threads <= cores);
}

int run_replay_replicated(const ReplayOptions& opts) {
  ShardedEngine se(opts.config, opts.threads);
  std::uint64_t total = 0;
  for (const std::string& f : opts.files) total += file_size(f);
  io::Progress progress(total);
  // One mapping per file for all workers: its pages are faulted in once,
  // not once per worker (the faults were a fifth of a worker's front work).
  std::vector<std::shared_ptr<const PcapMapping>> maps;
  for (const std::string& f : opts.files) maps.push_back(PcapSource::map(f));
  // A mapped file's front is split between the workers (split_front.h);
  // others (pcapng, link types libpcap rewrites) keep the replicated front.
  // Each file is opened when the first worker gets to it, and closed when
  // the last is done with it.
  std::vector<SharedSplit> split(opts.files.size());
  std::vector<WorkerResult> results(se.size());
  {
    std::vector<std::jthread> threads;
    for (unsigned w = 0; w < se.size(); ++w) {
      threads.emplace_back([&, w] {
        Worker worker(opts, se, w, w == 0 && progress.enabled() ? &progress : nullptr);
        results[w] = worker.run(maps, split);
      });
    }
  }
  progress.finish();
  // All copies of the clock ended in the same state; the summary goes on
  // from it (the table is listed at the capture's last timestamp).
  se.set_clock(results[0].clock);
  print_sharded_summary(opts, se, results[0].counts);
  return results[0].status;
}

}  // namespace ctrack::cli

// `ctrack replay -q --threads N` when no helper can run: a replicated front.
//
// Why not the front thread of replay_sharded.cc: with nothing printed per
// packet there is nothing to put back in order, and that front (read, strip,
// defragment, steer, copy into epochs) was one more busy thread next to the N
// shard workers; on a 2-CPU machine the sharded replay of the benchmark
// capture ran slower than one thread (0.36 s against 0.27 s).
//
// Here each of the N workers reads the whole input itself (the capture is
// mapped read-only: reading copies nothing) and does the front's work for
// every packet: link layer, fragment check, steering, and the clock and GC
// schedule (its own copy of ShardedEngine::Clock). It tracks only the packets
// steered to its shard; for the others it sweeps when their ticket carries GC
// work. All copies of the clock see the same timestamps in the same order, so
// every worker computes the tickets the single front would have, and each
// shard sees exactly the packets, clock and sweeps it saw there: the output is
// that of one thread. Fragments go through each worker's own defragmenting
// engine (all see the same fragments, so all agree on every datagram).
//
// Worker 0 also keeps the front's books: progress, error messages (every
// worker meets the same damaged record at the same packet) and the counters
// that no shard holds.
#include <fmt/format.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/replay_batch.h"
#include "cli/replay_sharded.h"
#include "cli/replay_source.h"
#include "io/progress.h"
#include "parse/link_layer.h"
#include "parse/packet.h"

namespace ctrack::cli {
namespace {

constexpr std::uint64_t kProgressEvery = 1 << 14;

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// False only for packets that certainly are not fragments, without a full
// parse (every worker asks this of every packet). What it lets through goes
// to Engine::reassemble, which parses and decides; what it rules out the
// defragmenter would have returned untouched.
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
      : opts_(opts),
        se_(se),
        shard_(shard),
        progress_(progress),
        front_(opts.config),
        batch_(ShardSink{&se, shard}) {
    result_.clock = se.clock();
  }

  // `maps[i]`: the shared mapping of opts.files[i] (or null).
  WorkerResult run(const std::vector<std::shared_ptr<const PcapMapping>>& maps) {
    for (std::size_t i = 0; i < opts_.files.size(); ++i) {
      if (!replay_file(opts_.files[i], maps[i])) result_.status = 2;
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
        front(frame, link.l3_offset);
      }
      if (progress_ != nullptr && (++packets_ % kProgressEvery) == 0) {
        progress_->update(packets_, bytes_before_ + src.bytes_read());
      }
    }
    batch_.flush();  // before the source (and its frames) goes
    bytes_before_ += src.file_size();
    return true;
  }

  // replay_sharded.cc's defragment_and_dispatch, without the display.
  void front(const CapturedFrame& frame, std::size_t l3_off) {
    const std::span<const std::uint8_t> l3 = frame.data.subspan(l3_off);
    if (frame.ts > front_now_ || !front_started_) front_now_ = frame.ts;
    front_started_ = true;
    if (!may_be_fragment(l3)) {
      dispatch(l3, frame, nullptr);
      return;
    }
    const Reassembly ra = front_.reassemble(l3, front_now_);
    switch (ra.status) {
      case FragStatus::None:
        dispatch(l3, frame, nullptr);
        return;
      case FragStatus::Held:
      case FragStatus::Dropped: {
        // Still a packet: it moves the clock (and may carry GC work).
        sweep(result_.clock.admit(frame.ts));
        if (books()) ++result_.counts.front_fragments;
        return;
      }
      case FragStatus::Reassembled:
        dispatch(ra.l3, frame, &l3_off);
        return;
    }
  }

  // `reassembled_l3_off` is set when `l3` is a datagram the front rebuilt:
  // --notrack then looks at it behind the frame's link header.
  void dispatch(std::span<const std::uint8_t> l3, const CapturedFrame& frame,
                const std::size_t* reassembled_l3_off) {
    const unsigned s = se_.steer(l3);
    const ShardedEngine::Ticket t = result_.clock.admit(frame.ts);
    if (s != shard_) {
      sweep(t);
      return;
    }
    CtTemplate tmpl;
    if (notrack_) {
      if (reassembled_l3_off == nullptr) {
        tmpl.notrack = notrack_->matches(frame.data, frame.orig_len);
      } else {
        scratch_.assign(frame.data.begin(),
                        frame.data.begin() + static_cast<std::ptrdiff_t>(*reassembled_l3_off));
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
  Engine front_;            // defragmentation only
  std::unique_ptr<io::BpfMatch> notrack_;
  std::vector<std::uint8_t> scratch_;
  FrameBatcher<ShardSink, ShardedEngine::Ticket> batch_;  // this shard's packets
  bool stable_ = false;  // the current source's frames outlive the batch
  Timestamp front_now_ = 0;
  bool front_started_ = false;
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
  std::vector<WorkerResult> results(se.size());
  {
    std::vector<std::jthread> threads;
    for (unsigned w = 0; w < se.size(); ++w) {
      threads.emplace_back([&, w] {
        Worker worker(opts, se, w, w == 0 && progress.enabled() ? &progress : nullptr);
        results[w] = worker.run(maps);
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

// `ctrack replay --threads N`: the replay on a ShardedEngine.
//
// Pipeline: the main thread reads frames, strips the link layer, steers each
// packet to its shard and admits it to the shared clock; it fills an "epoch"
// of up to kEpochPackets packets (one work list per shard, frames copied,
// since libpcap reuses its buffer) and hands the epoch to the workers. Worker
// w tracks and formats the packets of shard w, in order, into its list's
// output buffer. When every worker is done with an epoch, the main thread
// (the reorder stage) writes the lines in capture order, following the
// epoch's record of which shard each packet went to. kEpochsInFlight epochs
// rotate, so reading, tracking and writing overlap. Buffers keep their
// capacity: nothing is allocated per packet once they have grown.
//
// Formatting happens on the worker, right after the packet, because a
// Result's entry (and the shard's clock that its timeout is read against) is
// only valid until the shard's next packet.
#include "cli/replay_sharded.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cli/replay_display.h"
#include "cli/replay_options.h"
#include "cli/replay_source.h"
#include "cli/split_front.h"
#include "ctrack/sharded_engine.h"
#include "io/bpf_match.h"
#include "io/entry_format.h"
#include "io/expect_format.h"
#include "io/packet_format.h"
#include "io/pcap_source.h"
#include "io/progress.h"
#include "io/stats_format.h"
#include "parse/link_layer.h"

namespace ctrack::cli {
namespace {

constexpr std::size_t kEpochPackets = 4096;
constexpr std::size_t kEpochsInFlight = 4;
constexpr std::size_t kFlushAt = 1 << 16;
constexpr std::uint64_t kProgressEvery = 1 << 14;
constexpr std::uint8_t kFrontLine = 0xff;  // order entry: a line the main thread wrote

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

struct Item {
  std::uint32_t off = 0;
  std::uint32_t len = 0;
  ShardedEngine::Ticket ticket{};
  std::uint64_t index = 0;  // frame number in its file
  Timestamp ts = 0;         // capture time (what the output shows)
  bool sweep_only = false;  // GC work of a packet on another shard
  // A datagram the front reassembled: `off`/`len` hold the datagram, which
  // the shard tracks; `frag_off`/`frag_len` the fragment that completed it,
  // which the display reads as one Engine's replay does; `frames_off`/
  // `frames_len` the frame numbers of its fragments in ShardWork::frames.
  bool notrack = false;  // --notrack matched (the raw table's decision)
  FragStatus frag = FragStatus::None;
  std::uint32_t datagram = 0;
  std::uint16_t frag_count = 0;
  std::uint32_t frag_off = 0, frag_len = 0;
  std::uint32_t frames_off = 0, frames_len = 0;
};

// One shard's share of an epoch.
struct ShardWork {
  std::vector<std::uint8_t> bytes;
  std::vector<Item> items;
  std::vector<std::uint64_t> frames;  // fragment frame numbers of reassembled datagrams
  std::string out;
  std::vector<std::uint32_t> ends;  // end offset in `out` of each packet's line
  void clear() {
    bytes.clear();
    items.clear();
    frames.clear();
    out.clear();
    ends.clear();
  }
};

struct Epoch {
  std::vector<ShardWork> work;
  std::vector<std::uint8_t> order;  // shard of each output line, kFrontLine for the main thread's
  std::string front_out;
  std::vector<std::uint32_t> front_ends;
  std::size_t packets = 0;
  bool stop = false;
  // Set to generation + 1 when handed to the workers; counts workers still busy.
  std::atomic<std::uint64_t> ready{0};
  std::atomic<unsigned> busy{0};
};

class ShardedReplayer {
 public:
  explicit ShardedReplayer(const ReplayOptions& opts)
      : opts_(opts), se_(opts.config, opts.threads), epochs_(kEpochsInFlight) {
    for (Epoch& e : epochs_) e.work.resize(se_.size());
  }

  int run() {
    for (unsigned w = 0; w < se_.size(); ++w) workers_.emplace_back([this, w] { work(w); });
    std::uint64_t total = 0;
    for (const std::string& f : opts_.files) total += file_size(f);
    io::Progress progress(total);
    int status = 0;
    for (const std::string& path : opts_.files) {
      if (!replay_file(path, progress)) status = 2;
    }
    current().stop = true;
    submit();
    drain_all();
    for (std::thread& t : workers_) t.join();
    progress.finish();
    flush();
    std::fflush(stdout);
    print_summary();
    return status;
  }

 private:
  Epoch& current() { return epochs_[gen_ % kEpochsInFlight]; }

  bool replay_file(const std::string& path, io::Progress& progress) {
    std::string error;
    ReplaySource opened = open_replay_source(opts_, path, &error);
    if (!opened.pcap) {
      report_error(error);
      return false;
    }
    std::unique_ptr<PcapSource> src = std::move(opened.pcap);
    notrack_ = std::move(opened.notrack);
    if (!opts_.quiet && opts_.packet_format == PacketFormat::Text && opts_.files.size() > 1) {
      Epoch& e = current();
      fmt::format_to(std::back_inserter(e.front_out), "==> {} <==\n", path);
      front_line(e);
    }
    const int linktype = src->linktype();
    CapturedFrame frame;
    for (;;) {
      const PcapSource::Next n = src->next(frame);
      if (n == PcapSource::Next::End) break;
      if (n == PcapSource::Next::Error) {
        report_error(src->error());
        return false;
      }
      if (!have_t0_) {
        t0_ = frame.ts;
        have_t0_ = true;
      }
      const LinkResult link = strip_link_layer(linktype, frame.data);
      if (link.reason != InvalidReason::None) {
        ++link_errors_;
        if (!opts_.quiet) {
          Result r;
          r.state = CtState::Invalid;
          r.reason = link.reason;
          Epoch& e = current();
          const io::PacketEvent ev{frame.index, frame.ts, &r};
          // Neither format reads the engine for a packet without an entry.
          if (opts_.packet_format == PacketFormat::Json) {
            io::append_packet_json(e.front_out, se_.shard(0), ev);
          } else {
            io::append_packet_text(e.front_out, se_.shard(0), ev, t0_);
          }
          front_line(e);
        }
      } else {
        defragment_and_dispatch(frame, link.l3_offset);
      }
      if (progress.enabled() && (++packets_ % kProgressEvery) == 0) {
        progress.update(packets_, bytes_before_ + src->bytes_read());
      }
    }
    bytes_before_ += src->file_size();
    return true;
  }

  void front_line(Epoch& e) {
    e.front_ends.push_back(static_cast<std::uint32_t>(e.front_out.size()));
    e.order.push_back(kFrontLine);
    if (e.order.size() >= kEpochPackets) submit();
  }

  // Defragmentation runs here, in the front, on an engine of its own that
  // does nothing else (Engine::reassemble): a datagram's fragments are not
  // steered like its flow's unfragmented packets (only the first carries
  // the ports), so reassembling on a shard would track the datagram on the
  // wrong one. The whole datagram is then steered by its own tuple. Held and
  // dropped fragments never reach conntrack; the front reports them.
  //
  // --notrack is decided here too: the raw table (-300) runs after
  // defragmentation (-400), so the expression sees the whole datagram behind
  // the frame's link header, as in the one-engine replay.
  void defragment_and_dispatch(const CapturedFrame& frame, std::size_t l3_off) {
    const std::span<const std::uint8_t> l3 = frame.data.subspan(l3_off);
    if (frame.ts > front_now_ || !front_started_) front_now_ = frame.ts;  // one Engine's clock
    front_started_ = true;
    if (!may_be_fragment(l3)) {  // most packets: no parse here, and no defragmenter
      dispatch(frame, l3, notrack_ && notrack_->matches(frame.data, frame.orig_len));
      return;
    }
    if (!front_) front_.emplace(defrag_only_config(opts_.config));
    const Reassembly ra = front_->reassemble(l3, front_now_);
    switch (ra.status) {
      case FragStatus::None:
        dispatch(frame, l3, notrack_ && notrack_->matches(frame.data, frame.orig_len));
        return;
      case FragStatus::Held:
      case FragStatus::Dropped:
        front_fragment(frame, l3, ra);
        return;
      case FragStatus::Reassembled: {
        std::vector<std::uint64_t>& frames = datagram_frames_[ra.datagram];
        frames.push_back(frame.index);
        bool untracked = false;
        if (notrack_) {
          scratch_.assign(frame.data.begin(),
                          frame.data.begin() + static_cast<std::ptrdiff_t>(l3_off));
          scratch_.insert(scratch_.end(), ra.l3.begin(), ra.l3.end());
          untracked = notrack_->matches(scratch_, static_cast<std::uint32_t>(scratch_.size()));
        }
        dispatch(frame, ra.l3, untracked, &ra, l3, frames);
        datagram_frames_.erase(ra.datagram);
        return;
      }
    }
  }

  // A fragment held (or dropped) by the front's defragmenter: it still moves
  // the clock and counts as a packet, as it does in one Engine.
  void front_fragment(const CapturedFrame& frame, std::span<const std::uint8_t> l3,
                      const Reassembly& ra) {
    ++front_fragments_;
    Epoch& e = current();
    const ShardedEngine::Ticket t = se_.admit(frame.ts);
    distribute_sweep(e, t, se_.size());
    if (ra.status == FragStatus::Dropped) {
      // An overlap (IPv4: any inconsistency) ends the datagram; others keep it.
      if (ra.reason == InvalidReason::FragOverlap || ra.reason == InvalidReason::FragOversize ||
          ra.reason == InvalidReason::FragEcnMismatch) {
        datagram_frames_.erase(ra.datagram);
      }
    } else if (ra.datagram != 0) {
      datagram_frames_[ra.datagram].push_back(frame.index);
    }
    if (!opts_.quiet) {
      Result r;
      r.state = CtState::Invalid;
      r.reason = ra.reason;
      r.dropped = ra.status == FragStatus::Dropped;
      r.frag = ra.status;
      r.datagram = ra.datagram;
      // A held fragment has no entry: the formats read no engine state for it.
      const io::PacketEvent ev{frame.index, frame.ts, &r};
      if (opts_.packet_format == PacketFormat::Json) {
        io::append_packet_json(e.front_out, se_.shard(0), ev);
      } else {
        fill_display_tuple(l3, r);
        io::append_packet_text(e.front_out, se_.shard(0), ev, t0_);
      }
      front_line(e);
    } else if (++e.packets >= kEpochPackets) {
      submit();
    }
  }

  // Every shard but `except` sweeps the same buckets at this packet's time.
  void distribute_sweep(Epoch& e, const ShardedEngine::Ticket& t, unsigned except) {
    if (t.gc == 0) return;
    Item sw;
    sw.ticket = t;
    sw.sweep_only = true;
    for (unsigned i = 0; i < se_.size(); ++i) {
      if (i != except) e.work[i].items.push_back(sw);
    }
  }

  void dispatch(const CapturedFrame& frame, std::span<const std::uint8_t> l3, bool untracked,
                const Reassembly* ra = nullptr, std::span<const std::uint8_t> fragment = {},
                std::span<const std::uint64_t> frames = {}) {
    Epoch& e = current();
    const unsigned s = se_.steer(l3);
    const ShardedEngine::Ticket t = se_.admit(frame.ts);
    ShardWork& w = e.work[s];
    // Built in place: an Item filled field by field on the stack and then
    // pushed made the copy's wide loads wait for the narrow stores (a
    // store-forwarding stall that perf put at four fifths of this function).
    Item& it = w.items.emplace_back();
    it.off = static_cast<std::uint32_t>(w.bytes.size());
    it.len = static_cast<std::uint32_t>(l3.size());
    it.ticket = t;
    it.index = frame.index;
    it.ts = frame.ts;
    it.notrack = untracked;
    w.bytes.insert(w.bytes.end(), l3.begin(), l3.end());
    if (ra != nullptr) {
      it.frag = ra->status;
      it.datagram = ra->datagram;
      it.frag_count = ra->frag_count;
      it.frag_off = static_cast<std::uint32_t>(w.bytes.size());
      it.frag_len = static_cast<std::uint32_t>(fragment.size());
      w.bytes.insert(w.bytes.end(), fragment.begin(), fragment.end());
      it.frames_off = static_cast<std::uint32_t>(w.frames.size());
      it.frames_len = static_cast<std::uint32_t>(frames.size());
      w.frames.insert(w.frames.end(), frames.begin(), frames.end());
    }
    distribute_sweep(e, t, s);
    if (!opts_.quiet) e.order.push_back(static_cast<std::uint8_t>(s));
    if (++e.packets >= kEpochPackets || e.order.size() >= kEpochPackets) submit();
  }

  // Hands the current epoch to the workers and moves on to the next slot,
  // writing out the epoch that used it first.
  void submit() {
    Epoch& e = current();
    e.busy.store(se_.size(), std::memory_order_relaxed);
    e.ready.store(gen_ + 1, std::memory_order_release);
    e.ready.notify_all();
    ++gen_;
    if (gen_ - written_ >= kEpochsInFlight) write_out(epochs_[written_ % kEpochsInFlight]);
    reset(current());
  }

  static void reset(Epoch& e) {
    for (ShardWork& w : e.work) w.clear();
    e.order.clear();
    e.front_out.clear();
    e.front_ends.clear();
    e.packets = 0;
    e.stop = false;
  }

  void drain_all() {
    while (written_ < gen_) write_out(epochs_[written_ % kEpochsInFlight]);
  }

  // The reorder stage: waits for the oldest epoch and writes its lines in
  // capture order.
  void write_out(Epoch& e) {
    for (unsigned b; (b = e.busy.load(std::memory_order_acquire)) != 0;) e.busy.wait(b);
    std::vector<std::size_t>& pos = pos_;
    pos.assign(se_.size() + 1, 0);
    std::size_t front_pos = 0;
    std::uint32_t front_start = 0;
    for (std::uint8_t s : e.order) {
      if (s == kFrontLine) {
        const std::uint32_t end = e.front_ends[front_pos++];
        out_.append(e.front_out, front_start, end - front_start);
        front_start = end;
      } else {
        ShardWork& w = e.work[s];
        const std::size_t i = pos[s]++;
        const std::uint32_t start = i == 0 ? 0 : w.ends[i - 1];
        out_.append(w.out, start, w.ends[i] - start);
      }
      if (out_.size() >= kFlushAt) flush();
    }
    ++written_;
  }

  void work(unsigned w) {
    for (std::uint64_t g = 0;; ++g) {
      Epoch& e = epochs_[g % kEpochsInFlight];
      for (std::uint64_t r; (r = e.ready.load(std::memory_order_acquire)) != g + 1;)
        e.ready.wait(r);
      track(w, e.work[w]);
      const bool stop = e.stop;
      if (e.busy.fetch_sub(1, std::memory_order_acq_rel) == 1) e.busy.notify_all();
      if (stop) return;
    }
  }

  // Consecutive packets of the shard go through its batch pipeline (the
  // look-ahead overlaps their table misses); a sweep for another shard's
  // packet ends a run, since it must come between the packets around it.
  // Lines are written from the batch's visitor, right after each packet.
  void track(unsigned s, ShardWork& w) {
    constexpr std::size_t kRun = 32;
    BatchPacket pkts[kRun];
    ShardedEngine::Ticket tickets[kRun];
    Result out[kRun];
    std::size_t items[kRun];
    std::size_t n = 0;
    auto run = [&] {
      if (n == 0) return;
      if (opts_.quiet) {
        se_.process_batch(s, {pkts, n}, {tickets, n}, {out, n});
      } else {
        auto each = [&](std::size_t i, const Result&) { show(s, w, w.items[items[i]], out[i]); };
        se_.process_batch(s, {pkts, n}, {tickets, n}, {out, n}, each);
      }
      n = 0;
    };
    for (std::size_t k = 0; k < w.items.size(); ++k) {
      const Item& it = w.items[k];
      if (it.sweep_only) {
        run();
        se_.sweep(s, it.ticket);
        continue;
      }
      CtTemplate tmpl;
      tmpl.notrack = it.notrack;
      pkts[n] = {std::span<const std::uint8_t>(w.bytes.data() + it.off, it.len), it.ticket.now,
                 tmpl};
      tickets[n] = it.ticket;
      items[n] = k;
      if (++n == kRun) run();
    }
    run();
  }

  // The line of packet `it`, tracked on shard `s` with result `r`.
  void show(unsigned s, ShardWork& w, const Item& it, Result& r) {
    const Engine& shard = se_.shard(s);
    // What the display reads: the frame's own packet (for a reassembled
    // datagram, the fragment that completed it, as in one Engine's replay).
    const std::span<const std::uint8_t> shown =
        it.frag == FragStatus::Reassembled
            ? std::span<const std::uint8_t>(w.bytes.data() + it.frag_off, it.frag_len)
            : std::span<const std::uint8_t>(w.bytes.data() + it.off, it.len);
    std::span<const std::uint64_t> frames;
    if (it.frag == FragStatus::Reassembled) {
      r.frag = it.frag;
      r.datagram = it.datagram;
      r.frag_count = it.frag_count;
      frames = {w.frames.data() + it.frames_off, it.frames_len};
    }
    const io::PacketEvent ev{it.index, it.ts, &r, frames};
    if (opts_.packet_format == PacketFormat::Json) {
      io::append_packet_json(w.out, shard, ev);
    } else {
      fill_display_tuple(shown, r);
      io::append_packet_text(w.out, shard, ev, t0_);
    }
    w.ends.push_back(static_cast<std::uint32_t>(w.out.size()));
  }

  void flush() {
    if (!out_.empty()) std::fwrite(out_.data(), 1, out_.size(), stdout);
    out_.clear();
  }

  // Input errors go to stderr in order with what was already printed.
  void report_error(const std::string& message) {
    if (!current().order.empty() || current().packets != 0) submit();
    drain_all();
    flush();
    std::fflush(stdout);
    fmt::print(stderr, "ctrack: {}\n", message);
  }

  void print_summary() {
    flush();
    SummaryCounts counts;
    counts.front_fragments = front_fragments_;
    counts.link_errors = link_errors_;
    print_sharded_summary(opts_, se_, counts);
  }

  const ReplayOptions& opts_;
  ShardedEngine se_;
  // Defragmentation only (defragment_and_dispatch); made at the first
  // packet that may be a fragment.
  std::optional<Engine> front_;
  std::unique_ptr<io::BpfMatch> notrack_;  // --notrack, compiled for the current file
  std::vector<std::uint8_t> scratch_;      // --notrack: link header + reassembled datagram
  Timestamp front_now_ = 0;
  bool front_started_ = false;
  std::unordered_map<std::uint32_t, std::vector<std::uint64_t>> datagram_frames_;
  std::uint64_t front_fragments_ = 0;
  std::vector<Epoch> epochs_;
  std::vector<std::thread> workers_;
  std::uint64_t gen_ = 0;      // epochs handed to the workers
  std::uint64_t written_ = 0;  // epochs written out
  std::vector<std::size_t> pos_;
  std::string out_;
  std::uint64_t packets_ = 0;
  std::uint64_t bytes_before_ = 0;
  std::uint64_t link_errors_ = 0;
  Timestamp t0_ = 0;
  bool have_t0_ = false;
};

}  // namespace

void print_sharded_summary(const ReplayOptions& opts, ShardedEngine& se,
                           const SummaryCounts& counts) {
  std::string out;
  auto flush = [&out] {
    if (!out.empty()) std::fwrite(out.data(), 1, out.size(), stdout);
    out.clear();
  };
  if (opts.table) {
    // As replay_run.cc: the capture's last timestamp is "now".
    se.expire(se.now());
    const auto entries = se.entries();
    std::unordered_map<std::uint32_t, std::uint32_t> children;
    for (const ShardedEngine::Entry& e : entries) {
      if (e.conn->master != kNoConn) ++children[e.conn->master];
    }
    for (const ShardedEngine::Entry& e : entries) {
      io::EntryInfo info = io::entry_info(*e.shard, *e.conn);
      if (auto it = children.find(e.conn->id); it != children.end()) info.children = it->second;
      io::append_entry(out, *opts.table, info);
      if (out.size() >= kFlushAt) flush();
    }
    flush();
    std::fflush(stdout);
    if (*opts.table == io::TableFormat::Conntrack) {
      std::fputs(io::conntrack_summary_line(entries.size()).c_str(), stderr);
    }
  }
  if (opts.expectations) {
    se.expire(se.now());
    const auto list = se.expectations();
    // After expire() every shard's clock is the shared one.
    for (const Expectation& e : list) {
      io::append_expectation(out, *opts.expectations, e, se.shard(0).timeout_left(e));
      if (out.size() >= kFlushAt) flush();
    }
    flush();
    std::fflush(stdout);
    if (*opts.expectations == io::ExpectFormat::Conntrack) {
      std::fputs(io::conntrack_expect_summary_line(list.size()).c_str(), stderr);
    }
  }
  if (opts.stats) {
    Stats st = se.stats();
    st.packets += counts.front_fragments;  // held by the front, never reached a shard
    io::append_conntrack_stats(out, st);
    if (!opts.config.helpers.empty() || st.expect_create != 0) io::append_expect_stats(out, st);
    io::append_ctrack_stats(out, st, counts.link_errors);
    flush();
  }
  std::fflush(stdout);
}

int run_replay_sharded(const ReplayOptions& opts) {
  if (replicated_front_applies(opts)) return run_replay_replicated(opts);
  ShardedReplayer replayer(opts);
  return replayer.run();
}

}  // namespace ctrack::cli

// The replay loop: captures in, one engine, per-packet lines out, then the
// table and statistics.
//
// The -q path is benchmarked (whole process, >= 10 Mpps): it reads a frame,
// strips the link layer and calls the engine, nothing else. Everything that
// formats lives behind `!quiet`.
#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli/replay_batch.h"
#include "cli/replay_display.h"
#include "cli/replay_options.h"
#include "cli/replay_source.h"
#include "ctrack/engine.h"
#include "io/bpf_match.h"
#include "io/entry_format.h"
#include "io/expect_format.h"
#include "io/packet_format.h"
#include "io/pcap_source.h"
#include "io/progress.h"
#include "io/stats_format.h"
#include "parse/link_layer.h"
#include "parse/packet.h"

namespace ctrack::cli {
namespace {

constexpr std::size_t kFlushAt = 1 << 16;          // write stdout in 64 KiB chunks
constexpr std::uint64_t kProgressEvery = 1 << 14;  // packets between clock reads

void flush(std::string& buf) {
  if (!buf.empty()) std::fwrite(buf.data(), 1, buf.size(), stdout);
  buf.clear();
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

class Replayer {
 public:
  explicit Replayer(const ReplayOptions& opts) : opts_(opts), engine_(opts.config) {}

  int run() {
    std::uint64_t total = 0;
    for (const std::string& f : opts_.files) total += file_size(f);
    io::Progress progress(total);
    int status = 0;
    for (const std::string& path : opts_.files) {
      if (!replay_file(path, progress)) status = 2;
    }
    progress.finish();
    flush(out_);
    std::fflush(stdout);
    print_summary();
    return status;
  }

 private:
  // Returns false (after reporting) if the file could not be read to its end.
  bool replay_file(const std::string& path, io::Progress& progress) {
    std::string error;
    ReplaySource opened = open_replay_source(opts_, path, &error);
    if (!opened.pcap) {
      report_error(error);
      return false;
    }
    std::unique_ptr<PcapSource> src = std::move(opened.pcap);
    std::unique_ptr<io::BpfMatch> notrack = std::move(opened.notrack);
    if (!opts_.quiet && opts_.packet_format == PacketFormat::Text && opts_.files.size() > 1) {
      fmt::format_to(std::back_inserter(out_), "==> {} <==\n", path);
    }
    const int linktype = src->linktype();
    const bool stable = src->frames_stable();
    CapturedFrame frame;
    for (;;) {
      const PcapSource::Next n = src->next(frame);
      if (n == PcapSource::Next::End) break;
      if (n == PcapSource::Next::Error) {
        quiet_.flush();
        shown_.flush();
        report_error(src->error());
        return false;
      }
      const LinkResult link = strip_link_layer(linktype, frame.data);
      if (link.reason != InvalidReason::None) {
        ++link_errors_;
        if (!opts_.quiet) {
          shown_.flush();  // the lines of the packets before it first
          Result r;
          r.state = CtState::Invalid;
          r.reason = link.reason;
          emit({frame.index, frame.ts}, r);
        }
      } else {
        const auto l3 = frame.data.subspan(link.l3_offset);
        if (opts_.quiet && !notrack) {
          quiet_.add(l3, frame.ts, stable);
        } else if (opts_.quiet) {
          track_notrack(*notrack, frame, link.l3_offset);
        } else if (!notrack) {
          shown_.add(l3, frame.ts, stable, {}, Shown{frame.index, frame.ts});
        } else {
          Result r = track_notrack(*notrack, frame, link.l3_offset);
          show(l3, {frame.index, frame.ts}, r);
        }
      }
      if (progress.enabled() && (++packets_ % kProgressEvery) == 0) {
        progress.update(packets_, bytes_before_ + src->bytes_read());
      }
    }
    quiet_.flush();
    shown_.flush();
    bytes_before_ += src->file_size();
    return true;
  }

  // --notrack: the raw table (-300) runs after defragmentation (-400), so
  // the expression sees the reassembled datagram behind this frame's link
  // header, never a lone fragment.
  Result track_notrack(const io::BpfMatch& m, const CapturedFrame& frame, std::size_t l3_off) {
    const auto l3 = frame.data.subspan(l3_off);
    const Reassembly ra = engine_.reassemble(l3, frame.ts);
    CtTemplate tmpl;
    Result r;
    switch (ra.status) {
      case FragStatus::None:
        tmpl.notrack = m.matches(frame.data, frame.orig_len);
        return engine_.process(ra.l3, frame.ts, Hook::Network, tmpl);
      case FragStatus::Held:
      case FragStatus::Dropped:
        r.state = CtState::Invalid;
        r.reason = ra.reason;
        r.dropped = ra.status == FragStatus::Dropped;
        break;
      case FragStatus::Reassembled:
        scratch_.assign(frame.data.begin(),
                        frame.data.begin() + static_cast<std::ptrdiff_t>(l3_off));
        scratch_.insert(scratch_.end(), ra.l3.begin(), ra.l3.end());
        tmpl.notrack = m.matches(scratch_, static_cast<std::uint32_t>(scratch_.size()));
        r = engine_.process(ra.l3, frame.ts, Hook::Network, tmpl);
        r.frag_count = ra.frag_count;
        break;
    }
    r.frag = ra.status;
    r.datagram = ra.datagram;
    return r;
  }

  // What a packet's line needs besides its Result.
  struct Shown {
    std::uint64_t index = 0;  // frame number in its file
    Timestamp ts = 0;
  };

  // The per-packet output's engine calls: batches through the look-ahead
  // (as -q), each packet's line written right after that packet is tracked
  // (Engine::process_batch with a visitor), while its entry is as the packet
  // left it. One call per packet exposed every table miss: the engine was a
  // third of the text replay, twice its share in -q.
  struct ShownSink {
    Replayer* replayer;
    void operator()(std::span<const BatchPacket> pkts, std::span<Result> out,
                    std::span<const Shown> tags) const {
      auto each = [&](std::size_t i, const Result&) {
        replayer->show(pkts[i].l3, tags[i], out[i]);
      };
      replayer->engine_.process_batch(pkts, out, Hook::Network, each);
    }
  };

  void show(std::span<const std::uint8_t> l3, const Shown& at, Result& r) {
    if (opts_.packet_format == PacketFormat::Text) fill_display_tuple(l3, r);
    emit_tracked(at, r);
  }

  // Remembers which frames each datagram was held in, so that the line of
  // the fragment completing it can list them.
  void emit_tracked(const Shown& frame, const Result& r) {
    if (r.frag == FragStatus::None || r.datagram == 0) {
      emit(frame, r);
      return;
    }
    if (r.frag == FragStatus::Dropped) {
      // An overlap (IPv4: any inconsistency) ended the datagram; others keep it.
      if (r.reason == InvalidReason::FragOverlap || r.reason == InvalidReason::FragOversize ||
          r.reason == InvalidReason::FragEcnMismatch) {
        datagram_frames_.erase(r.datagram);
      }
      emit(frame, r);
      return;
    }
    std::vector<std::uint64_t>& frames = datagram_frames_[r.datagram];
    frames.push_back(frame.index);
    if (r.frag == FragStatus::Reassembled) {
      emit(frame, r, frames);
      datagram_frames_.erase(r.datagram);
    } else {
      emit(frame, r);
    }
  }

  void emit(const Shown& frame, const Result& r, std::span<const std::uint64_t> fragments = {}) {
    if (!have_t0_) {
      t0_ = frame.ts;
      have_t0_ = true;
    }
    const io::PacketEvent ev{frame.index, frame.ts, &r, fragments};
    if (opts_.packet_format == PacketFormat::Json) {
      io::append_packet_json(out_, engine_, ev);
    } else {
      io::append_packet_text(out_, engine_, ev, t0_);
    }
    if (out_.size() >= kFlushAt) flush(out_);
  }

  // Input errors go to stderr in order with what was already printed.
  void report_error(const std::string& message) {
    flush(out_);
    std::fflush(stdout);
    fmt::print(stderr, "ctrack: {}\n", message);
  }

  void print_summary() {
    if (opts_.table) {
      // The kernel deletes expired entries it meets while listing (§10.1);
      // the capture's last timestamp is "now".
      engine_.expire(engine_.now());
      const auto entries = engine_.entries();
      // Every live RELATED child holds a reference on its master (use=).
      std::unordered_map<std::uint32_t, std::uint32_t> children;
      for (const Conn* c : entries) {
        if (c->master != kNoConn) ++children[c->master];
      }
      for (const Conn* c : entries) {
        io::EntryInfo info = io::entry_info(engine_, *c);
        if (auto it = children.find(c->id); it != children.end()) info.children = it->second;
        io::append_entry(out_, *opts_.table, info);
        if (out_.size() >= kFlushAt) flush(out_);
      }
      flush(out_);
      std::fflush(stdout);
      if (*opts_.table == io::TableFormat::Conntrack) {
        std::fputs(io::conntrack_summary_line(entries.size()).c_str(), stderr);
      }
    }
    if (opts_.expectations) {
      engine_.expire(engine_.now());
      const auto list = engine_.expectations();
      for (const Expectation& e : list) {
        io::append_expectation(out_, *opts_.expectations, e, engine_.timeout_left(e));
        if (out_.size() >= kFlushAt) flush(out_);
      }
      flush(out_);
      std::fflush(stdout);
      if (*opts_.expectations == io::ExpectFormat::Conntrack) {
        std::fputs(io::conntrack_expect_summary_line(list.size()).c_str(), stderr);
      }
    }
    if (opts_.stats) {
      io::append_conntrack_stats(out_, engine_.stats());
      // `conntrack -S expect`, when helpers were asked for or were at work.
      if (!opts_.config.helpers.empty() || engine_.stats().expect_create != 0) {
        io::append_expect_stats(out_, engine_.stats());
      }
      io::append_ctrack_stats(out_, engine_.stats(), link_errors_);
      flush(out_);
    }
    std::fflush(stdout);
  }

  const ReplayOptions& opts_;
  Engine engine_;
  FrameBatcher<EngineSink> quiet_{EngineSink{&engine_}};  // -q: packets go to the engine in batches
  FrameBatcher<ShownSink, Shown> shown_{ShownSink{this}};  // the same with per-packet lines
  std::string out_;
  std::vector<std::uint8_t> scratch_;  // --notrack: link header + reassembled datagram
  std::unordered_map<std::uint32_t, std::vector<std::uint64_t>> datagram_frames_;
  std::uint64_t packets_ = 0;
  std::uint64_t bytes_before_ = 0;
  std::uint64_t link_errors_ = 0;
  Timestamp t0_ = 0;
  bool have_t0_ = false;
};

}  // namespace

int run_replay(const ReplayOptions& opts) {
  if (!opts.notrack.empty() && !opts.rules.empty()) {
    // The ruleset has a raw table of its own: one place decides NOTRACK.
    fmt::print(stderr,
               "ctrack: --notrack cannot be combined with --rules: put it in the ruleset's raw "
               "table instead (*raw ... -A PREROUTING <match> -j NOTRACK)\n");
    return 2;
  }
  if (!opts.rules.empty()) {
    // The rule walk shares one engine with the packet order of the capture;
    // it is not sharded. Say so rather than ignore the option silently.
    if (opts.threads > 1) {
      fmt::print(stderr, "ctrack: note: --threads {} ignored: --rules replays on one thread\n",
                 opts.threads);
    }
    return run_replay_rules(opts);
  }
  if (opts.threads > 1) return run_replay_sharded(opts);
  // The output buffer is ours; stdio's own buffering would only add a copy.
  Replayer replayer(opts);
  return replayer.run();
}

}  // namespace ctrack::cli

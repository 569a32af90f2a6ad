// The replay loop: captures in, one engine, per-packet lines out, then the
// table and statistics.
//
// The -q path is benchmarked (whole process, >= 10 Mpps): it reads a frame,
// strips the link layer and calls the engine, nothing else. Everything that
// formats lives behind `!quiet`.
#include <cstdio>
#include <memory>
#include <string>
#include <sys/stat.h>

#include <fmt/format.h>

#include "cli/replay_options.h"
#include "ctrack/engine.h"
#include "io/entry_format.h"
#include "io/packet_format.h"
#include "io/pcap_source.h"
#include "io/progress.h"
#include "io/stats_format.h"
#include "parse/link_layer.h"
#include "parse/packet.h"

namespace ctrack::cli {
namespace {

constexpr std::size_t kFlushAt = 1 << 16;  // write stdout in 64 KiB chunks
constexpr std::uint64_t kProgressEvery = 1 << 14;  // packets between clock reads

void flush(std::string& buf) {
  if (!buf.empty()) std::fwrite(buf.data(), 1, buf.size(), stdout);
  buf.clear();
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// The internal TCP state of the entry this packet will hit, looked up before
// the engine processes it, so that the text output can show the transition.
// Only used when printing; the -q path never calls it.
TcpState tcp_state_before(const Engine& engine, std::span<const std::uint8_t> l3, Timestamp now) {
  Packet pkt;
  if (parse_ip(l3, pkt) != InvalidReason::None || pkt.proto != kProtoTCP ||
      pkt.non_first_fragment() || pkt.l4_len() < 4) {
    return TcpState::None;
  }
  Tuple t;
  t.src = pkt.src;
  t.dst = pkt.dst;
  t.family = pkt.family;
  t.proto = kProtoTCP;
  t.src_id = load_be16(pkt.l4());
  t.dst_id = load_be16(pkt.l4() + 2);
  const Conn* c = engine.find(t);
  // An entry whose timer ran out by now is gone for this packet.
  if (c == nullptr || c->expires <= now) return TcpState::None;
  return c->l4.tcp.state;
}

// The engine gives no tuple for some packets it did look at (an ICMP error
// is matched through the packet it quotes). For the text output, show the
// outer addresses, protocol and ICMP type/code instead of nothing.
void fill_display_tuple(std::span<const std::uint8_t> l3, Result& r) {
  Packet pkt;
  if (r.has_tuple || parse_ip(l3, pkt) != InvalidReason::None) return;
  r.has_tuple = true;
  r.tuple.src = pkt.src;
  r.tuple.dst = pkt.dst;
  r.tuple.family = pkt.family;
  r.tuple.proto = pkt.proto;
  if ((pkt.proto == kProtoICMP || pkt.proto == kProtoICMPv6) && !pkt.non_first_fragment() &&
      pkt.l4_len() >= 2) {
    r.tuple.dst_id = load_be16(pkt.l4());  // type << 8 | code
  }
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
    std::unique_ptr<PcapSource> src = PcapSource::open(path, &error);
    if (!src) {
      report_error(error);
      return false;
    }
    if (!opts_.filter.empty() && !src->set_filter(opts_.filter, &error)) {
      report_error(error);
      return false;
    }
    if (!opts_.quiet && opts_.packet_format == PacketFormat::Text && opts_.files.size() > 1) {
      fmt::format_to(std::back_inserter(out_), "==> {} <==\n", path);
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
      const LinkResult link = strip_link_layer(linktype, frame.data);
      if (link.reason != InvalidReason::None) {
        ++link_errors_;
        if (!opts_.quiet) {
          Result r;
          r.state = CtState::Invalid;
          r.reason = link.reason;
          emit(frame, r, TcpState::None);
        }
      } else {
        const auto l3 = frame.data.subspan(link.l3_offset);
        if (opts_.quiet) {
          engine_.process(l3, frame.ts);
        } else {
          const TcpState before = tcp_state_before(engine_, l3, frame.ts);
          Result r = engine_.process(l3, frame.ts);
          if (opts_.packet_format == PacketFormat::Text) fill_display_tuple(l3, r);
          emit(frame, r, before);
        }
      }
      if (progress.enabled() && (++packets_ % kProgressEvery) == 0) {
        progress.update(packets_, bytes_before_ + src->bytes_read());
      }
    }
    bytes_before_ += src->file_size();
    return true;
  }

  void emit(const CapturedFrame& frame, const Result& r, TcpState before) {
    if (!have_t0_) {
      t0_ = frame.ts;
      have_t0_ = true;
    }
    const io::PacketEvent ev{frame.index, frame.ts, &r, before};
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
      for (const Conn* c : entries) {
        io::append_entry(out_, *opts_.table, io::entry_info(engine_, *c));
        if (out_.size() >= kFlushAt) flush(out_);
      }
      flush(out_);
      std::fflush(stdout);
      if (*opts_.table == io::TableFormat::Conntrack) {
        std::fputs(io::conntrack_summary_line(entries.size()).c_str(), stderr);
      }
    }
    if (opts_.stats) {
      io::append_conntrack_stats(out_, engine_.stats());
      io::append_ctrack_stats(out_, engine_.stats(), link_errors_);
      flush(out_);
    }
    std::fflush(stdout);
  }

  const ReplayOptions& opts_;
  Engine engine_;
  std::string out_;
  std::uint64_t packets_ = 0;
  std::uint64_t bytes_before_ = 0;
  std::uint64_t link_errors_ = 0;
  Timestamp t0_ = 0;
  bool have_t0_ = false;
};

}  // namespace

int run_replay(const ReplayOptions& opts) {
  // The output buffer is ours; stdio's own buffering would only add a copy.
  Replayer replayer(opts);
  return replayer.run();
}

}  // namespace ctrack::cli

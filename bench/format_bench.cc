// Per-packet output formatting (`ctrack replay` without -q): one text line
// and one JSON Lines record for a TCP packet of an established connection,
// and a /proc table line. The engine's work is outside the timed loop.
#include <benchmark/benchmark.h>

#include <string>

#include "ctrack/engine.h"
#include "io/entry_format.h"
#include "io/packet_format.h"
#include "support/packet_builder.h"

namespace ctrack {
namespace {

using namespace ctrack::test;

constexpr Timestamp kT0 = 1'700'000'000LL * kNsPerSec;

// An established connection and the Result of its last packet (a data
// segment); the engine stays alive for the formatters to read it.
struct Tracked {
  Engine engine;
  Result result;
  Tracked() {
    const Endpoint c = ep4("192.0.2.44", 10034), s = ep4("198.51.100.48", 80);
    engine.process(tcp(c, s, {.flags = SYN, .seq = 100}), kT0);
    engine.process(tcp(s, c, {.flags = SYN | ACK, .seq = 900, .ack = 101}), kT0 + 1000);
    engine.process(tcp(c, s, {.flags = ACK, .seq = 101, .ack = 901}), kT0 + 2000);
    result = engine.process(
        tcp(c, s,
            {.flags = PSH | ACK, .seq = 101, .ack = 901, .payload = "GET / HTTP/1.0\r\n\r\n"}),
        kT0 + 3000);
  }
};

// Times `format(out, tracked)` on a cleared buffer.
template <class Format>
void run_formatter(benchmark::State& st, Format format) {
  Tracked t;
  std::string out;
  for (auto _ : st) {
    out.clear();
    format(out, t);
    benchmark::DoNotOptimize(out.data());
  }
}

io::PacketEvent event_of(const Tracked& t) {
  return io::PacketEvent{123456, kT0 + 3000, &t.result};
}

void BM_FormatPacketText(benchmark::State& st) {
  run_formatter(st, [](std::string& out, const Tracked& t) {
    io::append_packet_text(out, t.engine, event_of(t), kT0);
  });
}
BENCHMARK(BM_FormatPacketText);

void BM_FormatPacketJson(benchmark::State& st) {
  run_formatter(st, [](std::string& out, const Tracked& t) {
    io::append_packet_json(out, t.engine, event_of(t));
  });
}
BENCHMARK(BM_FormatPacketJson);

void BM_FormatEntryProc(benchmark::State& st) {
  Tracked t;
  std::string out;
  const io::EntryInfo info = io::entry_info(t.engine, *t.result.conn);  // as the table listing
  for (auto _ : st) {
    out.clear();
    io::append_entry(out, io::TableFormat::Proc, info);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_FormatEntryProc);

}  // namespace
}  // namespace ctrack

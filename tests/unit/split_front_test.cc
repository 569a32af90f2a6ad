// The split front of `ctrack replay -q --threads N` (src/cli/split_front.h),
// driven directly: two workers, a generated capture, and a hook that holds
// one worker between indexing a chunk and steering it, as a host that
// deschedules its vCPU there would. (The CLI tests in
// replay_threads_cli_test.cc check the output; this checks the hand-overs.)
#include "cli/split_front.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ctrack/sharded_engine.h"
#include "io/pcap_source.h"
#include "support/packet_builder.h"

namespace ctrack::cli {
namespace {

using namespace std::chrono_literals;

std::string write_capture(std::size_t packets) {
  std::vector<test::Frame> frames;
  for (std::size_t i = 0; i < packets; ++i) {
    const auto port = static_cast<std::uint16_t>(1000 + i % 97);
    frames.push_back({static_cast<std::int64_t>(1'000'000'000 + i * 1000),
                      test::udp(test::ep4("192.0.2.1", port), test::ep4("198.51.100.1", 53), "q")});
  }
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("ctrack_split_front_" + std::to_string(::getpid()) + ".pcap"))
                               .string();
  EXPECT_TRUE(test::write_pcap(path, frames));
  return path;
}

// What one worker saw: the admission number of every record of every chunk
// it tracked, in the order it tracked them.
struct Seen {
  std::vector<std::uint64_t> seqs;
  std::uint32_t chunks = 0;
};

// A worker that indexes chunk c after tracking every chunk before it, and is
// then held before steering: the other worker, blocked on c, indexes ahead
// until the ring is full. It must not take c's slot for chunk c + slots
// (it did: the slot was marked in use only once c was steered).
//
// To get there deterministically, worker 0 tracks slowly until the hold
// begins: worker 1 then runs ahead until the ring is full and indexes each
// next chunk as soon as worker 0 frees a slot, having tracked everything
// before it, which is the state the hook holds it in.
TEST(SplitFront, ASlotIsNotRefilledWhileItsChunkIsStillBeingSteered) {
  constexpr std::uint32_t kChunk = 2;
  constexpr unsigned kWorkers = 2;
  constexpr std::uint32_t kSlots = SplitFront::kSlotsPerWorker * kWorkers;
  constexpr std::size_t kPackets = 4 * kSlots * kChunk;
  const std::string path = write_capture(kPackets);
  Config cfg = Config::for_profile(Profile::Linux);
  cfg.hash_seed = 12345;

  std::string error;
  std::unique_ptr<PcapSource> src = PcapSource::open(path, &error);
  ASSERT_TRUE(src && src->frames_stable()) << error;
  ShardedEngine se(cfg, kWorkers);
  SplitFront sf(std::move(src), se, kChunk);

  Seen seen[kWorkers];
  std::atomic<std::uint32_t> max_indexed{0};
  std::atomic<bool> holding{false};
  std::atomic<bool> done{false};
  int held = 0;
  thread_local unsigned self = 0;
  sf.set_steer_hook([&](std::uint32_t c) {
    std::uint32_t m = max_indexed.load();
    while (c > m && !max_indexed.compare_exchange_weak(m, c)) {
    }
    // Hold once, where the slot is a reused one and this worker has tracked
    // everything before c (so nothing but c blocks the other).
    if (c < kSlots || seen[self].chunks != c || holding.exchange(true)) return;
    ++held;
    // The other worker can index up to c + slots - 1 whatever happens; give
    // it time to try for c + slots too (it got there within microseconds
    // before the fix), then let go.
    const auto start = std::chrono::steady_clock::now();
    auto full_at = start + 10s;
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      const std::uint32_t mi = max_indexed.load();
      if (mi >= c + kSlots || now - start > 5s) break;
      if (mi == c + kSlots - 1 && full_at > now) full_at = now;
      if (now - full_at > 100ms) break;
      std::this_thread::sleep_for(1ms);
    }
  });

  // A run that hangs fails here instead of stalling the suite.
  std::thread watchdog([&] {
    for (int i = 0; i < 600 && !done.load(); ++i) std::this_thread::sleep_for(50ms);
    if (!done.load()) {
      std::fprintf(stderr, "split front hung\n");
      std::abort();
    }
  });
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      self = w;
      ShardedEngine::Clock clock = se.clock();
      sf.run(clock, [&](const FrontChunk& ch) {
        if (w == 0 && !holding.load()) std::this_thread::sleep_for(1ms);
        for (const FrontRecord& r : ch.records) seen[w].seqs.push_back(r.ticket.seq);
        ++seen[w].chunks;
      });
    });
  }
  for (std::thread& t : workers) t.join();
  done = true;
  watchdog.join();

  EXPECT_EQ(held, 1) << "the run never reached the held state";
  // Every worker tracked every chunk, each holding the records it was
  // indexed with, in capture order.
  for (unsigned w = 0; w < kWorkers; ++w) {
    SCOPED_TRACE(w);
    ASSERT_EQ(seen[w].seqs.size(), kPackets);
    for (std::size_t i = 0; i < kPackets; ++i) ASSERT_EQ(seen[w].seqs[i], i);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace ctrack::cli

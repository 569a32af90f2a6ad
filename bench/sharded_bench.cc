// 1 vs 2 threads on one sharded table (issue #6: "2 threads vs 1 on one
// shared table >= 1.9x"). The table holds 2 x kFlows established connections
// (UDP with replies, TCP after a handshake) spread over 2 shards by the flow
// hash. Threads(2): thread i tracks shard i's packets; Threads(1): one thread
// tracks both shards' packets, alternating batches. Same packets, same table,
// clock fixed (no expiry, as Open vSwitch's benchmark), creation untimed.
// Steering is done once up front: the front's cost (parse + hash, ~the
// BM_ShardSteer figure per packet) is measured separately.
#include <benchmark/benchmark.h>

#include <array>
#include <vector>

#include "ctrack/sharded_engine.h"
#include "support/packet_builder.h"

namespace ctrack {
namespace {

constexpr int kFlows = 32768;  // per protocol
constexpr std::size_t kBatch = 32;

struct Setup {
  std::unique_ptr<ShardedEngine> se;
  std::array<std::vector<test::Bytes>, 2> pkts;  // per shard, established traffic
  ShardedEngine::Ticket ticket{};
};

Setup& setup() {
  static Setup s = [] {
    Setup st;
    Config cfg = Config::for_profile(Profile::Linux, 1u << 17);
    st.se = std::make_unique<ShardedEngine>(cfg, 2);
    const Timestamp now = seconds(1000);
    auto add = [&](const test::Bytes& p, bool keep) {
      st.se->process(p, now);
      if (keep) st.pkts[st.se->steer(p)].push_back(p);
    };
    for (int i = 0; i < kFlows; ++i) {
      const auto c = test::ep4("192.0.2.1", static_cast<std::uint16_t>(1 + i / 512));
      const auto s = test::ep4("198.51.100.1", static_cast<std::uint16_t>(1 + i % 512));
      add(test::udp(c, s, ""), true);
      add(test::udp(s, c, ""), true);
      const auto tc = test::ep4("192.0.2.2", static_cast<std::uint16_t>(1 + i / 512));
      const auto ts = test::ep4("198.51.100.2", static_cast<std::uint16_t>(1 + i % 512));
      add(test::tcp(tc, ts, {.flags = test::SYN, .seq = 100}), false);
      add(test::tcp(ts, tc, {.flags = test::SYN | test::ACK, .seq = 500, .ack = 101}), false);
      add(test::tcp(tc, ts, {.flags = test::ACK, .seq = 101, .ack = 501}), true);
      add(test::tcp(ts, tc, {.flags = test::ACK, .seq = 501, .ack = 101}), true);
    }
    st.ticket = st.se->admit(now);
    st.ticket.gc = 0;
    return st;
  }();
  return s;
}

void run_shard(ShardedEngine& se, unsigned shard, const std::vector<test::Bytes>& v, std::size_t& pos,
               const ShardedEngine::Ticket& t) {
  for (std::size_t i = 0; i < kBatch; ++i) {
    benchmark::DoNotOptimize(se.process(shard, v[pos], t));
    if (++pos == v.size()) pos = 0;
  }
}

// Items = packets; with UseRealTime the reported rate is the aggregate.
void BM_ShardedEstablished(benchmark::State& state) {
  Setup& s = setup();
  const unsigned threads = static_cast<unsigned>(state.threads());
  const unsigned me = static_cast<unsigned>(state.thread_index());
  std::size_t pos[2] = {0, 0};
  for (auto _ : state) {
    if (threads == 1) {
      run_shard(*s.se, 0, s.pkts[0], pos[0], s.ticket);
      run_shard(*s.se, 1, s.pkts[1], pos[1], s.ticket);
    } else {
      run_shard(*s.se, me, s.pkts[me], pos[me], s.ticket);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBatch *
                          (threads == 1 ? 2 : 1));
  state.counters["shard0_pkts"] =
      benchmark::Counter(static_cast<double>(s.pkts[0].size()), benchmark::Counter::kAvgThreads);
  state.counters["shard1_pkts"] =
      benchmark::Counter(static_cast<double>(s.pkts[1].size()), benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_ShardedEstablished)->Threads(1)->Threads(2)->UseRealTime();

// The front's per-packet work: parse + symmetric hash.
void BM_ShardSteer(benchmark::State& state) {
  Setup& s = setup();
  std::size_t pos = 0;
  const auto& v = s.pkts[0];
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.se->steer(v[pos]));
    if (++pos == v.size()) pos = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_ShardSteer);

}  // namespace
}  // namespace ctrack

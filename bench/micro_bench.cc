// Micro-benchmarks of the per-packet building blocks: parsing, checksum, hashing,
// lookup hit and miss, TCP state update, entry creation, the expiry sweep and
// early drop. Whole workloads (the issue #6 table) are in workloads.cc.
#include <benchmark/benchmark.h>

#include <sys/mman.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/flow_hash.h"
#include "ctrack/engine.h"
#include "parse/checksum.h"
#include "parse/packet.h"
#include "support/packet_builder.h"

namespace ctrack {
namespace {

using namespace ctrack::test;

Config cfg_for(std::uint64_t conns) {
  Config c = Config::for_profile(Profile::Linux);
  std::uint64_t b = c.buckets;
  while (b < conns) b *= 2;
  c.buckets = static_cast<std::uint32_t>(b);
  c.max = std::max<std::uint32_t>(c.max, static_cast<std::uint32_t>(2 * b));
  c.hash_seed = 7;
  return c;
}

// Client i of a large population: 198.18.0.0/15, ports 1024..1279.
Endpoint client(std::uint64_t i) {
  Endpoint e;
  e.addr = Addr::v4(198, static_cast<std::uint8_t>(18 + ((i >> 24) & 1)),
                    static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8));
  e.port = static_cast<std::uint16_t>(1024 + (i & 0xff));
  return e;
}
const Endpoint kServer = ep4("203.0.113.1", 80);

Bytes seg(const Endpoint& s, const Endpoint& d, std::uint8_t flags, std::uint32_t seq,
          std::uint32_t ack, std::size_t payload = 0) {
  TcpSpec sp;
  sp.flags = flags;
  sp.seq = seq;
  sp.ack = ack;
  sp.payload = std::string(payload, 'x');
  return tcp(s, d, sp);
}

Tuple udp_tuple(const Endpoint& s, const Endpoint& d) {
  Tuple t;
  t.src = s.addr;
  t.dst = d.addr;
  t.src_id = s.port;
  t.dst_id = d.port;
  t.proto = kProtoUDP;
  return t;
}

void BM_ParseIpv4Tcp(benchmark::State& st) {
  const Bytes p = seg(client(1), kServer, PSH | ACK, 1, 1, 64);
  Packet pkt;
  for (auto _ : st) {
    benchmark::DoNotOptimize(parse_ip(p, pkt));
    benchmark::DoNotOptimize(pkt);
  }
}
BENCHMARK(BM_ParseIpv4Tcp);

// The L4 checksum of a TCP segment with the benchmark capture's payload
// sizes (64 and 256 bytes): pseudo-header plus header and payload.
void BM_TcpChecksum(benchmark::State& st) {
  const Bytes p = seg(client(1), kServer, PSH | ACK, 1, 1, static_cast<std::size_t>(st.range(0)));
  Packet pkt;
  parse_ip(p, pkt);
  const auto len = static_cast<std::uint32_t>(pkt.l4_len());
  for (auto _ : st) {
    benchmark::DoNotOptimize(l4_checksum_ok(pkt, len, kProtoTCP, len, true));
  }
}
BENCHMARK(BM_TcpChecksum)->Arg(64)->Arg(256);

void BM_FlowHash(benchmark::State& st) {
  const HashKey key = HashKey::from_seed(1);
  Tuple t = udp_tuple(client(1), kServer), inv = udp_tuple(kServer, client(1));
  for (auto _ : st) {
    benchmark::DoNotOptimize(flow_hash(t, &inv, key));
    t.src_id++;
    inv.dst_id++;
  }
}
BENCHMARK(BM_FlowHash);

// Established UDP flows, one packet per flow in turn; arg 0 = table size,
// arg 1 = batch (1 = process()).
void BM_LookupHit(benchmark::State& st) {
  const std::uint64_t n = static_cast<std::uint64_t>(st.range(0));
  const std::size_t batch = static_cast<std::size_t>(st.range(1));
  Engine e(cfg_for(n));
  std::vector<Bytes> pkts;
  for (std::uint64_t i = 0; i < n; ++i) pkts.push_back(udp(client(i), kServer, "", false, true));
  for (const Bytes& p : pkts) e.process(p, seconds(1));
  std::vector<BatchPacket> bp(batch);
  std::vector<Result> out(batch);
  std::size_t next = 0;
  for (auto _ : st) {
    if (batch == 1) {
      benchmark::DoNotOptimize(e.process(pkts[next], seconds(1)));
      next = next + 1 == n ? 0 : next + 1;
    } else {
      for (auto& b : bp) {
        b = {pkts[next], seconds(1), {}};
        next = next + 1 == n ? 0 : next + 1;
      }
      e.process_batch(bp, out);
    }
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * batch));
}
BENCHMARK(BM_LookupHit)->ArgsProduct({{1024, 65536, 1 << 20}, {1, 32}});

// find() of tuples that are not in a table of n entries.
void BM_LookupMiss(benchmark::State& st) {
  const std::uint64_t n = static_cast<std::uint64_t>(st.range(0));
  Engine e(cfg_for(n));
  for (std::uint64_t i = 0; i < n; ++i)
    e.process(udp(client(i), kServer, "", false, true), seconds(1));
  std::uint64_t i = n;
  for (auto _ : st) {
    benchmark::DoNotOptimize(e.find(udp_tuple(client(i), kServer)));
    if (++i == 2 * n) i = n;
  }
}
BENCHMARK(BM_LookupMiss)->Arg(1024)->Arg(1 << 20);

// In-window TCP data and ACKs on established connections (checksums and
// window tracking on): the TCP tracker's per-packet update.
void BM_TcpStateUpdate(benchmark::State& st) {
  constexpr int kConns = 256, kRounds = 64;
  std::vector<Bytes> setup, data;
  for (int c = 0; c < kConns; ++c) {
    const Endpoint cl = client(static_cast<std::uint64_t>(c));
    setup.push_back(tcp(cl, kServer, {SYN, 1000, 0}));
    setup.push_back(tcp(kServer, cl, {SYN | ACK, 5000, 1001}));
    setup.push_back(tcp(cl, kServer, {ACK, 1001, 5001}));
  }
  for (int r = 0; r < kRounds; ++r) {
    for (int c = 0; c < kConns; ++c) {
      const Endpoint cl = client(static_cast<std::uint64_t>(c));
      const std::uint32_t cs = 1001 + 64u * static_cast<std::uint32_t>(r);
      data.push_back(seg(cl, kServer, PSH | ACK, cs, 5001, 64));
      data.push_back(tcp(kServer, cl, {ACK, 5001, cs + 64}));
    }
  }
  std::unique_ptr<Engine> e;
  std::size_t next = data.size();
  for (auto _ : st) {
    if (next == data.size()) {
      st.PauseTiming();
      e = std::make_unique<Engine>(cfg_for(kConns));
      for (const Bytes& p : setup) e->process(p, seconds(1));
      next = 0;
      st.ResumeTiming();
    }
    benchmark::DoNotOptimize(e->process(data[next++], seconds(2)));
  }
}
BENCHMARK(BM_TcpStateUpdate);

// Creating UDP entries (one packet each) into a table pre-filled with n.
void BM_Create(benchmark::State& st) {
  const std::uint64_t n = static_cast<std::uint64_t>(st.range(0));
  constexpr std::uint64_t kNew = 1 << 16;
  std::vector<Bytes> fresh;
  for (std::uint64_t i = 0; i < kNew; ++i)
    fresh.push_back(udp(client(n + i), kServer, "", false, true));
  std::unique_ptr<Engine> e;
  std::size_t next = fresh.size();
  for (auto _ : st) {
    if (next == fresh.size()) {
      st.PauseTiming();
      e = std::make_unique<Engine>(cfg_for(n + kNew));
      for (std::uint64_t i = 0; i < n; ++i)
        e->process(udp(client(i), kServer, "", false, true), seconds(1));
      next = 0;
      st.ResumeTiming();
    }
    benchmark::DoNotOptimize(e->process(fresh[next++], seconds(1)));
  }
}
BENCHMARK(BM_Create)->Arg(1024)->Arg(1 << 20)->Iterations(1 << 16);

// A packet that arrives on a GC tick (1 s of packet time after the last):
// 200K live entries in the default 262144-bucket table.
void BM_ExpirySweepTick(benchmark::State& st) {
  Config c = Config::for_profile(Profile::Linux);
  c.udp_timeout = 1'000'000;
  c.hash_seed = 7;
  Engine e(c);
  for (std::uint64_t i = 0; i < 200'000; ++i)
    e.process(udp(client(i), kServer, "", false, true), seconds(1));
  const Bytes p = udp(client(0), kServer, "", false, true);
  Timestamp now = seconds(1);
  for (auto _ : st) {
    now += seconds(1);
    benchmark::DoNotOptimize(e.process(p, now));
  }
}
BENCHMARK(BM_ExpirySweepTick);

// Creation into a full table of unreplied entries: every new SYN early-drops.
void BM_EarlyDrop(benchmark::State& st) {
  Config c = Config::for_profile(Profile::Linux, 16384);
  c.max = 16384;
  c.hash_seed = 7;
  Engine e(c);
  std::uint64_t i = 0;
  for (; i < 4 * 16384; ++i) e.process(tcp(client(i), kServer, {SYN, 1, 0}), seconds(1));
  std::vector<Bytes> syns;
  for (std::uint64_t k = 0; k < (1 << 16); ++k)
    syns.push_back(tcp(client(i + k), kServer, {SYN, 1, 0}));
  std::size_t next = 0;
  for (auto _ : st) {
    benchmark::DoNotOptimize(e.process(syns[next], seconds(1)));
    next = next + 1 == syns.size() ? 0 : next + 1;
  }
  st.counters["early_drop"] = static_cast<double>(e.stats().early_drop);
}
BENCHMARK(BM_EarlyDrop)->Iterations(1 << 16);

// Not ctrack: what this machine's memory allows. Independent reads of random
// cache lines in a huge-page-advised buffer of N MiB, plain (out-of-order
// execution overlaps them) or with a software prefetch 16 reads ahead, as
// the batch path does. Compare with the per-packet cost of the large-table
// workloads: the gap is the engine's dependency structure, not the memory
// system's throughput.
void BM_MemRandomLine(benchmark::State& st) {
  const std::size_t bytes = static_cast<std::size_t>(st.range(0)) << 20;
  const bool prefetch = st.range(1) != 0;
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  void* map = ::mmap(nullptr, bytes + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) {
    st.SkipWithError("mmap failed");
    return;
  }
  auto* base = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(map) + kHuge - 1) & ~(kHuge - 1));
  ::madvise(base, bytes, MADV_HUGEPAGE);
  std::memset(base, 1, bytes);
  constexpr std::size_t kReads = 1 << 20, kAhead = 16;
  std::vector<std::uint32_t> idx(kReads + kAhead);
  std::mt19937_64 rng(1);
  for (auto& i : idx) i = static_cast<std::uint32_t>(rng() % (bytes / 64));
  for (auto _ : st) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < kReads; ++i) {
      if (prefetch) __builtin_prefetch(base + std::size_t{idx[i + kAhead]} * 64);
      std::uint64_t v;
      std::memcpy(&v, base + std::size_t{idx[i]} * 64, sizeof v);
      sum += v;
    }
    benchmark::DoNotOptimize(sum);
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * kReads));
  ::munmap(map, bytes + kHuge);
}
BENCHMARK(BM_MemRandomLine)->ArgsProduct({{4, 128}, {0, 1}})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ctrack

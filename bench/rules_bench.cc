// ns/packet of the ruleset walk plus conntrack (RuleEvaluator::process) for
// rulesets of 10 / 100 / 1000 rules, in two shapes:
//   EstablishedFirst: an ESTABLISHED,RELATED accept at the top, then N-2
//     port rules and a NEW accept that established traffic never reaches
//     (the common case);
//   WorstCase: N-1 non-matching -s/--dport rules before the accept, so every
//     packet walks the whole chain.
// Traffic: 256 established UDP flows, one packet per iteration, round robin.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "ctrack/engine.h"
#include "rules/rule_eval.h"
#include "rules/ruleset_parser.h"
#include "support/packet_builder.h"

namespace {

using namespace ctrack;

std::string make_rules(int n, bool established_first) {
  std::string s = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  if (established_first) s += "-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT\n";
  for (int i = 0; i < n - 1; ++i) {
    s += fmt::format("-A FORWARD -s 198.18.{}.{}/32 -p tcp -m tcp --dport {} -j ACCEPT\n",
                     (i >> 8) & 0xff, i & 0xff, 1000 + i);
  }
  // Last: NEW accepted (the warm-up creates the flows through the rules).
  s += established_first ? "-A FORWARD -m state --state NEW -j ACCEPT\n"
                         : "-A FORWARD -m state --state RELATED,ESTABLISHED,NEW -j ACCEPT\n";
  return s + "COMMIT\n";
}

void run(benchmark::State& state, bool established_first) {
  const int n = static_cast<int>(state.range(0));
  rules::Ruleset rs;
  rules::ParseError err;
  if (!rules::parse_ruleset(make_rules(n, established_first), "bench.rules", rs, err)) {
    state.SkipWithError(err.text().c_str());
    return;
  }
  rules::RuleEvaluator ev(rs, rules::NetModel{});
  Engine engine;
  std::vector<test::Bytes> pkts;
  for (int i = 0; i < 256; ++i) {
    const auto a =
        test::ep4(fmt::format("192.0.2.{}", i).c_str(), static_cast<std::uint16_t>(40000 + i));
    const auto b = test::ep4("203.0.113.1", 53);
    pkts.push_back(test::udp(a, b, "q"));
    pkts.push_back(test::udp(b, a, "r"));
  }
  Timestamp now = seconds(1);
  // Warm up: every flow sees its request and reply (-> ESTABLISHED).
  for (const auto& p : pkts) ev.process(engine, p, now);
  std::size_t i = 0;
  for (auto _ : state) {
    now += 1000;
    rules::Decision d = ev.process(engine, pkts[i], now);
    benchmark::DoNotOptimize(d.verdict);
    i = (i + 1) % pkts.size();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RulesEstablishedFirst(benchmark::State& s) { run(s, true); }
void BM_RulesWorstCase(benchmark::State& s) { run(s, false); }

// The engine alone on the same traffic, for comparison.
void BM_RulesBaselineEngineOnly(benchmark::State& state) {
  Engine engine;
  std::vector<test::Bytes> pkts;
  for (int i = 0; i < 256; ++i) {
    const auto a =
        test::ep4(fmt::format("192.0.2.{}", i).c_str(), static_cast<std::uint16_t>(40000 + i));
    const auto b = test::ep4("203.0.113.1", 53);
    pkts.push_back(test::udp(a, b, "q"));
    pkts.push_back(test::udp(b, a, "r"));
  }
  Timestamp now = seconds(1);
  for (const auto& p : pkts) engine.process(p, now);
  std::size_t i = 0;
  for (auto _ : state) {
    now += 1000;
    Result r = engine.process(pkts[i], now);
    benchmark::DoNotOptimize(r.state);
    i = (i + 1) % pkts.size();
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_RulesEstablishedFirst)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_RulesWorstCase)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_RulesBaselineEngineOnly);

}  // namespace

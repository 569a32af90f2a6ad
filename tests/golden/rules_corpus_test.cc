// The seed's stateful ruleset (samples/rules/) over real captures: replies
// pass while unsolicited inbound SYNs are dropped, INVALID packets are
// dropped by `--ctstate INVALID -j DROP`, and an FTP data connection opened
// by the server is RELATED (accepted) only with the FTP helper.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "golden/golden_util.h"
#include "io/pcap_source.h"
#include "parse/link_layer.h"
#include "rules/rule_eval.h"
#include "rules/ruleset_parser.h"

namespace ctrack::golden {
namespace {

struct Outcome {
  rules::Verdict verdict;
  rules::DecidedBy by;
  CtState state;
  std::uint32_t line;  // deciding rule's line, 0 for a policy
};

struct RulesReplay {
  rules::Ruleset rs;
  std::unique_ptr<rules::RuleEvaluator> ev;
  Engine engine;
  std::map<std::uint64_t, Outcome> frames;

  RulesReplay(const std::string& rules_file, const std::string& lan, const std::string& capture,
              Config cfg = linux_config())
      : engine(cfg) {
    rules::ParseError err;
    const std::string path = std::string(CTRACK_SOURCE_DIR) + "/samples/rules/" + rules_file;
    EXPECT_TRUE(rules::load_ruleset_file(path, rs, err)) << err.text();
    rules::NetModel net;
    std::string e;
    EXPECT_TRUE(net.add_iface("lan=" + lan, e)) << e;
    EXPECT_TRUE(net.add_iface("wan=0.0.0.0/0", e)) << e;
    ev = std::make_unique<rules::RuleEvaluator>(rs, std::move(net));
    std::unique_ptr<PcapSource> src = PcapSource::open(corpus_path(capture), &e);
    EXPECT_TRUE(src) << e;
    if (!src) return;
    CapturedFrame f;
    while (src->next(f) == PcapSource::Next::Packet) {
      const LinkResult link = strip_link_layer(src->linktype(), f.data);
      if (link.reason != InvalidReason::None) continue;
      const rules::Decision d = ev->process(engine, f.data.subspan(link.l3_offset), f.ts);
      const rules::Rule* r = ev->rule(d.where);
      frames[f.index] = Outcome{d.verdict, d.by, d.ct.state, r != nullptr ? r->line : 0};
    }
  }
  const Outcome& at(std::uint64_t n) { return frames.at(n); }
};

// samples/rules/stateful-router.rules: line 13 drops INVALID, line 15
// accepts RELATED,ESTABLISHED, line 17 accepts NEW from lan.
constexpr std::uint32_t kInvalidLine = 13, kEstablishedLine = 15, kNewLine = 17;

TEST(RulesCorpus, RepliesPassWhenTheClientIsInside) {
  CTRACK_REQUIRE_CORPUS();
  RulesReplay rp("stateful-router.rules", "192.168.1.11/32", "tcp-handshake-fin-teardown.pcap");
  ASSERT_EQ(rp.frames.size(), 11u);
  EXPECT_EQ(rp.at(1).line, kNewLine);
  for (std::uint64_t n = 2; n <= 11; ++n) {
    EXPECT_EQ(rp.at(n).verdict, rules::Verdict::Accept) << "frame " << n;
    EXPECT_EQ(rp.at(n).line, kEstablishedLine) << "frame " << n;
  }
}

TEST(RulesCorpus, UnsolicitedInboundSynDroppedAndLeavesNoEntry) {
  CTRACK_REQUIRE_CORPUS();
  // The same capture seen from the server's side: its client is outside.
  RulesReplay rp("stateful-router.rules", "209.87.249.18/32", "tcp-handshake-fin-teardown.pcap");
  EXPECT_EQ(rp.at(1).verdict, rules::Verdict::Drop);
  EXPECT_EQ(rp.at(1).by, rules::DecidedBy::Policy);
  EXPECT_EQ(rp.at(1).state, CtState::New);
  // The SYN was never confirmed: the server's SYN/ACK finds no entry.
  EXPECT_NE(rp.at(2).state, CtState::Established);
  EXPECT_EQ(rp.at(2).verdict, rules::Verdict::Drop);
}

TEST(RulesCorpus, InvalidProbesDroppedByCtstateInvalid) {
  CTRACK_REQUIRE_CORPUS();
  RulesReplay rp("stateful-router.rules", "192.168.1.178/32", "tcp-scan-syn-fin-null-xmas.pcapng");
  // FIN, NULL and XMAS probes (frames 21, 25, 29) and the RSTs answering them.
  for (std::uint64_t n : {21u, 22u, 25u, 26u, 29u, 30u}) {
    EXPECT_EQ(rp.at(n).state, CtState::Invalid) << "frame " << n;
    EXPECT_EQ(rp.at(n).verdict, rules::Verdict::Drop) << "frame " << n;
    EXPECT_EQ(rp.at(n).line, kInvalidLine) << "frame " << n;
  }
  // The full connects from the inside pass.
  EXPECT_EQ(rp.at(3).line, kNewLine);
  EXPECT_EQ(rp.at(5).line, kEstablishedLine);
}

// ftp-active-port.pcap: client 172.23.0.3 inside; the server connects back
// from :20 for each PORT (data SYNs at frames 16, 32, 48).
TEST(RulesCorpus, FtpActiveDataConnectionDroppedWithoutHelper) {
  CTRACK_REQUIRE_CORPUS();
  RulesReplay rp("stateful-router.rules", "172.23.0.3/32", "ftp-active-port.pcap");
  for (std::uint64_t n : {16u, 32u, 48u}) {
    EXPECT_EQ(rp.at(n).state, CtState::New) << "frame " << n;
    EXPECT_EQ(rp.at(n).verdict, rules::Verdict::Drop) << "frame " << n;
    EXPECT_EQ(rp.at(n).by, rules::DecidedBy::Policy) << "frame " << n;
  }
}

TEST(RulesCorpus, FtpActiveDataConnectionRelatedWithRawCtHelper) {
  CTRACK_REQUIRE_CORPUS();
  RulesReplay rp("stateful-router-ftp.rules", "172.23.0.3/32", "ftp-active-port.pcap");
  for (std::uint64_t n : {16u, 32u, 48u}) {
    EXPECT_EQ(rp.at(n).state, CtState::Related) << "frame " << n;
    EXPECT_EQ(rp.at(n).verdict, rules::Verdict::Accept) << "frame " << n;
    EXPECT_EQ(rp.at(n).line, 17u) << "frame " << n;  // the RELATED,ESTABLISHED rule of that file
  }
  for (const auto& [n, o] : rp.frames)
    EXPECT_EQ(o.verdict, rules::Verdict::Accept) << "frame " << n;
}

TEST(RulesCorpus, FtpActiveDataConnectionRelatedWithHelperOption) {
  CTRACK_REQUIRE_CORPUS();
  // `ctrack replay --helper ftp`: the helper attached by port, no raw table.
  Config cfg = linux_config();
  cfg.helpers.push_back(HelperAttachment{"ftp", kProtoTCP, 21});
  RulesReplay rp("stateful-router.rules", "172.23.0.3/32", "ftp-active-port.pcap", cfg);
  for (std::uint64_t n : {16u, 32u, 48u}) {
    EXPECT_EQ(rp.at(n).state, CtState::Related) << "frame " << n;
    EXPECT_EQ(rp.at(n).line, kEstablishedLine) << "frame " << n;
  }
}

TEST(RulesCorpus, FtpPassiveDataConnectionIsRelatedWithHelper) {
  CTRACK_REQUIRE_CORPUS();
  // Passive mode: the inside client opens the data connections (frames 15,
  // 31, 47), NEW without the helper (allowed out), RELATED with it.
  RulesReplay without("stateful-router.rules", "172.23.0.3/32", "ftp-passive-pasv.pcap");
  RulesReplay with("stateful-router-ftp.rules", "172.23.0.3/32", "ftp-passive-pasv.pcap");
  for (std::uint64_t n : {15u, 31u, 47u}) {
    EXPECT_EQ(without.at(n).state, CtState::New) << "frame " << n;
    EXPECT_EQ(without.at(n).line, kNewLine) << "frame " << n;
    EXPECT_EQ(with.at(n).state, CtState::Related) << "frame " << n;
    EXPECT_EQ(with.at(n).verdict, rules::Verdict::Accept) << "frame " << n;
  }
}

}  // namespace
}  // namespace ctrack::golden

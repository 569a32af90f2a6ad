// The TCP captures of the shared corpus (see its README for what each
// exercises), replayed through the Engine. Expected outcomes follow from the
// README's description of each frame and the rules of linux-tcp.md.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "ctrack/ctrack.h"
#include "io/pcap_source.h"
#include "parse/link_layer.h"
#include "tcp_test_helpers.h"

namespace ctrack::tcptest {
namespace {

struct Outcome {
  CtState ct = CtState::Invalid;
  InvalidReason reason = InvalidReason::None;
  TcpState state = TcpState::None;  // entry's state after the frame
  bool destroyed = false;
  std::int64_t timeout = -1;  // seconds set on the entry
};

// Frame number -> outcome for every IP frame of the capture.
std::map<std::uint64_t, Outcome> replay(const std::string& name, bool checksum = true) {
  std::map<std::uint64_t, Outcome> out;
  const std::string path = std::string(CTRACK_SHARED_DIR) + "/corpus/" + name;
  if (!std::filesystem::exists(path)) {
    ADD_FAILURE() << "missing corpus file " << path;
    return out;
  }
  Config cfg = linux_cfg();
  cfg.checksum = checksum;
  Engine eng(cfg);
  std::string err;
  auto src = PcapSource::open(path, &err);
  if (!src) {
    ADD_FAILURE() << err;
    return out;
  }
  CapturedFrame fr;
  while (src->next(fr) == PcapSource::Next::Packet) {
    const LinkResult l = strip_link_layer(src->linktype(), fr.data);
    if (l.reason != InvalidReason::None) continue;
    const Result r = eng.process(fr.data.subspan(l.l3_offset), fr.ts);
    Outcome o;
    o.ct = r.state;
    o.reason = r.reason;
    o.destroyed = r.destroyed;
    if (r.conn) {
      o.state = r.conn->l4.tcp.state;
      const Timestamp d = r.conn->expires - fr.ts;
      o.timeout = d / kNsPerSec;
    }
    out[fr.index] = o;
  }
  return out;
}

// Skips every test loudly when ../shared/corpus is not checked out beside the repo.
class TcpCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = std::string(CTRACK_SHARED_DIR) + "/corpus";
    if (!std::filesystem::is_directory(dir)) {
      std::fprintf(stderr, "\n*** SKIPPED: ../shared/corpus absent (%s) ***\n\n", dir.c_str());
      GTEST_SKIP() << "SKIPPED: ../shared/corpus absent";
    }
  }
};

TEST_F(TcpCorpus, HandshakeFinTeardownEndsInTimeWait) {
  auto f = replay("tcp-handshake-fin-teardown.pcap");
  ASSERT_EQ(f.size(), 11u);
  EXPECT_EQ(f[1].ct, CtState::New);
  EXPECT_EQ(f[1].state, TcpState::SynSent);
  EXPECT_EQ(f[2].state, TcpState::SynRecv);
  EXPECT_EQ(f[2].ct, CtState::Established);
  EXPECT_EQ(f[3].state, TcpState::Established);
  EXPECT_EQ(f[3].timeout, 432000);
  for (int i = 2; i <= 11; ++i) EXPECT_EQ(f[i].ct, CtState::Established) << i;
  EXPECT_EQ(f[8].state, TcpState::FinWait);
  EXPECT_EQ(f[9].state, TcpState::CloseWait);
  EXPECT_EQ(f[10].state, TcpState::LastAck);
  EXPECT_EQ(f[11].state, TcpState::TimeWait);
  EXPECT_EQ(f[11].timeout, 120);
}

TEST_F(TcpCorpus, RstAbortAfterData) {
  // The capture was taken with checksum offload: with verification on,
  // every frame is INVALID ("bad checksum").
  auto bad = replay("tcp-rst-abort-after-data.pcap");
  ASSERT_EQ(bad.size(), 9u);
  for (auto& [n, o] : bad) EXPECT_EQ(o.reason, InvalidReason::TcpBadChecksum) << n;

  auto f = replay("tcp-rst-abort-after-data.pcap", /*checksum=*/false);
  EXPECT_EQ(f[3].state, TcpState::Established);
  // Frame 7: the server's RST,ACK closes the (replied) entry: 10 s, kept.
  EXPECT_EQ(f[7].ct, CtState::Established);
  EXPECT_EQ(f[7].state, TcpState::Close);
  EXPECT_FALSE(f[7].destroyed);
  EXPECT_EQ(f[7].timeout, 10);
  // Frame 8 (ACK on the closed connection) and 9 (bare RST) stay in CLOSE.
  EXPECT_EQ(f[8].ct, CtState::Established);
  EXPECT_EQ(f[8].state, TcpState::Close);
  EXPECT_EQ(f[9].state, TcpState::Close);
}

TEST_F(TcpCorpus, NmapScans) {
  auto f = replay("tcp-scan-syn-fin-null-xmas.pcapng");
  // Full connects to 80 and 443, closed by the client's RST,ACK.
  EXPECT_EQ(f[6].state, TcpState::Established);
  EXPECT_EQ(f[9].state, TcpState::Close);
  EXPECT_EQ(f[10].state, TcpState::Close);
  // SYN to 445 and 3389 refused: the RST,ACK deletes the entry.
  for (int n : {12, 18}) {
    EXPECT_EQ(f[n].ct, CtState::Established) << n;
    EXPECT_TRUE(f[n].destroyed) << n;
  }
  // FIN, NULL and XMAS probes fail the flag filter; their RST,ACK answers
  // have no entry and cannot create one.
  for (int n : {21, 25, 29}) EXPECT_EQ(f[n].reason, InvalidReason::TcpBadFlags) << n;
  for (int n : {22, 26, 30}) EXPECT_EQ(f[n].reason, InvalidReason::TcpInvalidState) << n;
}

TEST_F(TcpCorpus, RstInjectionBeforeSynAck) {
  auto f = replay("tcp-rst-injection.pcap");
  // Frame 2's RST,ACK answers the SYN before any reply: entry deleted.
  EXPECT_TRUE(f[2].destroyed);
  // The real SYN/ACK then finds no entry and cannot create one.
  EXPECT_EQ(f[3].reason, InvalidReason::TcpInvalidState);
  // The client's ACK picks the connection up mid-stream.
  EXPECT_EQ(f[4].ct, CtState::New);
  EXPECT_EQ(f[4].state, TcpState::Established);
  EXPECT_EQ(f[4].timeout, 300);
  // Frame 7's RST,ACK closes it.
  EXPECT_EQ(f[7].state, TcpState::Close);
}

TEST_F(TcpCorpus, FinBeforeSynAck) {
  auto f = replay("tcp-fin-before-synack-rst.pcap");
  EXPECT_EQ(f[1].state, TcpState::SynSent);
  EXPECT_EQ(f[2].reason, InvalidReason::TcpBadFlags);  // FIN without ACK
  EXPECT_EQ(f[3].state, TcpState::SynRecv);
  EXPECT_EQ(f[4].state, TcpState::FinWait);
  EXPECT_EQ(f[5].state, TcpState::Close);
  EXPECT_FALSE(f[5].destroyed);  // a reply was seen
}

TEST_F(TcpCorpus, MidstreamPickup) {
  auto f = replay("tcp-midstream-missing-syn.pcap");
  ASSERT_EQ(f.size(), 21u);
  EXPECT_EQ(f[1].reason, InvalidReason::TcpInvalidState);  // SYN/ACK first
  EXPECT_EQ(f[2].ct, CtState::New);
  EXPECT_EQ(f[2].state, TcpState::Established);
  EXPECT_EQ(f[2].timeout, 300);
  EXPECT_EQ(f[18].state, TcpState::FinWait);
  EXPECT_EQ(f[21].state, TcpState::TimeWait);
}

TEST_F(TcpCorpus, SynAckBeforeSyn) {
  auto f = replay("tcp-handshake-reordered.pcap");
  EXPECT_EQ(f[1].reason, InvalidReason::TcpInvalidState);  // SYN/ACK, no entry
  EXPECT_EQ(f[2].ct, CtState::New);
  EXPECT_EQ(f[2].state, TcpState::SynSent);
  // The client's ACK in SYN_SENT (no SYN/ACK seen) is sIV.
  EXPECT_EQ(f[3].reason, InvalidReason::TcpInvalidState);
  // The server's ACKs are ignored in SYN_SENT but count as a reply.
  EXPECT_EQ(f[5].ct, CtState::Established);
  EXPECT_EQ(f[5].state, TcpState::SynSent);
}

}  // namespace
}  // namespace ctrack::tcptest

// TFTP helper on tftp-rrq-small.pcap and tftp-wrq.pcap (../shared/corpus/
// README.md, "TFTP helper"): with the helper attached to udp/69 (`-t raw -p
// udp --dport 69 -j CT --helper tftp` on Linux 6.18) the request leaves an
// expectation for the server's answer from any port to the client's port
// (linux-core.md §7.6, test vector 18); the answer from the server's new port
// is RELATED, the rest of the transfer ESTABLISHED on that child, and the
// request's own entry stays [UNREPLIED]. Values from the README and the
// reference.
#include <gtest/gtest.h>

#include "golden/golden_util.h"

namespace ctrack::golden {
namespace {

Config tftp_config() {
  Config c = linux_config();
  c.helpers.push_back(HelperAttachment{"tftp", kProtoUDP, 69});
  return c;
}

struct Transfer {
  const char* file;
  const char* client;
  std::uint16_t cport;
  const char* server;
  std::uint16_t sport;  // the server's new port
  std::size_t frames;
};

void check_transfer(const Transfer& t) {
  Engine engine(tftp_config());
  CTRACK_REPLAY(rp, engine, t.file);
  ASSERT_EQ(rp.frames.size(), t.frames);

  // Frame 1: the request, NEW, with the helper, 30 s unreplied.
  const FrameRecord& req = rp.at(1);
  check(rp, {.frame = 1, .state = CtState::New, .timeout = 30, .unreplied = 1});
  EXPECT_EQ(req.conn_orig, v4(t.client, t.cport, t.server, 69, kProtoUDP));
  EXPECT_STREQ(helper_name(req.helper), "tftp");
  const std::uint32_t ctl = req.conn_id;

  // src=<server> dst=<client> sport=0 dport=<client port> tftp (proto 17)
  ASSERT_EQ(req.expectations_after.size(), 1u);
  const Expectation& e = req.expectations_after[0];
  EXPECT_EQ(e.tuple, v4(t.server, 0, t.client, t.cport, kProtoUDP)) << describe(e.tuple);
  EXPECT_FALSE(e.src_any());
  EXPECT_TRUE(e.sport_any());
  EXPECT_EQ(e.master_id, ctl);
  EXPECT_STREQ(helper_name(e.helper), "tftp");
  EXPECT_EQ(e.expires, req.ts + seconds(300));

  // Frame 2: the server's first answer from its new port.
  const FrameRecord& ans = rp.at(2);
  EXPECT_EQ(ans.state, CtState::Related) << describe(ans);
  EXPECT_EQ(ans.direction, Direction::Original);
  EXPECT_EQ(ans.conn_orig, v4(t.server, t.sport, t.client, t.cport, kProtoUDP));
  EXPECT_EQ(ans.master, ctl);
  EXPECT_EQ(ans.helper, 0);
  EXPECT_TRUE(ans.expectations_after.empty());
  const std::uint32_t child = ans.conn_id;

  // The rest: the client's packets are the child's replies, the server's
  // its original direction; the whole transfer takes under 2 s, so the UDP
  // entry never reaches the stream state (30 s, not ASSURED).
  for (std::uint64_t f = 3; f <= t.frames; ++f) {
    const FrameRecord& r = rp.at(f);
    EXPECT_EQ(r.conn_id, child) << describe(r);
    EXPECT_EQ(r.state, CtState::Established) << describe(r);
    EXPECT_EQ(r.direction, f % 2 == 1 ? Direction::Reply : Direction::Original) << describe(r);
    EXPECT_EQ(r.master, ctl);
    EXPECT_FALSE(r.assured);
    EXPECT_EQ(r.timeout_left, 30);
    EXPECT_FALSE(r.helper_drop);
  }
  EXPECT_EQ(engine.stats().expect_create, 1u);
  EXPECT_EQ(engine.stats().expect_new, 1u);

  // The request's entry never saw a reply.
  const auto rows = final_table(engine);
  const TableRow* master = find_row(rows, v4(t.client, t.cport, t.server, 69, kProtoUDP));
  ASSERT_NE(master, nullptr);
  EXPECT_TRUE(master->unreplied);
  const TableRow* data = find_row(rows, v4(t.server, t.sport, t.client, t.cport, kProtoUDP));
  ASSERT_NE(data, nullptr);
  EXPECT_FALSE(data->unreplied);
}

TEST(TftpCorpus, ReadRequest) {
  CTRACK_REQUIRE_CORPUS();
  check_transfer({"tftp-rrq-small.pcap", "192.168.1.2", 44935, "192.168.1.1", 59557, 7});
}

TEST(TftpCorpus, WriteRequest) {
  CTRACK_REQUIRE_CORPUS();
  check_transfer({"tftp-wrq.pcap", "192.168.0.1", 57509, "192.168.0.13", 2087, 100});
}

TEST(TftpCorpus, WithoutTheHelperTheAnswerIsNew) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "tftp-rrq-small.pcap");
  EXPECT_EQ(rp.at(2).state, CtState::New);
  EXPECT_TRUE(rp.at(1).expectations_after.empty());
}

}  // namespace
}  // namespace ctrack::golden

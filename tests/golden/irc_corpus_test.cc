// IRC DCC helper on irc-dcc-send-and-chat.pcapng (../shared/corpus/README.md,
// "IRC DCC helper"): with the helper attached to port 6667 (`-t raw -p tcp
// --dport 6667 -j CT --helper irc` on Linux 6.18), the client's DCC SEND
// (frame 58) and DCC CHAT (frame 1153) each leave an expectation for the
// announced port from any host (linux-core.md §7.5), and the peer's
// connections (frames 60 and 1155) are RELATED with the IRC connection as
// master. Expected values come from the README and the reference.
#include <gtest/gtest.h>

#include "golden/golden_util.h"

namespace ctrack::golden {
namespace {

Config irc_config() {
  Config c = linux_config();
  c.helpers.push_back(HelperAttachment{"irc", kProtoTCP, 6667});
  return c;
}

const char* const kClient = "10.0.0.7";  // 167772167
const char* const kPeer = "10.0.0.22";

void check_expectation(const Replay& rp, std::uint64_t frame, std::uint16_t port,
                       std::uint32_t control, std::uint64_t created) {
  const FrameRecord& r = rp.at(frame);
  ASSERT_EQ(r.expectations_after.size(), 1u) << "after frame " << frame;
  const Expectation& e = r.expectations_after[0];
  // src=0.0.0.0 dst=10.0.0.7 sport=0 dport=<port> irc
  Tuple want = v4("0.0.0.0", 0, kClient, port, kProtoTCP);
  EXPECT_EQ(e.tuple, want) << describe(e.tuple);
  EXPECT_TRUE(e.src_any());
  EXPECT_TRUE(e.sport_any());
  EXPECT_EQ(e.master_id, control);
  EXPECT_STREQ(helper_name(e.helper), "irc");
  EXPECT_EQ(e.expires, rp.at(created).ts + seconds(300));
}

void check_related(const Replay& rp, std::uint64_t frame, const Tuple& data,
                   std::uint32_t control) {
  const FrameRecord& r = rp.at(frame);
  EXPECT_EQ(r.state, CtState::Related) << describe(r);
  EXPECT_EQ(r.direction, Direction::Original);
  EXPECT_EQ(r.conn_orig, data) << describe(r);
  EXPECT_EQ(r.master, control);
  EXPECT_EQ(r.helper, 0);
  EXPECT_TRUE(r.expectations_after.empty());
  check(rp, {.frame = frame + 1,
             .state = CtState::Established,
             .dir = Direction::Reply,
             .tcp = "SYN_RECV"});
  check(rp, {.frame = frame + 2,
             .state = CtState::Established,
             .dir = Direction::Original,
             .tcp = "ESTABLISHED"});
  EXPECT_EQ(rp.at(frame + 2).master, control);
}

TEST(IrcCorpus, DccSendAndChatAreRelated) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(irc_config());
  CTRACK_REPLAY(rp, engine, "irc-dcc-send-and-chat.pcapng");
  ASSERT_EQ(rp.frames.size(), 1184u);

  const FrameRecord& first = rp.at(1);
  EXPECT_EQ(first.state, CtState::New);
  EXPECT_STREQ(helper_name(first.helper), "irc");
  EXPECT_EQ(first.conn_orig, v4(kClient, 59069, kPeer, 6667, kProtoTCP));
  const std::uint32_t ctl = first.conn_id;

  // Nothing before the first offer (the PRIVMSGs of frames 4..57 carry no DCC).
  for (std::uint64_t f = 1; f < 58; ++f) EXPECT_TRUE(rp.at(f).expectations_after.empty()) << f;

  // DCC SEND ssh.trace 167772167 59130: expected until the peer connects.
  check_expectation(rp, 58, 59130, ctl, 58);
  check_expectation(rp, 59, 59130, ctl, 58);
  check_related(rp, 60, v4(kPeer, 43614, kClient, 59130, kProtoTCP), ctl);

  // DCC CHAT CHAT 167772167 59214.
  EXPECT_TRUE(rp.at(1152).expectations_after.empty());
  check_expectation(rp, 1153, 59214, ctl, 1153);
  check_expectation(rp, 1154, 59214, ctl, 1153);
  check_related(rp, 1155, v4(kPeer, 38016, kClient, 59214, kProtoTCP), ctl);

  // Every packet of the two data connections belongs to a child of the IRC
  // connection; no packet was dropped by the helper.
  std::size_t child_frames = 0;
  for (const FrameRecord& r : rp.frames) {
    EXPECT_FALSE(r.helper_drop) << describe(r);
    ASSERT_TRUE(r.has_conn) << describe(r);
    if (r.conn_id != ctl) {
      EXPECT_EQ(r.master, ctl) << describe(r);
      ++child_frames;
    } else {
      EXPECT_EQ(r.master, kNoConn);
    }
  }
  EXPECT_EQ(child_frames, 962u + 127u + 8u + 7u);
  EXPECT_EQ(engine.stats().expect_create, 2u);
  EXPECT_EQ(engine.stats().expect_new, 2u);
  EXPECT_EQ(engine.stats().expect_delete, 2u);
}

TEST(IrcCorpus, WithoutTheHelperTheDataConnectionsAreNew) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  CTRACK_REPLAY(rp, engine, "irc-dcc-send-and-chat.pcapng");
  EXPECT_EQ(rp.at(60).state, CtState::New);
  EXPECT_EQ(rp.at(1155).state, CtState::New);
  EXPECT_EQ(rp.at(58).expectations_after.size(), 0u);
  EXPECT_EQ(engine.stats().expect_create, 0u);
}

}  // namespace
}  // namespace ctrack::golden

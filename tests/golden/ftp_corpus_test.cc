// FTP helper on the corpus captures (../shared/corpus/README.md, "FTP
// helper"): with the helper attached to port 21 (`--helper ftp`, i.e.
// `-t raw -p tcp --dport 21 -j CT --helper ftp` on Linux 6.18), every data
// connection listed there is RELATED with the control connection as master,
// and its expectation is in the table from the command/reply that announced
// it until the data connection's first packet (linux-core.md §7.1, §7.4).
// Expected values come from the README's frame tables and the reference, not
// from ctrack's output.
#include <gtest/gtest.h>

#include "golden/golden_util.h"

namespace ctrack::golden {
namespace {

Config ftp_config() {
  Config c = linux_config();
  c.helpers.push_back(HelperAttachment{"ftp", kProtoTCP, 21});
  return c;
}

// The single expectation in the table after `frame`: the expected data
// connection (source port wildcarded), mastered by `control`, 300 s.
// `created` is the frame that announced it (default: `frame` itself).
void check_expectation(const Replay& rp, std::uint64_t frame, const Tuple& data,
                       std::uint32_t control, std::uint64_t created = 0) {
  const FrameRecord& r = rp.at(frame);
  ASSERT_EQ(r.expectations_after.size(), 1u) << "after frame " << frame;
  const Expectation& e = r.expectations_after[0];
  Tuple want = data;
  want.src_id = 0;
  EXPECT_EQ(e.tuple, want) << "frame " << frame << ": " << describe(e.tuple);
  EXPECT_TRUE(e.sport_any());
  EXPECT_FALSE(e.src_any());
  EXPECT_EQ(e.master_id, control) << "frame " << frame;
  EXPECT_STREQ(helper_name(e.helper), "ftp");
  EXPECT_EQ(e.expires, rp.at(created != 0 ? created : frame).ts + seconds(300))
      << "frame " << frame;
}

// Frame `frame` opens the data connection `data`: RELATED, new entry whose
// master is `control`; the expectation is used up.
void check_related(const Replay& rp, std::uint64_t frame, const Tuple& data,
                   std::uint32_t control) {
  const FrameRecord& r = rp.at(frame);
  EXPECT_EQ(r.state, CtState::Related) << describe(r);
  EXPECT_EQ(r.direction, Direction::Original);
  EXPECT_EQ(r.conn_orig, data) << describe(r);
  EXPECT_EQ(r.master, control) << describe(r);
  EXPECT_EQ(r.helper, 0) << "FTP data connections carry no helper";
  EXPECT_TRUE(r.expectations_after.empty()) << "frame " << frame;
}

// The control connection: the entry of frame 1, with the helper attached.
std::uint32_t control_of(const Replay& rp) {
  const FrameRecord& r = rp.at(1);
  EXPECT_EQ(r.state, CtState::New);
  EXPECT_STREQ(helper_name(r.helper), "ftp");
  return r.conn_id;
}

void check_no_drops(const Replay& rp) {
  for (const FrameRecord& r : rp.frames) EXPECT_FALSE(r.helper_drop) << describe(r);
}

TEST(FtpCorpus, ActivePort) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(ftp_config());
  const Replay rp = replay(engine, "ftp-active-port.pcap");
  ASSERT_TRUE(rp.error.empty()) << rp.error;
  const std::uint32_t ctl = control_of(rp);
  struct Row {
    std::uint64_t port_frame;
    std::uint16_t port;
    std::uint64_t syn_frame;
  };
  for (const Row& row : {Row{13, 44671, 16}, Row{29, 43585, 32}, Row{45, 43439, 48}}) {
    SCOPED_TRACE(row.port);
    EXPECT_TRUE(rp.at(row.port_frame - 1).expectations_after.empty());
    const Tuple data = v4("172.23.0.2", 20, "172.23.0.3", row.port, kProtoTCP);
    check_expectation(rp, row.port_frame, data, ctl);
    check_expectation(rp, row.syn_frame - 1, data, ctl, row.port_frame);  // still waiting
    check_related(rp, row.syn_frame, data, ctl);
    // SYN/ACK from the client, then the server's ACK: ordinary ESTABLISHED.
    check(rp, {.frame = row.syn_frame + 1,
               .state = CtState::Established,
               .dir = Direction::Reply,
               .tcp = "SYN_RECV"});
    check(rp, {.frame = row.syn_frame + 2,
               .state = CtState::Established,
               .dir = Direction::Original,
               .tcp = "ESTABLISHED"});
    EXPECT_EQ(rp.at(row.syn_frame + 2).master, ctl);
  }
  check_no_drops(rp);
  EXPECT_EQ(engine.stats().expect_create, 3u);
  EXPECT_EQ(engine.stats().expect_new, 3u);
  EXPECT_EQ(engine.stats().expect_delete, 3u);
}

TEST(FtpCorpus, PassivePasv) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(ftp_config());
  const Replay rp = replay(engine, "ftp-passive-pasv.pcap");
  ASSERT_TRUE(rp.error.empty()) << rp.error;
  const std::uint32_t ctl = control_of(rp);
  struct Row {
    std::uint64_t reply_frame;
    std::uint16_t port;
    std::uint64_t syn_frame;
  };
  for (const Row& row : {Row{14, 21001, 15}, Row{30, 21008, 31}, Row{46, 21008, 47}}) {
    SCOPED_TRACE(row.reply_frame);
    const FrameRecord& syn = rp.at(row.syn_frame);
    ASSERT_TRUE(syn.has_conn);
    const Tuple data = v4("172.23.0.3", syn.conn_orig.src_id, "172.23.0.2", row.port, kProtoTCP);
    check_expectation(rp, row.reply_frame, data, ctl);
    check_related(rp, row.syn_frame, data, ctl);
  }
  // The third data connection comes from a new source port (README).
  EXPECT_NE(rp.at(31).conn_orig.src_id, rp.at(47).conn_orig.src_id);
  check_no_drops(rp);
  EXPECT_EQ(engine.stats().expect_new, 3u);
}

TEST(FtpCorpus, Ipv4PasvAndPort) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(ftp_config());
  const Replay rp = replay(engine, "ftp-ipv4-pasv-and-port.pcap");
  ASSERT_TRUE(rp.error.empty()) << rp.error;
  const std::uint32_t ctl = control_of(rp);
  const char* client = "141.142.220.235";
  const char* server = "199.233.217.249";
  // PASV: the client connects to the announced port.
  for (auto [reply, port, syn] : {std::tuple{20, 56666, 22}, std::tuple{39, 56667, 40}}) {
    SCOPED_TRACE(port);
    const Tuple data = v4(client, rp.at(syn).conn_orig.src_id, server, port, kProtoTCP);
    check_expectation(rp, reply, data, ctl);
    check_related(rp, syn, data, ctl);
  }
  // PORT: the server connects from the ports the README gives.
  for (auto [cmd, port, syn, sport] :
       {std::tuple{57, 33582, 60, 61920}, std::tuple{75, 37835, 78, 61918}}) {
    SCOPED_TRACE(port);
    const Tuple data = v4(server, sport, client, port, kProtoTCP);
    check_expectation(rp, cmd, data, ctl);
    check_related(rp, syn, data, ctl);
  }
  check_no_drops(rp);
  EXPECT_EQ(engine.stats().expect_new, 4u);
}

TEST(FtpCorpus, Ipv6EpsvAndEprt) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(ftp_config());
  const Replay rp = replay(engine, "ftp-ipv6-epsv-and-eprt.pcap");
  ASSERT_TRUE(rp.error.empty()) << rp.error;
  const std::uint32_t ctl = control_of(rp);
  const char* client = "2001:470:1f11:81f:c999:d94:aa7c:2e3e";
  const char* server = "2001:470:4867:99::21";
  for (auto [reply, port, syn] :
       {std::tuple{28, 57086, 30}, std::tuple{45, 57087, 47}, std::tuple{68, 57088, 70}}) {
    SCOPED_TRACE(port);
    const Tuple data = v6(client, rp.at(syn).conn_orig.src_id, server, port, kProtoTCP);
    check_expectation(rp, reply, data, ctl);
    check_related(rp, syn, data, ctl);
  }
  for (auto [cmd, port, syn] : {std::tuple{90, 49189, 94}, std::tuple{113, 49190, 117}}) {
    SCOPED_TRACE(port);
    const Tuple data = v6(server, rp.at(syn).conn_orig.src_id, client, port, kProtoTCP);
    check_expectation(rp, cmd, data, ctl);
    check_related(rp, syn, data, ctl);
  }
  check_no_drops(rp);
  EXPECT_EQ(engine.stats().expect_new, 5u);
}

TEST(FtpCorpus, Ipv4Epsv) {
  CTRACK_REQUIRE_CORPUS();
  Engine engine(ftp_config());
  const Replay rp = replay(engine, "ftp-ipv4-epsv.pcap");
  ASSERT_TRUE(rp.error.empty()) << rp.error;
  const std::uint32_t ctl = control_of(rp);
  const Tuple data =
      v4("141.142.228.5", rp.at(26).conn_orig.src_id, "141.142.192.162", 38141, kProtoTCP);
  check_expectation(rp, 23, data, ctl);
  // Frame 24 retransmits the 229 at the same sequence number, which still
  // starts a line: parsed again, the identical expectation is replaced
  // (timer restarted, §7.1).
  check_expectation(rp, 24, data, ctl);
  check_expectation(rp, 25, data, ctl, 24);
  check_related(rp, 26, data, ctl);
  check_no_drops(rp);
  EXPECT_EQ(engine.stats().expect_create, 2u);
  EXPECT_EQ(engine.stats().expect_delete, 2u);
  EXPECT_EQ(engine.stats().expect_new, 1u);
}

TEST(FtpCorpus, PasvToAnotherAddressExpectsNothing) {
  // The 227 replies name 205.167.25.101, not the server 10.167.25.101: the
  // helper refuses them (no loose), without dropping anything.
  CTRACK_REQUIRE_CORPUS();
  Engine engine(ftp_config());
  const Replay rp = replay(engine, "ftp-688-pasv-control-only.pcap");
  ASSERT_TRUE(rp.error.empty()) << rp.error;
  control_of(rp);
  for (const FrameRecord& r : rp.frames) {
    EXPECT_TRUE(r.expectations_after.empty()) << describe(r);
    EXPECT_FALSE(r.helper_drop) << describe(r);
  }
  EXPECT_EQ(engine.stats().expect_create, 0u);
}

TEST(FtpCorpus, WithoutTheHelperNothingIsRelated) {
  // Linux 6.18 attaches no helper by itself (§7.3).
  CTRACK_REQUIRE_CORPUS();
  Engine engine(linux_config());
  const Replay rp = replay(engine, "ftp-active-port.pcap");
  ASSERT_TRUE(rp.error.empty()) << rp.error;
  for (std::uint64_t f : {16, 32, 48}) {
    EXPECT_EQ(rp.at(f).state, CtState::New) << describe(rp.at(f));
  }
  EXPECT_EQ(engine.stats().expect_create, 0u);
}

TEST(FtpCorpus, ClassicProfileAttachesByPort) {
  CTRACK_REQUIRE_CORPUS();
  Config c = Config::for_profile(Profile::Classic);
  c.hash_seed = 1;
  Engine engine(c);
  const Replay rp = replay(engine, "ftp-passive-pasv.pcap");
  ASSERT_TRUE(rp.error.empty()) << rp.error;
  for (std::uint64_t f : {15, 31, 47})
    EXPECT_EQ(rp.at(f).state, CtState::Related) << describe(rp.at(f));
}

}  // namespace
}  // namespace ctrack::golden

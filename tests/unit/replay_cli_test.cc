// End-to-end tests of `ctrack replay` (the built executable, CTRACK_BINARY):
// options, exit statuses, error messages, filters and table output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/packet_builder.h"
#include "unit/run_command.h"

namespace ctrack::test {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000LL * 1'000'000'000LL;

std::string ctrack_cmd(const std::string& args) {
  return shell_quote(CTRACK_BINARY) + " " + args;
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TcpSpec flags(std::uint8_t f, std::uint32_t seq, std::uint32_t ack) {
  TcpSpec s;
  s.flags = f;
  s.seq = seq;
  s.ack = ack;
  return s;
}

// TCP SYN, a UDP query, the SYN/ACK: three packets of two flows.
std::vector<Frame> mixed_frames() {
  const Endpoint c = ep4("192.0.2.1", 40000);
  const Endpoint s = ep4("198.51.100.2", 80);
  return {
      {kT0, tcp(c, s, flags(SYN, 100, 0))},
      {kT0 + 1000, udp(ep4("192.0.2.1", 5353), ep4("198.51.100.53", 53), "query")},
      {kT0 + 2000, tcp(s, c, flags(SYN | ACK, 900, 101))},
  };
}

class ReplayCli : public ::testing::Test {
 protected:
  ReplayCli() : dir_("replay-cli") {
    capture_ = dir_.file("mixed.pcap");
    EXPECT_TRUE(write_pcap(capture_, mixed_frames()));
  }
  TempDir dir_;
  std::string capture_;
};

TEST_F(ReplayCli, VersionAndHelp) {
  const auto v = run_command(ctrack_cmd("--version"));
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out.rfind("ctrack ", 0), 0u) << v.out;
  const auto h = run_command(ctrack_cmd("replay --help"));
  EXPECT_EQ(h.status, 0);
  for (const char* opt : {"--filter", "--profile", "--set", "--sysctl-file", "--hashsize",
                          "--format", "--table", "--stats", "-q"}) {
    EXPECT_NE(h.out.find(opt), std::string::npos) << opt << " missing from --help";
  }
}

TEST_F(ReplayCli, TextOutputHasOneAlignedLinePerPacket) {
  const auto r = run_command(ctrack_cmd("replay " + shell_quote(capture_)));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "    1 0.000000 tcp     192.0.2.1:40000 -> 198.51.100.2:80            [S]   NEW         "
            "original NONE->SYN_SENT\n"
            "    2 0.000001 udp     192.0.2.1:5353 -> 198.51.100.53:53                  NEW         "
            "original\n"
            "    3 0.000002 tcp     198.51.100.2:80 -> 192.0.2.1:40000            [SA]  ESTABLISHED "
            "reply    SYN_SENT->SYN_RECV\n");
}

TEST_F(ReplayCli, UnknownOptionIsAUsageError) {
  const auto r = run_command(ctrack_cmd("replay --no-such-option " + shell_quote(capture_)));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--no-such-option"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(ReplayCli, BadChoicesAreUsageErrors) {
  EXPECT_EQ(run_command(ctrack_cmd("replay --table=xml " + shell_quote(capture_))).status, 1);
  EXPECT_EQ(run_command(ctrack_cmd("replay --format yaml " + shell_quote(capture_))).status, 1);
  EXPECT_EQ(run_command(ctrack_cmd("replay --profile bsd " + shell_quote(capture_))).status, 1);
  EXPECT_EQ(run_command(ctrack_cmd("replay")).status, 1);  // FILE is required
}

TEST_F(ReplayCli, SetWithUnknownNameNamesIt) {
  const auto r =
      run_command(ctrack_cmd("replay --set nf_conntrack_bogus=1 " + shell_quote(capture_)));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("nf_conntrack_bogus"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "") << "nothing may be replayed with a bad configuration";
  const auto no_eq = run_command(ctrack_cmd("replay --set nf_conntrack_max " + shell_quote(capture_)));
  EXPECT_EQ(no_eq.status, 1);
  EXPECT_NE(no_eq.err.find("NAME=VALUE"), std::string::npos) << no_eq.err;
}

TEST_F(ReplayCli, SetChangesTheTimeoutWithOrWithoutPrefix) {
  // The UDP entry was created 1 us before the last packet: 30 s -> 29 by
  // default (rounded down), 60 s -> 59 with the sysctl set.
  const auto def = run_command(ctrack_cmd("replay -q --table " + shell_quote(capture_)));
  EXPECT_NE(def.out.find("udp      17 29 "), std::string::npos) << def.out;
  for (const char* name : {"nf_conntrack_udp_timeout", "net.netfilter.nf_conntrack_udp_timeout"}) {
    const auto r = run_command(ctrack_cmd(std::string("replay -q --table --set ") + name + "=60 " +
                                          shell_quote(capture_)));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("udp      17 59 "), std::string::npos) << r.out;
  }
}

TEST_F(ReplayCli, SysctlFileIsAppliedAndSetOverridesIt) {
  const std::string conf = dir_.file("ct.conf");
  std::ofstream(conf) << "# test\nnet.netfilter.nf_conntrack_udp_timeout = 90\n";
  const auto f = run_command(ctrack_cmd("replay -q --table --sysctl-file " + shell_quote(conf) +
                                        " " + shell_quote(capture_)));
  ASSERT_EQ(f.status, 0) << f.err;
  EXPECT_NE(f.out.find("udp      17 89 "), std::string::npos) << f.out;
  const auto s = run_command(ctrack_cmd("replay -q --table --sysctl-file " + shell_quote(conf) +
                                        " --set nf_conntrack_udp_timeout=45 " + shell_quote(capture_)));
  EXPECT_NE(s.out.find("udp      17 44 "), std::string::npos) << s.out;
}

TEST_F(ReplayCli, QuietPrintsNothingPerPacketButTableAndStats) {
  const auto q = run_command(ctrack_cmd("replay -q " + shell_quote(capture_)));
  EXPECT_EQ(q.status, 0);
  EXPECT_EQ(q.out, "");
  const auto r = run_command(ctrack_cmd("replay -q --table --stats " + shell_quote(capture_)));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "tcp      6 60 SYN_RECV src=192.0.2.1 dst=198.51.100.2 sport=40000 dport=80 "
            "src=198.51.100.2 dst=192.0.2.1 sport=80 dport=40000 mark=0 use=1\n"
            "udp      17 29 src=192.0.2.1 dst=198.51.100.53 sport=5353 dport=53 [UNREPLIED] "
            "src=198.51.100.53 dst=192.0.2.1 sport=53 dport=5353 mark=0 use=1\n"
            "cpu=0 found=0 invalid=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 "
            "search_restart=0 clash_resolve=0 chaintoolong=0\n"
            "packets=3 created=2 expired=0 entries=2 link_errors=0\n");
  EXPECT_EQ(r.err, "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.\n");
}

TEST_F(ReplayCli, TableFormatsProcClassicJson) {
  const auto proc = run_command(ctrack_cmd("replay -q --table=proc " + shell_quote(capture_)));
  EXPECT_EQ(proc.out.rfind("ipv4     2 tcp      6 60 SYN_RECV ", 0), 0u) << proc.out;
  EXPECT_EQ(proc.err, "") << "only conntrack -L prints a summary line";
  const auto classic = run_command(ctrack_cmd("replay -q --table=classic " + shell_quote(capture_)));
  EXPECT_NE(classic.out.find(" use=1 \n"), std::string::npos) << classic.out;
  const auto json = run_command(ctrack_cmd("replay -q --table=json " + shell_quote(capture_)));
  EXPECT_EQ(count_lines(json.out), 2);
  EXPECT_EQ(json.out.rfind("{\"proto\": \"tcp\", \"protonum\": 6, \"state\": \"SYN_RECV\"", 0), 0u)
      << json.out;
}

TEST_F(ReplayCli, FilterKeepsFilePacketNumbers) {
  const auto r = run_command(ctrack_cmd("replay --format json --filter udp " + shell_quote(capture_)));
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(count_lines(r.out), 1) << r.out;
  EXPECT_EQ(r.out.rfind("{\"index\": 2, \"ts\": 1700000000.000001, \"ct_state\": \"new\"", 0), 0u)
      << r.out;
  const auto bad = run_command(ctrack_cmd("replay --filter 'not a filter ((' " + shell_quote(capture_)));
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("ctrack:"), std::string::npos) << bad.err;
}

TEST_F(ReplayCli, DamagedCaptureReportsFileAndPacketAndKeepsEarlierOutput) {
  // Cut the file in the middle of the third packet's data.
  const std::string damaged = dir_.file("damaged.pcap");
  std::filesystem::copy_file(capture_, damaged);
  std::filesystem::resize_file(damaged, std::filesystem::file_size(capture_) - 10);
  const auto r = run_command(ctrack_cmd("replay --table " + shell_quote(damaged)));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("damaged.pcap"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("packet 3"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.rfind("ctrack: ", 0), 0u) << r.err;
  // Packets 1 and 2 were reported, and the table (2 entries) still printed.
  EXPECT_NE(r.out.find("    1 0.000000 tcp "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    2 0.000001 udp "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("    3 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tcp      6 119 SYN_SENT "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("2 flow entries have been shown"), std::string::npos) << r.err;
}

TEST_F(ReplayCli, MissingFileIsAnInputError) {
  const auto r = run_command(ctrack_cmd("replay " + shell_quote(dir_.file("absent.pcap"))));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("absent.pcap"), std::string::npos) << r.err;
}

TEST_F(ReplayCli, SeveralFilesShareOneTableAndRestartNumbering) {
  // The second file carries the client's ACK: it must find the entry the
  // first file created (one engine across files).
  const std::string second = dir_.file("second.pcap");
  ASSERT_TRUE(write_pcap(second, {{kT0 + 3000, tcp(ep4("192.0.2.1", 40000), ep4("198.51.100.2", 80),
                                                    flags(ACK, 101, 901))}}));
  const auto r = run_command(ctrack_cmd("replay --table " + shell_quote(capture_) + " " +
                                        shell_quote(second)));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("==> " + capture_ + " <==\n    1 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("==> " + second + " <==\n    1 0.000003 tcp "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ESTABLISHED original SYN_RECV->ESTABLISHED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tcp      6 432000 ESTABLISHED "), std::string::npos) << r.out;
}

TEST_F(ReplayCli, NonIpFrameIsReportedInvalidNotSkipped) {
  const std::string path = dir_.file("arp.pcap");
  Bytes arp{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
  arp.resize(14 + 28, 0);
  ASSERT_TRUE(write_pcap_linktype(path, 1, {{kT0, arp}}));
  const auto r = run_command(ctrack_cmd("replay --format json --stats " + shell_quote(path)));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n') + 1),
            "{\"index\": 1, \"ts\": 1700000000.000000, \"ct_state\": \"invalid\", \"ct_direction\": "
            "null, \"reason\": \"unsupported link-layer or network protocol\", \"entry\": null}\n");
  EXPECT_NE(r.out.find("link_errors=1\n"), std::string::npos) << r.out;
}

// Lines come out in capture order although the engine takes the packets in
// batches: a frame that never reaches it (here ARP) is printed between the
// packets around it, and each line shows the entry as its packet left it.
TEST_F(ReplayCli, NonIpFrameLineKeepsItsPlaceBetweenBatchedPackets) {
  const std::string path = dir_.file("mixed-arp.pcap");
  Bytes arp{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
  arp.resize(14 + 28, 0);
  const Endpoint c = ep4("192.0.2.1", 40000), s = ep4("198.51.100.2", 80);
  const Bytes eth{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
  auto framed = [&eth](const Bytes& ip) {
    Bytes f = eth;
    f.insert(f.end(), ip.begin(), ip.end());
    return f;
  };
  ASSERT_TRUE(write_pcap_linktype(path, 1,
                                  {{kT0, framed(tcp(c, s, flags(SYN, 100, 0)))},
                                   {kT0 + 1000, arp},
                                   {kT0 + 2000, framed(tcp(s, c, flags(SYN | ACK, 900, 101)))},
                                   {kT0 + 3000, framed(tcp(c, s, flags(ACK, 101, 901)))}}));
  const auto r = run_command(ctrack_cmd("replay " + shell_quote(path)));
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines;
  for (std::size_t at = 0, nl; (nl = r.out.find('\n', at)) != std::string::npos; at = nl + 1) {
    lines.push_back(r.out.substr(at, nl - at));
  }
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_NE(lines[0].find("NEW         original NONE->SYN_SENT"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1].substr(0, 5), "    2") << lines[1];
  EXPECT_NE(lines[1].find("unsupported link-layer"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("SYN_SENT->SYN_RECV"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("SYN_RECV->ESTABLISHED"), std::string::npos) << lines[3];
}

TEST_F(ReplayCli, HashsizeAndClassicProfileAreAccepted) {
  const auto r = run_command(ctrack_cmd("replay -q --stats --hashsize 16 --profile classic " +
                                        shell_quote(capture_)));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("packets=3 created=2"), std::string::npos) << r.out;
  EXPECT_EQ(run_command(ctrack_cmd("replay -q --hashsize 0 " + shell_quote(capture_))).status, 1);
}

}  // namespace
}  // namespace ctrack::test

// `ctrack replay` with helpers (the built executable, CTRACK_BINARY):
// --helper NAME / NAME:PROTO:PORT, --no-helpers, --expectations[=FORMAT],
// and the "master"/"helper" keys of the JSON per-packet records. The
// capture is an active FTP session (linux-core.md §13 vector 13) written to
// a temporary file.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/packet_builder.h"
#include "unit/run_command.h"

namespace ctrack::test {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000LL * 1'000'000'000LL;

std::string cmd(const std::string& args) { return shell_quote(CTRACK_BINARY) + " " + args; }

// Control A:40100 -> B:`port`, login, PORT for 40001, "200 ok", then
// B:20 -> A:40001.
std::string write_session(std::uint16_t port) {
  const Endpoint a = ep4("10.0.1.2", 40100), b = ep4("10.0.2.2", port);
  std::vector<Frame> f;
  std::int64_t t = kT0;
  std::uint32_t cs = 1000, ss = 5000;
  auto add = [&](const Bytes& x) {
    f.push_back({t, x});
    t += 1'000'000;
  };
  auto seg = [](std::uint8_t fl, std::uint32_t seq, std::uint32_t ack, const std::string& p) {
    TcpSpec s;
    s.flags = fl;
    s.seq = seq;
    s.ack = ack;
    s.payload = p;
    return s;
  };
  add(tcp(a, b, seg(SYN, cs++, 0, "")));
  add(tcp(b, a, seg(SYN | ACK, ss++, cs, "")));
  add(tcp(a, b, seg(ACK, cs, ss, "")));
  for (const std::string& line :
       {std::string("220 hello\r\n"), std::string("USER ftp\r\n"), std::string("331 pw\r\n"),
        std::string("PORT 10,0,1,2,156,65\r\n")}) {
    const bool from_server = line[0] >= '0' && line[0] <= '9';
    if (from_server) {
      add(tcp(b, a, seg(PSH | ACK, ss, cs, line)));
      ss += static_cast<std::uint32_t>(line.size());
    } else {
      add(tcp(a, b, seg(PSH | ACK, cs, ss, line)));
      cs += static_cast<std::uint32_t>(line.size());
    }
  }
  // The server's answer half a second later: listings taken then show a
  // fresh 300-s expectation as 299, as the kernel does.
  t += 500'000'000;
  add(tcp(b, a, seg(PSH | ACK, ss, cs, "200 ok\r\n")));
  add(tcp(ep4("10.0.2.2", 20), ep4("10.0.1.2", 40001), seg(SYN, 7000, 0, "")));
  const auto path =
      std::filesystem::temp_directory_path() /
      ("ctrack-ftp-" + std::to_string(::getpid()) + "-" + std::to_string(port) + ".pcap");
  EXPECT_TRUE(write_pcap(path.string(), f));
  return path.string();
}

TEST(ReplayHelperCli, HelperOnDefaultPortRelatesTheDataConnection) {
  const std::string pcap = write_session(21);
  const CommandOutput r = run_command(cmd("replay --helper ftp " + shell_quote(pcap)));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("10.0.2.2:20 -> 10.0.1.2:40001"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("RELATED     original NONE->SYN_SENT"), std::string::npos) << r.out;
  std::filesystem::remove(pcap);
}

TEST(ReplayHelperCli, ExpectationsBeforeTheDataConnectionInEveryFormat) {
  const std::string pcap = write_session(21);
  // --filter keeps the data SYN out: the expectation is still pending.
  const std::string base = "replay -q --helper ftp --filter 'port 21' " + shell_quote(pcap);
  CommandOutput r = run_command(cmd(base + " --expectations=proc"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "299 l3proto = 2 proto=6 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=40001 ftp\n");
  r = run_command(cmd(base + " --expectations"));
  EXPECT_EQ(r.out,
            "299 proto=6 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=40001 mask-src=255.255.255.255 "
            "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 master-dst=10.0.2.2 "
            "sport=40100 dport=21 class=0 helper=ftp\n");
  EXPECT_EQ(r.err, "conntrack v1.4.7 (conntrack-tools): 1 expectations have been shown.\n");
  r = run_command(cmd(base + " --expectations=json"));
  EXPECT_NE(r.out.find("\"helper\": \"ftp\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"tuple\": {\"src\": \"10.0.2.2\", \"dst\": \"10.0.1.2\", \"sport\": 0, "
                       "\"dport\": 40001}"),
            std::string::npos)
      << r.out;
  // The table: the master names its helper in conntrack -L format.
  r = run_command(cmd(base + " --table"));
  EXPECT_NE(r.out.find("mark=0 helper=ftp use=1\n"), std::string::npos) << r.out;
  std::filesystem::remove(pcap);
}

TEST(ReplayHelperCli, ExplicitProtoAndPort) {
  const std::string pcap = write_session(2121);
  CommandOutput r =
      run_command(cmd("replay -q --expectations=proc --helper ftp " + shell_quote(pcap)));
  EXPECT_EQ(r.out, "") << "port 2121 has no helper";
  r = run_command(cmd("replay -q --expectations=proc --filter 'port 2121' --helper ftp:tcp:2121 " +
                      shell_quote(pcap)));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("dport=40001 ftp\n"), std::string::npos) << r.out;
  std::filesystem::remove(pcap);
}

TEST(ReplayHelperCli, JsonRecordsCarryMasterAndHelper) {
  const std::string pcap = write_session(21);
  const CommandOutput r =
      run_command(cmd("replay --format json --helper ftp " + shell_quote(pcap)));
  EXPECT_EQ(r.status, 0) << r.err;
  // First line: the control connection's SYN, helper-bearing.
  const std::string first = r.out.substr(0, r.out.find('\n'));
  EXPECT_NE(first.find(", \"helper\": \"ftp\"}"), std::string::npos) << first;
  // Last line: the data SYN, RELATED, with its master (entry id 1).
  const std::string body = r.out.substr(0, r.out.size() - 1);
  const std::string last = body.substr(body.rfind('\n') + 1);
  EXPECT_NE(last.find("\"ct_state\": \"related\""), std::string::npos) << last;
  EXPECT_NE(
      last.find("\"master\": {\"id\": 1, \"orig\": {\"src\": \"10.0.1.2\", \"dst\": \"10.0.2.2\", "
                "\"sport\": 40100, \"dport\": 21}}}"),
      std::string::npos)
      << last;
  std::filesystem::remove(pcap);
}

TEST(ReplayHelperCli, ClassicProfileAndNoHelpers) {
  const std::string pcap = write_session(21);
  CommandOutput r = run_command(cmd(
      "replay -q --profile classic --filter 'port 21' --expectations=proc " + shell_quote(pcap)));
  EXPECT_NE(r.out.find("dport=40001 ftp\n"), std::string::npos) << r.out;
  r = run_command(
      cmd("replay -q --profile classic --no-helpers --expectations=proc " + shell_quote(pcap)));
  EXPECT_EQ(r.out, "");
  std::filesystem::remove(pcap);
}

TEST(ReplayHelperCli, StatsGainTheExpectationLine) {
  const std::string pcap = write_session(21);
  const CommandOutput r = run_command(cmd("replay -q --stats --helper ftp " + shell_quote(pcap)));
  EXPECT_EQ(r.status, 0) << r.err;
  // `conntrack -S expect` as 6.18's conntrack-tools prints it.
  EXPECT_NE(r.out.find("\ncpu=0   \texpect_new=1 expect_create=1 expect_delete=1 \n"),
            std::string::npos)
      << r.out;
  std::filesystem::remove(pcap);
}

TEST(ReplayHelperCli, BadHelperArguments) {
  for (const char* bad :
       {"nosuch", "ftp:udp:21", "ftp:tcp:0", "ftp:tcp:70000", "ftp:tcp", "ftp:tcp:x"}) {
    const CommandOutput r = run_command(cmd(std::string("replay --helper ") + bad + " /dev/null"));
    EXPECT_EQ(r.status, 1) << bad;
    EXPECT_NE(r.err.find("--helper"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace ctrack::test

namespace ctrack::test {
namespace {

TEST(ReplayHelperCli, FtpLooseAcceptsAThirdHost) {
  // A PORT naming 10.0.1.99: refused by default, accepted with --ftp-loose.
  const Endpoint a = ep4("10.0.1.2", 40100), b = ep4("10.0.2.2", 21);
  std::vector<Frame> f;
  std::int64_t t = kT0;
  auto add = [&](const Endpoint& s, const Endpoint& d, std::uint8_t fl, std::uint32_t seq,
                 std::uint32_t ack, const std::string& p) {
    TcpSpec x;
    x.flags = fl;
    x.seq = seq;
    x.ack = ack;
    x.payload = p;
    f.push_back({t, tcp(s, d, x)});
    t += 1'000'000;
  };
  add(a, b, SYN, 1000, 0, "");
  add(b, a, SYN | ACK, 5000, 1001, "");
  add(a, b, ACK, 1001, 5001, "");
  add(a, b, PSH | ACK, 1001, 5001, "USER x\r\n");
  add(a, b, PSH | ACK, 1009, 5001, "PORT 10,0,1,99,156,65\r\n");
  const auto path = std::filesystem::temp_directory_path() /
                    ("ctrack-ftp-loose-" + std::to_string(::getpid()) + ".pcap");
  ASSERT_TRUE(write_pcap(path.string(), f));
  CommandOutput r =
      run_command(cmd("replay -q --helper ftp --expectations=proc " + shell_quote(path.string())));
  EXPECT_EQ(r.out, "");
  r = run_command(
      cmd("replay -q --helper ftp --ftp-loose --expectations=proc " + shell_quote(path.string())));
  EXPECT_EQ(r.out, "300 l3proto = 2 proto=6 src=10.0.2.2 dst=10.0.1.99 sport=0 dport=40001 ftp\n");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace ctrack::test

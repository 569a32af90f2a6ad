// `ctrack replay --notrack EXPR` (linux-core.md §8): packets matching the BPF
// expression are UNTRACKED, create no entry, and an ICMP error quoting them
// is not RELATED. Defragmentation still runs first (§0.1: -400 before the
// raw table at -300), so the expression sees whole datagrams.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/packet_builder.h"
#include "unit/run_command.h"

namespace ctrack::test {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000LL * 1'000'000'000LL;

std::string ctrack_cmd(const std::string& args) { return shell_quote(CTRACK_BINARY) + " " + args; }

// IPv4 fragment of `whole`: L4 bytes [from, to).
Bytes frag4(const Bytes& whole, std::uint32_t from, std::uint32_t to, bool mf) {
  Bytes out(whole.begin(), whole.begin() + 20);
  out.insert(out.end(), whole.begin() + 20 + from, whole.begin() + 20 + to);
  out[2] = static_cast<std::uint8_t>(out.size() >> 8);
  out[3] = static_cast<std::uint8_t>(out.size());
  const std::uint16_t fo = static_cast<std::uint16_t>((mf ? 0x2000u : 0u) | (from / 8));
  out[6] = static_cast<std::uint8_t>(fo >> 8);
  out[7] = static_cast<std::uint8_t>(fo);
  fix_ipv4_checksum(out);
  return out;
}

class NotrackCli : public ::testing::Test {
 protected:
  NotrackCli() : dir_("notrack-cli") {
    const Endpoint a = ep4("192.0.2.1", 40000);
    const Endpoint b = ep4("198.51.100.2", 7777);
    const Endpoint dns = ep4("198.51.100.53", 53);
    const Bytes query = udp(a, b, "hello");
    IpSpec ip;
    ip.df = false;
    ip.ip_id = 0x99;
    const Bytes big = udp(ep4("192.0.2.1", 40001), b, std::string(100, 'x'), false, false, ip);
    frames_ = {
        {kT0, query},                                                     // 1 untracked
        {kT0 + 1000, udp(b, a, "reply")},                                 // 2 untracked too
        {kT0 + 2000, udp(a, dns, "q")},                                   // 3 NEW
        {kT0 + 3000, icmp_error(b.addr, a.addr, false, 3, 3, query)},     // 4 quotes an untracked flow
        {kT0 + 4000, frag4(big, 0, 48, true)},                            // 5 held
        {kT0 + 5000, frag4(big, 48, 108, false)},                         // 6 port 7777 only in frame 5
    };
    capture_ = dir_.file("notrack.pcap");
    EXPECT_TRUE(write_pcap(capture_, frames_));
  }
  TempDir dir_;
  std::vector<Frame> frames_;
  std::string capture_;
};

TEST_F(NotrackCli, MatchingPacketsAreUntrackedAndCreateNoEntry) {
  const auto r = run_command(ctrack_cmd("replay --format json --notrack 'udp port 7777' --table=json " +
                                        shell_quote(capture_)));
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines;
  for (std::size_t p = 0, n; (n = r.out.find('\n', p)) != std::string::npos; p = n + 1) {
    lines.push_back(r.out.substr(p, n - p));
  }
  ASSERT_GE(lines.size(), 7u) << r.out;
  EXPECT_NE(lines[0].find("\"ct_state\": \"untracked\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"entry\": null"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("\"ct_state\": \"untracked\""), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("\"ct_state\": \"new\""), std::string::npos) << lines[2];
  // No entry to be RELATED to: the error is INVALID.
  EXPECT_NE(lines[3].find("\"ct_state\": \"invalid\""), std::string::npos) << lines[3];
  EXPECT_NE(lines[4].find("\"frag\": \"held\""), std::string::npos) << lines[4];
  // The second fragment has no port, but the raw table sees the datagram.
  EXPECT_NE(lines[5].find("\"ct_state\": \"untracked\""), std::string::npos) << lines[5];
  EXPECT_NE(lines[5].find("\"fragments\": [5, 6]"), std::string::npos) << lines[5];
  // Only the DNS query's entry is in the table.
  EXPECT_EQ(lines.size(), 7u) << r.out;
  EXPECT_NE(lines[6].find("\"dport\": 53"), std::string::npos) << lines[6];
}

TEST_F(NotrackCli, TextShowsUntrackedAndQuietWorks) {
  const auto r = run_command(ctrack_cmd("replay --notrack 'udp port 7777' " + shell_quote(capture_)));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("    1 0.000000 udp     192.0.2.1:40000 -> 198.51.100.2:7777"), std::string::npos);
  EXPECT_NE(r.out.find("UNTRACKED"), std::string::npos);
  const auto q = run_command(ctrack_cmd("replay -q --stats --notrack 'udp port 7777' " + shell_quote(capture_)));
  EXPECT_EQ(q.status, 0) << q.err;
}

TEST_F(NotrackCli, BadExpressionIsAnError) {
  const auto r = run_command(ctrack_cmd("replay --notrack 'udp port' " + shell_quote(capture_)));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("BPF"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ctrack::test

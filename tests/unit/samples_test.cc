// The shipped sample captures: provably the generator's output (regenerated
// and compared byte for byte), and replayed with the verdicts the reference
// predicts for each packet (linux-tcp.md §1.3, §5.2, §6.1; linux-core.md
// §2.3, §3.1, §3.3, §4.1).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "unit/run_command.h"

namespace ctrack::test {
namespace {

const std::string kWalkthrough = "state-machine-walkthrough.pcap";

std::string shipped(const std::string& name) {
  return std::string(CTRACK_SOURCE_DIR) + "/samples/" + name;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::size_t start = 0;
  for (std::size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1) {
    v.push_back(s.substr(start, nl - start));
  }
  return v;
}

// The value of `"key": ` in a JSON line: a string's contents, or the literal
// (null, true, 42...). Enough for our own flat-keyed output.
std::string field(const std::string& line, const std::string& key) {
  const std::string k = "\"" + key + "\": ";
  const auto p = line.find(k);
  if (p == std::string::npos) return "<missing>";
  auto v = p + k.size();
  if (line[v] == '"') return line.substr(v + 1, line.find('"', v + 1) - v - 1);
  const auto end = line.find_first_of(",}", v);
  return line.substr(v, end - v);
}

TEST(Samples, ShippedFilesAreTheGeneratorsOutput) {
  TempDir dir("samples");
  const auto r = run_command(shell_quote(CTRACK_GEN_SAMPLES) + " " + shell_quote(dir.path().string()));
  ASSERT_EQ(r.status, 0) << r.err;
  std::size_t generated = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++generated;
    const std::string name = entry.path().filename().string();
    ASSERT_TRUE(std::filesystem::exists(shipped(name))) << name << " is generated but not shipped";
    EXPECT_EQ(read_text_file(entry.path()), read_text_file(shipped(name)))
        << "samples/" << name << " differs from the generator's output; rerun gen_samples";
  }
  EXPECT_GE(generated, 1u);
  EXPECT_TRUE(std::filesystem::exists(dir.file(kWalkthrough)));
}

struct Expect {
  const char* ct_state;
  const char* direction;   // "null" when there is none
  const char* tcp_state;   // entry state after the packet; "null" for stateless, "-" no entry
};

TEST(Samples, WalkthroughVerdictsMatchTheReference) {
  const auto r = run_command(shell_quote(CTRACK_BINARY) + " replay " +
                             shell_quote(shipped(kWalkthrough)) + " --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = lines_of(r.out);
  const Expect expected[] = {
      {"new", "original", "SYN_SENT"},            // 1 SYN
      {"established", "reply", "SYN_RECV"},       // 2 SYN/ACK: ESTABLISHED in user land (§6.1)
      {"established", "original", "ESTABLISHED"}, // 3 ACK completes the handshake
      {"established", "original", "ESTABLISHED"}, // 4 request
      {"established", "reply", "ESTABLISHED"},    // 5 answer
      {"established", "original", "ESTABLISHED"}, // 6 ACK
      {"established", "original", "FIN_WAIT"},    // 7 client FIN
      {"established", "reply", "LAST_ACK"},       // 8 server FIN (reply fin in FW -> LA)
      {"established", "original", "TIME_WAIT"},   // 9 last ACK
      {"invalid", "null", "-"},                   // 10 ARP: not IP
      {"new", "original", "SYN_SENT"},            // 11 SYN to a closed port
      {"established", "reply", "CLOSE"},          // 12 RST/ACK refuses it (§5.2)
      {"new", "original", "null"},                // 13 DNS query
      {"established", "reply", "null"},           // 14 DNS answer
      {"new", "original", "null"},                // 15 echo request
      {"established", "reply", "null"},           // 16 echo reply
      {"new", "original", "SYN_SENT"},            // 17 SYN to an unreachable host
      {"related", "reply", "SYN_SENT"},           // 18 host unreachable quoting it (§3.3)
      {"invalid", "null", "-"},                   // 19 SYN+FIN
      {"new", "original", "null"},                // 20 protocol 99
      {"established", "reply", "null"},           // 21 protocol 99 back
      {"new", "original", "null"},                // 22 ICMPv6 echo request
      {"established", "reply", "null"},           // 23 ICMPv6 echo reply
  };
  ASSERT_EQ(lines.size(), std::size(expected)) << r.out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE("packet " + std::to_string(i + 1) + ": " + lines[i]);
    EXPECT_EQ(field(lines[i], "index"), std::to_string(i + 1));
    EXPECT_EQ(field(lines[i], "ct_state"), expected[i].ct_state);
    EXPECT_EQ(field(lines[i], "ct_direction"), expected[i].direction);
    if (std::string(expected[i].tcp_state) == "-") {
      EXPECT_EQ(field(lines[i], "entry"), "null");
    } else {
      EXPECT_EQ(field(lines[i], "state"), expected[i].tcp_state);
    }
  }
  EXPECT_EQ(field(lines[2], "assured"), "true");
  EXPECT_EQ(field(lines[1], "assured"), "false");
  EXPECT_EQ(field(lines[9], "reason"), "unsupported link-layer or network protocol");
  EXPECT_EQ(field(lines[18], "reason"), "invalid tcp flag combination");
  // The RELATED error leaves its entry untouched: still unreplied.
  EXPECT_EQ(field(lines[17], "unreplied"), "true");
  EXPECT_EQ(field(lines[19], "proto"), "unknown");
  EXPECT_EQ(field(lines[19], "protonum"), "99");
}

TEST(Samples, WalkthroughTableAfterReplay) {
  // Read at the last packet (t = 6.0004 s): TIME_WAIT 120 s from 0.0104 s ->
  // 114; UDP 30 s from 2.0008 -> 26; ping 30 s from 3.0003 -> 26; SYN_SENT
  // 120 s from 4.0 (the ICMP error does not refresh it) -> 117; generic 600 s
  // from 5.0002 -> 598; the fresh ICMPv6 entry -> 30. The refused
  // connection's entry is gone.
  const auto r = run_command(shell_quote(CTRACK_BINARY) + " replay -q --table " +
                             shell_quote(shipped(kWalkthrough)));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "tcp      6 114 TIME_WAIT src=192.0.2.10 dst=198.51.100.20 sport=40000 dport=80 "
            "src=198.51.100.20 dst=192.0.2.10 sport=80 dport=40000 [ASSURED] mark=0 use=1\n"
            "udp      17 26 src=192.0.2.10 dst=198.51.100.53 sport=53000 dport=53 "
            "src=198.51.100.53 dst=192.0.2.10 sport=53 dport=53000 mark=0 use=1\n"
            "icmp     1 26 src=192.0.2.10 dst=198.51.100.20 type=8 code=0 id=4660 "
            "src=198.51.100.20 dst=192.0.2.10 type=0 code=0 id=4660 mark=0 use=1\n"
            "tcp      6 117 SYN_SENT src=192.0.2.10 dst=203.0.113.99 sport=40002 dport=22 "
            "[UNREPLIED] src=203.0.113.99 dst=192.0.2.10 sport=22 dport=40002 mark=0 use=1\n"
            "unknown  99 598 src=192.0.2.10 dst=198.51.100.30 src=198.51.100.30 dst=192.0.2.10 "
            "mark=0 use=1\n"
            "icmpv6   58 30 src=2001:db8::10 dst=2001:db8:1::20 type=128 code=0 id=43981 "
            "src=2001:db8:1::20 dst=2001:db8::10 type=129 code=0 id=43981 mark=0 use=1\n");
  EXPECT_EQ(r.err, "conntrack v1.4.7 (conntrack-tools): 6 flow entries have been shown.\n");
}

}  // namespace
}  // namespace ctrack::test

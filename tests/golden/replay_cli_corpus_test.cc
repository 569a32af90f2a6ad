// End-to-end: `ctrack replay <file> --table=proc` on the corpus, through the
// built executable (CTRACK_BINARY). The expected line is written from
// linux-tcp.md §9.1 (/proc/net/nf_conntrack layout) and the state the
// capture must end in (see tcp_corpus_test.cc, HandshakeFinTeardown).
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "golden/golden_util.h"

namespace ctrack::golden {
namespace {

struct RunResult {
  int status = -1;
  std::string out;
};

RunResult run(const std::string& cmd) {
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

TEST(ReplayCliCorpus, HandshakeFinTeardownProcTable) {
  CTRACK_REQUIRE_CORPUS();
  const std::string bin = CTRACK_BINARY;
  ASSERT_TRUE(std::filesystem::exists(bin)) << "ctrack executable not built: " << bin;
  // stderr is left out: only the table on stdout is compared.
  const RunResult r =
      run("'" + bin + "' replay '" + corpus_path("tcp-handshake-fin-teardown.pcap") + "' --table=proc 2>/dev/null");
  EXPECT_EQ(r.status, 0) << r.out;

  // §9.1: "%-8s %u %-8s %u <timeout> <state> <orig> [UNREPLIED] <reply>
  // [ASSURED] mark=0 zone=0 use=2". The table is printed at the time of the
  // last packet, which refreshed the entry to TIME_WAIT's 120 s, so exactly
  // 120 s are left (rounded down). No [UNREPLIED]: the server answered.
  const std::string expected =
      "ipv4     2 tcp      6 120 TIME_WAIT src=192.168.1.11 dst=209.87.249.18 sport=33779 dport=53 "
      "src=209.87.249.18 dst=192.168.1.11 sport=53 dport=33779 [ASSURED] mark=0 zone=0 use=2";
  int exact = 0, table_lines = 0;
  for (const std::string& l : lines(r.out)) {
    if (l == expected) ++exact;
    if (l.rfind("ipv4 ", 0) == 0 || l.rfind("ipv6 ", 0) == 0) ++table_lines;
  }
  EXPECT_EQ(exact, 1) << "expected line:\n" << expected << "\noutput:\n" << r.out;
  EXPECT_EQ(table_lines, 1) << "the table must hold exactly one entry; output:\n" << r.out;
}

}  // namespace
}  // namespace ctrack::golden

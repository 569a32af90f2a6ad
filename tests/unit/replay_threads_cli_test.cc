// `ctrack replay --threads N` prints byte for byte what one thread prints, in
// every output format. The hash key is fixed: with a random key even two
// one-thread runs may differ in --stats (the GC reaches expired entries in
// bucket order).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "unit/run_command.h"

namespace ctrack::test {
namespace {

const char* const kModes[] = {
    "",                 // per-packet text
    "--format json",    // per-packet JSON
    "-q --table=proc",  // /proc/net/nf_conntrack
    "-q --table=conntrack",
    "-q --table=json",
    "-q --stats",
    "--stats --table=proc",
};

void expect_identical(const std::string& capture, unsigned threads) {
  for (const char* mode : kModes) {
    SCOPED_TRACE(std::string(mode) + " " + capture);
    const std::string base =
        std::string(CTRACK_BINARY) + " replay --hash-seed 12345 " + mode + " '" + capture + "'";
    const CommandOutput one = run_command(base + " --threads 1");
    const CommandOutput many = run_command(base + " --threads " + std::to_string(threads));
    ASSERT_EQ(one.status, 0) << one.err;
    EXPECT_EQ(many.status, one.status);
    EXPECT_FALSE(one.out.empty());
    EXPECT_TRUE(one.out == many.out)
        << "stdout differs (" << one.out.size() << " vs " << many.out.size() << " bytes)";
    EXPECT_EQ(one.err, many.err);
  }
}

TEST(ReplayThreads, SampleIdenticalToOneThread) {
  expect_identical(std::string(CTRACK_SOURCE_DIR) + "/samples/state-machine-walkthrough.pcap", 2);
}

TEST(ReplayThreads, CorpusIdenticalToOneThread) {
  const std::filesystem::path corpus = std::filesystem::path(CTRACK_SHARED_DIR) / "corpus";
  if (!std::filesystem::exists(corpus)) {
    std::fprintf(stderr, "\n*** SKIPPED: ../shared/corpus absent (%s) ***\n\n", corpus.c_str());
    GTEST_SKIP() << "SKIPPED: ../shared/corpus absent";
  }
  for (const char* f :
       {"throughput-500-concurrent-echo-conns.pcap", "mixed-gnutella-p2p-750-flows.pcap",
        "throughput-mixed-app-1kxun.pcap", "icmp-port-unreach-embedded-udp-dns.pcap"}) {
    expect_identical((corpus / f).string(), 2);
  }
  // Fragmented replies to unfragmented queries: the front reassembles, and
  // the datagram must land on its flow's shard (it used to be tracked on the
  // shard of its address pair and came out NEW).
  for (const char* f :
       {"ip-frag-dns-v4-v6-and-dns-tcp.pcap", "ipv6-frag-dns-incomplete-and-complete.pcap",
        "ipv4-frag-udp-afs-with-icmp-unreach.pcap"}) {
    expect_identical((corpus / f).string(), 2);
  }
  // More shards than cores, and an odd count.
  expect_identical((corpus / "mixed-gnutella-p2p-750-flows.pcap").string(), 3);
}

// -q without helpers runs a replicated front (every worker reads the whole
// input, replay_replicated.cc) when there are enough cores, the front thread
// of replay_sharded.cc otherwise (3 threads on a 2-core machine): several files sharing one table, a --filter,
// a file that cannot be opened and one cut short in the middle of a record
// must give one thread's output, messages and exit status; and so must the
// pcapng files, whose frames libpcap reads (and the batches copy).
TEST(ReplayThreads, QuietInputErrorsAndSeveralFilesIdenticalToOneThread) {
  TempDir dir("replay-threads");
  const std::string sample =
      std::string(CTRACK_SOURCE_DIR) + "/samples/state-machine-walkthrough.pcap";
  const std::string damaged = dir.file("damaged.pcap");
  std::filesystem::copy_file(sample, damaged);
  std::filesystem::resize_file(damaged, std::filesystem::file_size(sample) - 10);
  std::vector<std::string> files = {sample, damaged, dir.file("absent.pcap"), sample};
  const std::filesystem::path corpus = std::filesystem::path(CTRACK_SHARED_DIR) / "corpus";
  if (std::filesystem::exists(corpus)) {
    files.push_back((corpus / "tcp-scan-syn-fin-null-xmas.pcapng").string());
    files.push_back((corpus / "icmpv6-port-unreach-embedded-udp.pcapng").string());
  } else {
    std::fprintf(stderr, "\n*** SKIPPED (pcapng part): ../shared/corpus absent ***\n\n");
  }
  std::string list;
  for (const std::string& f : files) list += " '" + f + "'";
  for (const char* mode : {"-q --stats --table=proc", "-q --stats --filter 'tcp or icmp6'"}) {
    SCOPED_TRACE(mode);
    const std::string base = std::string(CTRACK_BINARY) + " replay --hash-seed 77 " + mode + list;
    const CommandOutput one = run_command(base + " --threads 1");
    ASSERT_EQ(one.status, 2) << one.err;  // the damaged and the absent file
    EXPECT_NE(one.err.find("damaged.pcap"), std::string::npos) << one.err;
    EXPECT_NE(one.err.find("absent.pcap"), std::string::npos) << one.err;
    EXPECT_NE(one.out.find("packets"), std::string::npos) << one.out;
    for (unsigned threads : {2u, 3u}) {
      const CommandOutput many = run_command(base + " --threads " + std::to_string(threads));
      EXPECT_EQ(many.status, one.status) << threads;
      EXPECT_TRUE(one.out == many.out) << threads << " threads:\n"
                                       << one.out << "\n---\n"
                                       << many.out;
      EXPECT_EQ(one.err, many.err) << threads;
    }
  }
}

TEST(ReplayThreads, NotrackIdenticalToOneThread) {
  const std::filesystem::path corpus = std::filesystem::path(CTRACK_SHARED_DIR) / "corpus";
  if (!std::filesystem::exists(corpus)) {
    std::fprintf(stderr, "\n*** SKIPPED: ../shared/corpus absent (%s) ***\n\n", corpus.c_str());
    GTEST_SKIP() << "SKIPPED: ../shared/corpus absent";
  }
  // UDP port 53 untracked: the DNS answers, fragmented or not, are decided on
  // the reassembled datagram (the fragments alone carry no port).
  for (const char* f : {"ip-frag-dns-v4-v6-and-dns-tcp.pcap", "throughput-mixed-app-1kxun.pcap"}) {
    for (const char* mode : {"", "-q --table=proc --stats"}) {
      const std::string base = std::string(CTRACK_BINARY) + " replay '" + (corpus / f).string() +
                               "' --hash-seed 9 --notrack 'udp port 53' " + mode;
      const CommandOutput one = run_command(base + " --threads 1");
      const CommandOutput two = run_command(base + " --threads 2");
      ASSERT_EQ(one.status, 0) << one.err;
      EXPECT_EQ(two.status, 0) << two.err;
      if (mode[0] == 0) {
        EXPECT_NE(one.out.find("UNTRACKED"), std::string::npos) << f;
      }
      EXPECT_TRUE(one.out == two.out) << f << " " << mode;
      EXPECT_EQ(one.err, two.err);
    }
  }
}

// The firewall replay is not sharded: --threads changes nothing it prints
// on stdout, and a note on stderr says the option was not used.
TEST(ReplayThreads, RulesRunOnOneThreadAndSaySo) {
  const std::string base = std::string(CTRACK_BINARY) + " replay --hash-seed 7 --stats --rules '" +
                           CTRACK_SOURCE_DIR + "/samples/rules/stateful-router.rules' '" +
                           CTRACK_SOURCE_DIR + "/samples/state-machine-walkthrough.pcap'";
  const CommandOutput one = run_command(base);
  const CommandOutput two = run_command(base + " --threads 2");
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_EQ(two.status, 0);
  EXPECT_FALSE(one.out.empty());
  EXPECT_EQ(one.out, two.out);
  EXPECT_EQ(one.err, "");
  EXPECT_EQ(two.err, "ctrack: note: --threads 2 ignored: --rules replays on one thread\n");
}

TEST(ReplayThreads, HelpersStayIdenticalOnOneShard) {
  const std::filesystem::path f =
      std::filesystem::path(CTRACK_SHARED_DIR) / "corpus/ftp-passive-pasv.pcap";
  if (!std::filesystem::exists(f)) {
    std::fprintf(stderr, "\n*** SKIPPED: ../shared/corpus absent (%s) ***\n\n", f.c_str());
    GTEST_SKIP() << "SKIPPED: ../shared/corpus absent";
  }
  for (const char* mode :
       {"--format json --helper ftp", "-q --helper ftp --table=json --expectations=json --stats"}) {
    // The file first: --helper takes several values.
    const std::string base =
        std::string(CTRACK_BINARY) + " replay '" + f.string() + "' --hash-seed 7 " + mode;
    const CommandOutput one = run_command(base + " --threads 1");
    const CommandOutput two = run_command(base + " --threads 2");
    ASSERT_EQ(one.status, 0) << one.err;
    EXPECT_EQ(one.out, two.out) << mode;
    EXPECT_EQ(one.err, two.err) << mode;
  }
}

}  // namespace
}  // namespace ctrack::test

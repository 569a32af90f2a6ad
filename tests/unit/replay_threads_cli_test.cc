// `ctrack replay --threads N` prints byte for byte what one thread prints, in
// every output format. The hash key is fixed: with a random key even two
// one-thread runs may differ in --stats (the GC reaches expired entries in
// bucket order).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "support/packet_builder.h"
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

// An Ethernet capture for the split front (src/cli/split_front.h): 500 UDP
// and 100 TCP flows over 80 seconds of capture time, so that the periodic GC
// hands out tickets and the 30-second UDP timeout lets it reap; frames whose
// link layer does not parse; fragmented datagrams, one never completed.
std::vector<Frame> split_front_frames() {
  std::vector<Frame> frames;
  std::int64_t ts = 1'000'000'000;
  const auto add = [&](const Bytes& l3) {
    frames.push_back({ts, ethernet(l3)});
    ts += 20'000'000;  // 50 packets per second
  };
  for (int i = 0; i < 4000; ++i) {
    const std::string a = "198.51.100." + std::to_string(1 + i % 200);
    const std::string b = "203.0.113." + std::to_string(1 + (i / 7) % 50);
    const auto sport = static_cast<std::uint16_t>(20000 + i % 500);
    switch (i % 8) {
      case 0:
      case 1:
      case 2:
        add(udp(ep4(a.c_str(), sport), ep4(b.c_str(), 7), "ping"));
        break;
      case 3:
      case 4:
        add(udp(ep4(b.c_str(), 7), ep4(a.c_str(), sport), "pong"));
        break;
      case 5:
        add(tcp(ep4(a.c_str(), sport), ep4(b.c_str(), 80),
                {.flags = SYN, .seq = static_cast<std::uint32_t>(i)}));
        break;
      case 6:
        add(tcp(ep4(b.c_str(), 80), ep4(a.c_str(), sport),
                {.flags = SYN | ACK, .seq = 7, .ack = static_cast<std::uint32_t>(i + 1)}));
        break;
      case 7:
        if (i % 400 == 7) {
          frames.push_back({ts, Bytes(9, 0xee)});  // shorter than an Ethernet header
        } else if (i % 100 == 15 || i % 300 == 23) {
          // A UDP datagram in two fragments (the second left out once in three).
          Bytes d = udp(ep4(b.c_str(), 53), ep4(a.c_str(), sport), std::string(64, 'f'), false,
                        false, {.ip_id = static_cast<std::uint16_t>(i), .df = false});
          Bytes first(d.begin(), d.begin() + 20 + 40);
          first[2] = 0;
          first[3] = 60;
          first[6] = 0x20;  // MF, offset 0
          fix_ipv4_checksum(first);
          add(first);
          if (i % 300 != 23) {
            Bytes second(d.begin(), d.begin() + 20);
            second.insert(second.end(), d.begin() + 60, d.end());
            second[2] = 0;
            second[3] = static_cast<std::uint8_t>(second.size());
            second[6] = 0;
            second[7] = 5;  // offset 40 bytes
            fix_ipv4_checksum(second);
            add(second);
          }
        } else {
          add(udp(ep4(a.c_str(), sport), ep4(b.c_str(), 9), "discard"));
        }
        break;
    }
  }
  return frames;
}

// The split front hands chunks of records between the workers; chunks of one
// record up to more than the capture must all give one thread's output, with
// several files (the table carried over, a damaged one cut mid-record, an
// absent one), --filter, --notrack, link-layer errors, fragments and GC
// sweeps. It runs when there are at least as many cores as threads.
TEST(ReplayThreads, SplitFrontIdenticalToOneThreadForEveryChunkSize) {
  if (std::thread::hardware_concurrency() < 2) {
    std::fprintf(stderr, "\n*** SKIPPED: the split front needs 2 cores ***\n\n");
    GTEST_SKIP() << "SKIPPED: one core";
  }
  TempDir dir("replay-split");
  const std::string capture = dir.file("split.pcap");
  std::vector<Frame> frames = split_front_frames();
  ASSERT_TRUE(write_pcap_linktype(capture, 1, frames));
  const std::string damaged = dir.file("damaged.pcap");
  std::filesystem::copy_file(capture, damaged);
  std::filesystem::resize_file(damaged, std::filesystem::file_size(capture) / 2 + 3);
  // The same traffic 100 seconds later: the clock and the GC go on.
  const std::string later = dir.file("later.pcap");
  for (Frame& f : frames) f.ts_ns += 100'000'000'000;
  ASSERT_TRUE(write_pcap_linktype(later, 1, frames));
  const std::string files =
      "'" + capture + "' '" + damaged + "' '" + dir.file("absent.pcap") + "' '" + later + "'";
  // The per-packet modes run replay_sharded.cc's front thread, not the split
  // front; they are here for --notrack, whose defragmentation step once kept
  // the GC of one thread out of step with every sharded replay.
  for (const char* m :
       {"-q --stats", "-q --table=proc", "-q --stats --notrack 'udp port 7'",
        "-q --stats --table=conntrack --notrack 'udp port 7'",
        "-q --stats --table=json --filter 'not port 9'", "--stats --notrack 'udp port 7'",
        "--format json --stats --notrack 'udp port 7'"}) {
    const std::string mode = m;
    SCOPED_TRACE(mode);
    const std::string base =
        std::string(CTRACK_BINARY) + " replay --hash-seed 31 " + mode + " " + files;
    const CommandOutput one = run_command(base + " --threads 1");
    ASSERT_EQ(one.status, 2) << one.err;  // the damaged and the absent file
    if (mode.find("--stats") != std::string::npos) {
      EXPECT_NE(one.out.find("expired="), std::string::npos) << one.out;
      EXPECT_EQ(one.out.find("expired=0 "), std::string::npos) << one.out;  // the GC reaped
      if (mode.find("--filter") == std::string::npos) {  // BPF drops broken frames
        EXPECT_EQ(one.out.find("link_errors=0"), std::string::npos) << one.out;
      }
    }
    for (const char* chunk : {"1", "2", "7", "64", "1024", "100000"}) {
      const CommandOutput two = run_command(base + " --threads 2 --front-chunk " + chunk);
      EXPECT_EQ(two.status, one.status) << chunk;
      EXPECT_TRUE(one.out == two.out) << "chunk " << chunk << ": stdout differs (" << one.out.size()
                                      << " vs " << two.out.size() << " bytes)";
      EXPECT_EQ(one.err, two.err) << chunk;
    }
  }
}

// Many small files under a low descriptor limit: a worker may not run ahead
// through the files (each would stay open, with its buffers) while another
// is still on an earlier one. The first split front kept every file open
// until the slowest worker was done with it and failed here ("Too many
// open files").
TEST(ReplayThreads, SplitFrontManySmallFilesUnderALowDescriptorLimit) {
  if (std::thread::hardware_concurrency() < 2) {
    std::fprintf(stderr, "\n*** SKIPPED: the split front needs 2 cores ***\n\n");
    GTEST_SKIP() << "SKIPPED: one core";
  }
  TempDir dir("replay-many");
  const std::string sample =
      std::string(CTRACK_SOURCE_DIR) + "/samples/state-machine-walkthrough.pcap";
  std::string list;
  for (int i = 0; i < 120; ++i) {
    const std::string f = dir.file("f" + std::to_string(i) + ".pcap");
    std::filesystem::create_symlink(sample, f);
    list += " '" + f + "'";
  }
  const std::string base =
      "ulimit -n 32 && " + std::string(CTRACK_BINARY) + " replay -q --stats --hash-seed 5" + list;
  const CommandOutput one = run_command(base + " --threads 1");
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_EQ(one.err, "");
  for (int run = 0; run < 5; ++run) {
    const CommandOutput two = run_command(base + " --threads 2");
    EXPECT_EQ(two.status, 0) << two.err;
    EXPECT_EQ(two.err, "");
    EXPECT_EQ(one.out, two.out);
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

// PcapSource: round trip through the builder's pcap writer, BPF filtering
// that keeps file packet numbers, damaged files, and every corpus capture
// (pcap and pcapng) walked through strip_link_layer + parse_ip.
#include "io/pcap_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "parse/link_layer.h"
#include "parse/packet.h"
#include "support/packet_builder.h"

namespace ctrack {
namespace {

namespace fs = std::filesystem;
using test::Bytes;

// A scratch directory per test, removed afterwards.
class PcapSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("ctrack_pcap_" + std::to_string(::getpid()) + "_" + info->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const char* name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

std::vector<test::Frame> sample_frames() {
  const auto a = test::ep4("10.1.1.1", 1111), b = test::ep4("10.2.2.2", 53);
  const auto a6 = test::ep6("2001:db8::a", 2222), b6 = test::ep6("2001:db8::b", 80);
  return {
      {1'000'000'001, test::tcp(a, b, {.flags = test::SYN})},
      {1'000'000'999, test::udp(a, b, "query")},
      {2'500'000'000, test::tcp(a6, b6, {.flags = test::SYN, .payload = "x"})},
      {2'500'000'001, test::udp(a6, b6, "v6")},
      {3'999'999'999, test::icmp(a.addr, b.addr, false, 8, 0, test::icmp_echo_body(1, 1))},
  };
}

std::unique_ptr<PcapSource> open_ok(const std::string& path) {
  std::string err;
  auto src = PcapSource::open(path, &err);
  EXPECT_NE(src, nullptr) << err;
  return src;
}

TEST_F(PcapSourceTest, RoundTripKeepsBytesAndNanosecondTimestamps) {
  const auto frames = sample_frames();
  ASSERT_TRUE(test::write_pcap(file("a.pcap"), frames));
  auto src = open_ok(file("a.pcap"));
  ASSERT_TRUE(src);
  EXPECT_EQ(src->linktype(), kLinkEthernet);
  EXPECT_EQ(src->path(), file("a.pcap"));
  EXPECT_EQ(src->file_size(), fs::file_size(file("a.pcap")));
  CapturedFrame f;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    ASSERT_EQ(src->next(f), PcapSource::Next::Packet) << i;
    EXPECT_EQ(f.index, i + 1);
    EXPECT_EQ(f.ts, frames[i].ts_ns);
    const Bytes expect = test::ethernet(frames[i].l3);
    EXPECT_EQ(Bytes(f.data.begin(), f.data.end()), expect);
    EXPECT_EQ(f.orig_len, expect.size());
  }
  EXPECT_EQ(src->next(f), PcapSource::Next::End);
  EXPECT_EQ(src->next(f), PcapSource::Next::End);
  EXPECT_EQ(src->bytes_read(), src->file_size());
}

TEST_F(PcapSourceTest, RawLinkType) {
  ASSERT_TRUE(test::write_pcap(file("raw.pcap"), sample_frames(), false));
  auto src = open_ok(file("raw.pcap"));
  ASSERT_TRUE(src);
  // libpcap reports LINKTYPE_RAW (101) as the platform's DLT_RAW (12 on Linux).
  EXPECT_TRUE(src->linktype() == kLinkRaw || src->linktype() == kLinkRawDlt12) << src->linktype();
  CapturedFrame f;
  ASSERT_EQ(src->next(f), PcapSource::Next::Packet);
  EXPECT_EQ(f.data[0] >> 4, 4);
  EXPECT_EQ(strip_link_layer(src->linktype(), f.data).l3_offset, 0u);
}

TEST_F(PcapSourceTest, FilterKeepsFilePacketNumbers) {
  ASSERT_TRUE(test::write_pcap(file("f.pcap"), sample_frames()));
  auto src = open_ok(file("f.pcap"));
  ASSERT_TRUE(src);
  std::string err;
  ASSERT_TRUE(src->set_filter("udp", &err)) << err;
  CapturedFrame f;
  ASSERT_EQ(src->next(f), PcapSource::Next::Packet);
  EXPECT_EQ(f.index, 2u);
  EXPECT_EQ(f.ts, 1'000'000'999);
  ASSERT_EQ(src->next(f), PcapSource::Next::Packet);
  EXPECT_EQ(f.index, 4u);
  EXPECT_EQ(src->next(f), PcapSource::Next::End);
}

TEST_F(PcapSourceTest, BadFilterNamesTheExpression) {
  ASSERT_TRUE(test::write_pcap(file("b.pcap"), sample_frames()));
  auto src = open_ok(file("b.pcap"));
  ASSERT_TRUE(src);
  std::string err;
  EXPECT_FALSE(src->set_filter("tcp and ((", &err));
  EXPECT_NE(err.find("tcp and (("), std::string::npos) << err;
  // An empty expression clears the filter.
  EXPECT_TRUE(src->set_filter("", &err));
  CapturedFrame f;
  ASSERT_EQ(src->next(f), PcapSource::Next::Packet);
  EXPECT_EQ(f.index, 1u);
}

TEST_F(PcapSourceTest, MissingFileNamesThePath) {
  std::string err;
  EXPECT_EQ(PcapSource::open(file("nope.pcap"), &err), nullptr);
  EXPECT_NE(err.find("nope.pcap"), std::string::npos) << err;
  std::FILE* junk = std::fopen(file("junk.pcap").c_str(), "wb");
  ASSERT_NE(junk, nullptr);
  std::fputs("this is not a capture file at all", junk);
  std::fclose(junk);
  EXPECT_EQ(PcapSource::open(file("junk.pcap"), &err), nullptr);
  EXPECT_NE(err.find("junk.pcap"), std::string::npos) << err;
}

// Cuts `chop` bytes off the end of a 5-packet file: packets 1-4 are
// returned, then an error naming the file and packet 5.
void expect_damaged_at_5(const std::string& path, std::uintmax_t chop) {
  fs::resize_file(path, fs::file_size(path) - chop);
  std::string err;
  auto src = PcapSource::open(path, &err);
  ASSERT_NE(src, nullptr) << err;
  CapturedFrame f;
  for (std::uint64_t i = 1; i <= 4; ++i) {
    ASSERT_EQ(src->next(f), PcapSource::Next::Packet) << "chop " << chop;
    EXPECT_EQ(f.index, i);
  }
  ASSERT_EQ(src->next(f), PcapSource::Next::Error) << "chop " << chop;
  EXPECT_NE(src->error().find(path), std::string::npos) << src->error();
  EXPECT_NE(src->error().find("packet 5"), std::string::npos) << src->error();
  EXPECT_EQ(src->next(f), PcapSource::Next::Error);  // errors are final
}

TEST_F(PcapSourceTest, TruncatedFileReportsFileAndPacketNumber) {
  const auto frames = sample_frames();
  const std::uintmax_t last_data = test::ethernet(frames.back().l3).size();
  // Cut inside the last packet's data, and inside its 16-byte record header.
  for (std::uintmax_t chop : {std::uintmax_t{1}, std::uintmax_t{7}, last_data, last_data + 8}) {
    const std::string path = file(("t" + std::to_string(chop) + ".pcap").c_str());
    ASSERT_TRUE(test::write_pcap(path, frames));
    expect_damaged_at_5(path, chop);
  }
}

TEST_F(PcapSourceTest, FilteredTruncatedFileStillCountsSkippedPackets) {
  ASSERT_TRUE(test::write_pcap(file("ft.pcap"), sample_frames()));
  fs::resize_file(file("ft.pcap"), fs::file_size(file("ft.pcap")) - 3);
  auto src = open_ok(file("ft.pcap"));
  ASSERT_TRUE(src);
  ASSERT_TRUE(src->set_filter("icmp", nullptr));
  CapturedFrame f;
  ASSERT_EQ(src->next(f), PcapSource::Next::Error);  // the only ICMP packet is the damaged one
  EXPECT_NE(src->error().find("packet 5"), std::string::npos) << src->error();
}

// ---- real captures ------------------------------------------------------

fs::path corpus_dir() { return fs::path(CTRACK_SHARED_DIR) / "corpus"; }

#define REQUIRE_CORPUS()                                                            \
  do {                                                                              \
    if (!fs::is_directory(corpus_dir())) GTEST_SKIP() << "SKIPPED: ../shared absent"; \
  } while (0)

TEST(PcapSourceCorpus, PcapngWithFilter) {
  REQUIRE_CORPUS();
  const std::string path = (corpus_dir() / "irc-dcc-send-and-chat.pcapng").string();
  auto src = open_ok(path);
  ASSERT_TRUE(src);
  EXPECT_EQ(src->linktype(), kLinkEthernet);
  CapturedFrame f;
  ASSERT_EQ(src->next(f), PcapSource::Next::Packet);
  EXPECT_EQ(f.ts, 1753735709'964970000);  // tcpdump -tt --time-stamp-precision=nano
  // tcpdump: 80 packets on port 6667, file packets 1-59 then 1149..1184.
  src = open_ok(path);
  ASSERT_TRUE(src->set_filter("tcp port 6667", nullptr));
  std::vector<std::uint64_t> idx;
  while (src->next(f) == PcapSource::Next::Packet) idx.push_back(f.index);
  EXPECT_TRUE(src->error().empty()) << src->error();
  ASSERT_EQ(idx.size(), 80u);
  EXPECT_EQ(idx[58], 59u);
  EXPECT_EQ(idx[59], 1149u);
  EXPECT_EQ(idx.back(), 1184u);
}

struct CorpusFile {
  const char* name;
  std::uint64_t packets;  // tcpdump -r FILE -nn | wc -l
  // Packets that are IP: tcpdump -r FILE -nn 'ip or ip6' | wc -l (for the
  // PPP file, all 18: its MPLS-labelled probes count too).
  std::uint64_t ip;
};

constexpr CorpusFile kCorpus[] = {
    {"dccp-ipv4-session.pcap", 15, 15},
    {"dns-udp-query-response.pcap", 2, 2},
    {"ftp-688-pasv-control-only.pcap", 8317, 8317},
    {"ftp-active-port.pcap", 63, 63},
    {"ftp-ipv4-epsv.pcap", 67, 67},
    {"ftp-ipv4-pasv-and-port.pcap", 95, 95},
    {"ftp-ipv6-epsv-and-eprt.pcap", 136, 136},
    {"ftp-passive-pasv.pcap", 63, 63},
    {"gre-tunnel-icmp-ssh-dns.pcap", 40, 40},
    {"h323-call-setup.pcap", 75, 75},
    {"icmp-echo-5-pings.pcap", 10, 10},
    {"icmp-fragneeded-embedded-tcp-smtp.pcap", 60, 60},
    {"icmp-port-unreach-embedded-udp-dns.pcap", 7, 7},
    {"icmp-traceroute-udp-ttl-exceeded.pcap", 18, 18},
    {"icmpv6-echo.pcap", 8, 8},
    {"icmpv6-nd-traceroute6-echo.pcap", 49, 49},
    {"ip-frag-dns-v4-v6-and-dns-tcp.pcap", 66, 66},
    {"ipv4-frag-udp-afs-with-icmp-unreach.pcap", 601, 601},
    {"ipv6-frag-dns-incomplete-and-complete.pcap", 8, 8},
    {"mixed-gnutella-p2p-750-flows.pcap", 3905, 3882},
    {"pptp-control-and-gre.pcap", 23, 23},
    {"sctp-association.pcap", 74, 74},
    {"sip-invite-sdp-rtp-home-lan.pcap", 691, 647},
    {"tcp-fin-before-synack-rst.pcap", 5, 5},
    {"tcp-handshake-fin-teardown.pcap", 11, 11},
    {"tcp-handshake-reordered.pcap", 14, 14},
    {"tcp-midstream-missing-syn.pcap", 21, 21},
    {"tcp-rst-abort-after-data.pcap", 9, 9},
    {"tcp-rst-injection.pcap", 9, 9},
    {"tftp-rrq-small.pcap", 7, 7},
    {"tftp-wrq.pcap", 100, 100},
    {"throughput-500-concurrent-echo-conns.pcap", 82582, 82582},
    {"throughput-mixed-app-1kxun.pcap", 1723, 1723},
    {"throughput-synscan-2000-flows.pcap", 2011, 2011},
    {"icmpv6-port-unreach-embedded-udp.pcapng", 20, 20},
    {"ipsec-ike-esp.pcapng", 6, 6},
    {"irc-dcc-send-and-chat.pcapng", 1184, 1184},
    {"tcp-scan-syn-fin-null-xmas.pcapng", 30, 18},
};

struct Walk {
  std::uint64_t packets = 0;
  std::map<InvalidReason, std::uint64_t> reasons;  // None = parsed
};

Walk walk(const std::string& path) {
  Walk w;
  std::string err;
  auto src = PcapSource::open(path, &err);
  EXPECT_NE(src, nullptr) << err;
  if (!src) return w;
  CapturedFrame f;
  PcapSource::Next n;
  while ((n = src->next(f)) == PcapSource::Next::Packet) {
    EXPECT_EQ(f.index, ++w.packets);
    const LinkResult lr = strip_link_layer(src->linktype(), f.data);
    InvalidReason r = lr.reason;
    if (r == InvalidReason::None) {
      EXPECT_LE(lr.l3_offset, f.data.size());
      Packet p;
      r = parse_ip(f.data.subspan(lr.l3_offset), p);
      if (r == InvalidReason::None) {
        EXPECT_LE(p.l4_off, p.len);
        EXPECT_LE(p.len, f.data.size() - lr.l3_offset);
      }
    }
    ++w.reasons[r];
  }
  EXPECT_EQ(n, PcapSource::Next::End) << src->error();
  EXPECT_EQ(src->bytes_read(), src->file_size()) << path;
  return w;
}

TEST(PcapSourceCorpus, EveryPacketStripsToIpOrGivesAReason) {
  REQUIRE_CORPUS();
  for (const CorpusFile& c : kCorpus) {
    const fs::path path = corpus_dir() / c.name;
    if (!fs::exists(path)) {
      ADD_FAILURE() << "corpus file missing: " << path;
      continue;
    }
    const Walk w = walk(path.string());
    EXPECT_EQ(w.packets, c.packets) << c.name;
    std::uint64_t ok = w.reasons.count(InvalidReason::None) ? w.reasons.at(InvalidReason::None) : 0;
    EXPECT_EQ(ok, c.ip) << c.name;
    for (const auto& [r, n] : w.reasons) {
      // Captures are real traffic: the only failures expected are frames
      // that are not IP at all (ARP, LLDP...) or cut by the capture (the
      // first frame of the gnutella file is 14 bytes short of a header).
      if (r != InvalidReason::None && r != InvalidReason::LinkUnsupported && r != InvalidReason::LinkTruncated)
        ADD_FAILURE() << c.name << ": " << n << " packets with reason " << static_cast<int>(r);
    }
  }
}

}  // namespace
}  // namespace ctrack

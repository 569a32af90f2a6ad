// The mapped reader of classic pcap files (PcapSource's fast path) against
// libpcap itself as the oracle: every byte order, both timestamp magics, a
// snapshot length that cuts records, and every corpus capture give the same
// frames (timestamp, lengths, bytes) as pcap_next_ex().
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "io/pcap_source.h"

namespace ctrack {
namespace {

namespace fs = std::filesystem;

struct Rec {
  std::uint32_t sec, frac, caplen, len;
  std::vector<std::uint8_t> data;
};

void put32(std::vector<std::uint8_t>& out, std::uint32_t v, bool big) {
  for (int i = 0; i < 4; ++i) {
    const int shift = big ? 8 * (3 - i) : 8 * i;
    out.push_back(static_cast<std::uint8_t>(v >> shift));
  }
}
void put16(std::vector<std::uint8_t>& out, std::uint16_t v, bool big) {
  out.push_back(static_cast<std::uint8_t>(big ? v >> 8 : v));
  out.push_back(static_cast<std::uint8_t>(big ? v : v >> 8));
}

std::vector<std::uint8_t> file_bytes(std::uint32_t magic, bool big, std::uint32_t snaplen,
                                     const std::vector<Rec>& recs, std::uint32_t linktype = 101) {
  std::vector<std::uint8_t> f;
  put32(f, magic, big);
  put16(f, 2, big);
  put16(f, 4, big);
  put32(f, 0, big);
  put32(f, 0, big);
  put32(f, snaplen, big);
  put32(f, linktype, big);
  for (const Rec& r : recs) {
    put32(f, r.sec, big);
    put32(f, r.frac, big);
    put32(f, r.caplen, big);
    put32(f, r.len, big);
    f.insert(f.end(), r.data.begin(), r.data.end());
  }
  return f;
}

std::vector<Rec> sample_records() {
  std::vector<Rec> recs;
  for (std::uint32_t i = 0; i < 6; ++i) {
    Rec r{1700000000 + i, 999 * i, 0, 0, {}};
    for (std::uint32_t b = 0; b < 20 + 37 * i; ++b) r.data.push_back(static_cast<std::uint8_t>(b * 7 + i));
    r.caplen = static_cast<std::uint32_t>(r.data.size());
    r.len = r.caplen + 3 * i;  // some "cut by the capture"
    recs.push_back(r);
  }
  return recs;
}

struct Frame {
  std::uint64_t ts;
  std::uint32_t orig_len;
  std::vector<std::uint8_t> data;
  bool operator==(const Frame&) const = default;
};

// What libpcap returns, read the ordinary way.
std::vector<Frame> via_libpcap(const std::string& path, std::string* error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  std::vector<Frame> out;
  if (!p) {
    *error = errbuf;
    return out;
  }
  pcap_pkthdr* h;
  const u_char* d;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
    out.push_back({static_cast<std::uint64_t>(h->ts.tv_sec) * 1'000'000'000u +
                       static_cast<std::uint64_t>(h->ts.tv_usec),
                   h->len, std::vector<std::uint8_t>(d, d + h->caplen)});
  }
  if (rc != PCAP_ERROR_BREAK) *error = pcap_geterr(p);
  pcap_close(p);
  return out;
}

std::vector<Frame> via_source(const std::string& path, bool* stable, std::string* error) {
  std::vector<Frame> out;
  auto src = PcapSource::open(path, error);
  if (!src) return out;
  *stable = src->frames_stable();
  CapturedFrame f;
  PcapSource::Next n;
  while ((n = src->next(f)) == PcapSource::Next::Packet) {
    out.push_back({static_cast<std::uint64_t>(f.ts), f.orig_len,
                   std::vector<std::uint8_t>(f.data.begin(), f.data.end())});
  }
  if (n == PcapSource::Next::Error) *error = src->error();
  return out;
}

class PcapMappedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ctrack_pcapm_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    const std::string path = (dir_ / name).string();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    return path;
  }
  fs::path dir_;
};

TEST_F(PcapMappedTest, EveryByteOrderAndTimestampMagicMatchesLibpcap) {
  for (const bool big : {false, true}) {
    for (const std::uint32_t magic : {0xa1b2c3d4u, 0xa1b23c4du}) {
      const std::string path =
          write("m" + std::to_string(big) + std::to_string(magic & 0xff) + ".pcap",
                file_bytes(magic, big, 65535, sample_records()));
      std::string e1, e2;
      bool stable = false;
      const auto want = via_libpcap(path, &e1);
      const auto got = via_source(path, &stable, &e2);
      ASSERT_TRUE(e1.empty() && e2.empty()) << e1 << e2;
      EXPECT_TRUE(stable) << "classic pcap is read from the mapping";
      ASSERT_EQ(want.size(), 6u);
      EXPECT_EQ(got, want) << "big-endian " << big << " magic " << std::hex << magic;
      // The nanosecond magic keeps the fraction as is; microseconds scale.
      EXPECT_EQ(got[1].ts % 1'000'000'000u, magic == 0xa1b23c4du ? 999u : 999'000u);
    }
  }
}

TEST_F(PcapMappedTest, RecordsLongerThanTheSnapshotLengthAreCutAsLibpcapCutsThem) {
  const std::string path = write("snap.pcap", file_bytes(0xa1b2c3d4u, false, 64, sample_records()));
  std::string e1, e2;
  bool stable = false;
  const auto want = via_libpcap(path, &e1);
  const auto got = via_source(path, &stable, &e2);
  ASSERT_TRUE(e1.empty() && e2.empty()) << e1 << e2;
  ASSERT_EQ(want.size(), 6u);
  EXPECT_EQ(want[5].data.size(), 64u);  // the oracle does cut
  EXPECT_EQ(got, want);
}

TEST_F(PcapMappedTest, OversizedRecordIsDamageAtItsPacketNumber) {
  auto recs = sample_records();
  recs[2].caplen = 300000;  // beyond libpcap's 262144 limit
  const std::string path = write("big.pcap", file_bytes(0xa1b2c3d4u, false, 65535, recs));
  std::string e1, e2;
  bool stable = false;
  const auto want = via_libpcap(path, &e1);
  const auto got = via_source(path, &stable, &e2);
  EXPECT_FALSE(e1.empty());
  EXPECT_EQ(got, want);  // packets 1 and 2, then the error
  EXPECT_NE(e2.find("packet 3"), std::string::npos) << e2;
  EXPECT_NE(e2.find(path), std::string::npos) << e2;
}

// libpcap rewrites the frames of some link types: it byte-swaps the
// pseudo-headers a host wrote in its own byte order when the file comes from
// a host of the other order, and recomputes some memory-mapped USB lengths.
// Files of those link types are left to libpcap, so the frames still match.
// (A fuzzed big-endian USB capture found this: its first frame differed.)
TEST_F(PcapMappedTest, LinkTypesWhoseFramesLibpcapRewritesMatchLibpcap) {
  // One frame per link type that trips libpcap's rewrite: a USB header
  // (any 8 bytes swap the URB id), an NFLOG header of version 0 followed by
  // TLVs, a PFLOG header long enough to hold its uid and pid, and Linux
  // cooked v1/v2 headers carrying a CAN frame (protocol 0x000c).
  struct Case {
    std::uint32_t linktype;
    std::vector<std::uint8_t> frame;
    bool mapped_big, mapped_little;  // expected frames_stable() per file order
  };
  std::vector<std::uint8_t> usb(64), nflog{2, 0, 0, 0, 8, 0, 1, 0, 1, 2, 3, 4}, pflog(64), sll(24),
      sll2(28);
  for (std::size_t i = 0; i < usb.size(); ++i) usb[i] = static_cast<std::uint8_t>(i + 1);
  pflog[0] = 64;
  for (std::size_t i = 1; i < pflog.size(); ++i) pflog[i] = static_cast<std::uint8_t>(3 * i);
  sll[15] = 0x0c;
  sll2[1] = 0x0c;
  for (std::size_t i = 16; i < sll.size(); ++i) sll[i] = static_cast<std::uint8_t>(i);
  for (std::size_t i = 20; i < sll2.size(); ++i) sll2[i] = static_cast<std::uint8_t>(i);
  const bool little_host = std::endian::native == std::endian::little;
  const std::vector<Case> cases{{189, usb, false, false},
                                {220, usb, false, false},
                                {239, nflog, false, false},
                                {117, pflog, false, false},
                                {113, sll, !little_host, little_host},
                                {276, sll2, !little_host, little_host},
                                {1, usb, true, true}};
  for (const Case& c : cases) {
    for (const bool big : {false, true}) {
      const Rec r{1700000000, 5, static_cast<std::uint32_t>(c.frame.size()),
                  static_cast<std::uint32_t>(c.frame.size()), c.frame};
      const std::string path =
          write("lt" + std::to_string(c.linktype) + std::to_string(big) + ".pcap",
                file_bytes(0xa1b2c3d4u, big, 65535, {r, r}, c.linktype));
      std::string e1, e2;
      bool stable = false;
      const auto want = via_libpcap(path, &e1);
      const auto got = via_source(path, &stable, &e2);
      ASSERT_TRUE(e1.empty() && e2.empty()) << e1 << e2;
      ASSERT_EQ(want.size(), 2u);
      EXPECT_EQ(got, want) << "link type " << c.linktype << " big-endian " << big;
      EXPECT_EQ(stable, big ? c.mapped_big : c.mapped_little)
          << "link type " << c.linktype << " big " << big;
      // The frames of a file from the other byte order are rewritten (the
      // case this test is about), unless they pass through the mapping.
      if (big == little_host && !stable) {
        EXPECT_NE(want[0].data, c.frame) << "libpcap left link type " << c.linktype << " alone";
      }
    }
  }
}

TEST(PcapMappedCorpus, EveryCorpusCaptureMatchesLibpcap) {
  const fs::path dir = fs::path(CTRACK_SHARED_DIR) / "corpus";
  if (!fs::is_directory(dir)) GTEST_SKIP() << "SKIPPED: ../shared absent";
  int classic = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".pcap" && ext != ".pcapng") continue;
    std::string e1, e2;
    bool stable = false;
    const auto want = via_libpcap(entry.path().string(), &e1);
    const auto got = via_source(entry.path().string(), &stable, &e2);
    EXPECT_TRUE(e1.empty() && e2.empty()) << entry.path() << e1 << e2;
    EXPECT_EQ(got, want) << entry.path();
    // (One ".pcapng" file of the corpus is in fact a classic pcap file.)
    if (ext == ".pcap") {
      EXPECT_TRUE(stable) << entry.path();
    }
    classic += stable;
  }
  EXPECT_GT(classic, 20);
}

}  // namespace
}  // namespace ctrack

// The mapped reader of classic pcap files (PcapSource's fast path) against
// libpcap itself as the oracle: every byte order, both timestamp magics, a
// snapshot length that cuts records, and every corpus capture give the same
// frames (timestamp, lengths, bytes) as pcap_next_ex().
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

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
                                     const std::vector<Rec>& recs) {
  std::vector<std::uint8_t> f;
  put32(f, magic, big);
  put16(f, 2, big);
  put16(f, 4, big);
  put32(f, 0, big);
  put32(f, 0, big);
  put32(f, snaplen, big);
  put32(f, 101, big);  // LINKTYPE_RAW
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

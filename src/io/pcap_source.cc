// Capture reading is delegated to libpcap (pcap and pcapng, every link
// type, byte-order and timestamp variants); only the per-packet parsing
// that follows is ours. The BPF filter is applied here with
// pcap_offline_filter() rather than pcap_setfilter() so that packets the
// filter rejects still advance the packet number.
#include "io/pcap_source.h"

#include <pcap/pcap.h>

#include <cstdio>
#include <filesystem>

namespace ctrack {

struct PcapSource::Impl {
  pcap_t* pcap = nullptr;
  bpf_program prog{};
  bool has_filter = false;
  bool failed = false;        // a read error is final
  std::uint64_t count = 0;    // packets read from the file so far
  std::uint64_t bytes = 24;   // fallback byte count: file header + records

  ~Impl() {
    if (has_filter) pcap_freecode(&prog);
    if (pcap) pcap_close(pcap);
  }
};

std::unique_ptr<PcapSource> PcapSource::open(const std::string& path, std::string* error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // Nanosecond precision: libpcap scales microsecond files up, so callers
  // always get ns timestamps.
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!p) {
    if (error) *error = "cannot open capture '" + path + "': " + errbuf;
    return nullptr;
  }
  std::unique_ptr<PcapSource> src(new PcapSource());
  src->impl_ = std::make_unique<Impl>();
  src->impl_->pcap = p;
  src->path_ = path;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  src->file_size_ = ec ? 0 : static_cast<std::uint64_t>(size);
  return src;
}

PcapSource::~PcapSource() = default;

bool PcapSource::set_filter(const std::string& expression, std::string* error) {
  Impl& im = *impl_;
  if (im.has_filter) {
    pcap_freecode(&im.prog);
    im.has_filter = false;
  }
  if (expression.empty()) return true;
  if (pcap_compile(im.pcap, &im.prog, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    const std::string msg = "invalid BPF filter expression '" + expression + "': " + pcap_geterr(im.pcap);
    if (error) *error = msg;
    error_ = msg;
    return false;
  }
  im.has_filter = true;
  return true;
}

PcapSource::Next PcapSource::next(CapturedFrame& frame) {
  Impl& im = *impl_;
  if (im.failed) return Next::Error;
  for (;;) {
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(im.pcap, &hdr, &data);
    if (rc == PCAP_ERROR_BREAK) return Next::End;
    if (rc < 0) {
      im.failed = true;
      error_ = path_ + ": damaged capture at packet " + std::to_string(im.count + 1) + ": " +
               pcap_geterr(im.pcap);
      return Next::Error;
    }
    if (rc == 0) continue;  // live-capture timeout; not produced by offline files
    ++im.count;
    im.bytes += 16u + hdr->caplen;
    if (im.has_filter && pcap_offline_filter(&im.prog, hdr, data) == 0) continue;
    frame.index = im.count;
    frame.ts = static_cast<Timestamp>(hdr->ts.tv_sec) * kNsPerSec + static_cast<Timestamp>(hdr->ts.tv_usec);
    frame.data = std::span<const std::uint8_t>(data, hdr->caplen);
    frame.orig_len = hdr->len;
    return Next::Packet;
  }
}

int PcapSource::linktype() const { return pcap_datalink(impl_->pcap); }

std::uint64_t PcapSource::bytes_read() const {
  if (std::FILE* f = pcap_file(impl_->pcap)) {
    const long pos = std::ftell(f);
    if (pos >= 0) return static_cast<std::uint64_t>(pos);
  }
  return impl_->bytes;
}

}  // namespace ctrack

// Capture reading. libpcap opens every capture: it validates the file
// header, maps the link type, and reads pcapng and the rarer pcap variants
// (modified/Kuznetzov records, version 2.3 quirks). For the commonest case,
// a classic pcap file (version 2.4, microsecond or nanosecond magic, either
// byte order) of a link type the engine decodes, the records are then read
// straight from a read-only mapping of the file instead of through
// pcap_next_ex(): libpcap copies every record into its buffer through
// stdio, which cost about 160 ns per packet in the `replay -q` profile, a
// third of the whole process; walking 16-byte record headers in the mapping
// costs a few nanoseconds, and the frames stay valid for the source's
// lifetime, so the quiet replay need not copy them either.
// The record checks are libpcap's: a header or body cut short by the end of
// the file, or a capture length beyond the snapshot limit, is damage at
// that packet number.
//
// The BPF filter is applied here with pcap_offline_filter() rather than
// pcap_setfilter() so that packets the filter rejects still advance the
// packet number.
#include "io/pcap_source.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

namespace ctrack {
namespace {

constexpr std::uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr std::uint32_t kMagicNano = 0xa1b23c4d;
constexpr std::size_t kFileHeader = 24;
constexpr std::size_t kRecordHeader = 16;
// libpcap refuses records longer than this (its MAXIMUM_SNAPLEN) whatever
// the file header's snapshot length says.
constexpr std::uint32_t kMaxSnaplen = 262144;

std::uint32_t load32(const std::uint8_t* p, bool swapped) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return swapped ? __builtin_bswap32(v) : v;
}

// Whether libpcap hands on this link type's frames exactly as stored. For
// some link types it does not: it byte-swaps pseudo-headers that the
// capturing host wrote in its own byte order (Linux USB, NFLOG, PFLOG, and
// CAN frames inside Linux cooked headers) when the file comes from a host
// of the other byte order, and recomputes the length of some memory-mapped
// USB records whatever the order. Files of those link types stay with
// libpcap. The list is the link types the engine decodes, since the
// mapping exists only to make their replay fast; it is a list of what is
// known to pass through untouched rather than of what libpcap rewrites, so
// that a future libpcap rewriting one more link type cannot make the two
// readers disagree.
bool frames_as_stored(std::uint32_t linktype, bool swapped) {
  switch (linktype) {
    case 0:    // NULL (BSD loopback)
    case 1:    // Ethernet
    case 9:    // PPP
    case 101:  // RAW
    case 108:  // LOOP
    case 228:  // IPV4
    case 229:  // IPV6
      return true;
    case 113:  // LINUX_SLL
    case 276:  // LINUX_SLL2
      return !swapped;
    default:
      return false;
  }
}

}  // namespace

// A classic pcap file mapped read-only; several sources may read one.
class PcapMapping {
 public:
  const std::uint8_t* base = nullptr;
  std::size_t size = 0;
  bool swapped = false;
  bool nano = false;
  std::uint32_t snapshot = kMaxSnaplen;

  ~PcapMapping() {
    if (base) ::munmap(const_cast<std::uint8_t*>(base), size);
  }

  // Maps `path` if it is a classic pcap file this reader handles; false
  // (and nothing mapped) otherwise, and libpcap reads it.
  bool map(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              static_cast<std::size_t>(st.st_size) >= kFileHeader;
    void* m = MAP_FAILED;
    if (ok) {
      size = static_cast<std::size_t>(st.st_size);
      m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    }
    ::close(fd);
    if (m == MAP_FAILED) return false;
    base = static_cast<const std::uint8_t*>(m);
    // Read front to back once: let the kernel read ahead aggressively.
    ::madvise(m, size, MADV_SEQUENTIAL);
    std::uint32_t magic;
    std::memcpy(&magic, base, 4);
    swapped = magic == __builtin_bswap32(kMagicMicro) || magic == __builtin_bswap32(kMagicNano);
    if (swapped) magic = __builtin_bswap32(magic);
    std::uint16_t major, minor;
    std::memcpy(&major, base + 4, 2);
    std::memcpy(&minor, base + 6, 2);
    if (swapped) {
      major = __builtin_bswap16(major);
      minor = __builtin_bswap16(minor);
    }
    nano = magic == kMagicNano;
    const std::uint32_t snaplen = load32(base + 16, swapped);
    // As libpcap: a header snaplen of 0 or beyond the limit means the limit.
    snapshot = snaplen == 0 || snaplen > kMaxSnaplen ? kMaxSnaplen : snaplen;
    // The low 16 bits are the link type; the rest says whether frames end
    // in a frame check sequence, which libpcap only reports.
    const std::uint32_t linktype = load32(base + 20, swapped) & 0xffff;
    if ((magic != kMagicMicro && magic != kMagicNano) || major != 2 || minor != 4 ||
        !frames_as_stored(linktype, swapped)) {
      ::munmap(m, size);
      base = nullptr;
      return false;
    }
    return true;
  }
};

std::shared_ptr<const PcapMapping> PcapSource::map(const std::string& path) {
  auto m = std::make_shared<PcapMapping>();
  if (!m->map(path)) return nullptr;
  return m;
}

struct PcapSource::Impl {
  pcap_t* pcap = nullptr;
  bpf_program prog{};
  bool has_filter = false;
  bool failed = false;        // a read error is final
  std::uint64_t count = 0;    // packets read from the file so far
  std::uint64_t bytes = 24;   // fallback byte count: file header + records
  std::shared_ptr<const PcapMapping> mapped;  // classic pcap: records read from here
  std::size_t pos = kFileHeader;              // next record in `mapped`
  std::string damage;                         // why next_mapped() failed

  ~Impl() {
    if (has_filter) pcap_freecode(&prog);
    if (pcap) pcap_close(pcap);
  }

  // A record as the source hands it on (timestamp in ns, captured length
  // already cut to the snapshot length).
  struct Record {
    Timestamp ts = 0;
    std::uint32_t caplen = 0;
    std::uint32_t len = 0;
    const std::uint8_t* data = nullptr;
  };

  // The next record of the mapping: 1 packet, 0 end of file, -1 damaged
  // (`damage` says why). Decoded straight into a Record, without libpcap's
  // pcap_pkthdr in between: this runs once per packet of the quiet replay.
  int next_mapped(Record& r) {
    const PcapMapping& m = *mapped;
    if (pos == m.size) return 0;
    if (m.size - pos < kRecordHeader) {
      damage = "truncated dump file; tried to read 16 header bytes, only got " +
            std::to_string(m.size - pos);
      return -1;
    }
    const std::uint8_t* h = m.base + pos;
    const std::uint32_t sec = load32(h, m.swapped);
    const std::uint32_t frac = load32(h + 4, m.swapped);
    const std::uint32_t caplen = load32(h + 8, m.swapped);
    const std::uint32_t len = load32(h + 12, m.swapped);
    if (caplen > kMaxSnaplen) {
      damage = "invalid packet capture length " + std::to_string(caplen) + ", bigger than maximum of " +
            std::to_string(kMaxSnaplen);
      return -1;
    }
    if (m.size - pos - kRecordHeader < caplen) {
      damage = "truncated dump file; tried to read " + std::to_string(caplen) +
            " captured bytes, only got " + std::to_string(m.size - pos - kRecordHeader);
      return -1;
    }
    // Bytes beyond the file's snapshot length are skipped, as libpcap does.
    r.caplen = caplen > m.snapshot ? m.snapshot : caplen;
    // Out-of-range fields (a damaged or hostile file) come out exactly as
    // libpcap gives them: it reads both fields as signed 32-bit values in a
    // file of the machine's byte order, but as unsigned ones after
    // swapping, and scales microseconds up in 64-bit arithmetic. The
    // source's timestamps are always nanoseconds.
    const std::int64_t s64 = m.swapped ? std::int64_t{sec} : std::int64_t{static_cast<std::int32_t>(sec)};
    const std::int64_t f64 = m.swapped ? std::int64_t{frac} : std::int64_t{static_cast<std::int32_t>(frac)};
    r.ts = s64 * kNsPerSec + (m.nano ? f64 : f64 * 1000);
    r.len = len;
    r.data = h + kRecordHeader;
    pos += kRecordHeader + caplen;
    return 1;
  }
};

std::unique_ptr<PcapSource> PcapSource::open(const std::string& path, std::string* error,
                                             std::shared_ptr<const PcapMapping> mapping) {
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
  src->impl_->mapped = mapping ? std::move(mapping) : map(path);
  return src;
}

PcapSource::~PcapSource() = default;

bool PcapSource::frames_stable() const { return impl_->mapped != nullptr; }

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
    Impl::Record r;
    if (im.mapped) {
      const int rc = im.next_mapped(r);
      if (rc == 0) return Next::End;
      if (rc < 0) {
        im.failed = true;
        error_ = path_ + ": damaged capture at packet " + std::to_string(im.count + 1) + ": " +
                 im.damage;
        return Next::Error;
      }
    } else {
      pcap_pkthdr* hdr;
      const u_char* data;
      const int rc = pcap_next_ex(im.pcap, &hdr, &data);
      if (rc == PCAP_ERROR_BREAK) return Next::End;
      if (rc < 0) {
        im.failed = true;
        error_ = path_ + ": damaged capture at packet " + std::to_string(im.count + 1) + ": " +
                 pcap_geterr(im.pcap);
        return Next::Error;
      }
      if (rc == 0) continue;  // live-capture timeout; not produced by offline files
      r.ts = static_cast<Timestamp>(hdr->ts.tv_sec) * kNsPerSec +
             static_cast<Timestamp>(hdr->ts.tv_usec);
      r.caplen = hdr->caplen;
      r.len = hdr->len;
      r.data = data;
    }
    ++im.count;
    im.bytes += 16u + r.caplen;
    if (im.has_filter) {
      // The filter reads the lengths only.
      pcap_pkthdr h{};
      h.caplen = r.caplen;
      h.len = r.len;
      if (pcap_offline_filter(&im.prog, &h, r.data) == 0) continue;
    }
    frame.index = im.count;
    frame.ts = r.ts;
    frame.data = std::span<const std::uint8_t>(r.data, r.caplen);
    frame.orig_len = r.len;
    return Next::Packet;
  }
}

int PcapSource::linktype() const { return pcap_datalink(impl_->pcap); }

std::uint64_t PcapSource::bytes_read() const {
  if (impl_->mapped) return impl_->pos;
  if (std::FILE* f = pcap_file(impl_->pcap)) {
    const long pos = std::ftell(f);
    if (pos >= 0) return static_cast<std::uint64_t>(pos);
  }
  return impl_->bytes;
}

}  // namespace ctrack

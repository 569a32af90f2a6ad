// libFuzzer target for the capture reader: the input is a whole capture
// file. PcapSource (whose classic-pcap records are parsed by our own mapped
// reader) must return exactly the frames libpcap returns, and stop at the
// same record when the file is damaged; it must never read outside the file.
#include <pcap/pcap.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "io/pcap_source.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Both readers open files by name; an anonymous memory file gives them one
  // that leaves nothing behind when the fuzzer stops (a file in /tmp did,
  // once per run).
  static const int fd = ::memfd_create("ctrack_pcap_fuzz", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ::ftruncate(fd, 0) != 0) std::abort();
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) std::abort();
    done += static_cast<std::size_t>(n);
  }

  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* oracle = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  std::string err;
  auto src = ctrack::PcapSource::open(path, &err);
  if ((oracle == nullptr) != (src == nullptr)) std::abort();  // both open through libpcap
  if (!oracle) return 0;
  ctrack::CapturedFrame fr;
  for (;;) {
    pcap_pkthdr* h;
    const u_char* d;
    const int rc = pcap_next_ex(oracle, &h, &d);
    const auto n = src->next(fr);
    if (rc != 1) {
      // End or damage on both sides alike.
      if ((rc == PCAP_ERROR_BREAK) != (n == ctrack::PcapSource::Next::End)) {
        std::fprintf(stderr, "libpcap rc %d (%s), ours %d (%s)\n", rc, pcap_geterr(oracle),
                     static_cast<int>(n), src->error().c_str());
        std::abort();
      }
      break;
    }
    if (n != ctrack::PcapSource::Next::Packet) {
      std::fprintf(stderr, "libpcap has a frame, ours %d (%s)\n", static_cast<int>(n), src->error().c_str());
      std::abort();
    }
    const std::int64_t ts = static_cast<std::int64_t>(h->ts.tv_sec) * 1'000'000'000 + h->ts.tv_usec;
    if (fr.ts != ts || fr.orig_len != h->len || fr.data.size() != h->caplen ||
        (h->caplen && std::memcmp(fr.data.data(), d, h->caplen) != 0)) {
      std::fprintf(stderr, "frame %llu differs: ts %lld/%lld len %u/%u caplen %zu/%u\n",
                   static_cast<unsigned long long>(fr.index), static_cast<long long>(fr.ts),
                   static_cast<long long>(ts), fr.orig_len, h->len, fr.data.size(), h->caplen);
      std::abort();
    }
  }
  pcap_close(oracle);
  return 0;
}

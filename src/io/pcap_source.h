// Reads pcap and pcapng captures (opened by libpcap; the records of classic
// pcap files of the link types the engine decodes are read from a mapping of
// the file), optionally filtered by a BPF expression. Packet numbers are
// 1-based positions in the file (counting filtered-out packets too), so they
// match Wireshark's frame numbers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "ctrack/types.h"

namespace ctrack {

class PcapMapping;

struct CapturedFrame {
  std::uint64_t index = 0;  // 1-based packet number in the file
  Timestamp ts = 0;         // capture timestamp, ns
  // Captured bytes: valid until the next call to next(), or for the
  // source's whole lifetime when frames_stable().
  std::span<const std::uint8_t> data;
  std::uint32_t orig_len = 0;          // length on the wire
};

class PcapSource {
 public:
  enum class Next { Packet, End, Error };

  // Opens `path`; nullptr with a message naming the file on failure.
  // `mapping`, from map() of the same path, lets several sources (one per
  // thread) read one mapping: its pages are faulted in once for all.
  static std::unique_ptr<PcapSource> open(const std::string& path, std::string* error,
                                          std::shared_ptr<const PcapMapping> mapping = nullptr);
  // A read-only mapping of `path` if it is a classic pcap file that the
  // mapped reader handles; nullptr otherwise (libpcap then reads it).
  static std::shared_ptr<const PcapMapping> map(const std::string& path);
  ~PcapSource();

  // Only packets matching the BPF expression are returned by next().
  bool set_filter(const std::string& expression, std::string* error);
  // Reads the next (matching) packet. On Error, error() names the file and
  // the packet number at which the capture is damaged.
  Next next(CapturedFrame& frame);

  // True when frames are read from a mapping of the file (classic pcap): a
  // frame's bytes then stay valid until the source is destroyed, and callers
  // that collect frames need not copy them.
  bool frames_stable() const;

  int linktype() const;
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }
  // Bytes read so far and the file size, for progress display.
  std::uint64_t bytes_read() const;
  std::uint64_t file_size() const { return file_size_; }

 private:
  PcapSource() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
  std::string error_;
  std::uint64_t file_size_ = 0;
};

}  // namespace ctrack

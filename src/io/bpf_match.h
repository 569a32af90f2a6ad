// A compiled BPF expression (tcpdump syntax) tested against single frames,
// as captured (link header included). Used by `ctrack replay --notrack`.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace ctrack::io {

class BpfMatch {
 public:
  // Compiles `expression` for frames of link type `linktype`; nullptr with a
  // message on a syntax error.
  static std::unique_ptr<BpfMatch> compile(const std::string& expression, int linktype,
                                           std::string* error);
  ~BpfMatch();
  BpfMatch(const BpfMatch&) = delete;
  BpfMatch& operator=(const BpfMatch&) = delete;

  // `wire_len` is the frame's length on the wire (>= frame.size()).
  bool matches(std::span<const std::uint8_t> frame, std::uint32_t wire_len) const;

 private:
  BpfMatch() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ctrack::io

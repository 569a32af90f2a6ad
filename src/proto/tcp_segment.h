// The fields of one TCP segment that conntrack looks at, read once per packet
// from the header in place (the header was validated by TcpTracker::error).
#pragma once

#include <cstdint>

#include "parse/packet.h"
#include "proto/tcp_options.h"
#include "proto/tcp_state_table.h"

namespace ctrack::tcp {

struct TcpSegment {
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;      // ack_seq field (meaningful with ACK)
  std::uint32_t payload = 0;  // L4 payload bytes after the options
  std::uint16_t win = 0;      // raw, unscaled window field
  std::uint8_t flags = 0;
  TcpOptionArea opts;

  bool has(std::uint8_t f) const { return (flags & f) != 0; }
  // seq + payload, plus one each for SYN and FIN (they occupy a sequence number).
  std::uint32_t end() const {
    return seq + payload + (has(kFlagSyn) ? 1u : 0u) + (has(kFlagFin) ? 1u : 0u);
  }
};

inline TcpSegment read_segment(const Packet& pkt) {
  const std::uint8_t* th = pkt.l4();
  const std::uint32_t hdr_len = static_cast<std::uint32_t>(th[12] >> 4) * 4;
  TcpSegment s;
  s.seq = load_be32(th + 4);
  s.ack = load_be32(th + 8);
  s.flags = th[13];
  s.win = load_be16(th + 14);
  s.payload = pkt.l4_len() - hdr_len;
  s.opts = TcpOptionArea{th + 20, hdr_len - 20};
  return s;
}

}  // namespace ctrack::tcp

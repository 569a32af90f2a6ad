// A connection-tracking entry (the kernel's struct nf_conn, reduced to what
// tracking needs). Entries live in the engine's pool; a `const Conn*` handed
// out by the engine stays valid until the next call that processes a packet
// or expires entries.
#pragma once

#include <cstdint>

#include "ctrack/tuple.h"
#include "ctrack/types.h"

namespace ctrack {

// Status bits, numbered as enum ip_conntrack_status.
enum ConnStatus : std::uint16_t {
  kStatusExpected = 1u << 0,
  kStatusSeenReply = 1u << 1,
  kStatusAssured = 1u << 2,
  kStatusConfirmed = 1u << 3,
  kStatusDying = 1u << 9,
  kStatusFixedTimeout = 1u << 10,
  kStatusHelper = 1u << 13,
};

// Internal TCP states, numbered as enum tcp_conntrack.
enum class TcpState : std::uint8_t {
  None = 0,
  SynSent = 1,
  SynRecv = 2,
  Established = 3,
  FinWait = 4,
  CloseWait = 5,
  LastAck = 6,
  TimeWait = 7,
  Close = 8,
  SynSent2 = 9,
  Max = 10,     // table sentinel: invalid (sIV)
  Ignore = 11,  // table sentinel: ignore (sIG)
};

// Per-direction window-tracking data (struct ip_ct_tcp_state). Packed to 18
// bytes (2-byte aligned) so that a TCP entry fits the 120-byte Conn budget;
// x86 and arm64 load the then unaligned words at no extra cost.
struct __attribute__((packed, aligned(2))) TcpDirState {
  std::uint32_t td_end = 0;     // max of seq + len
  std::uint32_t td_maxend = 0;  // max of ack + max(win, 1)
  std::uint32_t td_maxwin = 0;  // max(win)
  std::uint32_t td_maxack = 0;  // max ACK sent by this side (valid with MAXACK_SET)
  std::uint8_t td_scale = 0;    // window scale factor
  std::uint8_t flags = 0;       // IP_CT_TCP_FLAG_* (see tcp_tracker.h)
};

// struct ip_ct_tcp.
struct TcpConnState {
  TcpDirState seen[2];
  TcpState state = TcpState::None;
  std::uint8_t last_dir = 0;
  std::uint8_t last_index = 0;
  std::uint8_t last_wscale = 0;
  std::uint8_t last_flags = 0;
  std::uint8_t retrans = 0;
  std::uint16_t last_win = 0;
  std::uint32_t last_seq = 0;
  std::uint32_t last_ack = 0;
  std::uint32_t last_end = 0;
};

struct UdpConnState {
  Timestamp stream_ts = 0;  // the 2-second rule: stream mode only after this
};

struct IcmpConnState {
  std::uint32_t outstanding = 0;  // classic profile: requests minus replies
};

inline constexpr std::uint32_t kNoConn = 0xffffffffu;

struct Conn {
  Tuple orig;             // tuple of the packet that created the entry
  Timestamp expires = 0;  // absolute; dead once expires <= now
  // Hash chain (engine-private). An entry is indexed once, under a hash that
  // is the same for its original and reply tuple (core/flow_hash.h).
  std::uint32_t next = kNoConn;
  std::uint32_t id = 0;      // creation order, unique while alive
  std::uint16_t status = 0;  // ConnStatus bits
  std::uint8_t helper = 0;   // helper id, 0 = none
  std::uint8_t reserved = 0;
  std::uint32_t master = kNoConn;  // id of the master entry for RELATED ones
  union {
    TcpConnState tcp;
    UdpConnState udp;
    IcmpConnState icmp;
  } l4{};

  bool has(ConnStatus s) const { return (status & s) != 0; }
  std::uint8_t proto() const { return orig.proto; }
  // The reply tuple (inverse of orig; there is no NAT).
  Tuple reply() const;
};
// Memory budget: <= 128 bytes per tracked IPv4 TCP connection including the
// index (4-byte bucket heads, one bucket per entry at nf_conntrack_max).
static_assert(sizeof(TcpDirState) == 18);
static_assert(sizeof(Conn) <= 120, "Conn outgrew the per-connection memory budget");

// Name of an internal TCP state as /proc prints it ("SYN_SENT2" for 9).
const char* tcp_state_name(TcpState s);

}  // namespace ctrack

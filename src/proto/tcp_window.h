// Window tracking (tcp_in_window, linux-tcp.md §4.3): is this segment inside
// what the two endpoints can have seen of each other? Updates the
// per-direction window data and the retransmission counter when it is.
#pragma once

#include <cstdint>

#include "ctrack/conn.h"
#include "ctrack/invalid_reason.h"
#include "proto/tcp_segment.h"
#include "proto/tcp_state_table.h"

namespace ctrack::tcp {

enum class WindowVerdict : std::uint8_t {
  Accept,   // in window: the caller commits the state change and refreshes
  Ignore,   // let through with the entry, but no state change, no refresh
  Invalid,  // out of window: no conntrack for the packet
};

struct WindowResult {
  WindowVerdict verdict = WindowVerdict::Accept;
  // Which check failed (for Ignore too: TcpSeqUnderLower / TcpAckUnderLower,
  // None for a small window overrun); only Invalid reports it to the user.
  InvalidReason reason = InvalidReason::None;
};

// MAXACKWINDOW: how far below the receiver's td_end an ACK may lag.
inline std::uint32_t max_ack_window(const TcpDirState& s) {
  return s.td_maxwin > 66000 ? s.td_maxwin : 66000;
}

// A SYN or SYN/ACK (re)initialises its sender's window data from itself.
void init_sender(TcpDirState& sender, TcpDirState& receiver, const TcpSegment& seg,
                 std::uint32_t end, bool reply_dir);

// `tcp.state` must still hold the state before this packet. `be_liberal` is
// the global switch; the sender's BE_LIBERAL flag is honoured as well. Either
// one turns every failure into Accept, skipping the updates.
WindowResult tcp_in_window(TcpConnState& tcp, int dir, TcpIndex index, const TcpSegment& seg,
                           bool be_liberal);

}  // namespace ctrack::tcp

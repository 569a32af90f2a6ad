#include "proto/tcp_window.h"

#include "proto/tcp_seq.h"

namespace ctrack::tcp {
namespace {

// Every failed check passes through here: a liberal sender or the global
// be_liberal switch accepts the packet as it is (and skips the updates).
WindowResult fail(const TcpDirState& sender, bool be_liberal, WindowVerdict v, InvalidReason r) {
  if (be_liberal || (sender.flags & kDirBeLiberal) != 0) return {};
  return {v, r};
}

// x <= y modulo 2^32.
bool seq_le(std::uint32_t x, std::uint32_t y) { return seq_before(x, y + 1); }

}  // namespace

void init_sender(TcpDirState& sender, TcpDirState& receiver, const TcpSegment& seg,
                 std::uint32_t end, bool reply_dir) {
  sender.td_end = end;
  sender.td_maxend = end;
  sender.td_maxwin = seg.win == 0 ? 1u : seg.win;
  parse_syn_options(seg.opts, sender);
  // RFC 1323: scaling applies only when both sides offered it, which is
  // known once the reply side's SYN(/ACK) is seen.
  if (reply_dir && !((sender.flags & kDirWindowScale) && (receiver.flags & kDirWindowScale))) {
    sender.td_scale = 0;
    receiver.td_scale = 0;
  }
}

WindowResult tcp_in_window(TcpConnState& tcp, int dir, TcpIndex index, const TcpSegment& seg,
                           bool be_liberal) {
  TcpDirState& sender = tcp.seen[dir];
  TcpDirState& receiver = tcp.seen[1 - dir];
  const bool syn = seg.has(kFlagSyn);
  const bool has_ack = seg.has(kFlagAck);
  const bool rst = seg.has(kFlagRst);
  const bool reply = dir == 1;

  std::uint32_t seq = seg.seq;
  std::uint32_t ack = seg.ack;
  std::uint32_t sack = seg.ack;
  std::uint32_t win = seg.win;
  std::uint32_t end = seg.end();

  if (receiver.flags & kDirSackPerm) scan_sack(seg.opts, sack);

  if (sender.td_maxwin == 0) {
    // First packet seen from this side.
    if (syn) {
      init_sender(sender, receiver, seg, end, reply);
      if (!has_ack) return {};  // the reply SYN of a simultaneous open
    } else {
      // Picked up mid-stream: believe what the packet says.
      sender.td_end = end;
      const std::uint32_t swin = win << sender.td_scale;
      sender.td_maxwin = swin == 0 ? 1u : swin;
      sender.td_maxend = end + sender.td_maxwin;
      if (receiver.td_maxwin == 0) {
        // Nothing seen the other way yet: make the ACK checks pass.
        receiver.td_end = sack;
        receiver.td_maxend = sack;
      } else if (sack == receiver.td_end + 1) {
        // Answer to a keep-alive probe (one byte below td_end).
        ++receiver.td_end;
      }
    }
  } else if (syn && seq_after(end, sender.td_end) &&
             (tcp.state == TcpState::SynSent || tcp.state == TcpState::SynRecv)) {
    // A SYN with a newer ISN (or new options) restarts this side.
    init_sender(sender, receiver, seg, end, reply);
    if (reply && !has_ack) return {};
  }

  if (!has_ack || (rst && ack == 0)) {
    // No ACK (or a broken stack's RST/ACK with ack 0): pretend it ACKs
    // exactly what the receiver sent.
    ack = receiver.td_end;
    sack = receiver.td_end;
  }

  if (rst && seq == 0 && tcp.state == TcpState::SynSent) {
    // RST answering a SYN carries seq 0.
    seq = sender.td_end;
    end = sender.td_end;
  }

  // I: the data must start within what the receiver allowed.
  if (!seq_le(seq, sender.td_maxend)) {
    const std::uint32_t overshot = end - sender.td_maxend + 1;
    const bool ack_ok = seq_after(sack, receiver.td_end - max_ack_window(sender) - 1);
    const bool in_recv_win =
        receiver.td_maxwin != 0 && seq_after(end, sender.td_end - receiver.td_maxwin - 1);
    if (in_recv_win && ack_ok && overshot <= receiver.td_maxwin && seq_le(sack, receiver.td_end)) {
      // A stack that overruns the window a little: remember the data so the
      // peer's ACK of it stays in window, but do not change state.
      sender.td_end = end;
      sender.flags |= kDirDataUnacked;
      return fail(sender, be_liberal, WindowVerdict::Ignore, InvalidReason::None);
    }
    return fail(sender, be_liberal, WindowVerdict::Invalid, InvalidReason::TcpSeqOverUpper);
  }
  // III: no ACK of data the receiver never sent.
  if (!seq_le(sack, receiver.td_end)) {
    return fail(sender, be_liberal, WindowVerdict::Invalid, InvalidReason::TcpAckOverUpper);
  }
  // II: data entirely below the window is an old retransmission.
  if (receiver.td_maxwin != 0 && !seq_after(end, sender.td_end - receiver.td_maxwin - 1)) {
    return fail(sender, be_liberal, WindowVerdict::Ignore, InvalidReason::TcpSeqUnderLower);
  }
  // IV: an ACK far below is a very delayed one.
  if (!seq_after(sack, receiver.td_end - max_ack_window(sender) - 1)) {
    return fail(sender, be_liberal, WindowVerdict::Ignore, InvalidReason::TcpAckUnderLower);
  }

  // In window: update the sender.
  if (!syn) win <<= sender.td_scale;
  const std::uint32_t swin = win + (sack - ack);
  if (sender.td_maxwin < swin) sender.td_maxwin = swin;
  if (seq_after(end, sender.td_end)) {
    sender.td_end = end;
    sender.flags |= kDirDataUnacked;
  }
  if (has_ack) {
    if (!(sender.flags & kDirMaxAckSet)) {
      sender.td_maxack = ack;
      sender.flags |= kDirMaxAckSet;
    } else if (seq_after(ack, sender.td_maxack)) {
      sender.td_maxack = ack;
    }
  }

  // ... and the receiver.
  if (receiver.td_maxwin != 0 && seq_after(end, sender.td_maxend)) {
    receiver.td_maxwin += end - sender.td_maxend;
  }
  if (seq_after(sack + win, receiver.td_maxend - 1)) {
    receiver.td_maxend = sack + win;
    if (win == 0) ++receiver.td_maxend;
  }
  if (ack == receiver.td_end) receiver.flags &= static_cast<std::uint8_t>(~kDirDataUnacked);

  // Identical consecutive ACK-class segments from one side count as retransmissions.
  if (index == kAckSet) {
    if (tcp.last_dir == dir && tcp.last_seq == seq && tcp.last_ack == ack && tcp.last_end == end &&
        tcp.last_win == seg.win) {
      ++tcp.retrans;
    } else {
      tcp.last_dir = static_cast<std::uint8_t>(dir);
      tcp.last_seq = seq;
      tcp.last_ack = ack;
      tcp.last_end = end;
      tcp.last_win = seg.win;
      tcp.retrans = 0;
    }
  }
  return {};
}

}  // namespace ctrack::tcp

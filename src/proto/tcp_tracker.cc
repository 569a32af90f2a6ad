// TCP connection tracking: header checks, entry creation and the per-packet
// state machine (linux-tcp.md §1.5, §2, §3.2, §5, §6.3, §7.3). The table is in
// tcp_state_table.h, the window check in tcp_window.cc.
#include "proto/tcp_tracker.h"

#include <array>
#include <initializer_list>

#include "parse/checksum.h"
#include "proto/tcp_options.h"
#include "proto/tcp_segment.h"
#include "proto/tcp_seq.h"
#include "proto/tcp_state_table.h"
#include "proto/tcp_window.h"

namespace ctrack {

using namespace tcp;

namespace {

constexpr std::uint32_t kMinHeader = 20;
constexpr int kOriginal = 0;
constexpr int kReply = 1;

// §2 flag whitelist, indexed by the flag byte without ECE, CWR and PSH (which
// leaves FIN|SYN|RST|ACK|URG, at most 0x37).
constexpr std::uint8_t kIgnoredFlags = kFlagEce | kFlagCwr | kFlagPsh;
constexpr std::array<bool, 64> kValidFlags = [] {
  std::array<bool, 64> t{};
  for (std::uint8_t f :
       {kFlagSyn, std::uint8_t(kFlagSyn | kFlagUrg), std::uint8_t(kFlagSyn | kFlagAck), kFlagRst,
        std::uint8_t(kFlagRst | kFlagAck), std::uint8_t(kFlagFin | kFlagAck),
        std::uint8_t(kFlagFin | kFlagAck | kFlagUrg), kFlagAck,
        std::uint8_t(kFlagAck | kFlagUrg)}) {
    t[f] = true;
  }
  return t;
}();

std::uint32_t state_timeout(const TcpTimeouts& t, TcpState s) {
  return t.*kStateTimeout[static_cast<std::size_t>(s)];
}

// FIN_WAIT .. CLOSE: the tuple may already be re-used (tcp_can_early_drop).
bool is_closing(TcpState s) {
  return s == TcpState::FinWait || s == TcpState::CloseWait || s == TcpState::LastAck ||
         s == TcpState::TimeWait || s == TcpState::Close;
}

// "Established" for the RST rules: ESTABLISHED and ASSURED.
bool fully_established(const Conn& c) {
  return c.l4.tcp.state == TcpState::Established && c.has(kStatusAssured);
}

// Wipes a direction's window data, keeping only its BE_LIBERAL flag.
void reset_dir(TcpDirState& s) {
  const std::uint8_t liberal = s.flags & kDirBeLiberal;
  s = TcpDirState{};
  s.flags = liberal;
}

// An ignored packet is remembered so that the peer's answer to it (SYN/ACK,
// RST, challenge ACK) can be recognised (§1.5 IGNORE row).
void annotate_ignored(TcpConnState& t, const TcpSegment& seg, int dir, TcpIndex index,
                      TcpState old_state) {
  t.last_index = index;
  t.last_dir = static_cast<std::uint8_t>(dir);
  t.last_seq = seg.seq;
  t.last_end = seg.end();
  t.last_win = seg.win;
  if (index == kSynSet && dir == kOriginal) {
    // The endpoints may be in sync while we are not: keep the SYN's options
    // for a re-sync on the matching SYN/ACK.
    TcpDirState opts{};
    parse_syn_options(seg.opts, opts);
    t.last_flags = 0;
    t.last_wscale = 0;
    if (opts.flags & kDirWindowScale) {
      t.last_flags |= kDirWindowScale;
      t.last_wscale = opts.td_scale;
    }
    if (opts.flags & kDirSackPerm) t.last_flags |= kDirSackPerm;
    // RFC 5961: in LAST_ACK the peer answers such a SYN with a challenge ACK.
    if (old_state == TcpState::LastAck) t.last_flags |= kLastExpChallengeAck;
  }
  // A reply ACK to our SYN may be a challenge ACK; an RST may answer it.
  if (old_state == TcpState::SynSent && index == kAckSet && dir == kReply) t.last_ack = seg.ack;
}

// The SYN/ACK answers a SYN we ignored: the endpoints opened a new
// connection over this entry. Rebuild the SYN sender from the annotations.
void resync_from_ignored_syn(TcpConnState& t, int dir) {
  TcpDirState& syn_side = t.seen[t.last_dir];
  syn_side.td_end = t.last_end;
  syn_side.td_maxend = t.last_end;
  syn_side.td_maxwin = t.last_win == 0 ? 1u : t.last_win;
  syn_side.td_scale = t.last_wscale;
  t.last_flags &= static_cast<std::uint8_t>(~kLastExpChallengeAck);
  syn_side.flags = t.last_flags;
  reset_dir(t.seen[dir]);
}

// An out-of-window FIN/RST on an assured entry: if it crosses one from the
// other side, both ends think the connection is over; shorten the timeout.
void handle_invalid(Conn& c, int dir, TcpIndex index, const L4Ctx& ctx) {
  if (!c.has(kStatusAssured) || c.has(kStatusFixedTimeout)) return;
  if (index != kRstSet && index != kFinSet) return;
  TcpConnState& t = c.l4.tcp;
  if (t.last_dir != dir && (t.last_index == kFinSet || t.last_index == kRstSet)) {
    const Timestamp left = c.expires > ctx.now ? c.expires - ctx.now : 0;
    if (left < seconds(120)) return;
    const Timestamp unack = seconds(ctx.cfg.tcp.unacknowledged);
    if (left > unack) c.expires = ctx.now + unack;
  } else {
    t.last_index = index;
    t.last_dir = static_cast<std::uint8_t>(dir);
  }
}

// What the RST rules (§5.1) decided before the window check.
enum class RstRule : std::uint8_t { WindowCheck, SkipWindow, Invalid };

RstRule check_rst(const Conn& c, const TcpSegment& seg, int dir, TcpState old_state,
                  TcpState& new_state, const L4Ctx& ctx) {
  const TcpConnState& t = c.l4.tcp;
  // Closing states: the tuple may be re-used already, our data is stale.
  if (is_closing(t.state)) return RstRule::SkipWindow;

  const TcpDirState& peer = t.seen[1 - dir];
  if ((peer.flags & kDirMaxAckSet) && t.last_index != kSynSet) {
    // td_maxack is stale once a SYN was let through.
    if (seg.seq == 0 && !fully_established(c)) return RstRule::WindowCheck;
    if (seq_before(seg.seq, peer.td_maxack) && !ctx.cfg.tcp_ignore_invalid_rst) {
      return RstRule::Invalid;
    }
    if (!fully_established(c) || seg.seq == peer.td_maxack) return RstRule::WindowCheck;
    // Data immediately followed by RST from the same side.
    if (t.last_index == kAckSet && t.last_dir == dir && seg.seq == t.last_end) {
      return RstRule::WindowCheck;
    }
    // In window but not exact: keep the state so a challenge ACK can follow.
    new_state = old_state;
  }
  // RST answering a SYN or ACK we let through as ignored (it may ACK
  // segments we never tracked).
  if (((c.has(kStatusSeenReply) && t.last_index == kSynSet) ||
       (!c.has(kStatusAssured) && t.last_index == kAckSet)) &&
      seg.ack == t.last_end) {
    return RstRule::SkipWindow;
  }
  // RST answering a challenge ACK we let through in SYN_SENT.
  if (old_state == TcpState::SynSent && t.last_index == kAckSet && t.last_dir == kReply &&
      seg.seq == t.last_ack) {
    return RstRule::SkipWindow;
  }
  return RstRule::WindowCheck;
}

// §7.3: the timeout for an in-window packet, first matching rule.
std::uint32_t choose_timeout(const TcpConnState& t, TcpState new_state, TcpIndex index,
                             const Config& cfg) {
  const TcpTimeouts& to = cfg.tcp;
  const std::uint32_t base = state_timeout(to, new_state);
  if (t.retrans >= cfg.tcp_max_retrans && base > to.max_retrans) return to.max_retrans;
  if (index == kRstSet) return to.close;
  if (((t.seen[0].flags | t.seen[1].flags) & kDirDataUnacked) && base > to.unacknowledged) {
    return to.unacknowledged;
  }
  if (t.last_win == 0 && base > to.max_retrans) return to.max_retrans;
  return base;
}

L4Result invalid(InvalidReason r) { return {L4Verdict::Invalid, r}; }

}  // namespace

bool TcpTracker::tuple(const Packet& pkt, Tuple& t) { return port_tuple(pkt, t); }

bool TcpTracker::invert(const Tuple& in, Tuple& out) { return port_invert(in, out); }

InvalidReason TcpTracker::error(const Packet& pkt, const L4Ctx& ctx) {
  const std::uint32_t l4_len = pkt.l4_len();
  if (pkt.len < pkt.l4_off || l4_len < kMinHeader) return InvalidReason::TcpShortHeader;
  const std::uint8_t* th = pkt.l4();
  const std::uint32_t hdr_len = static_cast<std::uint32_t>(th[12] >> 4) * 4;
  if (hdr_len < kMinHeader || l4_len < hdr_len) return InvalidReason::TcpTruncated;
  if (ctx.verify_checksum() && !l4_checksum_ok(pkt, l4_len, kProtoTCP, l4_len)) {
    return InvalidReason::TcpBadChecksum;
  }
  if (!kValidFlags[th[13] & static_cast<std::uint8_t>(~kIgnoredFlags)]) {
    return InvalidReason::TcpBadFlags;
  }
  return InvalidReason::None;
}

InvalidReason TcpTracker::on_new(Conn& c, const Packet& pkt, const L4Ctx& ctx) {
  const TcpSegment seg = read_segment(pkt);
  const TcpState first = next_state(kOriginal, classify(seg.flags), TcpState::None);
  if (first == sIV) return InvalidReason::TcpInvalidState;
  if (first == TcpState::Established && !ctx.cfg.tcp_loose) return InvalidReason::TcpNoLoosePickup;

  TcpConnState& t = c.l4.tcp;
  t = TcpConnState{};
  TcpDirState& orig = t.seen[kOriginal];
  orig.td_end = seg.end();
  orig.td_maxwin = seg.win == 0 ? 1u : seg.win;
  if (first == TcpState::SynSent) {
    orig.td_maxend = orig.td_end;
    parse_syn_options(seg.opts, orig);
  } else {
    // Mid-stream pickup: we missed the SYNs that carry the window scale and
    // SACK-permitted, so never check windows on this entry, and assume SACK
    // was negotiated.
    orig.td_maxend = orig.td_end + orig.td_maxwin;
    t.seen[0].flags = kDirSackPerm | kDirBeLiberal;
    t.seen[1].flags = kDirSackPerm | kDirBeLiberal;
  }
  t.last_index = kNoneSet;
  return InvalidReason::None;
}

L4Result TcpTracker::packet(Conn& c, const Packet& pkt, Direction direction, const L4Ctx& ctx) {
  TcpConnState& t = c.l4.tcp;
  const TcpSegment seg = read_segment(pkt);
  const int dir = direction == Direction::Reply ? kReply : kOriginal;
  const TcpIndex index = classify(seg.flags);
  TcpState old_state = t.state;
  TcpState new_state = next_state(dir, index, old_state);
  bool skip_window = false;

  switch (new_state) {
    case TcpState::SynSent:
      if (old_state < TcpState::TimeWait) break;
      // SYN on a closed connection: re-open it as a brand-new entry if this
      // side closed it (FIN) or reset it itself.
      if (((t.seen[0].flags | t.seen[1].flags) & kDirCloseInit) ||
          (t.last_dir == dir && t.last_index == kRstSet)) {
        return {L4Verdict::Repeat, InvalidReason::None};
      }
      [[fallthrough]];
    case TcpState::Ignore:
      if (index == kSynAckSet && t.last_index == kSynSet && t.last_dir != dir &&
          seg.ack == t.last_end) {
        resync_from_ignored_syn(t, dir);
        old_state = TcpState::SynSent;
        new_state = TcpState::SynRecv;
        break;
      }
      annotate_ignored(t, seg, dir, index, old_state);
      return {};  // accepted, no state change, no refresh
    case TcpState::Max:
      return invalid(InvalidReason::TcpInvalidState);
    case TcpState::TimeWait:
      // RFC 5961: the peer's challenge ACK to a SYN ignored in LAST_ACK is
      // not the final ACK.
      if (old_state == TcpState::LastAck && index == kAckSet && t.last_dir != dir &&
          t.last_index == kSynSet && (t.last_flags & kLastExpChallengeAck)) {
        t.last_flags &= static_cast<std::uint8_t>(~kLastExpChallengeAck);
        return {};
      }
      break;
    case TcpState::SynSent2:
      // Remember the simultaneous open: its SYN_RECV must take the reply
      // side's ACK as ESTABLISHED, which the table alone cannot express.
      t.last_flags |= kLastSimultaneousOpen;
      break;
    case TcpState::SynRecv:
      if (dir == kReply && index == kAckSet && (t.last_flags & kLastSimultaneousOpen)) {
        new_state = TcpState::Established;
      }
      break;
    case TcpState::Close:
      if (index != kRstSet) break;
      switch (check_rst(c, seg, dir, old_state, new_state, ctx)) {
        case RstRule::Invalid:
          return invalid(InvalidReason::TcpInvalidRst);
        case RstRule::SkipWindow:
          skip_window = true;
          break;
        case RstRule::WindowCheck:
          break;
      }
      break;
    default:
      break;
  }

  if (!skip_window) {
    const WindowResult w = tcp_in_window(t, dir, index, seg, ctx.cfg.tcp_be_liberal);
    if (w.verdict == WindowVerdict::Ignore) return {};
    if (w.verdict == WindowVerdict::Invalid) {
      handle_invalid(c, dir, index, ctx);
      return invalid(w.reason);
    }
  }

  // In window: commit.
  t.last_index = index;
  t.last_dir = static_cast<std::uint8_t>(dir);
  t.state = new_state;
  if (old_state != new_state && new_state == TcpState::FinWait) t.seen[dir].flags |= kDirCloseInit;

  std::uint32_t timeout = choose_timeout(t, new_state, index, ctx.cfg);
  if (!c.has(kStatusSeenReply)) {
    // A reset before any reply: nothing worth keeping.
    if (seg.has(kFlagRst)) return {L4Verdict::Destroy, InvalidReason::None};
    // A retransmitted SYN must not keep a stale entry alive (port reuse).
    if (index == kSynSet && old_state == TcpState::SynSent) return {};
    // Picked up mid-stream and never answered: do not trust it for days.
    if (new_state == TcpState::Established && timeout > ctx.cfg.tcp.unacknowledged) {
      timeout = ctx.cfg.tcp.unacknowledged;
    }
  } else if (!c.has(kStatusAssured) &&
             (old_state == TcpState::SynRecv || old_state == TcpState::Established) &&
             new_state == TcpState::Established) {
    c.status |= kStatusAssured;
  }
  refresh(c, ctx, timeout);
  return {};
}

const char* TcpTracker::state_name(const Conn& c) { return tcp_state_name(c.l4.tcp.state); }

bool TcpTracker::gc_can_early_drop(const Conn& c) {
  return !c.has(kStatusAssured) || is_closing(c.l4.tcp.state);
}

}  // namespace ctrack

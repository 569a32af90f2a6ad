// THE TCP state machine of conntrack: one transition table,
// tcp_conntracks[dir][packet class][old state] -> new state, exactly as the
// reference (linux-tcp.md §1.3, kernel 6.17/6.18). The post-table overrides
// (re-open, re-sync, challenge ACKs, simultaneous open, RST validation) live
// in tcp_tracker.cc; this file holds only the data and its vocabulary.
#pragma once

#include <array>
#include <cstdint>

#include "ctrack/config.h"
#include "ctrack/conn.h"

namespace ctrack::tcp {

// Packet classes, the row index of the table (get_conntrack_index, §1.2).
enum TcpIndex : std::uint8_t {
  kSynSet = 0,
  kSynAckSet = 1,
  kFinSet = 2,
  kAckSet = 3,
  kRstSet = 4,
  kNoneSet = 5,
  kIndexCount = 6,
};

// TCP header flag bits (byte 13 of the header).
inline constexpr std::uint8_t kFlagFin = 0x01;
inline constexpr std::uint8_t kFlagSyn = 0x02;
inline constexpr std::uint8_t kFlagRst = 0x04;
inline constexpr std::uint8_t kFlagPsh = 0x08;
inline constexpr std::uint8_t kFlagAck = 0x10;
inline constexpr std::uint8_t kFlagUrg = 0x20;
inline constexpr std::uint8_t kFlagEce = 0x40;
inline constexpr std::uint8_t kFlagCwr = 0x80;

// Per-direction flags in TcpDirState::flags, and the two extra bits used only
// in TcpConnState::last_flags (uapi values, §4.1).
inline constexpr std::uint8_t kDirWindowScale = 0x01;
inline constexpr std::uint8_t kDirSackPerm = 0x02;
inline constexpr std::uint8_t kDirCloseInit = 0x04;
inline constexpr std::uint8_t kDirBeLiberal = 0x08;
inline constexpr std::uint8_t kDirDataUnacked = 0x10;
inline constexpr std::uint8_t kDirMaxAckSet = 0x20;
inline constexpr std::uint8_t kLastExpChallengeAck = 0x40;
inline constexpr std::uint8_t kLastSimultaneousOpen = 0x80;

inline constexpr int kStateCount = 10;  // NONE .. SYN_SENT2

// Classification: RST beats SYN/ACK beats SYN beats FIN beats ACK (§1.2).
// URG, PSH, ECE and CWR do not matter.
constexpr TcpIndex classify(std::uint8_t flags) {
  if (flags & kFlagRst) return kRstSet;
  if (flags & kFlagSyn) return (flags & kFlagAck) ? kSynAckSet : kSynSet;
  if (flags & kFlagFin) return kFinSet;
  if (flags & kFlagAck) return kAckSet;
  return kNoneSet;
}

// Short names so the table below reads like the reference.
inline constexpr TcpState sNO = TcpState::None;
inline constexpr TcpState sSS = TcpState::SynSent;
inline constexpr TcpState sSR = TcpState::SynRecv;
inline constexpr TcpState sES = TcpState::Established;
inline constexpr TcpState sFW = TcpState::FinWait;
inline constexpr TcpState sCW = TcpState::CloseWait;
inline constexpr TcpState sLA = TcpState::LastAck;
inline constexpr TcpState sTW = TcpState::TimeWait;
inline constexpr TcpState sCL = TcpState::Close;
inline constexpr TcpState sS2 = TcpState::SynSent2;
inline constexpr TcpState sIV = TcpState::Max;     // packet is INVALID
inline constexpr TcpState sIG = TcpState::Ignore;  // accepted, but ignored

using StateRow = std::array<TcpState, kStateCount>;
using DirTable = std::array<StateRow, kIndexCount>;

// How to read it: tcp_conntracks[direction of the packet][its class][state
// before it] is the state after it, before the overrides of §1.5. sIV: the
// packet is INVALID and the entry is left alone. sIG: the packet passes with
// the entry but changes nothing (it is remembered in last_* so the peer's
// answer to it can re-sync the entry). Why each odd cell is what it is: §1.4.
// clang-format off
inline constexpr std::array<DirTable, 2> tcp_conntracks = {{
  // ORIGINAL direction
  {{
    //            sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
    /* syn    */ {sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2},
    /* synack */ {sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR},
    /* fin    */ {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
    /* ack    */ {sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV},
    /* rst    */ {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
    /* none   */ {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
  }},
  // REPLY direction
  {{
    //            sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
    /* syn    */ {sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2},
    /* synack */ {sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR},
    /* fin    */ {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
    /* ack    */ {sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG},
    /* rst    */ {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
    /* none   */ {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
  }},
}};
// clang-format on

constexpr TcpState next_state(int dir, TcpIndex index, TcpState old) {
  return tcp_conntracks[static_cast<std::size_t>(dir)][index][static_cast<std::size_t>(old)];
}

// The timeout slot of each state (NONE uses the SYN_SENT value, §7.1).
inline constexpr std::array<std::uint32_t TcpTimeouts::*, kStateCount> kStateTimeout = {
    &TcpTimeouts::syn_sent,    &TcpTimeouts::syn_sent,  &TcpTimeouts::syn_recv,
    &TcpTimeouts::established, &TcpTimeouts::fin_wait,  &TcpTimeouts::close_wait,
    &TcpTimeouts::last_ack,    &TcpTimeouts::time_wait, &TcpTimeouts::close,
    &TcpTimeouts::syn_sent2,
};

}  // namespace ctrack::tcp

// One line per replayed packet: aligned text for people, JSON Lines for tools.
//
// Text:
//   index  time  proto  tuple  [flags]  CT_STATE  direction  TCP transition  reason
//       3   0.000240 tcp     192.0.2.10:40000 -> 198.51.100.20:80   [A]     ESTABLISHED original SYN_RECV->ESTABLISHED
// JSON (exactly these keys):
//   {"index": 3, "ts": 1700000000.000240, "ct_state": "established",
//    "ct_direction": "original", "reason": null, "entry": {...}|null}
//   followed, only when they apply, by "helper": "ftp" (the entry carries a
//   helper), "master": {"id": N, "orig": {...}} (the entry is RELATED to a
//   master; "orig" only while the master is alive) and "helper_drop": true.
// Fragments (defragmentation runs before conntrack) add "frag" and
// "datagram": a held fragment has "ct_state": null and "frag": "held"; a
// fragment discarded by reassembly "ct_state": null, "frag": "dropped" and
// its reason; the fragment completing a datagram carries the datagram's
// verdict, "frag": "reassembled" and "fragments": [frame numbers]. In text,
// HELD / DROPPED take the state column, and a reassembled datagram's line
// ends with "[datagram #N: frames 3,4]".
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ctrack/conn.h"
#include "ctrack/engine.h"

namespace ctrack::io {

struct PacketEvent {
  std::uint64_t index = 0;  // 1-based packet number in its file
  Timestamp ts = 0;         // capture time, ns
  // The engine's verdict; for TCP its `tcp_before` is shown as
  // "BEFORE->AFTER" when the packet moved the entry's state.
  const Result* result = nullptr;
  // Reassembled: the frame numbers of the datagram's fragments, this one
  // included (empty if the caller does not keep them).
  std::span<const std::uint64_t> fragments{};
};

// `t0` is the time the text's time column counts from (the first packet of
// the replay), as tcpdump's relative timestamps.
void append_packet_text(std::string& out, const Engine& engine, const PacketEvent& ev, Timestamp t0);
void append_packet_json(std::string& out, const Engine& engine, const PacketEvent& ev);

// "[SA]" style flag letters: F S R P A U E C, in bit order.
void append_tcp_flags(std::string& out, std::uint8_t flags);

}  // namespace ctrack::io

// Golden-test support: replays a capture of ../shared/corpus through an
// Engine and records, per frame, what the engine decided (ct state,
// direction, reason, protocol state after the packet, flags, timeout left).
// Expectations are written by hand in the *_test.cc files, from the
// references in ../shared/reference and the packets themselves.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "ctrack/ctrack.h"

namespace ctrack::golden {

// One captured frame and the engine's verdict on it.
struct FrameRecord {
  std::uint64_t frame = 0;  // 1-based, as Wireshark/tcpdump -#
  Timestamp ts = 0;
  // False when the link layer carries no IPv4/IPv6 (ARP...): the frame never
  // reached the engine; `link_reason` says why.
  bool is_ip = false;
  InvalidReason link_reason = InvalidReason::None;

  CtState state = CtState::Invalid;
  Direction direction = Direction::Original;
  InvalidReason reason = InvalidReason::None;
  bool dropped = false;
  bool destroyed = false;
  // Defragmentation: held / reassembled / dropped, the datagram's id and,
  // for the fragment completing it, how many fragments it had.
  FragStatus frag = FragStatus::None;
  std::uint32_t datagram = 0;
  std::uint16_t frag_count = 0;

  // The entry the packet was attached to (the related one for ICMP errors),
  // as it stood right after the packet. has_conn is false for INVALID.
  bool has_conn = false;
  std::uint32_t conn_id = 0;
  Tuple conn_orig{};
  std::string proto_state;     // Engine::state_name ("" if the protocol has none)
  std::string tcp_state;       // tcp_state_name(Conn::l4.tcp.state) for TCP entries
  bool unreplied = false;      // SEEN_REPLY clear
  bool assured = false;
  std::int64_t timeout_left = -1;  // seconds, at the packet's own time (-1: destroyed/no conn)

  std::size_t entries_after = 0;  // live entries after the packet

  // Helpers and expectations: the entry's master (Conn::id, kNoConn if it
  // is not RELATED) and helper, whether the helper dropped the packet, and
  // the expectation table right after the packet.
  std::uint32_t master = kNoConn;
  std::uint8_t helper = 0;
  bool helper_drop = false;
  std::vector<Expectation> expectations_after;
};

struct Replay {
  std::string file;
  int linktype = -1;
  std::vector<FrameRecord> frames;
  Timestamp last_ts = 0;
  std::string error;  // non-empty if the capture could not be read completely

  // Frame by 1-based number (fails the test if absent).
  const FrameRecord& at(std::uint64_t frame) const;
};

// One row of the final table.
struct TableRow {
  Tuple orig{};
  std::string proto_state;
  std::string tcp_state;
  bool unreplied = false;
  bool assured = false;
  std::int64_t timeout_left = 0;
};

std::string shared_dir();
std::string corpus_path(const std::string& name);
bool corpus_available();

// The configuration every golden test starts from (Linux profile, fixed seed).
Config linux_config();

// Replays `name` (a file of ../shared/corpus) through `engine`.
Replay replay(Engine& engine, const std::string& name);

// The live table at the engine's current time, after running the periodic
// GC at that time (entries that expired are gone, as in /proc).
std::vector<TableRow> final_table(Engine& engine);
// The row whose original tuple is `orig`, or nullptr.
const TableRow* find_row(const std::vector<TableRow>& rows, const Tuple& orig);

// Tuple builders.
Tuple v4(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport, std::uint8_t proto);
Tuple v6(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport, std::uint8_t proto);
// ICMP / ICMPv6 echo tuple: src_id = id, dst_id = type << 8 | code.
Tuple icmp4(const char* src, const char* dst, std::uint16_t id, std::uint8_t type, std::uint8_t code = 0);
Tuple icmp6(const char* src, const char* dst, std::uint16_t id, std::uint8_t type, std::uint8_t code = 0);
// Generic tuple: addresses and protocol only.
Tuple generic4(const char* src, const char* dst, std::uint8_t proto);

std::string describe(const Tuple& t);
std::string describe(const FrameRecord& r);
std::string describe(const TableRow& r);

// Expectation for one frame. Fields left at their "don't care" value are not
// checked; everything set is asserted.
struct Exp {
  std::uint64_t frame = 0;
  CtState state = CtState::Invalid;
  Direction dir = Direction::Original;
  const char* tcp = nullptr;   // internal TCP state after the packet
  std::int64_t timeout = -1;   // timeout left at the packet's time
  int unreplied = -1;          // 0/1
  int assured = -1;            // 0/1
  bool destroyed = false;
};
// Asserts one expectation (non-fatal, with the frame's description).
void check(const Replay& rp, const Exp& e);
// Asserts that frame `n` is INVALID with reason `why` and no entry attached.
void check_invalid(const Replay& rp, std::uint64_t n, InvalidReason why);
// Asserts that frame `n` never reached the engine (not IP at the link layer).
void check_not_ip(const Replay& rp, std::uint64_t n);

}  // namespace ctrack::golden

// Skips the current test loudly when ../shared/corpus is not there.
#define CTRACK_REQUIRE_CORPUS()                                                   \
  do {                                                                            \
    if (!::ctrack::golden::corpus_available()) {                                  \
      std::fprintf(stderr, "\n*** SKIPPED: ../shared/corpus absent (%s) ***\n\n", \
                   ::ctrack::golden::corpus_path("").c_str());                    \
      GTEST_SKIP() << "SKIPPED: ../shared/corpus absent";                         \
    }                                                                             \
  } while (0)

// Replays `name` into `var` (a golden::Replay) and stops the test if the
// capture could not be read.
#define CTRACK_REPLAY(var, engine, name)                                        \
  ::ctrack::golden::Replay var = ::ctrack::golden::replay(engine, name);        \
  ASSERT_TRUE(var.error.empty()) << var.error;                                  \
  ASSERT_FALSE(var.frames.empty()) << "no frames read from " << name

// Comparison of the kernel's and ctrack's per-packet records, and the two
// outputs: a readable report of the first divergences plus a summary line,
// and the full per-packet record as JSON.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "ctrack/invalid_reason.h"
#include "ctrack/types.h"
#include "kdiff/address_map.h"
#include "kdiff/kernel_observer.h"
#include "kdiff/netns.h"

namespace ctrack::kdiff {

// What one side decided for one packet and the table right after it.
struct SideRecord {
  bool seen = true;  // kernel: reached conntrack at all
  // A fragment held for reassembly: conntrack has not seen it (yet). The
  // fragment that completes a datagram carries the datagram's verdict.
  bool held = false;
  std::optional<CtState> state;
  std::optional<Direction> direction;
  InvalidReason reason = InvalidReason::None;  // ctrack only
  // With --rules: whether the ruleset let the packet through (nullopt: no
  // verdict available on this side).
  std::optional<bool> forwarded;
  std::vector<KernelEntry> table;
  std::vector<KernelExpect> expects;
};

struct PacketRecord {
  std::uint64_t index = 0;      // packet number in the capture
  Timestamp capture_ts = 0;     // capture timestamp, ns
  Timestamp sent_at = 0;        // injection time, ns since the first injection
  Side side = Side::Client;
  std::string summary;          // one-line description (original addresses)
  bool fragment = false;        // an IPv4/IPv6 fragment as captured
  bool rules = false;           // --rules given: verdicts are compared
  SideRecord kernel;
  SideRecord ctrack;
};

struct Divergence {
  std::uint64_t index = 0;
  // "state", "direction", "fragment", "verdict", "entry", "missing-entry",
  // "extra-entry", "expect", "missing-expect", "extra-expect"
  std::string field;
  std::string kernel;  // the kernel's value
  std::string ctrack;  // ctrack's value
  bool known = false;  // listed in the known-divergences file
  std::string known_reason;
};

// A line of known_divergences.txt: `CAPTURE PACKET FIELD  # reason`, where
// PACKET and FIELD may be `*`.
struct KnownDivergence {
  std::string capture;
  std::string packet;
  std::string field;
  std::string reason;
};
bool load_known_divergences(const std::string& path, std::vector<KnownDivergence>& out, std::string* error);

// Timeouts may differ by this much: the kernel's /proc read happens a little
// after the packet, and jiffies round differently from nanoseconds.
inline constexpr std::int64_t kTimeoutSlack = 2;
// An entry listed on one side only is not a divergence while it has at most
// this many seconds left: the kernel's table is read a moment after ctrack's
// clock (the packet's injection time), so an entry at its expiry instant may
// be gone on one side and listed with "0" on the other.
inline constexpr std::int64_t kPresenceSlack = 0;

std::vector<Divergence> compare(const PacketRecord& rec, const AddressMap& map);
void mark_known(std::vector<Divergence>& divs, const std::string& capture_name,
                const std::vector<KnownDivergence>& known);

// Readable forms (addresses mapped back to the capture's).
std::string entry_text(const KernelEntry& e, const AddressMap& map);
std::string expect_text(const KernelExpect& e, const AddressMap& map);
std::string verdict_text(const SideRecord& r, bool kernel);

void print_report(std::FILE* out, const std::vector<PacketRecord>& recs, const std::vector<Divergence>& divs,
                  const AddressMap& map, std::size_t max_shown, bool verbose);
bool write_json(const std::string& path, const std::string& capture, const std::vector<PacketRecord>& recs,
                const std::vector<Divergence>& divs, const AddressMap& map, std::string* error);

}  // namespace ctrack::kdiff

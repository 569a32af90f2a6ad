// One kernel-diff run: loads a capture (remapping addresses, deciding each
// packet's side), injects it through the router packet by packet while
// recording the kernel's verdicts, then replays the same bytes at the same
// times through libctrack.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ctrack/config.h"
#include "kdiff/address_map.h"
#include "kdiff/diff_report.h"
#include "kdiff/kernel_observer.h"
#include "kdiff/notrack_expr.h"

namespace ctrack::kdiff {

struct SessionOptions {
  std::string capture;
  std::vector<std::string> client_cidrs;  // in the capture's own addresses
  std::vector<std::pair<std::string, std::string>> sysctls;
  std::vector<std::pair<std::string, std::string>> ctrack_only_sysctls;  // applied after `sysctls`
  Timestamp max_gap = seconds(3);          // longer capture gaps are shortened to this
  int packet_timeout_ms = 500;             // how long to wait for the router to count a packet
  // Router configuration under test (--helper, --notrack, --rules); the
  // notrack expression is the capture's addresses until load_capture remaps it.
  RouterSetup router;
  std::string notrack_expr;
};

// Parses `--helper NAME:PROTO:PORT` (PROTO and PORT default to the helper's
// own: ftp tcp 21, irc tcp 6667, tftp udp 69, amanda udp 10080).
bool parse_helper_option(const std::string& text, RouterSetup::Helper& out, std::string* error);

struct CaptureData {
  std::vector<PacketRecord> recs;               // index, capture_ts, side, summary filled
  std::vector<std::vector<std::uint8_t>> l3;    // bytes to inject (remapped)
  std::uint64_t skipped = 0;                    // frames that were not IPv4/IPv6
  AddressMap map;
  NotrackExpr notrack;                          // remapped, empty without --notrack
  // Flows left out because a helper payload could not be remapped without
  // changing its length (one line each, capture addresses).
  std::vector<std::string> unremappable;
  std::uint64_t excluded = 0;                   // packets of those flows
  std::vector<std::string> notes;               // what one side could not do
};

bool load_capture(const SessionOptions& opt, CaptureData& data, std::string* error);

class Topology;
class Injector;
class KernelObserver;

// Fills rec.kernel and rec.sent_at for every packet. The thread must be in
// the router namespace.
bool run_kernel(const SessionOptions& opt, Injector& inj, KernelObserver& obs, CaptureData& data,
                std::string* error);

// Fills rec.ctrack for every packet, using rec.sent_at as the packet time.
bool run_ctrack(const SessionOptions& opt, CaptureData& data, std::string* error);

}  // namespace ctrack::kdiff

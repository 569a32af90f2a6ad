// The connection-tracking engine: packets in, one verdict per packet out.
//
//   ctrack::Engine engine(ctrack::Config::for_profile(ctrack::Profile::Linux));
//   ctrack::Result r = engine.process(ip_bytes, ts_ns);
//   if (r.state == ctrack::CtState::Invalid) log(ctrack::reason_text(r.reason));
//
// An Engine is single-threaded; use one per thread (or the sharded engine).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ctrack/config.h"
#include "ctrack/conn.h"
#include "ctrack/invalid_reason.h"
#include "ctrack/stats.h"
#include "ctrack/tuple.h"
#include "ctrack/types.h"

namespace ctrack {

class EngineCore;

// What the engine decided for one packet.
struct Result {
  CtState state = CtState::Invalid;
  Direction direction = Direction::Original;
  InvalidReason reason = InvalidReason::None;  // set when state is Invalid
  // The entry the packet belongs to (nullptr for INVALID / UNTRACKED). For
  // RELATED ICMP errors it is the connection the error quotes. Valid until the
  // next call into the engine.
  const Conn* conn = nullptr;
  // The packet was dropped by conntrack itself (table full and nothing could
  // be evicted): no rule would see it. `reason` says why.
  bool dropped = false;
  // The entry was removed by this very packet (e.g. the RST refusing a SYN);
  // `conn` still shows its last state.
  bool destroyed = false;
  // The tuple of the packet as parsed (valid when the packet had one).
  bool has_tuple = false;
  Tuple tuple{};
  std::uint8_t tcp_flags = 0;  // TCP flag byte of the packet (0 if not TCP)
};

// What the raw table attached to a packet before conntrack saw it: the
// kernel's "template" conntrack set by `-j NOTRACK`, `-j CT --notrack` or
// `-j CT --helper NAME` (nft: `notrack`, `ct helper set`).
struct CtTemplate {
  // UNTRACKED: no entry is looked up or created, no helper runs, and an ICMP
  // error quoting this packet can never be RELATED to it.
  bool notrack = false;
  // Helper to attach to the entry this packet creates (0 = none); ignored for
  // packets of existing entries, as the kernel ignores the template then.
  std::uint8_t helper = 0;
};

class Engine {
 public:
  explicit Engine(const Config& config = Config::for_profile(Profile::Linux));
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Tracks one packet. `l3` starts at the IPv4/IPv6 header. `now` must not go
  // backwards by more than the caller tolerates: time is whatever the caller
  // says it is.
  Result process(std::span<const std::uint8_t> l3, Timestamp now, Hook hook = Hook::Network,
                 CtTemplate tmpl = {});

  // Two-phase form for a firewall: `track` does everything up to the filter
  // hooks; the new entry (if any) enters the table only on `confirm`, exactly
  // as the kernel confirms at POSTROUTING/LOCAL_IN. `discard` drops the
  // unconfirmed entry (a packet dropped by a rule leaves nothing behind).
  // `process` == `track` + `confirm`.
  Result track(std::span<const std::uint8_t> l3, Timestamp now, Hook hook = Hook::Network,
               CtTemplate tmpl = {});
  void confirm();
  void discard();

  // Removes every entry whose timeout has passed at `now` (the periodic GC).
  void expire(Timestamp now);

  // Entry whose original or reply tuple is `t` (not expired at the engine's
  // current time), or nullptr.
  const Conn* find(const Tuple& t) const;
  // Entry by id (Conn::id), or nullptr.
  const Conn* find_id(std::uint32_t id) const;
  // All live entries in creation order.
  std::vector<const Conn*> entries() const;
  // Seconds of timeout left at the engine's current time, rounded down.
  std::int64_t timeout_left(const Conn& c) const;
  // Human name of the entry's protocol state (TCP: "ESTABLISHED"...), or
  // nullptr for protocols without states.
  const char* state_name(const Conn& c) const;

  const Stats& stats() const;
  const Config& config() const;
  // Changes a tunable at run time by sysctl name (see Config::set).
  // Resizing (nf_conntrack_buckets) rehashes the table.
  bool set(std::string_view name, std::string_view value, std::string* error = nullptr);
  Timestamp now() const;

 private:
  std::unique_ptr<EngineCore> core_;
};

}  // namespace ctrack
